// Package webhook turns channel transitions into signed Pusher webhooks,
// delivered at least once through a queue.Queue.
//
// A server creates one Dispatcher with New and puts it behind a
// lifecycle.Stream, which calls Emit with the stream of transitions
// described in package lifecycle, after holding channel_vacated and
// member_removed for its delay and cancelling them when the channel or
// member comes back. The server runs Run in a goroutine to deliver, and
// at shutdown closes the Stream, then the Dispatcher (before cancelling
// Run's context), so that nothing held in memory is lost.
//
// # Filtering
//
// Wants, the one filter of webhook targets, is what the Stream (and so
// the hub) asks before doing work for an event: a target wants an event
// when it has a URL (Lambda targets are not delivered by this server),
// its event_types list the event or are empty, and the channel passes
// its filter. subscription_count fires on every count change, so, as on
// Pusher, a target gets it only when its event_types name it. Emit costs
// a few comparisons when no target wants the event; channel_pattern
// regular expressions are compiled once and cached. The caller must not
// modify the *appmanager.App it passes afterwards.
//
// # Batching and jobs
//
// Events go to a per-app batch flushed after Options.BatchDuration or
// at Options.BatchSize events when batching is enabled, and at once
// otherwise. A flush enqueues
// one job per target URL holding the app id and key, the target's URL and
// custom headers, and the request body {"time_ms":...,"events":[...]}. The
// secret is not in the job: Run looks the app up with Options.LookupApp
// and signs the body when it delivers.
//
// # Delivery
//
// Run POSTs each job's body with Content-Type application/json,
// X-Pusher-Key and X-Pusher-Signature (hex HMAC-SHA256 of the body with
// the app secret) plus the target's headers. A 2xx answer acknowledges the
// job; 408, 409, 425, 429, 5xx, timeouts and network errors retry with
// exponential back-off (honouring Retry-After) until Options.RetryFor has
// passed since the job was enqueued, after which the job is dropped with a
// log line; other answers drop it at once. Delivery is at least once: a
// receiver may see a webhook twice after a crash or a lost answer.
package webhook
