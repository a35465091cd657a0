package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/transport"
)

// Defaults of Options fields left at zero.
const (
	DefaultPrefix      = "sockudo:transport:"
	DefaultCallTimeout = 2 * time.Second
	DefaultQueueSize   = 1024
	DefaultReapChunk   = 500
)

// Options tunes a Driver; nil or the zero value takes the defaults.
type Options struct {
	// Prefix starts every key and pub/sub channel, so that several
	// clusters (or tests) can share one Redis. It must not contain '{' or
	// '}': the driver adds its own hash tag. Default "sockudo:transport:".
	Prefix string

	// CallTimeout bounds each call to Redis when the caller's context
	// allows longer; a call that runs out fails with
	// transport.ErrUnavailable. Default 2 s.
	CallTimeout time.Duration

	// QueueSize bounds each node's queue of undelivered messages; a
	// message arriving while it is full is dropped and its topic reported
	// to Handler.Gap once the queue has drained. Default 1024.
	QueueSize int

	// ReapChunk bounds the keys one call removes when a node is reaped or
	// deregisters, so that removing a node that held many channels does
	// not block Redis for long: it takes several calls, each of them
	// atomic. Default 500.
	ReapChunk int

	// Logger receives the driver's warnings (lost pub/sub connections,
	// failed renewals). Default slog.Default().
	Logger *slog.Logger
}

// Driver starts transport nodes on one Redis deployment (standalone,
// Sentinel or Cluster) through the host's rueidis client, which it never
// closes. Its methods are safe for concurrent use.
type Driver struct {
	client  rueidis.Client
	base    string // key prefix plus hash tag
	sharded bool   // Redis Cluster: SSUBSCRIBE and SPUBLISH
	timeout time.Duration
	queue   int
	chunk   int
	log     *slog.Logger
}

var _ transport.Driver = (*Driver)(nil)

// New returns a Driver on client; opts may be nil.
func New(client rueidis.Client, opts *Options) (*Driver, error) {
	if client == nil {
		return nil, errors.New("transport/redis: nil client")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return nil, fmt.Errorf("transport/redis: prefix %q contains a brace", o.Prefix)
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.ReapChunk <= 0 {
		o.ReapChunk = DefaultReapChunk
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	// One hash tag per prefix: every key and channel of one cluster of
	// nodes lives in one slot, so each script is atomic on Redis Cluster.
	tag := strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(o.Prefix))), 36)
	return &Driver{
		client:  client,
		base:    o.Prefix + "{" + tag + "}",
		sharded: client.Mode() == rueidis.ClientModeCluster,
		timeout: o.CallTimeout,
		queue:   o.QueueSize,
		chunk:   o.ReapChunk,
		log:     o.Logger.With("component", "transport/redis"),
	}, nil
}

// Start registers a new node with its lease and starts its renewals,
// reaping and hold timers, which tick every fifth of the lease (or a
// quarter of the hold, if shorter), and its pub/sub connection.
func (d *Driver) Start(ctx context.Context, cfg transport.NodeConfig, h transport.Handler) (transport.Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil {
		h = transport.HandlerFuncs{}
	}
	cfg = cfg.WithDefaults()
	n := newNode(d, randomID(), cfg, h)
	start := time.Now()
	res, err := d.exec(ctx, registerScript, n.id, randomID(), ms(cfg.Lease), cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("transport/redis: register: %w", err)
	}
	epoch, err := res.ToString()
	if err != nil {
		return nil, fmt.Errorf("%w: register: %w", transport.ErrUnavailable, err)
	}
	n.epoch, n.lastRenew, n.since = epoch, start, start
	if err := n.ps.start(ctx); err != nil {
		// Leave the registration to be reaped: nothing was contributed.
		n.halt()
		return nil, fmt.Errorf("transport/redis: pub/sub: %w", err)
	}
	go n.run()
	go n.mail.Run()
	return n, nil
}

// exec runs a script on the base key, bounded by the call timeout. A
// failure is the caller's context error if it ended, else wraps
// transport.ErrUnavailable.
func (d *Driver) exec(ctx context.Context, s *rueidis.Lua, args ...string) (rueidis.RedisMessage, error) {
	if err := ctx.Err(); err != nil {
		return rueidis.RedisMessage{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	msg, err := s.Exec(cctx, d.client, []string{d.base}, args).ToMessage()
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return msg, cerr
		}
		return msg, fmt.Errorf("%w: %w", transport.ErrUnavailable, err)
	}
	return msg, nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// version writes v as 20 digits, as the scripts compare them.
func version(v uint64) string { return fmt.Sprintf("%020d", v) }
