package config

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAppManagerEnv(t *testing.T) {
	cfg, _, err := Load("", mapEnv(map[string]string{
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
	wantMySQL := SQL{Host: "mysql.internal", Port: 3307, Username: "sock", Password: "pw", Database: "apps",
		TableName: "my_apps", ConnectionPoolSize: 7, PoolMin: &one, PoolMax: &four, env: "DATABASE_MYSQL"}
	if got := cfg.Database.MySQL; !sameJSON(got, wantMySQL) || got.env != wantMySQL.env {
		t.Errorf("mysql %+v", got)
	}
	wantPG := SQL{Host: "pg.internal", Port: 6432, Username: "pguser", Password: "pgpw", Database: "pgdb",
		TableName: "applications", ConnectionPoolSize: 7, env: "DATABASE_POSTGRES"}
	if got := cfg.Database.Postgres; !sameJSON(got, wantPG) || got.env != wantPG.env {
		t.Errorf("postgres %+v", got)
	}
	p := cfg.DatabasePooling
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
	cfg, _, err = Load("", mapEnv(map[string]string{"DATABASE_POSTGRES_USERNAME": "a", "DATABASE_POSTGRES_USER": "b"}))
	if err != nil || cfg.Database.Postgres.Username != "a" {
		t.Errorf("postgres username %q, %v", cfg.Database.Postgres.Username, err)
	}
}

func TestAppManagerDefaults(t *testing.T) {
	cfg, _, err := Load("", mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database.MySQL.Port != 3306 || cfg.Database.MySQL.Username != "root" || cfg.Database.MySQL.TableName != "applications" ||
		cfg.Database.Postgres.Port != 5432 || cfg.Database.DynamoDB.TableName != "sockudo-applications" ||
		cfg.Database.ScyllaDB.ReplicationFactor != 3 || cfg.Database.ScyllaDB.ReplicationClass != "SimpleStrategy" {
		t.Fatalf("database defaults %+v", cfg.Database)
	}
	lo, hi, err := cfg.Database.Postgres.PoolSize(cfg.DatabasePooling)
	if err != nil || lo != 2 || hi != 10 {
		t.Fatalf("default pool %d..%d, %v; want Sockudo's 2..10", lo, hi, err)
	}
}

func TestAppManagerEnvErrors(t *testing.T) {
	for _, name := range []string{"DATABASE_MYSQL_PORT", "DATABASE_POSTGRES_POOL_MAX", "DATABASE_POOL_MIN",
		"DATABASE_POOLING_ENABLED", "DATABASE_CONNECTION_POOL_SIZE", "SCYLLADB_REPLICATION_FACTOR"} {
		_, _, err := Load("", mapEnv(map[string]string{name: "many"}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=many: %v; want an error naming it", name, err)
		}
	}
}

func TestAppManagerFileSections(t *testing.T) {
	cfg, unknown, err := Load(writeConfig(t, `{
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
	cfg, _, err = Load(writeConfig(t, `{"database": {"mysql": {"host": "file"}}}`), mapEnv(map[string]string{"DATABASE_MYSQL_HOST": "env"}))
	if err != nil || cfg.Database.MySQL.Host != "env" {
		t.Errorf("env over file: %q, %v", cfg.Database.MySQL.Host, err)
	}
}

func TestDatabasePooling(t *testing.T) {
	path := writeConfig(t, `{"database_pooling": {"enabled": true, "min": 4, "max": 20}}`)
	cfg, unknown, err := Load(path, mapEnv(map[string]string{"DATABASE_POOL_MAX": "5"}))
	if err != nil || len(unknown) != 0 {
		t.Fatalf("Load: %v, unknown keys %v", err, unknown)
	}
	p := cfg.DatabasePooling
	db := defaultSQLConfig(5432, "postgres")
	lo, hi, err := db.PoolSize(p)
	if err != nil || lo != 4 || hi != 5 {
		t.Fatalf("file min 4 max 20, env max 5: pool %d..%d, %v; want 4..5", lo, hi, err)
	}
	seven := 7
	db.PoolMax = &seven
	if lo, hi, _ := db.PoolSize(p); lo != 4 || hi != 7 {
		t.Fatalf("pool_max 7: pool %d..%d; want 4..7", lo, hi)
	}
	off := false
	db.ConnectionPoolSize = 9
	if lo, hi, _ := db.PoolSize(DatabasePooling{Enabled: &off}); lo != 0 || hi != 9 {
		t.Fatalf("pooling disabled: pool %d..%d; want 0..connection_pool_size 9", lo, hi)
	}
	zero, big := 0, 50
	for _, bad := range []DatabasePooling{{Max: &zero}, {Min: &big}} {
		d := defaultSQLConfig(3306, "root")
		if _, _, err := d.PoolSize(bad); err == nil || !strings.Contains(err.Error(), "database.mysql") {
			t.Errorf("pooling %+v: %v; want an error naming database.mysql", bad, err)
		}
	}
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
