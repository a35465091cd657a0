package driverkit

import (
	"context"
	"fmt"
	"time"

	"github.com/sockudo-go/sockudo/transport"
)

// Invalid returns an error wrapping transport.ErrInvalid.
func Invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", transport.ErrInvalid, fmt.Sprintf(format, args...))
}

// CheckChannelOp validates op; restore allows a zero version.
func CheckChannelOp(op transport.ChannelOp, restore bool) error {
	switch {
	case op.App == "" || op.Channel == "":
		return Invalid("empty app or channel")
	case op.Subscribers < 0:
		return Invalid("negative subscribers %d", op.Subscribers)
	case op.Version == 0 && !restore:
		return Invalid("zero version")
	case op.MemberLimit < 0:
		return Invalid("negative member limit")
	}
	if m := op.Member; m != nil {
		switch {
		case m.UserID == "":
			return Invalid("empty user id")
		case m.Sockets < 0:
			return Invalid("negative sockets %d", m.Sockets)
		case m.Sockets > op.Subscribers:
			return Invalid("%d member sockets but %d subscribers", m.Sockets, op.Subscribers)
		}
	}
	return nil
}

// CheckUserOp validates op; restore allows a zero version.
func CheckUserOp(op transport.UserOp, restore bool) error {
	switch {
	case op.App == "" || op.UserID == "":
		return Invalid("empty app or user id")
	case op.Sockets < 0:
		return Invalid("negative sockets %d", op.Sockets)
	case op.Version == 0 && !restore:
		return Invalid("zero version")
	}
	return nil
}

// CheckConnOp validates op; restore allows a zero version.
func CheckConnOp(op transport.ConnOp, restore bool) error {
	switch {
	case op.App == "":
		return Invalid("empty app")
	case op.Connections < 0:
		return Invalid("negative connections %d", op.Connections)
	case op.Limit < 0:
		return Invalid("negative limit")
	case op.Version == 0 && !restore:
		return Invalid("zero version")
	}
	return nil
}

// CheckTopic validates a topic.
func CheckTopic(t transport.Topic) error {
	if (t.Kind != transport.ChannelTopic && t.Kind != transport.UserTopic) || t.App == "" || t.Name == "" {
		return Invalid("topic %+v", t)
	}
	return nil
}

// Sleep waits d, or until ctx ends and then returns its error; d ≤ 0
// returns at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
