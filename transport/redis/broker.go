package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/transport"
	"github.com/sockudo-go/sockudo/transport/internal/driverkit"
)

// pubsub is a node's subscriptions on one dedicated connection: each
// topic is one pub/sub channel (a sharded one on Redis Cluster, in the
// driver's slot). When the connection drops it reconnects, subscribes
// again and reports a Gap of every topic.
type pubsub struct {
	n *node

	// mu serialises subscription changes and reconnections; it is held
	// across round trips, so the message hook never takes it.
	mu     sync.Mutex
	topics map[transport.Topic]string // topic -> channel
	conn   rueidis.DedicatedClient    // nil while reconnecting
	closed bool

	// Probes: the node publishes a sequence number on its own channel
	// every tick; one that does not come back by the third tick means
	// the connection stopped delivering without dropping, and it is
	// replaced. misses is the beat goroutine's.
	probeSent, probeGot atomic.Uint64
	misses              int

	// nmu guards names, which the message hook reads.
	nmu   sync.RWMutex
	names map[string]transport.Topic // channel -> topic
}

func newPubsub(n *node) *pubsub {
	return &pubsub{n: n, topics: make(map[transport.Topic]string), names: make(map[string]transport.Topic)}
}

// channel names t's pub/sub channel.
func (p *pubsub) channel(t transport.Topic) string {
	return p.n.d.base + ":t:" + strconv.Itoa(int(t.Kind)) + ":" + strconv.Itoa(len(t.App)) + ":" + t.App + ":" + t.Name
}

// own is the node's own channel: the first subscription of every
// connection, so that it is bound to the driver's slot on Redis Cluster
// even before the node has topics.
func (p *pubsub) own() string { return p.n.d.base + ":p:" + p.n.id }

func (p *pubsub) subscribeCmd(c rueidis.DedicatedClient, chans ...string) rueidis.Completed {
	if p.n.d.sharded {
		return c.B().Ssubscribe().Channel(chans...).Build()
	}
	return c.B().Subscribe().Channel(chans...).Build()
}

func (p *pubsub) unsubscribeCmd(c rueidis.DedicatedClient, chans ...string) rueidis.Completed {
	if p.n.d.sharded {
		return c.B().Sunsubscribe().Channel(chans...).Build()
	}
	return c.B().Unsubscribe().Channel(chans...).Build()
}

// confirm sends cmd and waits for the connection to answer a PING after
// it, so that the subscription change is in effect when it returns.
func (p *pubsub) confirm(ctx context.Context, c rueidis.DedicatedClient, cmd rueidis.Completed) error {
	cctx, cancel := context.WithTimeout(ctx, p.n.d.timeout)
	defer cancel()
	for _, r := range c.DoMulti(cctx, cmd, c.B().Ping().Build()) {
		if err := r.Error(); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return fmt.Errorf("%w: pub/sub: %w", transport.ErrUnavailable, err)
		}
	}
	return nil
}

// start opens the first connection and watches it.
func (p *pubsub) start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	errs, err := p.connectLocked(ctx)
	if err != nil {
		return err
	}
	go p.watch(errs)
	return nil
}

// connectLocked opens a dedicated connection and subscribes the node's
// own channel and every topic on it.
func (p *pubsub) connectLocked(ctx context.Context) (<-chan error, error) {
	c, _ := p.n.d.client.Dedicate() // Close releases it
	errs := c.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: p.onMessage})
	chans := []string{p.own()}
	for _, ch := range p.topics {
		chans = append(chans, ch)
	}
	if err := p.confirm(ctx, c, p.subscribeCmd(c, chans...)); err != nil {
		c.Close()
		return nil, err
	}
	p.conn = c
	p.misses = 0
	p.probeGot.Store(p.probeSent.Load())
	return errs, nil
}

// watch reconnects whenever the connection drops, until close.
func (p *pubsub) watch(errs <-chan error) {
	for {
		select {
		case <-p.n.ctx.Done():
			return
		case err := <-errs:
			errs = p.reconnect(err)
			if errs == nil {
				return
			}
		}
	}
}

// reconnect replaces a dropped connection, retrying every tick (up to a
// second apart) until it succeeds or the node stops; nil if stopped.
func (p *pubsub) reconnect(cause error) <-chan error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.n.d.log.Warn("pub/sub connection lost", "node", p.n.id, "error", cause)
	if p.conn != nil {
		p.conn.Close()
	}
	p.conn = nil
	p.mu.Unlock()
	wait := p.n.tick
	for {
		select {
		case <-p.n.ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil
		}
		errs, err := p.connectLocked(p.n.ctx)
		if err != nil {
			p.mu.Unlock()
			continue
		}
		ts := make([]transport.Topic, 0, len(p.topics))
		for t := range p.topics {
			ts = append(ts, t)
		}
		p.mu.Unlock()
		driverkit.SortTopics(ts)
		p.n.reconnects.Add(1)
		p.n.mail.Gap(ts)
		return errs
	}
}

// close drops the connection for good.
func (p *pubsub) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.conn != nil {
		p.conn.Close()
	}
	p.conn = nil
}

// probe checks that the last probe came back and sends the next one. It
// runs on the beat goroutine, after a renewal reached the store.
func (p *pubsub) probe(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil || p.closed {
		return
	}
	if p.probeGot.Load() < p.probeSent.Load() {
		p.misses++
	} else {
		p.misses = 0
	}
	if p.misses >= 3 {
		p.n.d.log.Warn("pub/sub connection stopped delivering; replacing it", "node", p.n.id)
		p.misses = 0
		// Closing it makes watch reconnect, subscribe again and report
		// a Gap.
		p.conn.Close()
		return
	}
	seq := p.probeSent.Load() + 1
	if err := p.n.publish(ctx, p.own(), p.n.id+strconv.FormatUint(seq, 10)); err == nil {
		p.probeSent.Store(seq)
	}
}

func (p *pubsub) onMessage(m rueidis.PubSubMessage) {
	if m.Channel == p.own() {
		if seq, err := strconv.ParseUint(strings.TrimPrefix(m.Message, p.n.id), 10, 64); err == nil && seq > p.probeGot.Load() {
			p.probeGot.Store(seq)
		}
		return
	}
	p.nmu.RLock()
	t, ok := p.names[m.Channel]
	p.nmu.RUnlock()
	// A payload is the publisher's 32-character id, then the message.
	if !ok || len(m.Message) < len(p.n.id) || m.Message[:len(p.n.id)] == p.n.id {
		return
	}
	p.n.mail.Message(t, []byte(m.Message[len(p.n.id):]))
}

// Publish sends msg to the other nodes subscribed to t.
func (n *node) Publish(ctx context.Context, t transport.Topic, msg []byte) error {
	if err := driverkit.CheckTopic(t); err != nil {
		return err
	}
	if err := n.usable(ctx); err != nil {
		return err
	}
	return n.publish(ctx, n.ps.channel(t), n.id+string(msg))
}

// publish sends payload on pub/sub channel ch.
func (n *node) publish(ctx context.Context, ch, payload string) error {
	c := n.d.client
	cmd := c.B().Publish().Channel(ch).Message(payload).Build()
	if n.d.sharded {
		cmd = c.B().Spublish().Channel(ch).Message(payload).Build()
	}
	cctx, cancel := context.WithTimeout(ctx, n.d.timeout)
	defer cancel()
	start := time.Now()
	err := c.Do(cctx, cmd).Error()
	n.calls.Add(1)
	n.latencyNs.Add(uint64(time.Since(start)))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		err = fmt.Errorf("%w: publish: %w", transport.ErrUnavailable, err)
	}
	n.noteReached(err)
	return err
}

// Subscribe adds interest in ts.
func (n *node) Subscribe(ctx context.Context, ts ...transport.Topic) error {
	for _, t := range ts {
		if err := driverkit.CheckTopic(t); err != nil {
			return err
		}
	}
	if err := n.usable(ctx); err != nil {
		return err
	}
	p := n.ps
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return transport.ErrClosed
	}
	var chans []string
	p.nmu.Lock()
	for _, t := range ts {
		if _, ok := p.topics[t]; ok {
			continue
		}
		ch := p.channel(t)
		p.topics[t], p.names[ch] = ch, t
		chans = append(chans, ch)
	}
	p.nmu.Unlock()
	if len(chans) == 0 {
		return nil
	}
	err := fmt.Errorf("%w: pub/sub reconnecting", transport.ErrUnavailable)
	if p.conn != nil {
		err = p.confirm(ctx, p.conn, p.subscribeCmd(p.conn, chans...))
	}
	if err != nil {
		// Forget the new topics, so that a retry subscribes them again.
		p.nmu.Lock()
		for _, ch := range chans {
			delete(p.topics, p.names[ch])
			delete(p.names, ch)
		}
		p.nmu.Unlock()
	}
	return err
}

// Unsubscribe removes interest in ts.
func (n *node) Unsubscribe(ctx context.Context, ts ...transport.Topic) error {
	if err := n.usable(ctx); err != nil {
		return err
	}
	p := n.ps
	p.mu.Lock()
	defer p.mu.Unlock()
	var chans []string
	p.nmu.Lock()
	for _, t := range ts {
		if ch, ok := p.topics[t]; ok {
			delete(p.topics, t)
			delete(p.names, ch)
			chans = append(chans, ch)
		}
	}
	p.nmu.Unlock()
	if len(chans) == 0 || p.conn == nil {
		return nil
	}
	return p.confirm(ctx, p.conn, p.unsubscribeCmd(p.conn, chans...))
}
