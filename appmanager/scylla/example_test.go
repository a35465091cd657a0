package scylla_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gocql/gocql"

	"github.com/sockudo-go/sockudo/appmanager/scylla"
)

func Example() {
	ctx := context.Background()
	cluster := gocql.NewCluster("127.0.0.1:9042")
	cluster.Consistency = gocql.LocalQuorum
	session, err := cluster.CreateSession()
	if err != nil {
		log.Fatal(err)
	}
	defer session.Close()

	apps, err := scylla.New(ctx, session, &scylla.Options{
		Keyspace:          "sockudo",
		ReplicationClass:  "NetworkTopologyStrategy",
		ReplicationFactor: 3,
		CreateTable:       true,
	})
	if err != nil {
		log.Fatal(err)
	}
	app, err := apps.FindByKey(ctx, "app-key")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(app.ID)
}
