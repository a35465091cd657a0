package queue_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/sockudo-go/sockudo/queue"
)

// A handler chooses what happens to a failed job; drivers turn its error
// into a decision with RetryDelay.
func ExampleRetryDelay() {
	base, max := time.Second, time.Minute
	for _, err := range []error{
		errors.New("receiver down"), // exponential back-off for the attempt
		queue.RetryAfter(errors.New("rate limited"), 30*time.Second),
		queue.Permanent(errors.New("bad request")),
	} {
		delay, drop := queue.RetryDelay(err, 3, base, max)
		fmt.Printf("%v: delay %v, drop %v\n", err, delay, drop)
	}
	// Output:
	// receiver down: delay 4s, drop false
	// retry after 30s: rate limited: delay 30s, drop false
	// permanent: bad request: delay 0s, drop true
}
