package sqs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
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
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		q, err := sqsqueue.New(f, "https://sqs.example/1/hooks", &sqsqueue.Options{
			VisibilityTimeout: time.Hour,
			Options:           queue.Options{RetryBase: 2 * time.Second, RetryMax: 10 * time.Second},
		})
		if err != nil {
			t.Fatal(err)
		}
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
		go func() {
			done <- q.Consume(ctx, func(ctx context.Context, j *queue.Job) error {
				return outcomes[strings.TrimPrefix(j.ID, "id-")]
			})
		}()
		synctest.Wait() // every message settled; the consumer waits for more
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
	})
}

func TestEnqueuedAtFallsBackToSentTimestamp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		q, err := sqsqueue.New(f, "https://sqs.example/1/hooks", nil)
		if err != nil {
			t.Fatal(err)
		}
		f.inbox <- types.Message{
			MessageId:     aws.String("foreign"),
			ReceiptHandle: aws.String("r"),
			Body:          aws.String("sent by another program"),
			Attributes:    map[string]string{"SentTimestamp": "1700000000123", "ApproximateReceiveCount": "4"},
		}
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan queue.Job, 1)
		done := make(chan error, 1)
		go func() {
			done <- q.Consume(ctx, func(ctx context.Context, j *queue.Job) error {
				got <- *j
				return nil
			})
		}()
		j := <-got
		if !j.EnqueuedAt.Equal(time.UnixMilli(1700000000123)) || j.Attempt != 4 || string(j.Payload) != "sent by another program" {
			t.Errorf("job = %+v, want EnqueuedAt from SentTimestamp, Attempt 4 and the raw body", j)
		}
		cancel()
		<-done
	})
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
		"NegativeTimeout":   {VisibilityTimeout: -time.Second},
		"Concurrency":       {Options: queue.Options{Concurrency: -1}},
		"RetryMax":          {Options: queue.Options{RetryBase: time.Minute, RetryMax: time.Second}},
	} {
		_, err := sqsqueue.New(f, "u", &o)
		if err == nil || !strings.Contains(err.Error(), "Options.") {
			t.Errorf("New with bad %s: error %v, want one naming the option", name, err)
		}
	}
}
