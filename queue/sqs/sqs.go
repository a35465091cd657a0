package sqs

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sockudo-go/sockudo/queue"
)

// API is the part of *sqs.Client that a Queue uses.
type API interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

var _ API = (*sqs.Client)(nil)

// Options configures a Queue. The zero value of each field selects its
// default.
type Options struct {
	// VisibilityTimeout hides a received message from other consumers
	// while its handler runs; it is extended every half timeout until the
	// handler returns, and a dead consumer's messages come back after it.
	// Whole seconds, rounded up, at most 12 hours (default 30 s).
	VisibilityTimeout time.Duration
	// MaxMessages is the most messages one receive asks for, 1 to 10
	// (default 10).
	MaxMessages int
	// WaitTime is the long-poll duration of a receive, whole seconds up to
	// 20 (default 5 s); a negative value means short polling.
	WaitTime time.Duration
	// Concurrency is the number of handlers each Consume call runs at once
	// (default 5).
	Concurrency int
	// FIFO marks a FIFO queue: messages are sent with MessageGroupID and a
	// unique deduplication id. It is implied by a queue URL ending in
	// ".fifo".
	FIFO bool
	// MessageGroupID is the group of every message on a FIFO queue
	// (default "default").
	MessageGroupID string
	// RetryBase and RetryMax bound the exponential back-off after a
	// handler error without a RetryAfter delay (defaults 1 s and 60 s).
	RetryBase, RetryMax time.Duration
	// Logger receives consumer errors (default slog.Default()).
	Logger *slog.Logger
}

const maxVisibility = 12 * time.Hour

func (o *Options) setDefaults(queueURL string) error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"VisibilityTimeout", o.VisibilityTimeout}, {"RetryBase", o.RetryBase}, {"RetryMax", o.RetryMax}} {
		if d.v < 0 {
			return fmt.Errorf("sqs queue: Options.%s is negative (%v)", d.name, d.v)
		}
	}
	switch {
	case o.MaxMessages < 0 || o.MaxMessages > 10:
		return fmt.Errorf("sqs queue: Options.MaxMessages (%d) is not between 1 and 10", o.MaxMessages)
	case o.WaitTime > 20*time.Second:
		return fmt.Errorf("sqs queue: Options.WaitTime (%v) is longer than 20s", o.WaitTime)
	case o.VisibilityTimeout > maxVisibility:
		return fmt.Errorf("sqs queue: Options.VisibilityTimeout (%v) is longer than 12h", o.VisibilityTimeout)
	case o.Concurrency < 0:
		return fmt.Errorf("sqs queue: Options.Concurrency is negative (%d)", o.Concurrency)
	}
	if o.VisibilityTimeout == 0 {
		o.VisibilityTimeout = 30 * time.Second
	}
	if o.MaxMessages == 0 {
		o.MaxMessages = 10
	}
	switch {
	case o.WaitTime == 0:
		o.WaitTime = 5 * time.Second
	case o.WaitTime < 0:
		o.WaitTime = 0
	}
	if o.Concurrency == 0 {
		o.Concurrency = 5
	}
	if strings.HasSuffix(queueURL, ".fifo") {
		o.FIFO = true
	}
	if o.MessageGroupID == "" {
		o.MessageGroupID = "default"
	}
	if o.RetryBase == 0 {
		o.RetryBase = time.Second
	}
	if o.RetryMax == 0 {
		o.RetryMax = time.Minute
	}
	if o.RetryMax < o.RetryBase {
		return fmt.Errorf("sqs queue: Options.RetryMax (%v) is less than RetryBase (%v)", o.RetryMax, o.RetryBase)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// Message attributes that Enqueue sets.
const (
	attrEnqueuedAt = "sockudo_enqueued_at" // Unix milliseconds
	attrEncoding   = "sockudo_encoding"    // "base64" when the body is encoded
)

// opTimeout bounds each delete and visibility change, which run on
// contexts detached from the consumer's so that stopping does not abandon
// a job halfway.
const opTimeout = 10 * time.Second

// Queue is a queue.Queue on one SQS queue. Create it with New.
type Queue struct {
	client API
	url    string
	opts   Options
	log    *slog.Logger

	done      chan struct{}
	closeOnce sync.Once

	meter queue.Meter
}

var (
	_ queue.Queue         = (*Queue)(nil)
	_ queue.StatsReporter = (*Queue)(nil)
)

// New returns a queue on the SQS queue at queueURL (see QueueURL).
// opts may be nil.
func New(client API, queueURL string, opts *Options) (*Queue, error) {
	if client == nil {
		return nil, errors.New("sqs queue: client is nil")
	}
	if queueURL == "" {
		return nil, errors.New("sqs queue: queue URL is empty")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.setDefaults(queueURL); err != nil {
		return nil, err
	}
	return &Queue{
		client: client,
		url:    queueURL,
		opts:   o,
		log:    o.Logger.With("queue", queueURL),
		done:   make(chan struct{}),
	}, nil
}

func (q *Queue) closed() bool {
	select {
	case <-q.done:
		return true
	default:
		return false
	}
}

// Enqueue sends a message carrying payload. It returns queue.ErrClosed
// after Close.
func (q *Queue) Enqueue(ctx context.Context, payload []byte) error {
	if q.closed() {
		return queue.ErrClosed
	}
	body := string(payload)
	attrs := map[string]types.MessageAttributeValue{
		attrEnqueuedAt: {
			DataType:    ptr("Number"),
			StringValue: ptr(strconv.FormatInt(time.Now().UnixMilli(), 10)),
		},
	}
	if !sqsText(payload) {
		body = base64.StdEncoding.EncodeToString(payload)
		if body == "" {
			body = "=" // SQS refuses an empty body; decodes to nothing
		}
		attrs[attrEncoding] = types.MessageAttributeValue{DataType: ptr("String"), StringValue: ptr("base64")}
	}
	in := &sqs.SendMessageInput{QueueUrl: &q.url, MessageBody: &body, MessageAttributes: attrs}
	if q.opts.FIFO {
		in.MessageGroupId = &q.opts.MessageGroupID
		in.MessageDeduplicationId = ptr(rand.Text())
	}
	if _, err := q.client.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("sqs queue: send: %w", err)
	}
	return nil
}

// sqsText reports whether p is a non-empty body that SQS accepts as is:
// valid UTF-8 made only of the characters its message bodies allow.
func sqsText(p []byte) bool {
	if len(p) == 0 || !utf8.Valid(p) {
		return false
	}
	for _, r := range string(p) {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

// Consume runs h on messages, up to Options.Concurrency at once, until ctx
// is cancelled or the queue is closed. While SQS is unreachable it logs
// and retries.
func (q *Queue) Consume(ctx context.Context, h queue.Handler) error {
	if q.closed() {
		return queue.ErrClosed
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-q.done:
			cancel()
		case <-hctx.Done():
		}
	}()

	c := &consumer{q: q, held: make(map[*heldMessage]struct{})}
	stopRenew := make(chan struct{})
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		c.renewLoop(stopRenew)
	}()
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		close(stopRenew)
		<-renewDone
	}()

	sem := make(chan struct{}, q.opts.Concurrency)
	var failing time.Duration
	for {
		select {
		case sem <- struct{}{}:
		case <-hctx.Done():
			return q.exitErr(ctx)
		}
		n := 1
	fill:
		for n < q.opts.MaxMessages {
			select {
			case sem <- struct{}{}:
				n++
			default:
				break fill
			}
		}
		msgs, err := q.receive(hctx, n)
		for range n - len(msgs) {
			<-sem
		}
		if err != nil {
			if hctx.Err() != nil {
				return q.exitErr(ctx)
			}
			failing = min(max(2*failing, 100*time.Millisecond), 5*time.Second)
			q.log.LogAttrs(hctx, slog.LevelWarn, "queue consumer cannot receive messages; retrying",
				slog.String("err", err.Error()), slog.Duration("retry_in", failing))
			if !sleep(hctx, failing) {
				return q.exitErr(ctx)
			}
			continue
		}
		if failing > 0 {
			q.log.LogAttrs(hctx, slog.LevelInfo, "queue consumer recovered")
			failing = 0
		}
		for _, m := range msgs {
			if hctx.Err() != nil {
				// Received as the consumer stopped: make it visible again.
				if !q.closed() {
					q.setVisibility(m.receipt, 0)
				}
				<-sem
				continue
			}
			hm := c.hold(m)
			q.meter.Begin()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				defer q.meter.End()
				err := h(hctx, m.job)
				c.release(hm)
				if !q.closed() {
					q.settle(m, err)
				}
			}()
		}
		if hctx.Err() != nil {
			return q.exitErr(ctx)
		}
	}
}

func (q *Queue) exitErr(ctx context.Context) error {
	if q.closed() {
		return queue.ErrClosed
	}
	return ctx.Err()
}

// message is a received message turned into a job.
type message struct {
	job     *queue.Job
	receipt string
}

func (q *Queue) receive(ctx context.Context, n int) ([]message, error) {
	in := &sqs.ReceiveMessageInput{
		QueueUrl:            &q.url,
		MaxNumberOfMessages: int32(n),
		WaitTimeSeconds:     int32(q.opts.WaitTime / time.Second),
		VisibilityTimeout:   seconds(q.opts.VisibilityTimeout),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameApproximateReceiveCount,
			types.MessageSystemAttributeNameSentTimestamp,
		},
		MessageAttributeNames: []string{attrEnqueuedAt, attrEncoding},
	}
	// SQS-compatible servers (local-aws-sqs, older ElasticMQ) only honour
	// the older field; AWS accepts both.
	//lint:ignore SA1019 kept for SQS-compatible servers, see above.
	in.AttributeNames = []types.QueueAttributeName{
		types.QueueAttributeName(types.MessageSystemAttributeNameApproximateReceiveCount),
		types.QueueAttributeName(types.MessageSystemAttributeNameSentTimestamp),
	}
	out, err := q.client.ReceiveMessage(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("sqs queue: receive: %w", err)
	}
	msgs := make([]message, 0, len(out.Messages))
	for _, m := range out.Messages {
		job, err := decode(m)
		if err != nil {
			// Leave it to the queue's redrive policy, if any; it comes
			// back after the visibility timeout.
			q.log.LogAttrs(ctx, slog.LevelError, "queue received a message it cannot decode",
				slog.String("message_id", deref(m.MessageId)), slog.String("err", err.Error()))
			continue
		}
		msgs = append(msgs, message{job: job, receipt: deref(m.ReceiptHandle)})
	}
	return msgs, nil
}

// decode turns a received message into a job.
func decode(m types.Message) (*queue.Job, error) {
	body := deref(m.Body)
	payload := []byte(body)
	if a, ok := m.MessageAttributes[attrEncoding]; ok && deref(a.StringValue) == "base64" {
		if body == "=" {
			body = ""
		}
		var err error
		if payload, err = base64.StdEncoding.DecodeString(body); err != nil {
			return nil, fmt.Errorf("base64 body: %w", err)
		}
	}
	attempt, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	if attempt < 1 {
		attempt = 1
	}
	var enqueued time.Time
	if a, ok := m.MessageAttributes[attrEnqueuedAt]; ok {
		if ms, err := strconv.ParseInt(deref(a.StringValue), 10, 64); err == nil {
			enqueued = time.UnixMilli(ms)
		}
	}
	if enqueued.IsZero() {
		if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
			enqueued = time.UnixMilli(ms)
		}
	}
	return &queue.Job{ID: deref(m.MessageId), Payload: payload, Attempt: attempt, EnqueuedAt: enqueued}, nil
}

// settle records a handler's outcome: delete the message, or hide it for
// the back-off.
func (q *Queue) settle(m message, herr error) {
	if herr == nil {
		q.meter.Succeeded(m.job.EnqueuedAt)
		q.delete(m)
		return
	}
	q.meter.Failed()
	delay, drop := queue.RetryDelay(herr, m.job.Attempt, q.opts.RetryBase, q.opts.RetryMax)
	if drop {
		q.delete(m)
		return
	}
	q.setVisibility(m.receipt, min(delay, maxVisibility))
}

func (q *Queue) delete(m message) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &q.url, ReceiptHandle: &m.receipt})
	if err != nil {
		q.log.LogAttrs(ctx, slog.LevelWarn, "queue cannot delete a handled message; it will be redelivered",
			slog.String("message_id", m.job.ID), slog.String("err", err.Error()))
	}
}

func (q *Queue) setVisibility(receipt string, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          &q.url,
		ReceiptHandle:     &receipt,
		VisibilityTimeout: seconds(d),
	})
	if err != nil {
		q.log.LogAttrs(ctx, slog.LevelWarn, "queue cannot change a message's visibility",
			slog.String("err", err.Error()))
	}
}

// Stats reports SQS's approximate backlog (visible, delayed and hidden
// messages, less those this process is handling) and this process's
// handler outcomes.
func (q *Queue) Stats(ctx context.Context) (queue.Stats, error) {
	out, err := q.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: &q.url,
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return queue.Stats{}, fmt.Errorf("sqs queue: stats: %w", err)
	}
	count := func(name types.QueueAttributeName) int {
		n, _ := strconv.Atoi(out.Attributes[string(name)])
		return n
	}
	inFlight := q.meter.InFlight()
	depth := count(types.QueueAttributeNameApproximateNumberOfMessages) +
		count(types.QueueAttributeNameApproximateNumberOfMessagesDelayed) +
		max(0, count(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)-inFlight)
	return q.meter.Stats(depth), nil
}

// Close stops consumers and visibility extensions. Messages whose
// handlers are still running are neither deleted nor retried: they come
// back after their visibility timeout. The client is not closed.
func (q *Queue) Close() error {
	q.closeOnce.Do(func() { close(q.done) })
	return nil
}

// consumer tracks the messages one Consume call holds, to extend their
// visibility while their handlers run.
type consumer struct {
	q    *Queue
	mu   sync.Mutex
	held map[*heldMessage]struct{}
}

// heldMessage is a message whose handler is running. Its mutex orders the
// renewals of its visibility against its settlement: a renewal runs only
// while the message is held and finishes before the settlement starts, so
// a renewal can neither follow a delete nor overwrite a retry's back-off.
type heldMessage struct {
	msg      message
	mu       sync.Mutex
	released bool
}

func (c *consumer) hold(m message) *heldMessage {
	hm := &heldMessage{msg: m}
	c.mu.Lock()
	c.held[hm] = struct{}{}
	c.mu.Unlock()
	return hm
}

// release stops the renewals of hm, waiting for one in progress, before
// its handler's outcome is recorded.
func (c *consumer) release(hm *heldMessage) {
	c.mu.Lock()
	delete(c.held, hm)
	c.mu.Unlock()
	hm.mu.Lock()
	hm.released = true
	hm.mu.Unlock()
}

// renew extends hm's visibility unless its handler has returned.
func (c *consumer) renew(hm *heldMessage) {
	hm.mu.Lock()
	defer hm.mu.Unlock()
	if hm.released || c.q.closed() {
		return
	}
	c.q.setVisibility(hm.msg.receipt, c.q.opts.VisibilityTimeout)
}

// renewLoop extends the visibility of held messages every half timeout
// until stop is closed or the queue is.
func (c *consumer) renewLoop(stop <-chan struct{}) {
	t := time.NewTicker(c.q.opts.VisibilityTimeout / 2)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-c.q.done:
			return
		case <-t.C:
		}
		c.mu.Lock()
		held := make([]*heldMessage, 0, len(c.held))
		for hm := range c.held {
			held = append(held, hm)
		}
		c.mu.Unlock()
		for _, hm := range held {
			if c.q.closed() {
				return
			}
			c.renew(hm)
		}
	}
}

// seconds rounds d up to whole seconds for SQS.
func seconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	return int32(math.Ceil(d.Seconds()))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func ptr[T any](v T) *T { return &v }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
