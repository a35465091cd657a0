package backends

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

// syncBuffer is a log sink safe for the drivers' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// seedConfig is a config file with two inline apps, one setting no limits.
const seedConfig = `{"app_manager":{"driver":%q,"array":{"apps":[
	{"id":"seed-a","key":"seed-a-key","secret":"seed-a-secret","enabled":true,"max_connections":0,"max_client_events_per_second":0},
	{"id":"seed-b","key":"seed-b-key","secret":"seed-b-secret","enabled":true,"max_connections":10,
	 "max_client_events_per_second":5,"max_event_payload_in_kb":20,"max_event_batch_size":3}]}},
	"database":{"dynamodb":{"aws_access_key_id":"test","aws_secret_access_key":"test"}}}`

func seedEnv() map[string]string {
	return map[string]string{
		"SOCKUDO_DEFAULT_APP_ID":     "seed-env",
		"SOCKUDO_DEFAULT_APP_KEY":    "seed-env-key",
		"SOCKUDO_DEFAULT_APP_SECRET": "seed-env-secret",
		// Keep the inline apps: the env app would replace them otherwise.
		"SOCKUDO_SKIP_INLINE_APPS": "false",
	}
}

// The env default app replaces the inline apps, as in Sockudo; seed them
// in two starts to see both sources.
func TestSeedAppsPostgres(t *testing.T) {
	pc, err := pgx.ParseConfig(testenv.Lookup(t, "SOCKUDO_TEST_POSTGRES_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	table := uniqueTable(t)
	t.Cleanup(func() {
		if conn, err := pgx.ConnectConfig(context.Background(), pc); err == nil {
			_, _ = conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
			conn.Close(context.Background())
		}
	})
	testSeed(t, "postgres", map[string]string{
		"DATABASE_POSTGRES_HOST":       pc.Host,
		"DATABASE_POSTGRES_PORT":       strconv.Itoa(int(pc.Port)),
		"DATABASE_POSTGRES_USER":       pc.User,
		"DATABASE_POSTGRES_PASSWORD":   pc.Password,
		"DATABASE_POSTGRES_DATABASE":   pc.Database,
		"DATABASE_POSTGRES_TABLE_NAME": table,
		"DATABASE_POOL_MIN":            "0",
		"DATABASE_POOL_MAX":            "2",
	})
}

func TestSeedAppsMySQL(t *testing.T) {
	mc, err := gomysql.ParseDSN(testenv.Lookup(t, "SOCKUDO_TEST_MYSQL_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(mc.Addr, ":")
	table := uniqueTable(t)
	t.Cleanup(func() {
		if db, err := sql.Open("mysql", mc.FormatDSN()); err == nil {
			_, _ = db.Exec("DROP TABLE IF EXISTS `" + table + "`")
			db.Close()
		}
	})
	testSeed(t, "mysql", map[string]string{
		"DATABASE_MYSQL_HOST":       host,
		"DATABASE_MYSQL_PORT":       port,
		"DATABASE_MYSQL_USERNAME":   mc.User,
		"DATABASE_MYSQL_PASSWORD":   mc.Passwd,
		"DATABASE_MYSQL_DATABASE":   mc.DBName,
		"DATABASE_MYSQL_TABLE_NAME": table,
	})
}

func TestSeedAppsDynamoDB(t *testing.T) {
	endpoint := testenv.Lookup(t, "SOCKUDO_TEST_DYNAMODB_ENDPOINT")
	table := "sockudo-seed-" + uniqueTable(t)
	t.Cleanup(func() {
		c := awsdynamodb.New(awsdynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
		_, _ = c.DeleteTable(context.Background(), &awsdynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	testSeed(t, "dynamodb", map[string]string{
		"DATABASE_DYNAMODB_ENDPOINT_URL": endpoint,
		"DATABASE_DYNAMODB_TABLE_NAME":   table,
		"DATABASE_DYNAMODB_REGION":       "us-east-1",
	})
}

// testSeed starts three times on the same storage: the inline apps are
// created, then found (an edited row is kept), then the env app is added.
func testSeed(t *testing.T, driver string, dbEnv map[string]string) {
	ctx := context.Background()
	path := writeConfig(t, fmt.Sprintf(seedConfig, driver))
	start := func(extra map[string]string) (*Backends, *syncBuffer) {
		t.Helper()
		env := map[string]string{}
		for k, v := range dbEnv {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		cfg, _, err := config.Load(path, mapEnv(env))
		if err != nil {
			t.Fatal(err)
		}
		out := new(syncBuffer)
		b, err := open(ctx, &cfg, slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug})), testClients(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		return b, out
	}

	b, out := start(nil)
	log := out.String()
	if !strings.Contains(log, `msg="apps seeded" source=config created=2 existing=0 conflicts=0`) {
		t.Fatalf("first start log lacks the seeding line:\n%s", log)
	}
	if !strings.Contains(log, `msg="app limits" app_id=seed-a`) || !strings.Contains(log, "max_event_batch_size=unchecked") {
		t.Errorf("first start log lacks the effective limits:\n%s", log)
	}
	// The wrapper gives unset limits Sockudo's meaning.
	a, err := b.apps.FindByKey(ctx, "seed-a-key")
	if err != nil {
		t.Fatal(err)
	}
	if a.MaxEventBatchSize != appmanager.MaxLimit || a.MaxPresenceMembersPerChannel != appmanager.MaxLimit ||
		a.MaxEventChannelsAtOnce != appmanager.MaxLimit || a.MaxEventPayloadInKB != 10<<10 {
		t.Errorf("seed-a effective limits: batch %d, members %d, channels %d, payload %d KB",
			a.MaxEventBatchSize, a.MaxPresenceMembersPerChannel, a.MaxEventChannelsAtOnce, a.MaxEventPayloadInKB)
	}
	if a.MaxPresenceMemberSizeInKB != 0 || a.MaxClientEventsPerSecond != 0 {
		t.Errorf("seed-a kept limits: member size %d, client events %d; want the server defaults (0)", a.MaxPresenceMemberSizeInKB, a.MaxClientEventsPerSecond)
	}
	bApp, err := b.apps.FindByID(ctx, "seed-b")
	if err != nil || bApp.MaxEventBatchSize != 3 || bApp.MaxEventPayloadInKB != 20 {
		t.Fatalf("seed-b: %+v, %v", bApp, err)
	}

	// An operator edits a seeded row; the next start must not undo it.
	raw := b.apps.(*limitedApps).inner
	edited := appmanager.App{ID: "seed-b", Key: "seed-b-key", Secret: "rotated", Enabled: true, MaxConnections: 99}
	if err := raw.(appmanager.Writer).UpdateApp(ctx, edited); err != nil {
		t.Fatal(err)
	}
	b, out = start(nil)
	log = out.String()
	if !strings.Contains(log, `msg="apps seeded" source=config created=0 existing=2 conflicts=0`) {
		t.Fatalf("second start log:\n%s", log)
	}
	got, err := b.apps.FindByID(ctx, "seed-b")
	_, _ = b.apps.FindByKey(ctx, "seed-b-key") // a second load logs nothing
	if err != nil || got.Secret != "rotated" || got.MaxConnections != 99 {
		t.Fatalf("a restart overwrote the edited row: %+v, %v", got, err)
	}
	if log = out.String(); !strings.Contains(log, `level=DEBUG msg="app loaded" app_id=seed-b`) || strings.Count(log, `msg="app loaded"`) != 1 {
		t.Errorf("first load of a database app is not logged at debug:\n%s", log)
	}

	// The SOCKUDO_DEFAULT_APP_* app, which replaces the inline apps.
	b, out = start(seedEnv())
	log = out.String()
	if !strings.Contains(log, `msg="apps seeded" source=env created=1 existing=0 conflicts=0`) || strings.Contains(log, "source=config") {
		t.Fatalf("env start log:\n%s", log)
	}
	if _, err := b.apps.FindByKey(ctx, "seed-env-key"); err != nil {
		t.Fatal(err)
	}

	// A free id whose key is taken is reported and skipped.
	conflict := seedEnv()
	conflict["SOCKUDO_DEFAULT_APP_ID"] = "seed-other"
	conflict["SOCKUDO_DEFAULT_APP_KEY"] = "seed-a-key"
	_, out = start(conflict)
	log = out.String()
	if !strings.Contains(log, `msg="apps seeded" source=env created=0 existing=0 conflicts=1`) || !strings.Contains(log, "key belongs to another app") {
		t.Fatalf("conflict start log:\n%s", log)
	}

	// Incomplete credentials seed nothing, with a warning, as in Sockudo.
	_, out = start(map[string]string{"SOCKUDO_DEFAULT_APP_ID": "seed-partial"})
	log = out.String()
	if strings.Contains(log, "source=env") || !strings.Contains(log, "not all set") {
		t.Fatalf("incomplete default app log:\n%s", log)
	}
}
