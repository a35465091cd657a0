package dynamodb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/appmanagertest"
	"github.com/sockudo-go/sockudo/appmanager/dynamodb"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

var quiet = slog.New(slog.DiscardHandler)

func testClient(t testing.TB) *awsdynamodb.Client {
	t.Helper()
	endpoint := testenv.Lookup(t, "SOCKUDO_TEST_DYNAMODB_ENDPOINT")
	return awsdynamodb.New(awsdynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	})
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// tableName returns a table name unique to t, deleted when t ends.
func tableName(t testing.TB, c *awsdynamodb.Client) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	base := strings.Trim(nonWord.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	name := "sockudo-test-" + base + "-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		_, _ = c.DeleteTable(context.Background(), &awsdynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}

func newManager(t testing.TB, c *awsdynamodb.Client) (*dynamodb.Manager, string) {
	t.Helper()
	table := tableName(t, c)
	m, err := dynamodb.New(context.Background(), c, &dynamodb.Options{TableName: table, CreateTable: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return m, table
}

func TestConformance(t *testing.T) {
	c := testClient(t)
	appmanagertest.Run(t, appmanagertest.Harness{
		New: func(t *testing.T) appmanager.Manager {
			m, _ := newManager(t, c)
			return m
		},
		RequireLister:  true,
		RequireWriter:  true,
		RequireCreator: true,
	})
}

func put(t *testing.T, c *awsdynamodb.Client, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := c.PutItem(context.Background(), &awsdynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
func b(v bool) types.AttributeValue   { return &types.AttributeValueMemberBOOL{Value: v} }
func l(v ...string) types.AttributeValue {
	list := make([]types.AttributeValue, len(v))
	for i, e := range v {
		list[i] = s(e)
	}
	return &types.AttributeValueMemberL{Value: list}
}

// TestSockudoItems reads items in Sockudo's two layouts, written directly.
func TestSockudoItems(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	m, table := newManager(t, c)
	put(t, c, table, map[string]types.AttributeValue{
		"id": s("flat"), "key": s("flat-key"), "secret": s("flat-secret"), "enabled": b(true),
		"max_connections": n("101"), "max_backend_events_per_second": n("102"), "max_client_events_per_second": n("103"),
		"max_read_requests_per_second": n("104"), "max_presence_members_per_channel": n("105"),
		"max_presence_member_size_in_kb": n("106"), "max_channel_name_length": n("107"),
		"max_event_channels_at_once": n("108"), "max_event_name_length": n("109"),
		"max_event_payload_in_kb": n("110"), "max_event_batch_size": s("111"),
		"enable_client_messages": b(true), "enable_user_authentication": b(true), "enable_watchlist_events": b(true),
		"allowed_origins": l("https://app.example.com", "*.example.org"),
		"webhooks": s(`[{"url":"https://hooks.example.com/pusher?x=1","event_types":["channel_occupied","member_added"],
		   "filter":{"channel_prefix":"private-","channel_suffix":"-room","channel_pattern":"^private-[a-z]+-room$"},
		   "headers":{"X-Token":"abc","X-Tenant":"t1"}},{"lambda_function":"notify-flat","event_types":[]}]`),
	})
	put(t, c, table, map[string]types.AttributeValue{
		"id": s("pol"), "key": s("pol-key"), "secret": s("pol-secret"), "enabled": b(false), "max_connections": n("1"),
		"policy": s(`{"limits":{"max_connections":50,"max_client_events_per_second":"7"},"features":{"enable_client_messages":true},
			"channels":{"allowed_origins":["https://p.example"]},"webhooks":[{"url":"https://p.example/hook","event_types":["client_event"]}]}`),
	})
	put(t, c, table, map[string]types.AttributeValue{"id": s("bare"), "key": s("bare-key"), "secret": s("bare-secret")})

	want := appmanagertest.FullApp("flat")
	want.Key, want.Secret = "flat-key", "flat-secret"
	want.EnableSubscriptionCountEvents = false
	got, err := m.FindByKey(ctx, "flat-key")
	if err != nil {
		t.Fatal(err)
	}
	appmanagertest.AssertApp(t, got, want)
	got, err = m.FindByID(ctx, "pol")
	if err != nil {
		t.Fatal(err)
	}
	appmanagertest.AssertApp(t, got, appmanager.App{ID: "pol", Key: "pol-key", Secret: "pol-secret",
		MaxConnections: 50, MaxClientEventsPerSecond: 7, EnableClientMessages: true,
		AllowedOrigins: []string{"https://p.example"},
		Webhooks:       []appmanager.Webhook{{URL: "https://p.example/hook", EventTypes: []string{"client_event"}}}})
	got, err = m.FindByID(ctx, "bare")
	if err != nil {
		t.Fatal(err)
	}
	appmanagertest.AssertApp(t, got, appmanager.App{ID: "bare", Key: "bare-key", Secret: "bare-secret", Enabled: true})

	// What this driver writes is Sockudo's current layout.
	if err := m.CreateApp(ctx, appmanagertest.FullApp("w")); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetItem(ctx, &awsdynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"id": s("w")}})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := out.Item["policy"].(*types.AttributeValueMemberS); !ok || !strings.Contains(p.Value, `"limits"`) {
		t.Fatalf("written item has no policy JSON: %v", out.Item)
	}
	if _, ok := out.Item["enabled"].(*types.AttributeValueMemberBOOL); !ok {
		t.Fatalf("written item has no boolean enabled: %v", out.Item)
	}
}

func TestMalformedItems(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	m, table := newManager(t, c)
	for _, tc := range []struct {
		id    string
		attr  string
		value types.AttributeValue
		field string
	}{
		{"bad-policy", "policy", s(`{"limits":`), "policy"},
		{"policy-limit", "policy", s(`{"limits":{"max_connections":"lots"}}`), "policy.limits.max_connections"},
		{"bad-hooks", "webhooks", s(`[{"url":5}]`), "webhooks.url"},
		{"hooks-list", "webhooks", l("x"), "webhooks"},
		{"negative", "max_connections", n("-4"), "max_connections"},
		{"not-number", "max_connections", s("lots"), "max_connections"},
		{"wrong-type", "enable_client_messages", s("yes"), "enable_client_messages"},
		{"huge", "max_event_batch_size", n("99999999999"), "max_event_batch_size"},
	} {
		put(t, c, table, map[string]types.AttributeValue{"id": s(tc.id), "key": s("key-" + tc.id), "secret": s("x"), tc.attr: tc.value})
		for _, find := range []func() (*appmanager.App, error){
			func() (*appmanager.App, error) { return m.FindByID(ctx, tc.id) },
			func() (*appmanager.App, error) { return m.FindByKey(ctx, "key-"+tc.id) },
		} {
			a, err := find()
			var ie *appmanager.InvalidAppError
			if !errors.As(err, &ie) || ie.AppID != tc.id || ie.Field != tc.field || a != nil {
				t.Errorf("%s: %v, %v; want an InvalidAppError for app %q field %q", tc.id, a, err, tc.id, tc.field)
			}
			if errors.Is(err, appmanager.ErrNotFound) {
				t.Errorf("%s: a malformed item reads as not found: %v", tc.id, err)
			}
		}
	}
	if _, err := m.ListApps(ctx); !errors.Is(err, appmanager.ErrInvalidApp) {
		t.Errorf("ListApps over malformed items = %v; want ErrInvalidApp", err)
	}
}

func TestOptions(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	for _, name := range []string{"ab", "bad name", strings.Repeat("a", 256)} {
		if _, err := dynamodb.New(ctx, c, &dynamodb.Options{TableName: name}); err == nil || !strings.Contains(err.Error(), "TableName") {
			t.Errorf("TableName %q: %v; want an error naming the option", name, err)
		}
	}
	if _, err := dynamodb.New(ctx, nil, nil); err == nil {
		t.Error("nil client accepted")
	}
	missing := tableName(t, c)
	if _, err := dynamodb.New(ctx, c, &dynamodb.Options{TableName: missing}); err == nil || !strings.Contains(err.Error(), "CreateTable") {
		t.Errorf("missing table without CreateTable: %v", err)
	}
	// A table without the KeyIndex is refused.
	noIndex := tableName(t, c)
	if _, err := c.CreateTable(ctx, &awsdynamodb.CreateTableInput{
		TableName:            aws.String(noIndex),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := dynamodb.New(ctx, c, &dynamodb.Options{TableName: noIndex, CreateTable: true}); err == nil || !strings.Contains(err.Error(), dynamodb.KeyIndex) {
		t.Errorf("table without KeyIndex: %v", err)
	}
	// An existing table is used as it is.
	_, table := newManager(t, c)
	if _, err := dynamodb.New(ctx, c, &dynamodb.Options{TableName: table}); err != nil {
		t.Errorf("existing table: %v", err)
	}
}
