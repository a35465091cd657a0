package protocol

import (
	"errors"
	"fmt"
	"strings"
)

// Channel name prefixes.
const (
	PrefixPrivate        = "private-"
	PrefixPresence       = "presence-"
	PrefixEncrypted      = "private-encrypted-"
	PrefixCache          = "cache-"
	PrefixPrivateCache   = "private-cache-"
	PrefixEncryptedCache = "private-encrypted-cache-"
	PrefixPresenceCache  = "presence-cache-"
	PrefixServerToUser   = "#server-to-user-"
)

// ChannelKind is the access type of a channel, decided by its prefix.
type ChannelKind uint8

// Channel kinds.
const (
	Public ChannelKind = iota
	Private
	Encrypted
	Presence
	ServerToUser
)

// Channel describes a channel name.
type Channel struct {
	Kind ChannelKind
	// Cache reports a cache channel (cache-, private-cache-,
	// private-encrypted-cache-, presence-cache-).
	Cache bool
}

// Classify returns the kind of the channel called name. It does not
// validate the name.
func Classify(name string) Channel {
	switch {
	case strings.HasPrefix(name, PrefixEncrypted):
		return Channel{Kind: Encrypted, Cache: strings.HasPrefix(name, PrefixEncryptedCache)}
	case strings.HasPrefix(name, PrefixPrivate):
		return Channel{Kind: Private, Cache: strings.HasPrefix(name, PrefixPrivateCache)}
	case strings.HasPrefix(name, PrefixPresence):
		return Channel{Kind: Presence, Cache: strings.HasPrefix(name, PrefixPresenceCache)}
	case strings.HasPrefix(name, PrefixServerToUser):
		return Channel{Kind: ServerToUser}
	default:
		return Channel{Kind: Public, Cache: strings.HasPrefix(name, PrefixCache)}
	}
}

// NeedsAuth reports whether subscribing needs a signature.
func (c Channel) NeedsAuth() bool {
	return c.Kind == Private || c.Kind == Encrypted || c.Kind == Presence
}

// ErrInvalidChannel is wrapped by the errors of ValidateChannelName.
var ErrInvalidChannel = errors.New("invalid channel name")

// ValidateChannelName checks a channel name: 1 to maxLen characters (the
// default when maxLen <= 0) of A-Z a-z 0-9 _ - = @ , . ; and no other
// reserved prefix. A #server-to-user- channel is accepted with any user id
// that has no control characters, since user ids are the app's choice.
func ValidateChannelName(name string, maxLen int) error {
	if maxLen <= 0 {
		maxLen = DefaultMaxChannelName
	}
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidChannel)
	}
	if rest, ok := strings.CutPrefix(name, PrefixServerToUser); ok {
		// The SDKs accept user ids of up to 200 characters, so the limit
		// applies to the id, not to the whole name.
		if rest == "" || len(rest) > DefaultMaxChannelName {
			return fmt.Errorf("%w: user id must have 1 to %d characters", ErrInvalidChannel, DefaultMaxChannelName)
		}
		for i := 0; i < len(rest); i++ {
			if rest[i] < 0x20 || rest[i] == 0x7f {
				return fmt.Errorf("%w: control character in user id", ErrInvalidChannel)
			}
		}
		return nil
	}
	if len(name) > maxLen {
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidChannel, maxLen)
	}
	for i := 0; i < len(name); i++ {
		if !channelByte(name[i]) {
			return fmt.Errorf("%w: character %q is not allowed", ErrInvalidChannel, name[i])
		}
	}
	return nil
}

func channelByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '_', '-', '=', '@', ',', '.', ';':
		return true
	}
	return false
}

// ValidateEventName checks an event name's length (1 to maxLen bytes,
// default 200).
func ValidateEventName(name string, maxLen int) error {
	if maxLen <= 0 {
		maxLen = DefaultMaxEventName
	}
	if name == "" {
		return errors.New("event name is empty")
	}
	if len(name) > maxLen {
		return fmt.Errorf("event name is longer than %d characters", maxLen)
	}
	return nil
}
