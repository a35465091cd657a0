package sockudo

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/sockudo-go/sockudo/internal/auth"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

// These helpers let a host write its channel authorization and user
// authentication endpoints (pusher-js's channelAuthorization and
// userAuthentication) in Go, with no other SDK. Each returns the JSON body
// the endpoint sends back to the client.

// AuthorizeChannel signs a private or private-encrypted channel
// subscription for socketID: {"auth":"key:signature"}.
func AuthorizeChannel(key, secret, socketID, channel string) ([]byte, error) {
	if err := checkSocketID(socketID); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{"auth": auth.Token(key, secret, auth.ChannelString(socketID, channel, ""))})
}

// PresenceMember is the member data a presence subscription carries.
type PresenceMember struct {
	UserID   string `json:"user_id"`
	UserInfo any    `json:"user_info,omitempty"`
}

// AuthorizePresenceChannel signs a presence channel subscription:
// {"auth":"key:signature","channel_data":"{\"user_id\":...}"}.
func AuthorizePresenceChannel(key, secret, socketID, channel string, m PresenceMember) ([]byte, error) {
	if err := checkSocketID(socketID); err != nil {
		return nil, err
	}
	if m.UserID == "" {
		return nil, fmt.Errorf("sockudo: presence member has an empty user id")
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("sockudo: presence member: %w", err)
	}
	return json.Marshal(map[string]string{
		"auth":         auth.Token(key, secret, auth.ChannelString(socketID, channel, string(data))),
		"channel_data": string(data),
	})
}

// AuthorizeEncryptedChannel signs a private-encrypted- subscription and
// adds the channel's shared secret derived from the 32-byte master key
// (given base64-encoded, as the server SDKs take it), which pusher-js uses
// to decrypt: {"auth":...,"shared_secret":...}.
func AuthorizeEncryptedChannel(key, secret, socketID, channel, masterKeyBase64 string) ([]byte, error) {
	if err := checkSocketID(socketID); err != nil {
		return nil, err
	}
	master, err := base64.StdEncoding.DecodeString(masterKeyBase64)
	if err != nil || len(master) != 32 {
		return nil, fmt.Errorf("sockudo: the encryption master key must be 32 bytes in base64")
	}
	return json.Marshal(map[string]string{
		"auth":          auth.Token(key, secret, auth.ChannelString(socketID, channel, "")),
		"shared_secret": auth.SharedSecret(channel, master),
	})
}

// User is the user data of a signed-in connection. ID is required;
// Watchlist lists user ids whose online status the user follows.
type User struct {
	ID        string   `json:"id"`
	UserInfo  any      `json:"user_info,omitempty"`
	Watchlist []string `json:"watchlist,omitempty"`
}

// AuthenticateUser signs a user sign-in for socketID:
// {"auth":"key:signature","user_data":"{\"id\":...}"}.
func AuthenticateUser(key, secret, socketID string, u User) ([]byte, error) {
	if err := checkSocketID(socketID); err != nil {
		return nil, err
	}
	if u.ID == "" {
		return nil, fmt.Errorf("sockudo: user has an empty id")
	}
	data, err := json.Marshal(u)
	if err != nil {
		return nil, fmt.Errorf("sockudo: user: %w", err)
	}
	return json.Marshal(map[string]string{
		"auth":      auth.Token(key, secret, auth.UserString(socketID, string(data))),
		"user_data": string(data),
	})
}

func checkSocketID(id string) error {
	if !protocol.ValidSocketID(id) {
		return fmt.Errorf("sockudo: invalid socket id %q", id)
	}
	return nil
}
