package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Message is a client-to-server frame.
type Message struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// ErrMalformed is wrapped by the errors of Decode and the data decoders.
var ErrMalformed = errors.New("malformed message")

// Decode parses one client frame. It requires a JSON object with a
// non-empty string event.
func Decode(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if m.Event == "" {
		return Message{}, fmt.Errorf("%w: missing event", ErrMalformed)
	}
	return m, nil
}

// DataString returns the data as the string to forward to other clients:
// a JSON string's value as is, any other JSON value as its compact text,
// and "" when there is no data. Clients send both forms.
func (m *Message) DataString() (string, error) {
	d := bytes.TrimSpace(m.Data)
	if len(d) == 0 || bytes.Equal(d, []byte("null")) {
		return "", nil
	}
	if d[0] == '"' {
		var s string
		if err := json.Unmarshal(d, &s); err != nil {
			return "", fmt.Errorf("%w: data: %v", ErrMalformed, err)
		}
		return s, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, d); err != nil {
		return "", fmt.Errorf("%w: data: %v", ErrMalformed, err)
	}
	return buf.String(), nil
}

// DecodeData unmarshals the data into v, whether it was sent as an object
// or as a JSON string holding an object.
func (m *Message) DecodeData(v any) error {
	d := bytes.TrimSpace(m.Data)
	if len(d) == 0 {
		return fmt.Errorf("%w: missing data", ErrMalformed)
	}
	if d[0] == '"' {
		var s string
		if err := json.Unmarshal(d, &s); err != nil {
			return fmt.Errorf("%w: data: %v", ErrMalformed, err)
		}
		d = []byte(s)
	}
	if err := json.Unmarshal(d, v); err != nil {
		return fmt.Errorf("%w: data: %v", ErrMalformed, err)
	}
	return nil
}

// SubscribeData is the data of pusher:subscribe.
type SubscribeData struct {
	Channel string `json:"channel"`
	Auth    string `json:"auth"`
	// ChannelData is the presence member JSON exactly as the client sent it
	// (the signature covers these bytes).
	ChannelData StringOrJSON `json:"channel_data"`
}

// SigninData is the data of pusher:signin.
type SigninData struct {
	Auth     string       `json:"auth"`
	UserData StringOrJSON `json:"user_data"`
}

// StringOrJSON decodes a JSON string to its value and any other JSON value
// to its raw text, for fields that clients send either way.
type StringOrJSON string

// UnmarshalJSON implements json.Unmarshaler.
func (s *StringOrJSON) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = StringOrJSON(v)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*s = ""
		return nil
	}
	*s = StringOrJSON(b)
	return nil
}
