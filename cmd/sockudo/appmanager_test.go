package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

func TestAppManagerEnv(t *testing.T) {
	cfg, _, err := loadConfig("", mapEnv(map[string]string{
		"APP_MANAGER_DRIVER":             "pgsql",
		"DATABASE_MYSQL_HOST":            "mysql.internal",
		"DATABASE_MYSQL_PORT":            "3307",
		"DATABASE_MYSQL_USERNAME":        "sock",
		"DATABASE_MYSQL_PASSWORD":        "pw",
		"DATABASE_MYSQL_DATABASE":        "apps",
		"DATABASE_MYSQL_TABLE_NAME":      "my_apps",
		"DATABASE_MYSQL_POOL_MIN":        "1",
		"DATABASE_MYSQL_POOL_MAX":        "4",
		"DATABASE_POSTGRES_HOST":         "pg.internal",
		"DATABASE_POSTGRES_PORT":         "6432",
		"DATABASE_POSTGRES_USER":         "pguser",
		"DATABASE_POSTGRES_PASSWORD":     "pgpw",
		"DATABASE_POSTGRES_DATABASE":     "pgdb",
		"DATABASE_CONNECTION_POOL_SIZE":  "7",
		"DATABASE_POOLING_ENABLED":       "false",
		"DATABASE_POOL_MIN":              "3",
		"DATABASE_POOL_MAX":              "12",
		"DATABASE_DYNAMODB_REGION":       "eu-west-1",
		"DATABASE_DYNAMODB_TABLE_NAME":   "apps-table",
		"DATABASE_DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:8000",
		"SCYLLADB_NODES":                 "10.0.0.1:9042, 10.0.0.2:9042",
		"SCYLLADB_KEYSPACE":              "ks",
		"SCYLLADB_REPLICATION_CLASS":     "NetworkTopologyStrategy",
		"SCYLLADB_REPLICATION_FACTOR":    "2",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AppManager.Driver != "pgsql" {
		t.Errorf("driver %q", cfg.AppManager.Driver)
	}
	one, four := 1, 4
	wantMySQL := sqlConfig{Host: "mysql.internal", Port: 3307, Username: "sock", Password: "pw", Database: "apps",
		TableName: "my_apps", ConnectionPoolSize: 7, PoolMin: &one, PoolMax: &four, env: "DATABASE_MYSQL"}
	if got := cfg.Database.MySQL; !sameJSON(got, wantMySQL) || got.env != wantMySQL.env {
		t.Errorf("mysql %+v", got)
	}
	wantPG := sqlConfig{Host: "pg.internal", Port: 6432, Username: "pguser", Password: "pgpw", Database: "pgdb",
		TableName: "applications", ConnectionPoolSize: 7, env: "DATABASE_POSTGRES"}
	if got := cfg.Database.Postgres; !sameJSON(got, wantPG) || got.env != wantPG.env {
		t.Errorf("postgres %+v", got)
	}
	p := cfg.AppManager.poolingEnv
	if p.Enabled == nil || *p.Enabled || p.Min == nil || *p.Min != 3 || p.Max == nil || *p.Max != 12 {
		t.Errorf("pooling from env %+v", p)
	}
	if d := cfg.Database.DynamoDB; d.Region != "eu-west-1" || d.TableName != "apps-table" || d.EndpointURL != "http://127.0.0.1:8000" {
		t.Errorf("dynamodb %+v", d)
	}
	s := cfg.Database.ScyllaDB
	if strings.Join(s.Nodes, ",") != "10.0.0.1:9042,10.0.0.2:9042" || s.Keyspace != "ks" || s.Table != "applications" ||
		s.ReplicationClass != "NetworkTopologyStrategy" || s.ReplicationFactor != 2 {
		t.Errorf("scylladb %+v", s)
	}

	// USERNAME wins over the USER alias.
	cfg, _, err = loadConfig("", mapEnv(map[string]string{"DATABASE_POSTGRES_USERNAME": "a", "DATABASE_POSTGRES_USER": "b"}))
	if err != nil || cfg.Database.Postgres.Username != "a" {
		t.Errorf("postgres username %q, %v", cfg.Database.Postgres.Username, err)
	}
}

func TestAppManagerDefaults(t *testing.T) {
	cfg, _, err := loadConfig("", mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database.MySQL.Port != 3306 || cfg.Database.MySQL.Username != "root" || cfg.Database.MySQL.TableName != "applications" ||
		cfg.Database.Postgres.Port != 5432 || cfg.Database.DynamoDB.TableName != "sockudo-applications" ||
		cfg.Database.ScyllaDB.ReplicationFactor != 3 || cfg.Database.ScyllaDB.ReplicationClass != "SimpleStrategy" {
		t.Fatalf("database defaults %+v", cfg.Database)
	}
	lo, hi, err := poolSize(poolingOf(&cfg, cfg.AppManager.poolingEnv), &cfg.Database.Postgres)
	if err != nil || lo != 2 || hi != 10 {
		t.Fatalf("default pool %d..%d, %v; want Sockudo's 2..10", lo, hi, err)
	}
}

func TestAppManagerEnvErrors(t *testing.T) {
	for _, name := range []string{"DATABASE_MYSQL_PORT", "DATABASE_POSTGRES_POOL_MAX", "DATABASE_POOL_MIN",
		"DATABASE_POOLING_ENABLED", "DATABASE_CONNECTION_POOL_SIZE", "SCYLLADB_REPLICATION_FACTOR"} {
		_, _, err := loadConfig("", mapEnv(map[string]string{name: "many"}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=many: %v; want an error naming it", name, err)
		}
	}
}

func TestAppManagerFileSections(t *testing.T) {
	cfg, unknown, err := loadConfig(writeConfig(t, `{
		"database": {
			"mysql": {"host": "db", "port": 3310, "pool_min": 0, "pool_max": 5, "connection_pool_size": 3},
			"postgres": {"username": "u", "table_name": "apps"},
			"dynamodb": {"region": "ap-south-1", "aws_profile_name": "p"},
			"scylladb": {"nodes": ["n1:9042"], "replication_factor": 1}
		}
	}`), mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) != 0 {
		t.Errorf("unknown keys %v", unknown)
	}
	m := cfg.Database.MySQL
	if m.Host != "db" || m.Port != 3310 || m.PoolMin == nil || *m.PoolMin != 0 || *m.PoolMax != 5 || m.ConnectionPoolSize != 3 {
		t.Errorf("mysql %+v", m)
	}
	if cfg.Database.Postgres.Username != "u" || cfg.Database.Postgres.TableName != "apps" {
		t.Errorf("postgres %+v", cfg.Database.Postgres)
	}
	if cfg.Database.DynamoDB.Region != "ap-south-1" || cfg.Database.DynamoDB.AWSProfileName != "p" {
		t.Errorf("dynamodb %+v", cfg.Database.DynamoDB)
	}
	if cfg.Database.ScyllaDB.ReplicationFactor != 1 || cfg.Database.ScyllaDB.Nodes[0] != "n1:9042" {
		t.Errorf("scylladb %+v", cfg.Database.ScyllaDB)
	}
	// The file's keys and the environment override each other in the usual order.
	cfg, _, err = loadConfig(writeConfig(t, `{"database": {"mysql": {"host": "file"}}}`), mapEnv(map[string]string{"DATABASE_MYSQL_HOST": "env"}))
	if err != nil || cfg.Database.MySQL.Host != "env" {
		t.Errorf("env over file: %q, %v", cfg.Database.MySQL.Host, err)
	}
}

// withPooling is how Config carries database_pooling once it embeds
// databasePoolingSection.
type withPooling struct {
	databasePoolingSection
	Other int `json:"other"`
}

func TestDatabasePooling(t *testing.T) {
	var c withPooling
	if err := json.Unmarshal([]byte(`{"database_pooling": {"enabled": true, "min": 4, "max": 20}, "other": 1}`), &c); err != nil {
		t.Fatal(err)
	}
	if _, ok := jsonFields(reflect.TypeOf(c))["database_pooling"]; !ok {
		t.Fatal("database_pooling is not a known config key once the section is embedded")
	}
	five := 5
	p := poolingOf(&c, databasePoolingConfig{Max: &five})
	db := defaultSQLConfig(5432, "postgres")
	lo, hi, err := poolSize(p, &db)
	if err != nil || lo != 4 || hi != 5 {
		t.Fatalf("file min 4 max 20, env max 5: pool %d..%d, %v; want 4..5", lo, hi, err)
	}
	seven := 7
	db.PoolMax = &seven
	if lo, hi, _ := poolSize(p, &db); lo != 4 || hi != 7 {
		t.Fatalf("pool_max 7: pool %d..%d; want 4..7", lo, hi)
	}
	off := false
	db.ConnectionPoolSize = 9
	if lo, hi, _ := poolSize(databasePoolingConfig{Enabled: &off}, &db); lo != 0 || hi != 9 {
		t.Fatalf("pooling disabled: pool %d..%d; want 0..connection_pool_size 9", lo, hi)
	}
	zero, big := 0, 50
	for _, bad := range []databasePoolingConfig{{Max: &zero}, {Min: &big}} {
		d := defaultSQLConfig(3306, "root")
		if _, _, err := poolSize(bad, &d); err == nil || !strings.Contains(err.Error(), "database.mysql") {
			t.Errorf("pooling %+v: %v; want an error naming database.mysql", bad, err)
		}
	}
}

func TestOpenAppManagerMemoryDefaultApp(t *testing.T) {
	cfg, _, err := loadConfig("", mapEnv(map[string]string{"SOCKUDO_DEFAULT_APP_KEY": "k9"}))
	if err != nil {
		t.Fatal(err)
	}
	m, closeFn, err := openAppManager(context.Background(), &cfg, slog.New(slog.DiscardHandler))
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
	cfg, _, err := loadConfig("", mapEnv(map[string]string{
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
	m, closeFn, err := openAppManager(context.Background(), &cfg, slog.New(slog.DiscardHandler))
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
	cfg, _, err := loadConfig("", mapEnv(map[string]string{
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
	m, closeFn, err := openAppManager(context.Background(), &cfg, slog.New(slog.DiscardHandler))
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

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
