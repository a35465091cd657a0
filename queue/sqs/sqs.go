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
	// while its handler runs; it is extended every third of it until the
	// handler returns, and a dead consumer's messages come back after it.
	// Whole seconds, rounded up, at most 12 hours (default 30 s).
	VisibilityTimeout time.Duration
	// MaxMessages is the most messages one receive asks for, 1 to 10
	// (default 10).
	MaxMessages int
	// WaitTime is the long-poll duration of a receive, whole seconds up to
	// 20 (default 5 s); a negative value means short polling.
	WaitTime time.Duration
	// FIFO marks a FIFO queue: messages are sent with MessageGroupID and a
	// unique deduplication id. It is implied by a queue URL ending in
	// ".fifo".
	FIFO bool
	// MessageGroupID is the group of every message on a FIFO queue
	// (default "default").
	MessageGroupID string
	// Options configures the consumer loop: concurrency, back-off and the
	// logger, which also receives this driver's errors.
	queue.Options
}

const maxVisibility = 12 * time.Hour

// shortPollIdle is how long a short-polling consumer waits after an empty
// receive, so that an idle one does not spin.
const shortPollIdle = 100 * time.Millisecond

func (o *Options) setDefaults(queueURL string) error {
	switch {
	case o.VisibilityTimeout < 0 || o.VisibilityTimeout > maxVisibility:
		return fmt.Errorf("sqs queue: Options.VisibilityTimeout (%v) is not between 0 and 12h", o.VisibilityTimeout)
	case o.MaxMessages < 0 || o.MaxMessages > 10:
		return fmt.Errorf("sqs queue: Options.MaxMessages (%d) is not between 1 and 10", o.MaxMessages)
	case o.WaitTime > 20*time.Second:
		return fmt.Errorf("sqs queue: Options.WaitTime (%v) is longer than 20s", o.WaitTime)
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
	if strings.HasSuffix(queueURL, ".fifo") {
		o.FIFO = true
	}
	if o.MessageGroupID == "" {
		o.MessageGroupID = "default"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Logger = o.Logger.With("queue", queueURL)
	return nil
}

// Message attributes that Enqueue sets.
const (
	attrEnqueuedAt = "sockudo_enqueued_at" // Unix milliseconds
	attrEncoding   = "sockudo_encoding"    // "base64" when the body is encoded
)

// Queue is a queue.Queue on one SQS queue: the portable consumer loop over
// SQS messages. Create it with New.
type Queue struct {
	*queue.Portable
}

// New returns a queue on the SQS queue at queueURL (see QueueURL).
// opts may be nil. Close does not close client.
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
	p, err := queue.New(&driver{client: client, url: queueURL, opts: o, log: o.Logger}, &o.Options)
	if err != nil {
		return nil, err
	}
	return &Queue{p}, nil
}

// driver is the queue.Driver and queue.Leaser of a Queue. A Delivery's
// Receipt is the message's receipt handle.
type driver struct {
	client API
	url    string
	opts   Options
	log    *slog.Logger
}

// Send sends a message carrying payload.
func (d *driver) Send(ctx context.Context, payload []byte) error {
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
	in := &sqs.SendMessageInput{QueueUrl: &d.url, MessageBody: &body, MessageAttributes: attrs}
	if d.opts.FIFO {
		in.MessageGroupId = &d.opts.MessageGroupID
		in.MessageDeduplicationId = ptr(rand.Text())
	}
	if _, err := d.client.SendMessage(ctx, in); err != nil {
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

// Receive long-polls for up to max messages (at most
// Options.MaxMessages), hiding them for Options.VisibilityTimeout.
// Messages it cannot decode are logged and left to come back after the
// visibility timeout (and to the queue's redrive policy, if any).
func (d *driver) Receive(ctx context.Context, max int) ([]*queue.Delivery, error) {
	in := &sqs.ReceiveMessageInput{
		QueueUrl:            &d.url,
		MaxNumberOfMessages: int32(min(max, d.opts.MaxMessages)),
		WaitTimeSeconds:     int32(d.opts.WaitTime / time.Second),
		VisibilityTimeout:   seconds(d.opts.VisibilityTimeout),
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
	out, err := d.client.ReceiveMessage(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("sqs queue: receive: %w", err)
	}
	ds := make([]*queue.Delivery, 0, len(out.Messages))
	for _, m := range out.Messages {
		job, err := decode(m)
		if err != nil {
			d.log.LogAttrs(ctx, slog.LevelError, "queue received a message it cannot decode",
				slog.String("message_id", deref(m.MessageId)), slog.Any("error", err))
			continue
		}
		ds = append(ds, &queue.Delivery{Job: *job, Receipt: deref(m.ReceiptHandle)})
	}
	if len(out.Messages) == 0 && d.opts.WaitTime == 0 {
		t := time.NewTimer(shortPollIdle)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return ds, nil
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

// Ack deletes the message.
func (d *driver) Ack(ctx context.Context, dl *queue.Delivery) error {
	r, err := receipt(dl)
	if err != nil {
		return err
	}
	if _, err := d.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &d.url, ReceiptHandle: &r}); err != nil {
		return fmt.Errorf("sqs queue: delete: %w", err)
	}
	return nil
}

// Retry hides the message for delay (rounded up to whole seconds, at
// most 12 hours), which works on FIFO queues too.
func (d *driver) Retry(ctx context.Context, dl *queue.Delivery, delay time.Duration) error {
	return d.setVisibility(ctx, dl, min(delay, maxVisibility))
}

// Lease returns Options.VisibilityTimeout.
func (d *driver) Lease() time.Duration { return d.opts.VisibilityTimeout }

// Extend hides the messages for another visibility timeout.
func (d *driver) Extend(ctx context.Context, ds []*queue.Delivery) error {
	var errs []error
	for _, dl := range ds {
		if err := d.setVisibility(ctx, dl, d.opts.VisibilityTimeout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *driver) setVisibility(ctx context.Context, dl *queue.Delivery, v time.Duration) error {
	r, err := receipt(dl)
	if err != nil {
		return err
	}
	_, err = d.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          &d.url,
		ReceiptHandle:     &r,
		VisibilityTimeout: seconds(v),
	})
	if err != nil {
		return fmt.Errorf("sqs queue: change visibility of %s: %w", dl.Job.ID, err)
	}
	return nil
}

// receipt returns the receipt handle of a delivery of this driver.
func receipt(dl *queue.Delivery) (string, error) {
	r, ok := dl.Receipt.(string)
	if !ok {
		return "", fmt.Errorf("sqs queue: delivery %s has no receipt handle", dl.Job.ID)
	}
	return r, nil
}

// Pending returns SQS's approximate count of the queue's messages:
// visible, delayed and hidden (being handled, by any process, or waiting
// for a retry).
func (d *driver) Pending(ctx context.Context) (int, error) {
	out, err := d.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: &d.url,
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return 0, fmt.Errorf("sqs queue: stats: %w", err)
	}
	n := 0
	for _, name := range []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages,
		types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	} {
		c, _ := strconv.Atoi(out.Attributes[string(name)])
		n += c
	}
	return n, nil
}

// Close does nothing: the messages stay in SQS and the client belongs to
// the host.
func (d *driver) Close() error { return nil }

// seconds rounds d up to whole seconds for SQS.
func seconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	return int32(math.Ceil(d.Seconds()))
}

func ptr[T any](v T) *T { return &v }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
