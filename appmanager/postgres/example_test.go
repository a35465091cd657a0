package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sockudo-go/sockudo/appmanager/postgres"
)

// The host owns the pool: its MinConns and MaxConns are Sockudo's
// database_pooling min and max.
func Example() {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL")) // postgres://user:pass@host:5432/sockudo
	if err != nil {
		log.Fatal(err)
	}
	cfg.MinConns = 2
	cfg.MaxConns = 10
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	apps, err := postgres.New(ctx, pool, &postgres.Options{CreateTable: true})
	if err != nil {
		log.Fatal(err)
	}
	app, err := apps.FindByKey(ctx, "app-key")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(app.ID)
}
