package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/queue"
)

// Run consumes the queue and delivers webhooks until ctx is cancelled or
// the queue is closed, returning what queue.Consume returns.
func (d *Dispatcher) Run(ctx context.Context) error {
	if d.opts.LookupApp == nil {
		return errors.New("webhook: Options.LookupApp is nil")
	}
	return d.q.Consume(ctx, d.deliver)
}

// deliver is the queue handler: it POSTs one job.
func (d *Dispatcher) deliver(ctx context.Context, j *queue.Job) error {
	var p job
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.URL == "" || p.AppID == "" {
		if err == nil {
			err = errors.New("missing url or app_id")
		}
		d.log.LogAttrs(ctx, slog.LevelError, "webhook job is malformed; dropping it",
			slog.String("job_id", j.ID), slog.Any("error", err))
		return queue.Permanent(fmt.Errorf("webhook: malformed job: %w", err))
	}
	attrs := []slog.Attr{slog.String("app_id", p.AppID), slog.String("url", redact(p.URL)), slog.Int("attempt", j.Attempt)}

	app, err := d.opts.LookupApp(ctx, p.AppID)
	if errors.Is(err, appmanager.ErrNotFound) {
		d.log.LogAttrs(ctx, slog.LevelWarn, "webhook for an app that no longer exists; dropping it", attrs...)
		return queue.Permanent(err)
	}
	if err != nil {
		return d.retry(ctx, j, fmt.Errorf("webhook: look up app: %w", err), 0, attrs)
	}

	body := []byte(p.Body)
	rctx, cancel := context.WithTimeout(ctx, d.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		err = redactError(err)
		d.log.LogAttrs(ctx, slog.LevelError, "webhook URL is invalid; dropping it", append(attrs, slog.Any("error", err))...)
		return queue.Permanent(err)
	}
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	// Set after the custom headers, which must not replace them.
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Pusher-Key", app.Key)
	req.Header.Set("X-Pusher-Signature", Sign(app.Secret, body))

	resp, err := d.opts.HTTPClient.Do(req)
	if err != nil {
		err = redactError(err)
		if ctx.Err() != nil {
			// Shutting down: hand the job back without waiting.
			return queue.RetryAfter(err, 0)
		}
		return d.retry(ctx, j, fmt.Errorf("webhook: post: %w", err), 0, attrs)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()

	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case retryable(code):
		return d.retry(ctx, j, fmt.Errorf("webhook: receiver answered %s", resp.Status), retryAfter(resp.Header), attrs)
	default:
		d.log.LogAttrs(ctx, slog.LevelWarn, "webhook rejected by its receiver; not retrying",
			append(attrs, slog.Int("status", code))...)
		return queue.Permanent(fmt.Errorf("webhook: receiver answered %s", resp.Status))
	}
}

// retry schedules the next attempt after the back-off, or at least hint,
// unless that would pass RetryFor since the job was enqueued, in which
// case the job is dropped with a log line.
func (d *Dispatcher) retry(ctx context.Context, j *queue.Job, err error, hint time.Duration, attrs []slog.Attr) error {
	delay := max(queue.Backoff(j.Attempt, d.opts.RetryBase, d.opts.RetryMax), min(hint, d.opts.RetryMax))
	if elapsed := d.opts.Clock.Now().Sub(j.EnqueuedAt); elapsed+delay > d.opts.RetryFor {
		d.log.LogAttrs(ctx, slog.LevelError, "webhook dropped: retried for too long",
			append(attrs, slog.Duration("retried_for", elapsed), slog.Any("error", err))...)
		return queue.Permanent(err)
	}
	d.log.LogAttrs(ctx, slog.LevelWarn, "webhook delivery failed; retrying",
		append(attrs, slog.Duration("retry_in", delay), slog.Any("error", err))...)
	return queue.RetryAfter(err, delay)
}

// retryable reports whether a status is worth retrying.
func retryable(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= 500
}

// retryAfter reads a Retry-After header given in seconds.
func retryAfter(h http.Header) time.Duration {
	s, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || s <= 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// Sign returns the X-Pusher-Signature of body: the hex HMAC-SHA256 of
// body keyed with the app secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// redactError rewrites the URL of a *url.Error, which net/http returns
// with the whole request URL (userinfo and query tokens included), so that
// neither the logs nor the queue's record of the error carry a secret. A
// parse error also loses its detail, which can quote part of the URL.
func redactError(err error) error {
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	if ue.Op == "parse" {
		return errors.New("webhook: invalid URL")
	}
	return &url.Error{Op: ue.Op, URL: redact(ue.URL), Err: ue.Err}
}

// redact keeps credentials and query strings out of logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}
