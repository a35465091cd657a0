package appmanagertest_test

import (
	"context"
	"fmt"

	"github.com/sockudo-go/sockudo/appmanager/appmanagertest"
	"github.com/sockudo-go/sockudo/appmanager/memory"
)

// FullApp is the fixture the suite round-trips through a driver; a
// driver's own tests can use it too.
func ExampleFullApp() {
	a := appmanagertest.FullApp("demo")
	m, _ := memory.New(a)
	got, _ := m.FindByKey(context.Background(), "Key-demo")
	fmt.Println(got.ID, got.MaxConnections, len(got.Webhooks), got.Webhooks[0].Filter.ChannelPrefix)
	// Output: demo 101 2 private-
}
