package webhook

import (
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/lifecycle"
)

// Wants reports whether a webhook of app wants event name on channel (see
// Filtering in the package doc); it makes *Dispatcher a
// lifecycle.Consumer.
func (d *Dispatcher) Wants(app *appmanager.App, name, channel string) bool {
	for i := range app.Webhooks {
		if d.wants(&app.Webhooks[i], name, channel) {
			return true
		}
	}
	return false
}

// wants reports whether w delivers event name on channel: it has a URL,
// its event_types (if any) list name, and channel passes its filter.
// subscription_count fires on every count change, so, as on Pusher, a
// target gets it only when its event_types name it.
func (d *Dispatcher) wants(w *appmanager.Webhook, name, channel string) bool {
	if w.URL == "" { // Lambda targets are not delivered by this server
		return false
	}
	if len(w.EventTypes) > 0 || name == lifecycle.SubscriptionCount {
		if !slices.Contains(w.EventTypes, name) {
			return false
		}
	}
	f := w.Filter
	if f == nil {
		return true
	}
	if f.ChannelPrefix != "" && !strings.HasPrefix(channel, f.ChannelPrefix) {
		return false
	}
	if f.ChannelSuffix != "" && !strings.HasSuffix(channel, f.ChannelSuffix) {
		return false
	}
	if f.ChannelPattern != "" {
		re := d.re.get(f.ChannelPattern, d.log)
		if re == nil || !re.MatchString(channel) {
			return false
		}
	}
	return true
}

// patterns caches compiled channel_pattern expressions. An invalid
// pattern is logged once and matches no channel.
type patterns struct {
	m sync.Map // pattern string to *regexp.Regexp (nil when invalid)
}

func (p *patterns) get(pattern string, log *slog.Logger) *regexp.Regexp {
	if v, ok := p.m.Load(pattern); ok {
		return v.(*regexp.Regexp)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		log.LogAttrs(context.Background(), slog.LevelError,
			"webhook channel_pattern is not a valid regular expression; the webhook matches no channel",
			slog.String("pattern", pattern), slog.Any("error", err))
		re = nil
	}
	v, _ := p.m.LoadOrStore(pattern, re)
	return v.(*regexp.Regexp)
}
