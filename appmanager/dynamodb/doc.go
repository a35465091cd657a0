// Package dynamodb is an appmanager.Manager on Amazon DynamoDB
// (aws-sdk-go-v2), using Sockudo's table layout so that an existing Sockudo
// table works unchanged: table "sockudo-applications", hash key "id", a
// global secondary index "KeyIndex" on "key". It also implements
// appmanager.Lister and appmanager.Writer.
//
// The host owns the client and passes it in (a *dynamodb.Client satisfies
// API):
//
//	cfg, _ := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
//	m, err := dynamodb.New(ctx, awsdynamodb.NewFromConfig(cfg), &dynamodb.Options{CreateTable: true})
//
// Items hold id, key, secret and enabled, and either a "policy" JSON string
// (what Sockudo and this package write) or Sockudo's older flat attributes
// (max_connections and the other limits as numbers, enable_* as booleans,
// webhooks as a JSON string, allowed_origins as a list of strings). A
// malformed item gives an error matching appmanager.ErrInvalidApp that
// names the app and the attribute.
//
// FindByID reads with strong consistency. FindByKey queries the index,
// which DynamoDB keeps eventually consistent. DynamoDB cannot make a
// secondary attribute unique: CreateApp and UpdateApp check the key first,
// so two concurrent writers can still give two apps one key; such a key
// then fails lookups with an error rather than picking one app.
package dynamodb
