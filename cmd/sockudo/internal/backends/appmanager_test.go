package backends

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

func TestOpenAppManagerMemoryDefaultApp(t *testing.T) {
	cfg, _, err := config.Load("", mapEnv(map[string]string{"SOCKUDO_DEFAULT_APP_KEY": "k9"}))
	if err != nil {
		t.Fatal(err)
	}
	m, closeFn, err := openAppManager(context.Background(), &cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if a, err := m.FindByKey(context.Background(), "k9"); err != nil || a.ID != "app-id" {
		t.Fatalf("default app: %v, %v", a, err)
	}
	cfg.AppManager.Driver = "surrealdb"
	if _, _, err := openAppManager(context.Background(), &cfg, nil); err == nil || !strings.Contains(err.Error(), "APP_MANAGER_DRIVER") {
		t.Fatalf("unknown driver: %v", err)
	}
}

func TestOpenAppManagerPostgres(t *testing.T) {
	pc, err := pgx.ParseConfig(testenv.Lookup(t, "SOCKUDO_TEST_POSTGRES_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	table := uniqueTable(t)
	cfg, _, err := config.Load("", mapEnv(map[string]string{
		"APP_MANAGER_DRIVER":           "postgres",
		"DATABASE_POSTGRES_HOST":       pc.Host,
		"DATABASE_POSTGRES_PORT":       strconv.Itoa(int(pc.Port)),
		"DATABASE_POSTGRES_USER":       pc.User,
		"DATABASE_POSTGRES_PASSWORD":   pc.Password,
		"DATABASE_POSTGRES_DATABASE":   pc.Database,
		"DATABASE_POSTGRES_TABLE_NAME": table,
		"DATABASE_POOL_MIN":            "1",
		"DATABASE_POOL_MAX":            "3",
	}))
	if err != nil {
		t.Fatal(err)
	}
	m, closeFn, err := openAppManager(context.Background(), &cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.ConnectConfig(context.Background(), pc)
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
			conn.Close(context.Background())
		}
	})
	defer closeFn()
	exerciseManager(t, m)
}

func TestOpenAppManagerMySQL(t *testing.T) {
	mc, err := gomysql.ParseDSN(testenv.Lookup(t, "SOCKUDO_TEST_MYSQL_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(mc.Addr, ":")
	table := uniqueTable(t)
	cfg, _, err := config.Load("", mapEnv(map[string]string{
		"APP_MANAGER_DRIVER":        "mysql",
		"DATABASE_MYSQL_HOST":       host,
		"DATABASE_MYSQL_PORT":       port,
		"DATABASE_MYSQL_USERNAME":   mc.User,
		"DATABASE_MYSQL_PASSWORD":   mc.Passwd,
		"DATABASE_MYSQL_DATABASE":   mc.DBName,
		"DATABASE_MYSQL_TABLE_NAME": table,
	}))
	if err != nil {
		t.Fatal(err)
	}
	m, closeFn, err := openAppManager(context.Background(), &cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", mc.FormatDSN())
		if err == nil {
			_, _ = db.Exec("DROP TABLE IF EXISTS `" + table + "`")
			db.Close()
		}
	})
	defer closeFn()
	exerciseManager(t, m)
}

// exerciseManager checks that m answers: not found, then a created app.
func exerciseManager(t *testing.T, m appmanager.Manager) {
	t.Helper()
	ctx := context.Background()
	if _, err := m.FindByKey(ctx, "absent"); !errors.Is(err, appmanager.ErrNotFound) {
		t.Fatalf("FindByKey(absent) = %v; want ErrNotFound", err)
	}
	w, ok := m.(appmanager.Writer)
	if !ok {
		t.Fatalf("%T is not an appmanager.Writer", m)
	}
	app := appmanager.App{ID: "srv", Key: "srv-key", Secret: "s", Enabled: true, MaxConnections: 5}
	if err := w.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	got, err := m.FindByKey(ctx, "srv-key")
	if err != nil || got.ID != "srv" || got.MaxConnections != 5 {
		t.Fatalf("FindByKey(srv-key) = %+v, %v", got, err)
	}
}

func uniqueTable(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "srv_apps_" + hex.EncodeToString(b)
}
