// Package lifecycle is the one stream of channel transitions that the
// server reports: the hub emits them, a Stream applies Pusher's webhook
// timing to them, and its consumers (the webhook dispatcher and the
// host's lifecycle hooks) receive the same delayed stream.
//
// # Emitting
//
// The hub calls Stream.Emit exactly once per transition, never once per
// socket:
//
//   - channel_occupied: the channel's subscriber count went from 0 to 1;
//     channel_vacated: from 1 to 0.
//   - member_added: a user's first socket joined a presence channel;
//     member_removed: the user's last socket left it. Event.UserID is set.
//   - client_event: once per accepted client event, with Event.Event,
//     Event.Data, Event.SocketID and, on presence channels, Event.UserID.
//   - cache_miss: a subscription to a cache channel found no cached event.
//   - subscription_count: the channel's subscriber count changed, with
//     Event.SubscriptionCount (the hub rate-limits it).
//
// Stream.Wants tells the hub whether any consumer may want an event, so
// that work done only to report it can be skipped.
//
// # Delay and cancellation
//
// channel_vacated and member_removed are held for the Stream's delay. A
// channel_occupied for the same app and channel (or a member_added for
// the same app, channel and user) emitted within that time cancels the
// held event and is itself suppressed: from a consumer's view nothing
// changed. Other events pass at once. Consumers receive events one at a
// time, in the order the Stream released them, so for one channel an
// occupied is never seen after the vacated that follows it.
//
// # Consumers
//
// A Consumer must not block in Emit: the dispatcher batches and queues,
// and Runner hands events to a goroutine of its own that calls the
// host's function.
package lifecycle
