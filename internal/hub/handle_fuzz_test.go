package hub

import (
	"context"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	ratelimitmemory "github.com/sockudo-go/sockudo/ratelimit/memory"
)

// FuzzHandle feeds arbitrary bytes to the handler of one inbound frame: it
// must not panic, and what it queues in reply stays small (no echo of
// the input beyond a bounded prefix). The socket has no network: its
// writer is marked running, so replies stay in the queue to be measured.
func FuzzHandle(f *testing.F) {
	for _, seed := range []string{
		`{"event":"pusher:ping","data":{}}`,
		`{"event":"pusher:pong","data":{}}`,
		`{"event":"pusher:subscribe","data":{"channel":"news"}}`,
		`{"event":"pusher:subscribe","data":{"channel":"private-x","auth":"k:sig"}}`,
		`{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":"k:sig","channel_data":"{\"user_id\":\"1\"}"}}`,
		`{"event":"pusher:unsubscribe","data":{"channel":"news"}}`,
		`{"event":"pusher:signin","data":{"auth":"k:sig","user_data":"{\"id\":\"1\"}"}}`,
		`{"event":"client-x","channel":"private-x","data":"{}"}`,
		`{"event":"pusher:subscribe","data":{"channel":"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"}}`,
		`{"event":"unknown"}`,
		`not json`,
		"\xff\xfe",
		``,
	} {
		f.Add([]byte(seed))
	}
	lim, err := ratelimitmemory.New(nil)
	if err != nil {
		f.Fatal(err)
	}
	cfg := testConfig(lim)
	h, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	app := &appmanager.App{ID: "1", Key: "k", Secret: "s", Enabled: true, EnableClientMessages: true}
	f.Fuzz(func(t *testing.T, frame []byte) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := &Conn{hub: h, app: app, state: h.app(app.ID), id: "1.1", ctx: ctx, cancel: cancel}
		c.writing = true // no writer goroutine: replies stay queued
		c.startBudgets()
		c.touch()
		c.timer = time.AfterFunc(time.Hour, func() {})
		c.state.addSocket(c)
		h.conns.Add(1)
		c.state.conns.Add(1)
		h.wg.Add(1)
		c.handle(frame)
		c.mu.Lock()
		n, bytes := len(c.queue), c.queuedBytes
		c.queue = nil
		c.closed = true
		c.mu.Unlock()
		if n > 4 || bytes > 4096 {
			t.Fatalf("one %d-byte frame queued %d replies, %d bytes", len(frame), n, bytes)
		}
		c.closedOnce.Do(func() {}) // there is no network to close
		c.cleanup()
	})
}
