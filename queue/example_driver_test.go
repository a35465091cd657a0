package queue_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sockudo-go/sockudo/queue"
)

// sliceStore is the backend: jobs in a slice behind a mutex. Several
// sliceDrivers may share one, as processes share a database.
type sliceStore struct {
	mu   sync.Mutex
	seq  int
	jobs []*storedJob
}

type storedJob struct {
	job    queue.Job
	due    time.Time // ready from then on (a retry's delay)
	leased time.Time // claimed until then
}

// sliceDriver is a queue.Driver and queue.Leaser over a sliceStore. The
// consumer loop (concurrency, renewals, back-off, shutdown) is queue's.
type sliceDriver struct {
	store *sliceStore
	lease time.Duration // how long a claim lasts without renewal
	poll  time.Duration // how often an idle Receive looks again
}

func (d *sliceDriver) Send(_ context.Context, payload []byte) error {
	s := d.store
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.jobs = append(s.jobs, &storedJob{job: queue.Job{
		ID:         strconv.Itoa(s.seq),
		Payload:    slices.Clone(payload),
		EnqueuedAt: time.Now(),
	}})
	return nil
}

func (d *sliceDriver) Receive(ctx context.Context, max int) ([]*queue.Delivery, error) {
	for {
		if ds := d.claim(max); len(ds) > 0 {
			return ds, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d.poll):
		}
	}
}

// claim leases up to max jobs that are due and not claimed, or whose
// claim expired (their consumer died).
func (d *sliceDriver) claim(max int) []*queue.Delivery {
	s := d.store
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var ds []*queue.Delivery
	for _, j := range s.jobs {
		if len(ds) == max {
			break
		}
		if now.Before(j.due) || now.Before(j.leased) {
			continue
		}
		j.job.Attempt++
		j.leased = now.Add(d.lease)
		ds = append(ds, &queue.Delivery{Job: j.job})
	}
	return ds
}

// held returns the index of dl's job if dl is still its latest claim: a
// consumer whose claim expired and was taken over settles nothing.
func (s *sliceStore) held(dl *queue.Delivery) int {
	return slices.IndexFunc(s.jobs, func(j *storedJob) bool {
		return j.job.ID == dl.Job.ID && j.job.Attempt == dl.Job.Attempt
	})
}

func (d *sliceDriver) Ack(_ context.Context, dl *queue.Delivery) error {
	s := d.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.held(dl); i >= 0 {
		s.jobs = slices.Delete(s.jobs, i, i+1)
	}
	return nil
}

func (d *sliceDriver) Retry(_ context.Context, dl *queue.Delivery, delay time.Duration) error {
	s := d.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.held(dl); i >= 0 {
		s.jobs[i].leased, s.jobs[i].due = time.Time{}, time.Now().Add(delay)
	}
	return nil
}

func (d *sliceDriver) Lease() time.Duration { return d.lease }

func (d *sliceDriver) Extend(_ context.Context, ds []*queue.Delivery) error {
	s := d.store
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, dl := range ds {
		if i := s.held(dl); i >= 0 {
			s.jobs[i].leased = time.Now().Add(d.lease)
		}
	}
	return nil
}

func (d *sliceDriver) Pending(context.Context) (int, error) {
	d.store.mu.Lock()
	defer d.store.mu.Unlock()
	return len(d.store.jobs), nil
}

// Close has nothing to release: the store outlives its drivers.
func (d *sliceDriver) Close() error { return nil }

// A host writes a driver for its own backend (here a slice behind a
// mutex) and queue.New turns it into a queue.Queue with the consumer loop.
func ExampleDriver() {
	d := &sliceDriver{store: &sliceStore{}, lease: 30 * time.Second, poll: 10 * time.Millisecond}
	q, err := queue.New(d, &queue.Options{Concurrency: 2})
	if err != nil {
		panic(err)
	}
	defer q.Close()

	ctx, cancel := context.WithCancel(context.Background())
	if err := q.Enqueue(ctx, []byte("hello")); err != nil {
		panic(err)
	}
	_ = q.Consume(ctx, func(ctx context.Context, j *queue.Job) error {
		fmt.Printf("job %s, attempt %d: %s\n", j.ID, j.Attempt, j.Payload)
		if j.Attempt == 1 {
			// The loop calls the driver's Retry; Receive claims it again.
			return queue.RetryAfter(errors.New("receiver busy"), 0)
		}
		cancel() // stop after the retry
		return nil
	})
	// Output:
	// job 1, attempt 1: hello
	// job 1, attempt 2: hello
}
