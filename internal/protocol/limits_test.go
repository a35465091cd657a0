package protocol

import "testing"

func TestValidSocketID(t *testing.T) {
	for id, want := range map[string]bool{
		"1.2": true, "123456.7890": true, "0.0": true,
		"": false, ".": false, "1.": false, ".1": false, "1": false, "1.2.3": false,
		"a.1": false, "1.b": false, " 1.2": false, "1.2\n": false, "-1.2": false, "１.2": false,
	} {
		if got := ValidSocketID(id); got != want {
			t.Errorf("ValidSocketID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestLimits(t *testing.T) {
	if Limit(0, 10) != 10 || Limit(-1, 10) != 10 || Limit(3, 10) != 3 {
		t.Error("Limit must use the app's value when positive and the default otherwise")
	}
	if PayloadLimit(0) != DefaultMaxPayloadBytes || PayloadLimit(50) != 50<<10 {
		t.Error("PayloadLimit must convert kilobytes and default to Pusher's 10 KB")
	}
}
