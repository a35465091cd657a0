package appcache_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/appmanager/memory"
	"github.com/sockudo-go/sockudo/internal/appcache"
)

func Example() {
	backend, _ := memory.New(appmanager.App{ID: "1", Key: "k1", Secret: "s1", Enabled: true})
	c := appcache.New(backend, appcache.DefaultOptions())
	ctx := context.Background()

	app, _ := c.FindByKey(ctx, "k1") // asks the backend, caches under id and key
	same, _ := c.FindByID(ctx, "1")  // served from memory
	fmt.Println(app.ID, app == same)

	_, err := c.FindByKey(ctx, "unknown") // remembered for NegativeTTL
	fmt.Println(errors.Is(err, appmanager.ErrNotFound))

	c.Invalidate("1") // after the app changed in the backend
	// Output:
	// 1 true
	// true
}
