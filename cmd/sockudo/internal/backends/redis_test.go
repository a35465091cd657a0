package backends

import (
	"strings"
	"testing"

	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

func TestRedisClientOption(t *testing.T) {
	c := config.Default().Database.Redis
	opt, err := clientOption(&c, false)
	if err != nil || len(opt.InitAddress) != 1 || opt.InitAddress[0] != "127.0.0.1:6379" {
		t.Fatalf("default: %+v, %v", opt.InitAddress, err)
	}
	c.Sentinels, c.Name = []string{"127.0.0.1:26379"}, "mymaster"
	if opt, _ = clientOption(&c, false); opt.Sentinel.MasterSet != "mymaster" || opt.InitAddress[0] != "127.0.0.1:26379" {
		t.Fatalf("sentinel: %+v", opt)
	}
	if _, err := clientOption(&c, true); err == nil {
		t.Fatal("cluster without nodes accepted")
	}
	c.Cluster.Nodes = []string{"redis://127.0.0.1:7000", "127.0.0.1:7001"}
	if opt, _ = clientOption(&c, true); strings.Join(opt.InitAddress, ",") != "127.0.0.1:7000,127.0.0.1:7001" {
		t.Fatalf("cluster: %v", opt.InitAddress)
	}
	c.URL = "redis://user:s3cret@[bad"
	_, err = clientOption(&c, false)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("malformed URL error %v leaks or is missing", err)
	}
}

func TestRedisClusterNodeURLs(t *testing.T) {
	c := config.Default().Database.Redis
	c.Cluster.Nodes = []string{"rediss://user:pw@10.0.0.1:7000", "10.0.0.2:7001"}
	opt, err := clientOption(&c, true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(opt.InitAddress, ",") != "10.0.0.1:7000,10.0.0.2:7001" || opt.TLSConfig == nil ||
		opt.Username != "user" || opt.Password != "pw" {
		t.Fatalf("options %v tls %v user %q", opt.InitAddress, opt.TLSConfig != nil, opt.Username)
	}
	c.Cluster.Nodes = []string{"127.0.0.1:7000"}
	c.Cluster.UseTLS = true
	if opt, _ = clientOption(&c, true); opt.TLSConfig == nil {
		t.Fatal("use_tls ignored")
	}
	c.Cluster.Nodes = []string{"http://user:secret@h:1"}
	if _, err := clientOption(&c, true); err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("bad node error %v", err)
	}
}
