package sockudo_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/internal/debuglog"
	"github.com/sockudo-go/sockudo/internal/testenv"
)

// lockedBuffer is a log destination safe for the server's goroutines,
// with helpers to find lines.
type lockedBuffer struct{ testenv.LogBuffer }

// lines returns the log lines whose message is msg.
func (b *lockedBuffer) lines(msg string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, "msg=\""+msg+"\"") || strings.Contains(l, "msg="+msg+" ") {
			out = append(out, l)
		}
	}
	return out
}

// waitLines waits until at least n lines with msg are logged.
func (b *lockedBuffer) waitLines(t *testing.T, msg string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ls := b.lines(msg)
		if len(ls) >= n || time.Now().After(deadline) {
			if len(ls) < n {
				t.Fatalf("%d %q lines, want %d:\n%s", len(ls), msg, n, b.String())
			}
			return ls
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func debugServer(t *testing.T) (*testServer, *lockedBuffer) {
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	app := testApp()
	app.EnableUserAuthentication = false
	return newTestServer(t, sockudo.WithLogger(log), sockudo.WithApps(app)), logs
}

func TestDebugLinesOfASocket(t *testing.T) {
	s, logs := debugServer(t)
	c := s.dial(t, testKey)
	connected := logs.waitLines(t, "connected", 1)[0]
	if !strings.Contains(connected, "app_id="+testID) || !strings.Contains(connected, "socket_id="+c.SocketID) {
		t.Errorf("connect line %q", connected)
	}
	c.SubscribeOK(t, testKey, testSecret, "public-news", "")
	if l := logs.waitLines(t, "subscribed", 1)[0]; !strings.Contains(l, "channel=public-news") {
		t.Errorf("subscribe line %q", l)
	}
	c.Subscribe(t, "private-x", testKey+":bad", "")
	c.Expect(t, "pusher:subscription_error")
	if l := logs.waitLines(t, "channel auth refused", 1)[0]; !strings.Contains(l, "channel=private-x") || !strings.Contains(l, "reason=") {
		t.Errorf("auth line %q", l)
	}
	c.SendJSON(t, map[string]any{"event": "pusher:signin", "data": map[string]string{"auth": testKey + ":bad", "user_data": `{"id":"u1"}`}})
	c.ExpectError(t)
	if l := logs.waitLines(t, "user signin refused", 1)[0]; !strings.Contains(l, "reason=") {
		t.Errorf("signin line %q", l)
	}
	c.Close()
	l := logs.waitLines(t, "disconnected", 1)[0]
	for _, want := range []string{"socket_id=" + c.SocketID, "code=1000", "closed_by=client", "duration="} {
		if !strings.Contains(l, want) {
			t.Errorf("disconnect line %q lacks %q", l, want)
		}
	}
	if strings.Contains(logs.String(), testSecret) {
		t.Errorf("the secret is in the log:\n%s", logs.String())
	}
}

func TestDebugLineOfAPIRefusal(t *testing.T) {
	s, logs := debugServer(t)
	resp, err := http.Post(s.http.URL+"/apps/"+testID+"/events?auth_key="+testKey+"&auth_timestamp=1&auth_version=1.0&auth_signature=deadbeef",
		"application/json", strings.NewReader(`{"name":"e","channel":"c","data":"body-text"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	l := logs.waitLines(t, "http api request refused", 1)[0]
	for _, want := range []string{"method=POST", "path=/apps/" + testID + "/events", "status=401", "app_id=" + testID} {
		if !strings.Contains(l, want) {
			t.Errorf("line %q lacks %q", l, want)
		}
	}
	for _, never := range []string{"deadbeef", "auth_key", "body-text", testSecret} {
		if strings.Contains(logs.String(), never) {
			t.Errorf("log holds %q:\n%s", never, logs.String())
		}
	}
}

func TestDebugFloodIsCapped(t *testing.T) {
	s, logs := debugServer(t)
	const n = 3 * debuglog.DefaultBurst
	for range n {
		resp, err := http.Get(s.http.URL + "/apps/" + testID + "/channels")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// The burst, plus what refills while the requests run (5 a second).
	got := len(logs.lines("http api request refused"))
	if got < debuglog.DefaultBurst || got > debuglog.DefaultBurst+20 {
		t.Fatalf("%d lines from %d refusals, want about the burst of %d", got, n, debuglog.DefaultBurst)
	}
}
