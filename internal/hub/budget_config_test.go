package hub

import (
	"testing"

	ratelimitmemory "github.com/sockudo-go/sockudo/ratelimit/memory"
)

func TestSocketBudgetValidated(t *testing.T) {
	t.Parallel()
	lim, err := ratelimitmemory.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]SocketBudget{
		"OutboundBytes":   {OutboundBytes: -1},
		"InboundFrames":   {InboundFramesPerSecond: -1},
		"InboundBytes":    {InboundBytesPerSecond: -1},
		"ErrorsNoWindow":  {MaxProtocolErrors: 5},
		"NegativeErrors":  {MaxProtocolErrors: -1},
		"NegativeBurst":   {InboundFrameBurst: -1},
		"NegativeWindows": {ProtocolErrorWindow: -1},
	} {
		cfg := testConfig(lim)
		cfg.SocketBudget = b
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, b)
		}
	}
}
