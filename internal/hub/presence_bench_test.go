package hub

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/protocol"
	ratelimitmemory "github.com/sockudo-go/sockudo/ratelimit/memory"
)

// BenchmarkPresenceSubscribe subscribes and unsubscribes another socket of
// a member of a 100-member presence channel (1 KB of user_info each), the
// pattern of a user opening tabs. Cached is the server's path: the member
// list does not change, so the snapshot is not encoded again. Encoded
// encodes it every time, as the server did before it was cached.
func BenchmarkPresenceSubscribe(b *testing.B) {
	lim, _ := ratelimitmemory.New(nil)
	h, err := New(testConfig(lim))
	if err != nil {
		b.Fatal(err)
	}
	app := &appmanager.App{ID: "bench", Key: "k", Secret: "s", Enabled: true}
	state := h.app(app.ID)
	const name = "presence-bench"
	kind := protocol.Classify(name)
	info := []byte(`{"bio":"` + strings.Repeat("x", 1000) + `"}`)
	conn := func(i int) *Conn {
		return &Conn{hub: h, app: app, state: state, closed: true, id: strconv.Itoa(i)}
	}
	for i := range 100 {
		h.subscribe(conn(i), name, kind, &presenceJoin{userID: "u" + strconv.Itoa(i), info: info})
	}
	ch := state.channel(name)
	b.Run("Cached", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c := conn(1000 + i)
			h.subscribe(c, name, kind, &presenceJoin{userID: "u0", info: info})
			h.unsubscribe(c, name)
		}
	})
	b.Run("Encoded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ch.mu.Lock()
			_ = protocol.Event(protocol.EventSubscriptionSucceeded, name, ch.presenceDataLocked(), "")
			ch.mu.Unlock()
		}
	})
}
