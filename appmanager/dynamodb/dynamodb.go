package dynamodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sockudo-go/sockudo/appmanager"
)

// DefaultTableName is Sockudo's table name.
const DefaultTableName = "sockudo-applications"

// KeyIndex is the name of the global secondary index on "key".
const KeyIndex = "KeyIndex"

// API is the part of *dynamodb.Client that a Manager uses.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Options configures a Manager. The zero value (or nil) uses Sockudo's
// table name and expects the table to exist.
type Options struct {
	// TableName is the table; empty means DefaultTableName.
	TableName string
	// CreateTable creates the table with its KeyIndex when missing (on
	// demand billing) and waits until it is active.
	CreateTable bool
	// Logger receives a message when the table is created; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Manager reads and writes apps in a DynamoDB table. It is safe for
// concurrent use.
type Manager struct {
	api   API
	table string
}

var (
	_ appmanager.Manager = (*Manager)(nil)
	_ appmanager.Lister  = (*Manager)(nil)
	_ appmanager.Writer  = (*Manager)(nil)
	_ appmanager.Creator = (*Manager)(nil)
)

var tableRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

// New returns a Manager on api. It validates the options, creates the table
// when opts.CreateTable is set, and checks that the table has its
// KeyIndex.
func New(ctx context.Context, api API, opts *Options) (*Manager, error) {
	if api == nil {
		return nil, errors.New("dynamodb: nil client")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.TableName == "" {
		o.TableName = DefaultTableName
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if !tableRE.MatchString(o.TableName) {
		return nil, fmt.Errorf("dynamodb: Options.TableName %q: want 3 to 255 letters, digits, '_', '-' or '.'", o.TableName)
	}
	m := &Manager{api: api, table: o.TableName}
	desc, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(m.table)})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf) && o.CreateTable:
		if err := m.createTable(ctx); err != nil {
			return nil, err
		}
		o.Logger.LogAttrs(ctx, slog.LevelInfo, "app manager table created", slog.String("driver", "dynamodb"), slog.String("table", m.table))
		return m, nil
	case errors.As(err, &nf):
		return nil, fmt.Errorf("dynamodb: table %s does not exist (set Options.CreateTable to create it): %w", m.table, err)
	case err != nil:
		return nil, fmt.Errorf("dynamodb: describing table %s: %w", m.table, err)
	}
	if !hasKeyIndex(desc.Table) {
		return nil, fmt.Errorf("dynamodb: table %s has no global secondary index %s on \"key\"", m.table, KeyIndex)
	}
	return m, nil
}

func hasKeyIndex(t *types.TableDescription) bool {
	if t == nil {
		return false
	}
	for _, g := range t.GlobalSecondaryIndexes {
		if aws.ToString(g.IndexName) == KeyIndex {
			return true
		}
	}
	return false
}

func (m *Manager) createTable(ctx context.Context) error {
	_, err := m.api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(m.table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("key"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String(KeyIndex),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("key"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) { // in use: another server is creating it
		return fmt.Errorf("dynamodb: creating table %s: %w", m.table, err)
	}
	// Wait until the table and its index are active, at most two minutes.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		out, err := m.api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(m.table)})
		if err == nil && out.Table != nil && out.Table.TableStatus == types.TableStatusActive && indexesActive(out.Table) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynamodb: waiting for table %s to become active: %w", m.table, ctx.Err())
		case <-time.After(delay):
		}
	}
}

func indexesActive(t *types.TableDescription) bool {
	if !hasKeyIndex(t) {
		return false
	}
	for _, g := range t.GlobalSecondaryIndexes {
		if g.IndexStatus != "" && g.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}

// FindByID returns the app with the id, read with strong consistency.
func (m *Manager) FindByID(ctx context.Context, id string) (*appmanager.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if id == "" { // DynamoDB rejects empty key values
		return nil, fmt.Errorf("dynamodb: app with id %q: %w", id, appmanager.ErrNotFound)
	}
	out, err := m.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(m.table),
		Key:            map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("dynamodb: find app by id %q: %w", id, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("dynamodb: app with id %q: %w", id, appmanager.ErrNotFound)
	}
	return itemApp(out.Item)
}

// FindByKey returns the app with the key, from the KeyIndex.
func (m *Manager) FindByKey(ctx context.Context, key string) (*appmanager.App, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items, err := m.byKey(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: find app by key %q: %w", key, err)
	}
	switch len(items) {
	case 0:
		return nil, fmt.Errorf("dynamodb: app with key %q: %w", key, appmanager.ErrNotFound)
	case 1:
		return itemApp(items[0])
	default:
		return nil, fmt.Errorf("dynamodb: %d apps have key %q", len(items), key)
	}
}

// byKey returns the items with the key.
func (m *Manager) byKey(ctx context.Context, key string) ([]map[string]types.AttributeValue, error) {
	if key == "" {
		return nil, nil
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(m.table),
		IndexName:                 aws.String(KeyIndex),
		KeyConditionExpression:    aws.String("#k = :k"),
		ExpressionAttributeNames:  map[string]string{"#k": "key"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": &types.AttributeValueMemberS{Value: key}},
	}
	var items []map[string]types.AttributeValue
	for {
		out, err := m.api.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// ListApps returns every app, sorted by id.
func (m *Manager) ListApps(ctx context.Context) ([]appmanager.App, error) {
	in := &dynamodb.ScanInput{TableName: aws.String(m.table), ConsistentRead: aws.Bool(true)}
	var apps []appmanager.App
	for {
		out, err := m.api.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamodb: list apps: %w", err)
		}
		for _, item := range out.Items {
			a, err := itemApp(item)
			if err != nil {
				return nil, fmt.Errorf("dynamodb: list apps: %w", err)
			}
			apps = append(apps, *a)
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].ID < apps[j].ID })
	return apps, nil
}

// CreateApp stores app. It fails with appmanager.ErrExists when the id or
// the key is taken.
func (m *Manager) CreateApp(ctx context.Context, app appmanager.App) error {
	return m.put(ctx, &app, "create", "attribute_not_exists(id)", appmanager.ErrExists)
}

// CreateIfAbsent stores app unless an item with its id exists, and
// reports whether it did. A key held by another app fails with
// appmanager.ErrExists.
func (m *Manager) CreateIfAbsent(ctx context.Context, app appmanager.App) (bool, error) {
	err := m.put(ctx, &app, "create", "attribute_not_exists(id)", errAbsent)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errAbsent):
		return false, nil
	case errors.Is(err, appmanager.ErrExists):
		// The key check runs first: an existing app with this id is a
		// skip whatever its key, not a conflict.
		if _, ferr := m.FindByID(ctx, app.ID); ferr == nil || errors.Is(ferr, appmanager.ErrInvalidApp) {
			return false, nil
		}
	}
	return false, err
}

// errAbsent marks the failed condition of CreateIfAbsent: the id exists.
var errAbsent = errors.New("dynamodb: id exists")

// UpdateApp replaces the app with app.ID. It fails with
// appmanager.ErrNotFound when there is none and appmanager.ErrExists when
// the key belongs to another app. Sockudo settings that App does not
// model (idempotency, channel namespaces...) are not kept.
func (m *Manager) UpdateApp(ctx context.Context, app appmanager.App) error {
	return m.put(ctx, &app, "update", "attribute_exists(id)", appmanager.ErrNotFound)
}

func (m *Manager) put(ctx context.Context, app *appmanager.App, op, cond string, condErr error) error {
	item, err := appItem(app)
	if err != nil {
		return err
	}
	others, err := m.byKey(ctx, app.Key)
	if err != nil {
		return fmt.Errorf("dynamodb: %s app %q: checking the key: %w", op, app.ID, err)
	}
	for _, o := range others {
		if s, ok := o["id"].(*types.AttributeValueMemberS); !ok || s.Value != app.ID {
			return fmt.Errorf("dynamodb: %s app %q: key %q is taken: %w", op, app.ID, app.Key, appmanager.ErrExists)
		}
	}
	_, err = m.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(m.table),
		Item:                item,
		ConditionExpression: aws.String(cond),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("dynamodb: %s app %q: %w", op, app.ID, condErr)
	}
	if err != nil {
		return fmt.Errorf("dynamodb: %s app %q: %w", op, app.ID, err)
	}
	return nil
}

// DeleteApp removes the app with the id. It fails with
// appmanager.ErrNotFound when there is none.
func (m *Manager) DeleteApp(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("dynamodb: delete app %q: %w", id, appmanager.ErrNotFound)
	}
	_, err := m.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           aws.String(m.table),
		Key:                 map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
		ConditionExpression: aws.String("attribute_exists(id)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("dynamodb: delete app %q: %w", id, appmanager.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("dynamodb: delete app %q: %w", id, err)
	}
	return nil
}

// appItem is the item stored for app: credentials, enabled and the policy
// JSON, as Sockudo writes.
func appItem(app *appmanager.App) (map[string]types.AttributeValue, error) {
	r, err := appmanager.NewRecord(app)
	if err != nil {
		return nil, err
	}
	return map[string]types.AttributeValue{
		"id":      &types.AttributeValueMemberS{Value: r.ID},
		"key":     &types.AttributeValueMemberS{Value: r.Key},
		"secret":  &types.AttributeValueMemberS{Value: r.Secret},
		"enabled": &types.AttributeValueMemberBOOL{Value: r.Enabled},
		"policy":  &types.AttributeValueMemberS{Value: string(r.Policy)},
	}, nil
}

// itemApp reads an item in either of Sockudo's layouts.
func itemApp(item map[string]types.AttributeValue) (*appmanager.App, error) {
	var r appmanager.Record
	id, _ := item["id"].(*types.AttributeValueMemberS)
	if id != nil {
		r.ID = id.Value
	}
	bad := func(attr, format string, args ...any) error {
		return &appmanager.InvalidAppError{AppID: r.ID, Field: attr, Err: fmt.Errorf(format, args...)}
	}
	str := func(attr string, dst *string) error {
		switch v := item[attr].(type) {
		case nil, *types.AttributeValueMemberNULL:
		case *types.AttributeValueMemberS:
			*dst = v.Value
		default:
			return bad(attr, "want a string attribute, have %s", kind(v))
		}
		return nil
	}
	boolean := func(attr string, dst *bool) error {
		switch v := item[attr].(type) {
		case nil, *types.AttributeValueMemberNULL:
		case *types.AttributeValueMemberBOOL:
			*dst = v.Value
		default:
			return bad(attr, "want a boolean attribute, have %s", kind(v))
		}
		return nil
	}
	number := func(attr string, dst *int64) error {
		var text string
		switch v := item[attr].(type) {
		case nil, *types.AttributeValueMemberNULL:
			return nil
		case *types.AttributeValueMemberN:
			text = v.Value
		case *types.AttributeValueMemberS:
			text = strings.TrimSpace(v.Value)
		default:
			return bad(attr, "want a number attribute, have %s", kind(v))
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return bad(attr, "%q is not a whole number", text)
		}
		*dst = n
		return nil
	}
	doc := func(attr string, dst *[]byte) error {
		switch v := item[attr].(type) {
		case nil, *types.AttributeValueMemberNULL:
		case *types.AttributeValueMemberS:
			*dst = []byte(v.Value)
		case *types.AttributeValueMemberL:
			if attr != "allowed_origins" {
				return bad(attr, "want a JSON string attribute, have a list")
			}
			list := make([]string, len(v.Value))
			for i, e := range v.Value {
				s, ok := e.(*types.AttributeValueMemberS)
				if !ok {
					return bad(attr, "element %d is %s, not a string", i, kind(e))
				}
				list[i] = s.Value
			}
			*dst, _ = json.Marshal(list)
		default:
			return bad(attr, "want a JSON string attribute, have %s", kind(v))
		}
		return nil
	}
	r.Enabled = true // Sockudo's default when the attribute is absent
	errs := []error{
		str("key", &r.Key), str("secret", &r.Secret), boolean("enabled", &r.Enabled),
		doc("policy", &r.Policy), doc("webhooks", &r.Webhooks), doc("allowed_origins", &r.AllowedOrigins),
		boolean("enable_client_messages", &r.EnableClientMessages),
		boolean("enable_user_authentication", &r.EnableUserAuthentication),
		boolean("enable_watchlist_events", &r.EnableWatchlistEvents),
		number("max_connections", &r.MaxConnections),
		number("max_backend_events_per_second", &r.MaxBackendEventsPerSecond),
		number("max_client_events_per_second", &r.MaxClientEventsPerSecond),
		number("max_read_requests_per_second", &r.MaxReadRequestsPerSecond),
		number("max_presence_members_per_channel", &r.MaxPresenceMembersPerChannel),
		number("max_presence_member_size_in_kb", &r.MaxPresenceMemberSizeInKB),
		number("max_channel_name_length", &r.MaxChannelNameLength),
		number("max_event_channels_at_once", &r.MaxEventChannelsAtOnce),
		number("max_event_name_length", &r.MaxEventNameLength),
		number("max_event_payload_in_kb", &r.MaxEventPayloadInKB),
		number("max_event_batch_size", &r.MaxEventBatchSize),
	}
	if id == nil {
		errs = append([]error{bad("id", "missing or not a string")}, errs...)
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return r.App()
}

func kind(v types.AttributeValue) string {
	switch v.(type) {
	case *types.AttributeValueMemberS:
		return "a string"
	case *types.AttributeValueMemberN:
		return "a number"
	case *types.AttributeValueMemberBOOL:
		return "a boolean"
	case *types.AttributeValueMemberL:
		return "a list"
	case *types.AttributeValueMemberM:
		return "a map"
	default:
		return fmt.Sprintf("%T", v)
	}
}
