package redis_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/transport"
	"github.com/sockudo-go/sockudo/transport/redis"
	"github.com/sockudo-go/sockudo/transport/transporttest"
)

// The conformance suite on each deployment CI runs: standalone, Cluster
// and Sentinel.
func TestConformance(t *testing.T) {
	for _, dep := range testenv.RedisDeployments {
		t.Run(dep.Name, func(t *testing.T) {
			t.Parallel()
			opt := dep.Option(t)
			admin := testenv.RedisClient(t, opt)
			transporttest.Run(t, transporttest.Harness{New: func(t *testing.T) transporttest.Backend {
				b := &backend{t: t, opt: opt, prefix: testenv.RedisPrefix(t, admin), cuts: map[string]*cutter{}}
				return transporttest.Backend{
					Driver:    b,
					Kill:      redis.Kill,
					Partition: func(n transport.Node) { b.cutter(n).cut() },
					Heal:      func(n transport.Node) { b.cutter(n).heal() },
					Wipe:      func() { testenv.DeleteKeys(t, admin, b.prefix) },
				}
			}})
		})
	}
}

// backend starts every node on its own client, so that one node can be
// cut off from Redis while the others are not.
type backend struct {
	t      *testing.T
	opt    rueidis.ClientOption
	prefix string

	mu   sync.Mutex
	cuts map[string]*cutter // node id -> its client's dialer
}

func (b *backend) Start(ctx context.Context, cfg transport.NodeConfig, h transport.Handler) (transport.Node, error) {
	c := &cutter{}
	opt := b.opt
	opt.DialCtxFn = c.dial
	client := testenv.RedisClient(b.t, opt)
	d, err := redis.New(client, &redis.Options{Prefix: b.prefix})
	if err != nil {
		return nil, err
	}
	n, err := d.Start(ctx, cfg, h)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.cuts[n.ID()] = c
	b.mu.Unlock()
	return n, nil
}

func (b *backend) cutter(n transport.Node) *cutter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.cuts[n.ID()]; c != nil {
		return c
	}
	b.t.Fatalf("node %s was not started by this backend", n.ID())
	return nil
}

// cutter dials Redis for one client and can cut it off: cut closes its
// connections and refuses new ones until heal.
type cutter struct {
	mu    sync.Mutex
	off   bool
	conns []*stallConn
}

func (c *cutter) dial(ctx context.Context, addr string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
	c.mu.Lock()
	off := c.off
	c.mu.Unlock()
	if off {
		return nil, errors.New("cut off from Redis")
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.off {
		conn.Close()
		return nil, errors.New("cut off from Redis")
	}
	sc := &stallConn{Conn: conn, closed: make(chan struct{})}
	c.conns = append(c.conns, sc)
	return sc, nil
}

// stallConn is a connection that can stop delivering without dropping:
// once stalled, what it reads is swallowed and its reader blocks until
// it is closed.
type stallConn struct {
	net.Conn
	stalled    atomic.Bool
	subscribed atomic.Bool // it carried a SUBSCRIBE: the pub/sub connection
	closeOnce  sync.Once
	closed     chan struct{}
}

func (s *stallConn) Read(b []byte) (int, error) {
	n, err := s.Conn.Read(b)
	if s.stalled.Load() {
		<-s.closed
		return 0, net.ErrClosed
	}
	return n, err
}

func (s *stallConn) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("SUBSCRIBE")) {
		s.subscribed.Store(true)
	}
	return s.Conn.Write(b)
}

func (s *stallConn) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return s.Conn.Close()
}

// dialed returns the connections dialed so far, oldest first.
func (c *cutter) dialed() []*stallConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.conns)
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = true
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

func (c *cutter) heal() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = false
}
