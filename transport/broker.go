package transport

import "context"

// Broker carries frames between nodes. Delivery is at most once: a
// message reaches each node subscribed to its topic when it was published
// at most once, never the publisher itself (it delivers to its own local
// sockets without a round trip), and messages of one topic from one
// publisher arrive in the order published. Messages can be lost while a
// node is cut off or its queue is full; the node's Handler then gets Gap.
type Broker interface {
	// Publish sends msg to every other node subscribed to t. It returns
	// once the backend accepted msg, or an error (the node is Degraded or
	// fenced: the caller answers 503 rather than deliver locally only).
	// The driver does not keep msg after Publish returns.
	Publish(ctx context.Context, t Topic, msg []byte) error

	// Subscribe adds interest in ts and returns once the backend has
	// confirmed it, so a message published after Subscribe returns
	// reaches this node. Subscribing twice is the same as once.
	Subscribe(ctx context.Context, ts ...Topic) error

	// Unsubscribe removes interest in ts; unknown topics are ignored.
	Unsubscribe(ctx context.Context, ts ...Topic) error
}

// TopicKind says what a topic is named after.
type TopicKind uint8

// The topic kinds.
const (
	// ChannelTopic carries a channel's events and state frames; nodes
	// with local subscribers of the channel subscribe to it.
	ChannelTopic TopicKind = iota + 1
	// UserTopic carries server-to-user frames, terminations and watchlist
	// events of one user; nodes with a local socket signed in as the
	// user, or watching it, subscribe to it.
	UserTopic
)

// Topic names a stream of messages. It is comparable, so it can key maps.
type Topic struct {
	Kind TopicKind
	App  string
	// Name is the channel name or the user id.
	Name string
}

// Channel returns the topic of channel name of app.
func Channel(app, name string) Topic { return Topic{Kind: ChannelTopic, App: app, Name: name} }

// User returns the topic of user id of app.
func User(app, id string) Topic { return Topic{Kind: UserTopic, App: app, Name: id} }
