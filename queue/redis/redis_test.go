package redis_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo/internal/testenv"
	"github.com/sockudo-go/sockudo/internal/testproxy"
	"github.com/sockudo-go/sockudo/queue"
	"github.com/sockudo-go/sockudo/queue/queuetest"
	redisqueue "github.com/sockudo-go/sockudo/queue/redis"
)

const testLease = time.Second

func standaloneClient(t testing.TB) rueidis.Client {
	t.Helper()
	return testenv.RedisClient(t, testenv.RedisStandalone(t))
}

func clusterClient(t testing.TB) rueidis.Client {
	t.Helper()
	return testenv.RedisClient(t, testenv.RedisCluster(t))
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// uniqueName isolates a test's keys from every other test on the server.
func uniqueName(t testing.TB) string {
	return unsafeChars.ReplaceAllString(t.Name(), "_") + "-" + rand.Text()[:8]
}

func testOptions(name string, concurrency int) *redisqueue.Options {
	return &redisqueue.Options{
		Prefix:       "sockudo_test_queue:",
		Name:         name,
		Lease:        testLease,
		PollInterval: 20 * time.Millisecond,
		Options: queue.Options{
			Concurrency: concurrency,
			RetryBase:   20 * time.Millisecond,
			RetryMax:    100 * time.Millisecond,
			Logger:      slog.New(slog.DiscardHandler),
		},
	}
}

// openQueue opens a queue named name through client and deletes its keys
// when the test ends.
func openQueue(t testing.TB, client rueidis.Client, name string, concurrency int) *redisqueue.Queue {
	t.Helper()
	q, err := redisqueue.New(client, testOptions(name, concurrency))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		q.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		client.Do(ctx, client.B().Del().Key(q.Keys()...).Build())
	})
	return q
}

func harness(client rueidis.Client) queuetest.Harness {
	return queuetest.Harness{
		Open: func(t *testing.T) queuetest.Opener {
			name := uniqueName(t)
			return func(t *testing.T, concurrency int) queue.Queue {
				return openQueue(t, client, name, concurrency)
			}
		},
		MultiInstance: true,
		Lease:         testLease,
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, harness(standaloneClient(t)))
}

func TestConformanceCluster(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, harness(clusterClient(t)))
}

func TestKeysShareOneClusterSlot(t *testing.T) {
	q, err := redisqueue.New(nopClient{}, &redisqueue.Options{Prefix: "p:", Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range q.Keys() {
		if !strings.HasPrefix(k, "{p:n}:") {
			t.Errorf("key %q does not start with the hash tag {p:n}", k)
		}
	}
}

// nopClient satisfies rueidis.Client for tests that never reach Redis.
type nopClient struct{ rueidis.Client }

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := redisqueue.New(nil, nil); err == nil {
		t.Error("New(nil client): no error")
	}
	for name, o := range map[string]redisqueue.Options{
		"Concurrency":  {Options: queue.Options{Concurrency: -1}},
		"Lease":        {Lease: -time.Second},
		"ShortLease":   {Lease: time.Millisecond},
		"PollInterval": {PollInterval: -time.Second},
		"RetryMax":     {Options: queue.Options{RetryBase: time.Minute, RetryMax: time.Second}},
	} {
		if _, err := redisqueue.New(nopClient{}, &o); err == nil {
			t.Errorf("New with bad %s: no error", name)
		} else if !strings.Contains(err.Error(), "Options.") {
			t.Errorf("New with bad %s: error %q does not name the option", name, err)
		}
	}
}

// TestCutOffConsumerLosesItsLease cuts a consumer's connection while its
// handler runs, as if its process died: another instance gets the job
// after the lease, and the first consumer's late acknowledgement, once it
// can reach Redis again, does not remove the job from its new holder.
func TestCutOffConsumerLosesItsLease(t *testing.T) {
	t.Parallel()
	direct := standaloneClient(t)
	opt, _ := rueidis.ParseURL(testenv.Lookup(t, "SOCKUDO_TEST_REDIS_URL"))
	proxy := testproxy.New(t, opt.InitAddress[0])
	opt.InitAddress = []string{proxy.Addr()}
	viaProxy := testenv.RedisClient(t, opt)

	name := uniqueName(t)
	dying := openQueue(t, viaProxy, name, 1)
	survivor := openQueue(t, direct, name, 1)

	started := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	dctx, dcancel := context.WithCancel(context.Background())
	ddone := make(chan error, 1)
	go func() {
		ddone <- dying.Consume(dctx, func(ctx context.Context, j *queue.Job) error {
			once.Do(func() { close(started) })
			<-release
			return nil // a success that arrives too late
		})
	}()
	if err := survivor.Enqueue(context.Background(), []byte("job")); err != nil {
		t.Fatal(err)
	}
	waitChan(t, started, "the first consumer to take the job")
	proxy.Cut()

	attempts := make(chan int, 10)
	sctx, scancel := context.WithCancel(context.Background())
	defer scancel()
	sdone := make(chan error, 1)
	go func() {
		sdone <- survivor.Consume(sctx, func(ctx context.Context, j *queue.Job) error {
			attempts <- j.Attempt
			if j.Attempt == 2 {
				return queue.RetryAfter(errors.New("not yet"), 300*time.Millisecond)
			}
			return nil
		})
	}()
	if a := recvAttempt(t, attempts); a != 2 {
		t.Fatalf("survivor got Attempt %d, want 2", a)
	}
	// The first consumer reconnects and reports success for attempt 1
	// while the survivor holds the job for a retry.
	proxy.Restore()
	close(release)
	dcancel()
	if err := <-ddone; !errors.Is(err, context.Canceled) {
		t.Errorf("dying Consume = %v, want context.Canceled", err)
	}
	if a := recvAttempt(t, attempts); a != 3 {
		t.Fatalf("survivor got Attempt %d after its retry, want 3 (the stale ack must not remove the job)", a)
	}
	scancel()
	<-sdone
}

// TestJobsSurviveRedisRestart kills a private Redis (append-only file on)
// with jobs in it and a consumer running, restarts it, and expects the
// consumer to recover and every job to be handled.
func TestJobsSurviveRedisRestart(t *testing.T) {
	t.Parallel()
	srv := testenv.StartRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	client := testenv.RedisClient(t, rueidis.ClientOption{InitAddress: []string{srv.Addr()}})
	q := openQueue(t, client, uniqueName(t), 2)
	ctx := context.Background()
	for _, p := range []string{"a", "b", "c"} {
		if err := q.Enqueue(ctx, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}

	srv.Kill()
	if err := q.Enqueue(ctx, []byte("lost")); err == nil {
		t.Error("Enqueue while Redis is down returned nil")
	}
	got := make(chan string, 10)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- q.Consume(cctx, func(ctx context.Context, j *queue.Job) error {
			got <- string(j.Payload)
			return nil
		})
	}()
	select {
	case err := <-done:
		t.Fatalf("Consume gave up while Redis was down: %v", err)
	case <-time.After(300 * time.Millisecond):
	}

	srv.Start()
	if err := q.Enqueue(ctx, []byte("d")); err != nil {
		// The client may need a moment to reconnect.
		deadline := time.Now().Add(10 * time.Second)
		for err != nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			err = q.Enqueue(ctx, []byte("d"))
		}
		if err != nil {
			t.Fatalf("Enqueue after restart: %v", err)
		}
	}
	seen := map[string]bool{}
	timeout := time.After(20 * time.Second)
	for len(seen) < 4 {
		select {
		case p := <-got:
			seen[p] = true
		case <-timeout:
			t.Fatalf("after restart got %v, want a, b, c and d", seen)
		}
	}
	if seen["lost"] {
		t.Error("a job whose Enqueue failed was delivered")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Consume = %v, want context.Canceled", err)
	}
}

func waitChan(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func recvAttempt(t *testing.T, ch <-chan int) int {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a delivery")
		return 0
	}
}

// TestMalformedJobsNeitherBlockOthersNorLeakConcurrency corrupts the
// enqueue time of two jobs between good ones, so that takes return
// malformed jobs after good ones: every good job must still run, all at
// once (no concurrency slot lost), and the malformed jobs must stay
// leased, neither delivered nor lost.
func TestMalformedJobsNeitherBlockOthersNorLeakConcurrency(t *testing.T) {
	t.Parallel()
	client := standaloneClient(t)
	const good = 4
	opts := testOptions(uniqueName(t), good)
	opts.Lease = 20 * time.Second // the malformed jobs stay leased throughout
	q, err := redisqueue.New(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t.Cleanup(func() {
		q.Close()
		client.Do(ctx, client.B().Del().Key(q.Keys()...).Build())
	})
	var payloadKey, enqueuedKey, leasedKey string
	for _, k := range q.Keys() {
		switch {
		case strings.HasSuffix(k, ":payload"):
			payloadKey = k
		case strings.HasSuffix(k, ":enqueued"):
			enqueuedKey = k
		case strings.HasSuffix(k, ":leased"):
			leasedKey = k
		}
	}
	for _, p := range []string{"good1", "bad1", "good2", "bad2", "good3", "good4"} {
		if err := q.Enqueue(ctx, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	payloads, err := client.Do(ctx, client.B().Hgetall().Key(payloadKey).Build()).AsStrMap()
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for id, p := range payloads {
		if strings.HasPrefix(p, "bad") {
			bad = append(bad, id)
			if err := client.Do(ctx, client.B().Hset().Key(enqueuedKey).FieldValue().FieldValue(id, "not-a-number").Build()).Error(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(bad) != 2 {
		t.Fatalf("corrupted %d jobs, want 2", len(bad))
	}

	var mu sync.Mutex
	running, delivered := 0, map[string]bool{}
	allRunning := make(chan struct{})
	release := make(chan struct{})
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- q.Consume(cctx, func(ctx context.Context, j *queue.Job) error {
			mu.Lock()
			delivered[string(j.Payload)] = true
			if running++; running == good {
				close(allRunning)
			}
			mu.Unlock()
			<-release
			return nil
		})
	}()
	select {
	case <-allRunning:
	case <-time.After(5 * time.Second):
		mu.Lock()
		t.Errorf("only %d handlers running at once (delivered %v), want all %d good jobs", running, delivered, good)
		mu.Unlock()
	}
	close(release)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Consume = %v, want context.Canceled", err)
	}
	for p := range delivered {
		if strings.HasPrefix(p, "bad") {
			t.Errorf("malformed job %q was delivered", p)
		}
	}
	for _, id := range bad {
		if err := client.Do(ctx, client.B().Zscore().Key(leasedKey).Member(id).Build()).Error(); err != nil {
			t.Errorf("malformed job %s is no longer leased: %v", id, err)
		}
		if err := client.Do(ctx, client.B().Hget().Key(payloadKey).Field(id).Build()).Error(); err != nil {
			t.Errorf("malformed job %s lost its payload: %v", id, err)
		}
	}
}

// TestCorruptAttemptsFieldDoesNotLoseTheJob: a non-integer attempts value
// must not make the take script fail after it popped the job.
func TestCorruptAttemptsFieldDoesNotLoseTheJob(t *testing.T) {
	t.Parallel()
	client := standaloneClient(t)
	q, err := redisqueue.New(client, testOptions(uniqueName(t), 1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t.Cleanup(func() {
		q.Close()
		client.Do(ctx, client.B().Del().Key(q.Keys()...).Build())
	})
	if err := q.Enqueue(ctx, []byte("job")); err != nil {
		t.Fatal(err)
	}
	var payloadKey, attemptsKey string
	for _, k := range q.Keys() {
		switch {
		case strings.HasSuffix(k, ":payload"):
			payloadKey = k
		case strings.HasSuffix(k, ":attempts"):
			attemptsKey = k
		}
	}
	ids, err := client.Do(ctx, client.B().Hkeys().Key(payloadKey).Build()).AsStrSlice()
	if err != nil || len(ids) != 1 {
		t.Fatalf("payload ids %v, %v", ids, err)
	}
	if err := client.Do(ctx, client.B().Hset().Key(attemptsKey).FieldValue().FieldValue(ids[0], "garbage").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	got := make(chan *queue.Job, 1)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	go q.Consume(cctx, func(ctx context.Context, j *queue.Job) error {
		select {
		case got <- j:
		default:
		}
		return nil
	})
	select {
	case j := <-got:
		if string(j.Payload) != "job" || j.Attempt != 1 {
			t.Fatalf("delivered %q attempt %d", j.Payload, j.Attempt)
		}
	case <-cctx.Done():
		t.Fatal("the job with a corrupted attempts field was never delivered")
	}
}
