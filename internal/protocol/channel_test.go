package protocol

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateChannelName(t *testing.T) {
	tests := []struct {
		name   string
		maxLen int
		ok     bool
	}{
		{"my-channel", 0, true},
		{"A-Za-z0-9_-=@,.;", 0, true},
		{strings.Repeat("a", 200), 0, true},
		{strings.Repeat("a", 201), 0, false},
		{strings.Repeat("a", 50), 40, false},
		{"", 0, false},
		{"with space", 0, false},
		{"star*", 0, false},
		{"colon:x", 0, false},
		{"hash#x", 0, false},
		{"ünïcode", 0, false},
		{"#server-to-user-42", 0, true},
		{"#server-to-user-user@example.com", 0, true},
		{"#server-to-user-" + strings.Repeat("u", 199), 0, true},
		{"#server-to-user-" + strings.Repeat("u", 201), 0, false},
		{"#server-to-user-", 0, false},
		{"#server-to-user-a\nb", 0, false},
	}
	for _, tt := range tests {
		err := ValidateChannelName(tt.name, tt.maxLen)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateChannelName(%q, %d) = %v, want ok=%v", tt.name, tt.maxLen, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidChannel) {
			t.Errorf("%q: error %v does not wrap ErrInvalidChannel", tt.name, err)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		kind  ChannelKind
		cache bool
	}{
		{"news", Public, false},
		{"cache-news", Public, true},
		{"private-a", Private, false},
		{"private-cache-a", Private, true},
		{"private-encrypted-a", Encrypted, false},
		{"private-encrypted-cache-a", Encrypted, true},
		{"presence-a", Presence, false},
		{"presence-cache-a", Presence, true},
		{"#server-to-user-1", ServerToUser, false},
	}
	for _, tt := range tests {
		if got := Classify(tt.name); got.Kind != tt.kind || got.Cache != tt.cache {
			t.Errorf("Classify(%q) = %+v, want kind %d cache %v", tt.name, got, tt.kind, tt.cache)
		}
	}
}
