package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/hub"
)

// benchHub validates like the real hub and publishes nowhere.
type benchHub struct{ fakeHub }

func (h *benchHub) Publish(_ context.Context, app *appmanager.App, req hub.PublishRequest) (map[string]hub.ChannelInfo, error) {
	return nil, hub.ValidatePublish(app, &req)
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// rewindBody is a request body that can be read again.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

// BenchmarkPublish measures a signed POST /apps/3/events through the
// handler: routing, app lookup (memory manager), signature, body_md5,
// JSON parsing, validation and the answer.
func BenchmarkPublish(b *testing.B) {
	h, _ := newTestHandler(b, func(c *Config) { c.Hub = &benchHub{} })
	body := []byte(`{"name":"my-event","channel":"my-channel","data":"{\"message\":\"hello world\"}"}`)
	r := signed(docCreds, "POST", "/apps/3/events", nil, body)
	rb := &rewindBody{}
	r.Body = rb
	w := &discardWriter{h: http.Header{}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(body)
		h.ServeHTTP(w, r)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkVerifySignature measures the query parsing and signature check
// alone.
func BenchmarkVerifySignature(b *testing.B) {
	app := &appmanager.App{ID: testAppID, Key: testKey, Secret: testSecret, Enabled: true}
	r := signed(docCreds, "GET", "/apps/3/channels", nil, nil)
	now := time.Unix(testTime, 0)
	b.ReportAllocs()
	for b.Loop() {
		params, err := parseQuery(r.URL.RawQuery)
		if err == nil {
			err = verifySignature(app, "GET", r.URL.EscapedPath(), r.URL.Path, params, now, testSkew)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
