package driverkit

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sockudo-go/sockudo/transport"
)

// Mailbox calls a node's Handler from one goroutine (Run): reports
// (never dropped) first, then messages (bounded; an overflow becomes a
// Gap of its topic once the messages queued before it are delivered).
// Its methods are safe for concurrent use and never block on the
// Handler.
type Mailbox struct {
	h     transport.Handler
	limit int

	mu    sync.Mutex
	ctl   []func()
	msgs  []delivery
	gaps  map[transport.Topic]struct{}
	wake  chan struct{}
	stop  chan struct{} // ends run at once
	drain chan struct{} // ends run once the queue is empty
	done  chan struct{} // Run has returned

	stopOnce, drainOnce sync.Once
	gapCount            atomic.Uint64
}

type delivery struct {
	t   transport.Topic
	msg []byte
}

// NewMailbox returns a Mailbox for h that holds up to limit messages.
func NewMailbox(h transport.Handler, limit int) *Mailbox {
	return &Mailbox{
		h: h, limit: limit,
		gaps:  make(map[transport.Topic]struct{}),
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		drain: make(chan struct{}),
		done:  make(chan struct{}),
	}
}

// Post queues a report: a call of the Handler that is never dropped.
func (m *Mailbox) Post(f func()) {
	m.mu.Lock()
	m.ctl = append(m.ctl, f)
	m.mu.Unlock()
	m.signal()
}

// Transitions queues a Transition report for each of trs.
func (m *Mailbox) Transitions(trs []transport.Transition) {
	for _, tr := range trs {
		m.Post(func() { m.h.Transition(tr) })
	}
}

// Lost queues a Lost report.
func (m *Mailbox) Lost(r transport.LossReason) { m.Post(func() { m.h.Lost(r) }) }

// Gap queues a Gap report of ts, if any.
func (m *Mailbox) Gap(ts []transport.Topic) {
	if len(ts) > 0 {
		m.Post(func() { m.gapCount.Add(1); m.h.Gap(ts) })
	}
}

// Message queues msg, or notes a gap of t when the queue is full.
func (m *Mailbox) Message(t transport.Topic, msg []byte) {
	m.mu.Lock()
	if len(m.msgs) >= m.limit {
		m.gaps[t] = struct{}{}
	} else {
		m.msgs = append(m.msgs, delivery{t, msg})
	}
	m.mu.Unlock()
	m.signal()
}

func (m *Mailbox) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Halt ends delivery at once.
func (m *Mailbox) Halt() { m.stopOnce.Do(func() { close(m.stop) }) }

// Finish ends delivery once the queue is empty.
func (m *Mailbox) Finish() { m.drainOnce.Do(func() { close(m.drain) }) }

// Gaps counts the Gap reports delivered so far.
func (m *Mailbox) Gaps() uint64 { return m.gapCount.Load() }

// Done is closed when Run has returned.
func (m *Mailbox) Done() <-chan struct{} { return m.done }

// Run delivers until Halt, or until Finish and the queue is empty.
func (m *Mailbox) Run() {
	defer close(m.done)
	for {
		select {
		case <-m.stop:
			return
		case <-m.drain:
			m.flush()
			return
		case <-m.wake:
			if !m.flush() {
				return
			}
		}
	}
}

// flush delivers until the queue is empty; false if halted.
func (m *Mailbox) flush() bool {
	for {
		m.mu.Lock()
		ctl, msgs := m.ctl, m.msgs
		m.ctl, m.msgs = nil, nil
		var gaps []transport.Topic
		if len(msgs) == 0 && len(m.gaps) > 0 {
			for t := range m.gaps {
				gaps = append(gaps, t)
			}
			clear(m.gaps)
			SortTopics(gaps)
		}
		m.mu.Unlock()
		if len(ctl) == 0 && len(msgs) == 0 && len(gaps) == 0 {
			return true
		}
		for _, f := range ctl {
			if m.halted() {
				return false
			}
			f()
		}
		for _, d := range msgs {
			if m.halted() {
				return false
			}
			m.h.Message(d.t, d.msg)
		}
		if len(gaps) > 0 && !m.halted() {
			m.gapCount.Add(1)
			m.h.Gap(gaps)
		}
	}
}

func (m *Mailbox) halted() bool {
	select {
	case <-m.stop:
		return true
	default:
		return false
	}
}

// SortTopics sorts ts by kind, app and name.
func SortTopics(ts []transport.Topic) {
	slices.SortFunc(ts, func(a, b transport.Topic) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		if c := strings.Compare(a.App, b.App); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}
