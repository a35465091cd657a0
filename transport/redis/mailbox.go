package redis

import (
	"slices"
	"strings"
	"sync"

	"github.com/sockudo-go/sockudo/transport"
)

// mailbox calls a node's Handler from one goroutine: reports (never
// dropped) first, then messages (bounded; an overflow becomes a Gap of
// its topic once the messages queued before it are delivered).
type mailbox struct {
	h     transport.Handler
	limit int

	mu    sync.Mutex
	ctl   []func()
	msgs  []delivery
	gaps  map[transport.Topic]struct{}
	wake  chan struct{}
	stop  chan struct{} // ends run at once
	drain chan struct{} // ends run once the queue is empty
	done  chan struct{} // run has returned

	stopOnce, drainOnce sync.Once
}

type delivery struct {
	t   transport.Topic
	msg []byte
}

func newMailbox(h transport.Handler, limit int) *mailbox {
	return &mailbox{
		h: h, limit: limit,
		gaps:  make(map[transport.Topic]struct{}),
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		drain: make(chan struct{}),
		done:  make(chan struct{}),
	}
}

// post queues a report.
func (m *mailbox) post(f func()) {
	m.mu.Lock()
	m.ctl = append(m.ctl, f)
	m.mu.Unlock()
	m.signal()
}

func (m *mailbox) transitions(trs []transport.Transition) {
	for _, tr := range trs {
		m.post(func() { m.h.Transition(tr) })
	}
}

func (m *mailbox) lost(r transport.LossReason) { m.post(func() { m.h.Lost(r) }) }

// gap reports ts at once (after the reports and messages queued so far).
func (m *mailbox) gap(ts []transport.Topic) {
	if len(ts) > 0 {
		m.post(func() { m.h.Gap(ts) })
	}
}

// message queues msg, or notes a gap of t when the queue is full.
func (m *mailbox) message(t transport.Topic, msg []byte) {
	m.mu.Lock()
	if len(m.msgs) >= m.limit {
		m.gaps[t] = struct{}{}
	} else {
		m.msgs = append(m.msgs, delivery{t, msg})
	}
	m.mu.Unlock()
	m.signal()
}

func (m *mailbox) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// halt ends delivery at once; finish ends it once the queue is empty.
func (m *mailbox) halt()   { m.stopOnce.Do(func() { close(m.stop) }) }
func (m *mailbox) finish() { m.drainOnce.Do(func() { close(m.drain) }) }

func (m *mailbox) run() {
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
func (m *mailbox) flush() bool {
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
			sortTopics(gaps)
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
			m.h.Gap(gaps)
		}
	}
}

func (m *mailbox) halted() bool {
	select {
	case <-m.stop:
		return true
	default:
		return false
	}
}

func sortTopics(ts []transport.Topic) {
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
