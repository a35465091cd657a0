package lifecycle

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
)

// recorder is a Consumer that wants the names it lists (all when empty)
// and records what it receives as "name:channel[:user]".
type recorder struct {
	names []string

	mu  sync.Mutex
	got []string
}

func (r *recorder) Wants(_ *appmanager.App, name, _ string) bool {
	return len(r.names) == 0 || slices.Contains(r.names, name)
}

func (r *recorder) Emit(app *appmanager.App, ev Event) {
	if !r.Wants(app, ev.Name, ev.Channel) {
		return
	}
	s := ev.Name + ":" + ev.Channel
	if ev.UserID != "" {
		s += ":" + ev.UserID
	}
	r.mu.Lock()
	r.got = append(r.got, s)
	r.mu.Unlock()
}

func (r *recorder) events() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.got, " ")
}

var app = &appmanager.App{ID: "a", Key: "k", Secret: "s", Enabled: true}

func TestDelayAndCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := NewStream(3*time.Second, rec)

		// Vacated then occupied within the delay: nothing changed.
		s.Emit(app, Event{Name: ChannelVacated, Channel: "reload"})
		time.Sleep(2 * time.Second)
		s.Emit(app, Event{Name: ChannelOccupied, Channel: "reload"})
		// member_removed then member_added for the same user: nothing; for
		// another user: both kept.
		s.Emit(app, Event{Name: MemberRemoved, Channel: "presence-p", UserID: "u1"})
		s.Emit(app, Event{Name: MemberAdded, Channel: "presence-p", UserID: "u1"})
		s.Emit(app, Event{Name: MemberRemoved, Channel: "presence-p", UserID: "u2"})
		s.Emit(app, Event{Name: MemberAdded, Channel: "presence-p", UserID: "u3"})
		// A vacated channel that stays empty; the same name in another app
		// is another channel.
		s.Emit(app, Event{Name: ChannelVacated, Channel: "gone"})
		s.Emit(&appmanager.App{ID: "b"}, Event{Name: ChannelOccupied, Channel: "gone"})

		if got, want := rec.events(), "member_added:presence-p:u3 channel_occupied:gone"; got != want {
			t.Fatalf("before the delay: %q, want %q", got, want)
		}
		time.Sleep(3*time.Second - time.Nanosecond)
		synctest.Wait()
		if n := s.Held(); n != 2 {
			t.Fatalf("%d events held just before their delay ended, want 2", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		// The two held events fall due at the same instant, in either order.
		got := strings.Fields(rec.events())
		slices.Sort(got[2:])
		want := "member_added:presence-p:u3 channel_occupied:gone channel_vacated:gone member_removed:presence-p:u2"
		if strings.Join(got, " ") != want {
			t.Fatalf("after the delay: %q\nwant %q", got, want)
		}
		// A return after the delay is a new transition.
		s.Emit(app, Event{Name: ChannelOccupied, Channel: "gone"})
		if got := rec.events(); !strings.HasSuffix(got, " channel_occupied:gone") || strings.Count(got, "channel_occupied:gone") != 2 {
			t.Fatalf("occupied after the delay not passed on: %q", got)
		}
	})
}

func TestRepeatedVacateRestartsTheDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := NewStream(time.Second, rec)
		s.Emit(app, Event{Name: ChannelVacated, Channel: "c"})
		time.Sleep(500 * time.Millisecond)
		s.Emit(app, Event{Name: ChannelVacated, Channel: "c"})
		time.Sleep(600 * time.Millisecond)
		synctest.Wait()
		if got := rec.events(); got != "" {
			t.Fatalf("released %q before the second delay ended", got)
		}
		time.Sleep(400 * time.Millisecond)
		synctest.Wait()
		if got := rec.events(); got != "channel_vacated:c" {
			t.Fatalf("got %q, want one channel_vacated", got)
		}
	})
}

// A consumer of channel_occupied alone must not see it twice when the
// channel comes back within the delay, while one of channel_vacated alone
// sees nothing.
func TestPairsAreTrackedForAConsumerOfOneHalf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		occ := &recorder{names: []string{ChannelOccupied}}
		vac := &recorder{names: []string{ChannelVacated}}
		s := NewStream(time.Second, occ, vac)
		s.Emit(app, Event{Name: ChannelOccupied, Channel: "c"})
		s.Emit(app, Event{Name: ChannelVacated, Channel: "c"})
		s.Emit(app, Event{Name: ChannelOccupied, Channel: "c"})
		time.Sleep(time.Minute)
		if got := occ.events(); got != "channel_occupied:c" {
			t.Errorf("occupied consumer got %q", got)
		}
		if got := vac.events(); got != "" {
			t.Errorf("vacated consumer got %q", got)
		}
	})
}

func TestOtherEventsPassAtOnceAndCloseFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := NewStream(time.Hour, rec)
		s.Emit(app, Event{Name: ChannelVacated, Channel: "v"})
		s.Emit(app, Event{Name: MemberRemoved, Channel: "presence-v", UserID: "u"})
		s.Emit(app, Event{Name: ClientEvent, Channel: "private-c"})
		s.Emit(app, Event{Name: CacheMiss, Channel: "cache-c"})
		s.Emit(app, Event{Name: SubscriptionCount, Channel: "c", SubscriptionCount: 2})
		if got, want := rec.events(), "client_event:private-c cache_miss:cache-c subscription_count:c"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
		s.Close()
		got := rec.events()
		if !strings.Contains(got, "channel_vacated:v") || !strings.Contains(got, "member_removed:presence-v:u") {
			t.Fatalf("Close did not pass the held events on: %q", got)
		}
		s.Emit(app, Event{Name: ClientEvent, Channel: "private-late"})
		s.Emit(app, Event{Name: ChannelVacated, Channel: "late"})
		time.Sleep(2 * time.Hour)
		if rec.events() != got || s.Held() != 0 {
			t.Errorf("Emit after Close was passed on or held: %q", rec.events())
		}
	})
}

func TestEmitIsCheapWhenNobodyWants(t *testing.T) {
	s := NewStream(time.Second, &recorder{names: []string{MemberAdded}})
	for _, ev := range []Event{
		{Name: ChannelOccupied, Channel: "a"},
		{Name: ChannelVacated, Channel: "a"},
		{Name: ClientEvent, Channel: "private-a", Event: "client-x", Data: "{}"},
	} {
		if n := testing.AllocsPerRun(100, func() { s.Emit(app, ev) }); n != 0 {
			t.Errorf("Emit of an unwanted %s allocates %v times, want 0", ev.Name, n)
		}
	}
	if s.Held() != 0 {
		t.Error("an unwanted event was held")
	}
}

func newTestRunner(max int, f func(ctx context.Context, ev Event)) *Runner {
	return NewRunner(RunnerOptions{
		Wants:      func(name string) bool { return name != CacheMiss },
		Func:       func(ctx context.Context, _ *appmanager.App, ev Event) { f(ctx, ev) },
		MaxPending: max,
		Logger:     slog.New(slog.DiscardHandler),
	})
}

func TestRunnerCallsInOrderOffTheCallersGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var got []string
		block := make(chan struct{})
		r := newTestRunner(100, func(_ context.Context, ev Event) {
			<-block
			mu.Lock()
			got = append(got, ev.Channel)
			mu.Unlock()
		})
		// Emit returns while the function is blocked.
		for _, ch := range []string{"a", "b", "c"} {
			r.Emit(app, Event{Name: ChannelOccupied, Channel: ch})
		}
		r.Emit(app, Event{Name: CacheMiss, Channel: "unwanted"})
		close(block)
		if err := r.Close(context.Background()); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if s := strings.Join(got, " "); s != "a b c" {
			t.Fatalf("calls %q, want a b c", s)
		}
		r.Emit(app, Event{Name: ChannelOccupied, Channel: "late"})
		synctest.Wait()
		if len(got) != 3 {
			t.Errorf("Emit after Close was handled: %v", got)
		}
	})
}

func TestRunnerDropsBeyondMaxPendingAndCloseGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{}, 10)
		var calls int
		r := newTestRunner(2, func(ctx context.Context, _ Event) {
			calls++
			started <- struct{}{}
			<-ctx.Done() // a hook that runs until it is cancelled
		})
		r.Emit(app, Event{Name: ChannelOccupied, Channel: "running"})
		<-started
		for _, ch := range []string{"q1", "q2", "dropped"} {
			r.Emit(app, Event{Name: ChannelOccupied, Channel: ch})
		}
		r.mu.Lock()
		queued, dropped := len(r.queue), r.dropping
		r.mu.Unlock()
		if queued != 2 || dropped != 1 {
			t.Fatalf("queued %d, dropped %d; want 2 and 1", queued, dropped)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := r.Close(ctx); err != context.DeadlineExceeded {
			t.Fatalf("Close = %v, want the deadline error", err)
		}
		synctest.Wait()
		if calls != 1 {
			t.Errorf("%d calls after Close gave up, want only the one in progress", calls)
		}
	})
}
