package driverkit

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/sockudo-go/sockudo/transport"
)

// A full queue drops messages and reports their topic as a Gap once the
// messages queued before them are delivered; reports are never dropped.
func TestMailboxOverflowReportsGap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		var got []string
		var gaps []transport.Topic
		lost := 0
		m := NewMailbox(transport.HandlerFuncs{
			OnMessage: func(_ transport.Topic, msg []byte) {
				<-release
				mu.Lock()
				got = append(got, string(msg))
				mu.Unlock()
			},
			OnGap:  func(ts []transport.Topic) { mu.Lock(); gaps = append(gaps, ts...); mu.Unlock() },
			OnLost: func(transport.LossReason) { mu.Lock(); lost++; mu.Unlock() },
		}, 2)
		go m.Run()
		tp := transport.Channel("app", "busy")
		for _, s := range []string{"1", "2", "3", "4", "5", "6"} {
			m.Message(tp, []byte(s))
			synctest.Wait() // the first message is taken before the others queue
		}
		for range 100 {
			m.Lost(transport.StoreWiped)
		}
		close(release)
		synctest.Wait()
		m.Finish()
		<-m.Done()
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(got, []string{"1", "2", "3"}) {
			t.Errorf("delivered %v, want 1 2 3 (one in the handler, two queued)", got)
		}
		if !slices.Equal(gaps, []transport.Topic{tp}) {
			t.Errorf("gaps %v, want [%v]", gaps, tp)
		}
		if g := m.Gaps(); g != 1 {
			t.Errorf("Gaps() = %d, want 1", g)
		}
		if lost != 100 {
			t.Errorf("%d of 100 reports delivered", lost)
		}
	})
}
