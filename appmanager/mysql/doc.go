// Package mysql is an appmanager.Manager on MySQL or MariaDB
// (database/sql with github.com/go-sql-driver/mysql), reading and writing
// Sockudo's "applications" table, so that an existing Sockudo database
// works unchanged. It also implements appmanager.Lister and
// appmanager.Writer.
//
// The host owns the *sql.DB and passes it in; the pool size is set on it:
//
//	db, _ := sql.Open("mysql", "user:pass@tcp(db:3306)/sockudo")
//	db.SetMaxOpenConns(10) // Sockudo's database_pooling.max
//	db.SetMaxIdleConns(2)  // Sockudo's database_pooling.min
//	m, err := mysql.New(ctx, db, &mysql.Options{CreateTable: true})
//
// Sockudo's schema stores id and key with a case-insensitive collation;
// lookups here still compare them exactly. A row's "policy" JSON, when
// present, wins over its flat columns (as in Sockudo). Writes fill both the
// flat columns and the policy. A malformed row gives an error matching
// appmanager.ErrInvalidApp that names the app and the column. A database
// outage gives errors that are not appmanager.ErrNotFound; database/sql
// reconnects by itself when the database is back.
package mysql
