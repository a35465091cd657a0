package sqs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sockudo-go/sockudo/queue"
	sqsqueue "github.com/sockudo-go/sockudo/queue/sqs"
)

// fakeAPI records what the driver sends and hands out messages that a
// test puts in its inbox.
type fakeAPI struct {
	inbox chan types.Message

	mu         sync.Mutex
	sent       []*sqs.SendMessageInput
	visibility []int32
	deleted    []string
}

func newFake() *fakeAPI { return &fakeAPI{inbox: make(chan types.Message, 10)} }

func (f *fakeAPI) SendMessage(ctx context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, in)
	return &sqs.SendMessageOutput{MessageId: aws.String("m")}, nil
}

func (f *fakeAPI) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	select {
	case m := <-f.inbox:
		return &sqs.ReceiveMessageOutput{Messages: []types.Message{m}}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *fakeAPI) DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, *in.ReceiptHandle)
	return &sqs.DeleteMessageOutput{}, nil
}

func (f *fakeAPI) ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.visibility = append(f.visibility, in.VisibilityTimeout)
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

func (f *fakeAPI) GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	return nil, errors.New("not implemented")
}

// received turns a sent message into what a receive would return.
func received(in *sqs.SendMessageInput, receipt string, count string) types.Message {
	return types.Message{
		MessageId:         aws.String("id-" + receipt),
		ReceiptHandle:     aws.String(receipt),
		Body:              in.MessageBody,
		MessageAttributes: in.MessageAttributes,
		Attributes:        map[string]string{"ApproximateReceiveCount": count},
	}
}

func TestEnqueueFIFOSetsGroupAndUniqueDeduplicationIDs(t *testing.T) {
	f := newFake()
	q, err := sqsqueue.New(f, "https://sqs.example/1/hooks.fifo", &sqsqueue.Options{MessageGroupID: "g1"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := q.Enqueue(context.Background(), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	a, b := f.sent[0], f.sent[1]
	if aws.ToString(a.MessageGroupId) != "g1" || aws.ToString(b.MessageGroupId) != "g1" {
		t.Errorf("group ids %q, %q; want g1", aws.ToString(a.MessageGroupId), aws.ToString(b.MessageGroupId))
	}
	if aws.ToString(a.MessageDeduplicationId) == "" || aws.ToString(a.MessageDeduplicationId) == aws.ToString(b.MessageDeduplicationId) {
		t.Errorf("deduplication ids %q, %q; want unique", aws.ToString(a.MessageDeduplicationId), aws.ToString(b.MessageDeduplicationId))
	}

	std, _ := sqsqueue.New(f, "https://sqs.example/1/hooks", nil)
	if err := std.Enqueue(context.Background(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if c := f.sent[2]; c.MessageGroupId != nil || c.MessageDeduplicationId != nil {
		t.Error("a standard queue's message carries FIFO fields")
	}
}

func TestEnqueueSendsTextAsIsAndBinaryEncoded(t *testing.T) {
	f := newFake()
	q, _ := sqsqueue.New(f, "https://sqs.example/1/hooks", nil)
	ctx := context.Background()
	text := `{"time_ms":1,"events":[{"name":"member_added","user_id":"é"}]}`
	for _, p := range [][]byte{[]byte(text), {0, 1, 0xff}, {}} {
		if err := q.Enqueue(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if got := aws.ToString(f.sent[0].MessageBody); got != text {
		t.Errorf("text payload sent as %q, want it unchanged", got)
	}
	if _, ok := f.sent[0].MessageAttributes["sockudo_encoding"]; ok {
		t.Error("text payload marked as encoded")
	}
	for _, in := range f.sent[1:] {
		if aws.ToString(in.MessageAttributes["sockudo_encoding"].StringValue) != "base64" || aws.ToString(in.MessageBody) == "" {
			t.Errorf("binary or empty payload sent as %q without the base64 marker or with an empty body", aws.ToString(in.MessageBody))
		}
	}
}

func TestFailureSetsVisibilityToTheBackoffRoundedUp(t *testing.T) {
	f := newFake()
	q, _ := sqsqueue.New(f, "https://sqs.example/1/hooks", &sqsqueue.Options{RetryBase: 2 * time.Second, RetryMax: 10 * time.Second, VisibilityTimeout: time.Hour})
	if err := q.Enqueue(context.Background(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]error{
		"retry-after":  queue.RetryAfter(errors.New("busy"), 300*time.Millisecond),
		"retry-after2": queue.RetryAfter(errors.New("busy"), 2500*time.Millisecond),
		"backoff":      errors.New("down"), // attempt 3: 2s doubled twice
		"permanent":    queue.Permanent(errors.New("bad")),
		"ok":           nil,
	}
	counts := map[string]string{"backoff": "3"}
	for receipt := range outcomes {
		c := counts[receipt]
		if c == "" {
			c = "1"
		}
		f.inbox <- received(f.sent[0], receipt, c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var mu sync.Mutex
	handled := 0
	go func() {
		done <- q.Consume(ctx, func(ctx context.Context, j *queue.Job) error {
			mu.Lock()
			handled++
			mu.Unlock()
			return outcomes[strings.TrimPrefix(j.ID, "id-")]
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		n := len(f.visibility) + len(f.deleted)
		f.mu.Unlock()
		if n == len(outcomes) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d outcomes recorded", n, len(outcomes))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	want := map[int32]bool{1: true, 3: true, 8: true}
	for _, v := range f.visibility {
		if !want[v] {
			t.Errorf("visibility set to %ds, want one of 1, 3 and 8", v)
		}
		delete(want, v)
	}
	if len(want) != 0 {
		t.Errorf("visibility changes %v miss %v", f.visibility, want)
	}
	if len(f.deleted) != 2 {
		t.Errorf("deleted %v, want the ok and permanent messages", f.deleted)
	}
}

func TestEnqueuedAtFallsBackToSentTimestamp(t *testing.T) {
	f := newFake()
	q, _ := sqsqueue.New(f, "https://sqs.example/1/hooks", nil)
	f.inbox <- types.Message{
		MessageId:     aws.String("foreign"),
		ReceiptHandle: aws.String("r"),
		Body:          aws.String("sent by another program"),
		Attributes:    map[string]string{"SentTimestamp": "1700000000123", "ApproximateReceiveCount": "4"},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan queue.Job, 1)
	go q.Consume(ctx, func(ctx context.Context, j *queue.Job) error {
		got <- *j
		return nil
	})
	select {
	case j := <-got:
		if !j.EnqueuedAt.Equal(time.UnixMilli(1700000000123)) || j.Attempt != 4 || string(j.Payload) != "sent by another program" {
			t.Errorf("job = %+v, want EnqueuedAt from SentTimestamp, Attempt 4 and the raw body", j)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no job")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	f := newFake()
	if _, err := sqsqueue.New(nil, "u", nil); err == nil {
		t.Error("New(nil client): no error")
	}
	if _, err := sqsqueue.New(f, "", nil); err == nil {
		t.Error("New with an empty URL: no error")
	}
	for name, o := range map[string]sqsqueue.Options{
		"MaxMessages":       {MaxMessages: 11},
		"WaitTime":          {WaitTime: 21 * time.Second},
		"VisibilityTimeout": {VisibilityTimeout: 13 * time.Hour},
		"Concurrency":       {Concurrency: -1},
		"RetryMax":          {RetryBase: time.Minute, RetryMax: time.Second},
	} {
		_, err := sqsqueue.New(f, "u", &o)
		if err == nil || !strings.Contains(err.Error(), "Options.") {
			t.Errorf("New with bad %s: error %v, want one naming the option", name, err)
		}
	}
}

// settleOrderFake records, per receipt handle, the lease renewals (a
// visibility change to renewSecs) and settlements (a delete or any other
// visibility change) that reach SQS, and lets a test hold renewals back
// on the wire with holdRenewal.
type settleOrderFake struct {
	*fakeAPI
	renewSecs   int32
	holdRenewal func(ctx context.Context, receipt string)

	mu         sync.Mutex
	busy       map[string]bool          // a call on the receipt is in progress
	settled    map[string]chan struct{} // closed once a settlement has landed
	last       map[string]int32         // the visibility of the last change to land
	violations []string
}

func newSettleOrderFake(renewSecs int32, receipts ...string) *settleOrderFake {
	f := &settleOrderFake{
		fakeAPI:   newFake(),
		renewSecs: renewSecs,
		busy:      map[string]bool{},
		settled:   map[string]chan struct{}{},
		last:      map[string]int32{},
	}
	for _, r := range receipts {
		f.settled[r] = make(chan struct{})
	}
	return f
}

func (f *settleOrderFake) ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	r, renewal := *in.ReceiptHandle, in.VisibilityTimeout == f.renewSecs
	f.begin(r, renewal)
	if renewal && f.holdRenewal != nil {
		f.holdRenewal(ctx, r)
	}
	f.mu.Lock()
	f.last[r] = in.VisibilityTimeout
	f.mu.Unlock()
	f.end(r, !renewal)
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

func (f *settleOrderFake) DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	f.begin(*in.ReceiptHandle, false)
	f.end(*in.ReceiptHandle, true)
	return &sqs.DeleteMessageOutput{}, nil
}

func (f *settleOrderFake) begin(r string, renewal bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy[r] {
		f.violations = append(f.violations, r+": two calls on the message in flight at once")
	}
	f.busy[r] = true
	select {
	case <-f.settled[r]:
		f.violations = append(f.violations, r+": a call after the message was settled")
	default:
	}
}

func (f *settleOrderFake) end(r string, settle bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.busy[r] = false
	if settle {
		close(f.settled[r])
	}
}

// consumeUntilCancelled runs q.Consume with h and returns a function that
// stops it and waits for it, its handlers and its renewals to finish.
func consumeUntilCancelled(t *testing.T, q *sqsqueue.Queue, h queue.Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Consume(ctx, h) }()
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("Consume did not return")
		}
	}
}

func inboxMessage(receipt string) types.Message {
	return types.Message{
		MessageId:     aws.String("id-" + receipt),
		ReceiptHandle: aws.String(receipt),
		Body:          aws.String("x"),
		Attributes:    map[string]string{"ApproximateReceiveCount": "1"},
	}
}

// TestSettleWaitsForTheLeaseRenewalInFlight holds a lease renewal on the
// wire while the handler returns RetryAfter(0): the retry's visibility
// change must wait for the renewal rather than overtake it, else the
// renewal lands last and hides the job for a whole visibility timeout.
func TestSettleWaitsForTheLeaseRenewalInFlight(t *testing.T) {
	f := newSettleOrderFake(1, "r1")
	renewing := make(chan struct{})
	var once sync.Once
	f.holdRenewal = func(ctx context.Context, r string) {
		once.Do(func() { close(renewing) })
		// Hold until the settlement lands (it must not: it waits for
		// this renewal), for at most a second, like a slow request.
		select {
		case <-f.settled[r]:
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	q, err := sqsqueue.New(f, "https://sqs.example/1/hooks", &sqsqueue.Options{VisibilityTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.inbox <- inboxMessage("r1")
	handled := make(chan struct{})
	stop := consumeUntilCancelled(t, q, func(ctx context.Context, j *queue.Job) error {
		defer close(handled)
		<-renewing
		return queue.RetryAfter(errors.New("receiver busy"), 0)
	})
	select {
	case <-handled:
	case <-time.After(10 * time.Second):
		t.Fatal("no lease renewal while the handler ran")
	}
	stop()

	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.violations {
		t.Error(v)
	}
	if v := f.last["r1"]; v != 0 {
		t.Errorf("visibility after RetryAfter(0) is %ds, want 0: the renewal overrode the retry", v)
	}
}

// TestRenewalSkipsMessagesSettledSinceItStarted deletes one message while
// a renewal pass is busy with another: the pass must not then renew the
// deleted message, which would fail and log a spurious warning.
func TestRenewalSkipsMessagesSettledSinceItStarted(t *testing.T) {
	f := newSettleOrderFake(1, "r1", "r2")
	other := map[string]string{"r1": "r2", "r2": "r1"}
	renewing := make(chan struct{})
	var first string // the receipt of the first renewal, set before renewing closes
	var once sync.Once
	f.holdRenewal = func(ctx context.Context, r string) {
		held := false
		once.Do(func() {
			first, held = r, true
			close(renewing)
		})
		if held { // until the other message's delete has landed
			select {
			case <-f.settled[other[r]]:
			case <-ctx.Done():
			}
		}
	}
	q, err := sqsqueue.New(f, "https://sqs.example/1/hooks", &sqsqueue.Options{VisibilityTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.inbox <- inboxMessage("r1")
	f.inbox <- inboxMessage("r2")
	var handled sync.WaitGroup
	handled.Add(2)
	stop := consumeUntilCancelled(t, q, func(ctx context.Context, j *queue.Job) error {
		defer handled.Done()
		<-renewing
		if r := strings.TrimPrefix(j.ID, "id-"); r == first {
			<-f.settled[other[r]]
		}
		return nil
	})
	allHandled := make(chan struct{})
	go func() { handled.Wait(); close(allHandled) }()
	select {
	case <-allHandled:
	case <-time.After(10 * time.Second):
		t.Fatal("the handlers did not return (no lease renewal while they ran?)")
	}
	stop()

	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.violations {
		t.Error(v)
	}
}
