package backends

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/gocql/gocql"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/dynamodb"
	"github.com/sockudo-go/sockudo/appmanager/memory"
	"github.com/sockudo-go/sockudo/appmanager/mysql"
	"github.com/sockudo-go/sockudo/appmanager/postgres"
	"github.com/sockudo-go/sockudo/appmanager/scylla"
	"github.com/sockudo-go/sockudo/cmd/sockudo/internal/config"
)

// openAppManager builds the app manager that cfg.AppManager.Driver names.
// The returned close function releases its connections. Database drivers
// create their table when it is missing, as Sockudo does.
func openAppManager(ctx context.Context, cfg *config.Config, log *slog.Logger) (appmanager.Manager, func(), error) {
	pooling := cfg.DatabasePooling
	switch cfg.AppManager.Driver {
	case "", "memory", "array":
		m, err := memory.New(cfg.AppManager.MemoryApps()...)
		if err != nil {
			return nil, nil, fmt.Errorf("app_manager.array.apps: %w", err)
		}
		return m, func() {}, nil
	case "mysql":
		return openMySQL(ctx, &cfg.Database.MySQL, pooling, log)
	case "postgres", "pgsql", "postgresql":
		return openPostgres(ctx, &cfg.Database.Postgres, pooling, log)
	case "dynamodb":
		return openDynamoDB(ctx, &cfg.Database.DynamoDB, log)
	case "scylladb", "scylla":
		return openScylla(ctx, &cfg.Database.ScyllaDB, log)
	default:
		return nil, nil, fmt.Errorf("app_manager.driver (APP_MANAGER_DRIVER) %q is not one of memory, mysql, postgres, pgsql, dynamodb, scylladb", cfg.AppManager.Driver)
	}
}

func openPostgres(ctx context.Context, c *config.SQL, pooling config.DatabasePooling, log *slog.Logger) (appmanager.Manager, func(), error) {
	lo, hi, err := c.PoolSize(pooling)
	if err != nil {
		return nil, nil, err
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.Username, c.Password),
		Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), Path: "/" + c.Database}
	if c.Password == "" {
		u.User = url.User(c.Username)
	}
	pc, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, nil, fmt.Errorf("database.postgres: %w", err)
	}
	pc.MinConns, pc.MaxConns = int32(lo), int32(hi)
	pc.MaxConnIdleTime = 3 * time.Minute
	pc.ConnConfig.ConnectTimeout = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, nil, fmt.Errorf("database.postgres: %w", err)
	}
	m, err := postgres.New(ctx, pool, &postgres.Options{TableName: c.TableName, CreateTable: true, Logger: log})
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("database.postgres (%s:%d/%s): %w", c.Host, c.Port, c.Database, err)
	}
	return m, pool.Close, nil
}

func openMySQL(ctx context.Context, c *config.SQL, pooling config.DatabasePooling, log *slog.Logger) (appmanager.Manager, func(), error) {
	lo, hi, err := c.PoolSize(pooling)
	if err != nil {
		return nil, nil, err
	}
	mc := gomysql.NewConfig()
	mc.User, mc.Passwd = c.Username, c.Password
	mc.Net, mc.Addr = "tcp", net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	mc.DBName = c.Database
	mc.Timeout = 5 * time.Second
	conn, err := gomysql.NewConnector(mc)
	if err != nil {
		return nil, nil, fmt.Errorf("database.mysql: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(hi)
	db.SetMaxIdleConns(lo)
	db.SetConnMaxIdleTime(3 * time.Minute)
	m, err := mysql.New(ctx, db, &mysql.Options{TableName: c.TableName, CreateTable: true, Logger: log})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("database.mysql (%s/%s): %w", mc.Addr, c.Database, err)
	}
	return m, func() { db.Close() }, nil
}

func openDynamoDB(ctx context.Context, c *config.DynamoDB, log *slog.Logger) (appmanager.Manager, func(), error) {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(c.Region)}
	if c.AWSProfileName != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(c.AWSProfileName))
	}
	if c.AWSAccessKeyID != "" || c.AWSSecretAccessKey != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AWSAccessKeyID, c.AWSSecretAccessKey, "")))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("database.dynamodb: %w", err)
	}
	client := awsdynamodb.NewFromConfig(ac, func(o *awsdynamodb.Options) {
		if c.EndpointURL != "" {
			o.BaseEndpoint = aws.String(c.EndpointURL)
		}
	})
	m, err := dynamodb.New(ctx, client, &dynamodb.Options{TableName: c.TableName, CreateTable: true, Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("database.dynamodb: %w", err)
	}
	return m, func() {}, nil
}

func openScylla(ctx context.Context, c *config.Scylla, log *slog.Logger) (appmanager.Manager, func(), error) {
	if len(c.Nodes) == 0 {
		return nil, nil, errors.New("database.scylladb.nodes (SCYLLADB_NODES) is empty")
	}
	cluster := gocql.NewCluster(c.Nodes...)
	cluster.Timeout = 5 * time.Second
	cluster.ConnectTimeout = 5 * time.Second
	if c.Username != "" {
		cluster.Authenticator = gocql.PasswordAuthenticator{Username: c.Username, Password: c.Password}
	}
	session, err := cluster.CreateSession()
	if err != nil {
		return nil, nil, fmt.Errorf("database.scylladb (%v): %w", c.Nodes, err)
	}
	m, err := scylla.New(ctx, session, &scylla.Options{
		Keyspace: c.Keyspace, Table: c.Table,
		ReplicationClass: c.ReplicationClass, ReplicationFactor: c.ReplicationFactor,
		CreateTable: true, Logger: log,
	})
	if err != nil {
		session.Close()
		return nil, nil, fmt.Errorf("database.scylladb: %w", err)
	}
	return m, session.Close, nil
}
