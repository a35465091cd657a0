package config

import (
	"testing"

	"github.com/sockudo-go/sockudo/appmanager"
)

// Unset limits follow Sockudo (unchecked) except where the server keeps a
// safe default; set limits are kept.
func TestEffectiveApp(t *testing.T) {
	c := Default()
	raw := appmanager.App{ID: "a", Key: "k", Secret: "s", Enabled: true}
	e := c.EffectiveApp(&raw)
	if e.MaxEventBatchSize != appmanager.MaxLimit || e.MaxEventChannelsAtOnce != appmanager.MaxLimit || e.MaxPresenceMembersPerChannel != appmanager.MaxLimit {
		t.Errorf("unset batch/channels/members = %d/%d/%d; want unchecked (MaxLimit)", e.MaxEventBatchSize, e.MaxEventChannelsAtOnce, e.MaxPresenceMembersPerChannel)
	}
	if e.MaxEventPayloadInKB != 10<<10 {
		t.Errorf("unset payload = %d KB; want the 10 MB body cap", e.MaxEventPayloadInKB)
	}
	if e.MaxPresenceMemberSizeInKB != 0 || e.MaxClientEventsPerSecond != 0 || e.MaxChannelNameLength != 0 || e.MaxEventNameLength != 0 {
		t.Errorf("limits with safe server defaults were changed: %+v", e)
	}
	if raw.MaxEventBatchSize != 0 {
		t.Error("EffectiveApp modified its argument")
	}
	set := raw
	set.MaxEventBatchSize, set.MaxEventPayloadInKB, set.MaxPresenceMembersPerChannel, set.MaxEventChannelsAtOnce = 3, 20, 7, 2
	if e := c.EffectiveApp(&set); e.MaxEventBatchSize != 3 || e.MaxEventPayloadInKB != 20 || e.MaxPresenceMembersPerChannel != 7 || e.MaxEventChannelsAtOnce != 2 {
		t.Errorf("set limits changed: %+v", e)
	}
	c.WebsocketMaxPayloadKB = 20 << 10
	if e := c.EffectiveApp(&raw); e.MaxEventPayloadInKB != 20<<10 {
		t.Errorf("payload with a larger WebSocket cap = %d KB", e.MaxEventPayloadInKB)
	}
}

func TestServerWideCaps(t *testing.T) {
	p := writeConfig(t, `{"http_api":{"request_limit_in_mb":2},"websocket_max_payload_kb":32,"path_prefix":"/"}`)
	c, unknown, err := Load(p, mapEnv(nil))
	if err != nil || len(unknown) != 0 {
		t.Fatalf("Load: %v, unknown %v", err, unknown)
	}
	if c.MaxBodyBytes() != 2<<20 || c.MaxMessageBytes() != 32<<10 || c.PathPrefix != "" {
		t.Errorf("body %d, message %d, prefix %q", c.MaxBodyBytes(), c.MaxMessageBytes(), c.PathPrefix)
	}
	c, _, err = Load(p, mapEnv(map[string]string{"WEBSOCKET_MAX_PAYLOAD_KB": "100"}))
	if err != nil || c.MaxMessageBytes() != 100<<10 {
		t.Errorf("WEBSOCKET_MAX_PAYLOAD_KB=100: %d, %v", c.MaxMessageBytes(), err)
	}
	for _, body := range []string{`{"http_api":{"request_limit_in_mb":0}}`, `{"websocket_max_payload_kb":0}`} {
		if _, _, err := Load(writeConfig(t, body), mapEnv(nil)); err == nil {
			t.Errorf("%s was accepted", body)
		}
	}
}
