package appmanager_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/sockudo-go/sockudo/appmanager"
)

// Apps decode from both of Sockudo's JSON shapes.
func ExampleApp_UnmarshalJSON() {
	var flat, nested appmanager.App
	_ = json.Unmarshal([]byte(`{"id":"1","key":"k1","secret":"s1","enabled":true,
		"max_connections":"100","enable_client_messages":true}`), &flat)
	_ = json.Unmarshal([]byte(`{"id":"2","key":"k2","secret":"s2","enabled":true,
		"policy":{"limits":{"max_connections":50},"features":{"enable_client_messages":true},
		"channels":{"allowed_origins":["https://example.com"]}}}`), &nested)
	fmt.Println(flat.MaxConnections, flat.EnableClientMessages)
	fmt.Println(nested.MaxConnections, nested.EnableClientMessages, nested.AllowedOrigins)

	var bad appmanager.App
	err := json.Unmarshal([]byte(`{"id":"3","max_connections":"lots"}`), &bad)
	fmt.Println(err, errors.Is(err, appmanager.ErrInvalidApp))
	// Output:
	// 100 true
	// 50 true [https://example.com]
	// appmanager: app "3": max_connections: "lots" is not a whole number true
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
