// Package postgres is an appmanager.Manager on PostgreSQL (pgx/v5), reading
// and writing Sockudo's "applications" table, so that an existing Sockudo
// database works unchanged. It also implements appmanager.Lister and
// appmanager.Writer.
//
// The host owns the connection pool and passes it in; its size is the
// pool's own configuration, set before the pool is created:
//
//	cfg, _ := pgxpool.ParseConfig("postgres://user:pass@db:5432/sockudo")
//	cfg.MinConns = 2  // Sockudo's database_pooling.min
//	cfg.MaxConns = 10 // Sockudo's database_pooling.max
//	pool, _ := pgxpool.NewWithConfig(ctx, cfg)
//	m, err := postgres.New(ctx, pool, &postgres.Options{CreateTable: true})
//
// A row's "policy" JSON, when present, wins over its flat columns (as in
// Sockudo). Writes fill both the flat columns and the policy. A malformed
// row gives an error matching appmanager.ErrInvalidApp that names the app
// and the column. A database outage gives errors that are not
// appmanager.ErrNotFound; the pool reconnects by itself when the database
// is back.
package postgres
