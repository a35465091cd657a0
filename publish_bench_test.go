package sockudo_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/internal/auth"
)

// BenchmarkSignedPublish sends signed POST /apps/{id}/events requests over
// keep-alive HTTP to a server with one WebSocket subscriber, and reports
// requests per second. Allocations include the benchmark's HTTP client.
func BenchmarkSignedPublish(b *testing.B) {
	srv, err := sockudo.New(sockudo.WithApps(testApp()), sockudo.WithLogger(slog.New(slog.DiscardHandler)), sockudo.WithOutboundQueue(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/app/"+testKey+"?protocol=7", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.CloseNow()
	_, _, _ = ws.Read(ctx)
	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"event":"pusher:subscribe","data":{"channel":"bench"}}`))
	_, _, _ = ws.Read(ctx)
	var received atomic.Int64
	go func() {
		for {
			_, r, err := ws.Reader(context.Background())
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, r)
			received.Add(1)
		}
	}()

	body := []byte(`{"name":"tick","channel":"bench","data":"{\"n\":1}"}`)
	sum := md5.Sum(body)
	path := "/apps/" + testID + "/events"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			q := url.Values{}
			q.Set("auth_key", testKey)
			q.Set("auth_timestamp", strconv.FormatInt(time.Now().Unix(), 10))
			q.Set("auth_version", "1.0")
			q.Set("body_md5", hex.EncodeToString(sum[:]))
			q.Set("auth_signature", auth.Sign(testSecret, auth.RequestString("POST", path, q)))
			resp, err := client.Post(hs.URL+path+"?"+q.Encode(), "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for received.Load() < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if got := received.Load(); got < int64(b.N) {
		b.Fatalf("subscriber got %d of %d events", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
