package dynamodb_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sockudo-go/sockudo/appmanager/dynamodb"
)

func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		log.Fatal(err)
	}
	apps, err := dynamodb.New(ctx, awsdynamodb.NewFromConfig(cfg), &dynamodb.Options{
		TableName:   "sockudo-applications",
		CreateTable: true,
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
