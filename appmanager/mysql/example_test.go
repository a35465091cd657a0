package mysql_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"

	_ "github.com/go-sql-driver/mysql" // registers the "mysql" driver

	"github.com/sockudo-go/sockudo/appmanager/mysql"
)

// The host owns the *sql.DB and sizes its pool: SetMaxOpenConns is
// Sockudo's database_pooling.max, SetMaxIdleConns its min.
func Example() {
	ctx := context.Background()
	db, err := sql.Open("mysql", "sockudo:secret@tcp(127.0.0.1:3306)/sockudo")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(2)

	apps, err := mysql.New(ctx, db, &mysql.Options{CreateTable: true})
	if err != nil {
		log.Fatal(err)
	}
	app, err := apps.FindByKey(ctx, "app-key")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(app.ID)
}
