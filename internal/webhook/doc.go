// Package webhook turns channel transitions into signed Pusher webhooks,
// delivered at least once through a queue.Queue.
//
// A server creates one Dispatcher with New, calls Emit on every
// transition, runs Run in a goroutine to deliver, and calls Close at
// shutdown (before cancelling Run's context) so that nothing held in
// memory is lost.
//
// # Calling Emit
//
// Emit describes one transition of the cluster-wide state, so the caller
// must call it exactly once per transition, from the node that decided
// it, and never once per socket or per node:
//
//   - channel_occupied: the channel's subscriber count went from 0 to 1
//     (across every node of the cluster); channel_vacated: from 1 to 0.
//   - member_added: a user's first connection joined a presence channel;
//     member_removed: the user's last connection left it. Several sockets
//     of one user give one event. Set Event.UserID.
//   - client_event: once per accepted client event, with Event.Event (its
//     name), Event.Data (its data string), Event.SocketID and, on presence
//     channels, Event.UserID.
//   - cache_miss: a subscription to a cache channel found no cached event.
//   - subscription_count: the channel's subscriber count changed, with
//     Event.SubscriptionCount (the caller rate-limits it).
//
// Emit never blocks and costs a few comparisons when no webhook of the app
// wants the event (event_types and channel filters are checked first;
// channel_pattern regular expressions are compiled once and cached). The
// caller must not modify the *appmanager.App it passes afterwards.
//
// channel_vacated and member_removed are held for Options.Delay (3 s). A
// channel_occupied for the same channel (or a member_added for the same
// channel and user) emitted on the same Dispatcher within that time
// cancels the held event and is itself suppressed: from the receiver's
// view nothing changed. A cluster should therefore emit both halves of a
// pair on one node (for example the node that owns the channel); pairs
// split across nodes are both delivered.
//
// # Batching and jobs
//
// Other events, and held ones when their delay ends, go to a per-app
// batch flushed after Options.BatchDuration or at Options.BatchSize
// events when batching is enabled, and at once otherwise. A flush enqueues
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
