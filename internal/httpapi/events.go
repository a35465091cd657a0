package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/sockudo-go/sockudo/appmanager"
	"github.com/sockudo-go/sockudo/internal/apierr"
	"github.com/sockudo-go/sockudo/internal/hub"
	"github.com/sockudo-go/sockudo/internal/protocol"
)

// emptyObject is the answer of a publish without info. Never modified.
var emptyObject = []byte("{}")

// eventBody is one event of POST events or of a batch.
type eventBody struct {
	Name     string    `json:"name"`
	Data     eventData `json:"data"`
	Channel  string    `json:"channel"`
	Channels []string  `json:"channels"`
	SocketID string    `json:"socket_id"`
	Info     string    `json:"info"`
}

// eventData is the data of an event: a JSON string's value, or the
// compact text of any other JSON value, as the SDKs' ensureJSON would have
// sent it.
type eventData struct {
	s   string
	set bool
}

// UnmarshalJSON implements json.Unmarshaler. It is called with valid JSON.
func (d *eventData) UnmarshalJSON(b []byte) error {
	d.set = true
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &d.s)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	d.s = buf.String()
	return nil
}

type batchBody struct {
	Batch *[]eventBody `json:"batch"`
}

// decodeJSON unmarshals a request body, mapping failures to 400.
func decodeJSON(body []byte, v any) error {
	if len(body) == 0 {
		return badRequest("missing JSON body")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("malformed JSON body: %v", err)
	}
	return nil
}

// parsePublish parses and checks the shape of the body of POST events.
func parsePublish(body []byte) (hub.PublishRequest, error) {
	var in eventBody
	if err := decodeJSON(body, &in); err != nil {
		return hub.PublishRequest{}, err
	}
	return in.request(false)
}

// parseBatch parses and checks the body of POST batch_events for app.
func parseBatch(body []byte, app *appmanager.App) ([]hub.PublishRequest, error) {
	var in batchBody
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.Batch == nil {
		return nil, badRequest("missing batch")
	}
	items := *in.Batch
	if len(items) == 0 {
		return nil, badRequest("batch is empty")
	}
	// The size limit is checked before each item's shape, so an oversized
	// batch is answered limit_exceeded whatever it holds.
	if lim := protocol.Limit(app.MaxEventBatchSize, protocol.DefaultMaxBatchSize); len(items) > lim {
		return nil, apierr.LimitExceeded("batch has %d events; the limit is %d", len(items), lim)
	}
	reqs := make([]hub.PublishRequest, len(items))
	for i := range items {
		r, err := items[i].request(true)
		if err != nil {
			return nil, apierr.Prefix(fmt.Sprintf("batch[%d]", i), err)
		}
		reqs[i] = r
	}
	return reqs, nil
}

// request checks the shape of e and turns it into a PublishRequest; the
// hub checks it against the app's limits. A batch item names exactly one
// channel, with "channel".
func (e *eventBody) request(inBatch bool) (hub.PublishRequest, error) {
	req := hub.PublishRequest{Name: e.Name, SocketID: e.SocketID}
	if e.Name == "" {
		return req, badRequest("missing name")
	}
	if !e.Data.set {
		return req, badRequest("missing data")
	}
	req.Data = e.Data.s
	switch {
	case inBatch && e.Channels != nil:
		return req, badRequest("a batch event names its channel with \"channel\", not \"channels\"")
	case e.Channel != "" && e.Channels != nil:
		return req, badRequest("give either channel or channels, not both")
	case e.Channel != "":
		req.Channels = []string{e.Channel}
	case len(e.Channels) == 0:
		if e.Channels != nil {
			return req, badRequest("channels is empty")
		}
		return req, badRequest("missing channel")
	default:
		req.Channels = e.Channels
	}
	if e.Info != "" {
		info, err := parseInfo(e.Info, hub.InfoUserCount|hub.InfoSubscriptionCount)
		if err != nil {
			return req, err
		}
		req.Info = info
	}
	return req, nil
}

// parseInfo parses an info parameter and rejects attributes outside
// allowed.
func parseInfo(s string, allowed hub.Info) (hub.Info, error) {
	info, err := hub.ParseInfo(s)
	if err != nil {
		return 0, badRequest("info: %v", err)
	}
	if bad := info &^ allowed; bad != 0 {
		return 0, badRequest("info attribute %s is not available here", infoName(bad))
	}
	return info, nil
}

func infoName(in hub.Info) string {
	switch {
	case in&hub.InfoUserCount != 0:
		return "user_count"
	case in&hub.InfoSubscriptionCount != 0:
		return "subscription_count"
	default:
		return "cache"
	}
}

// publish serves POST /apps/{app}/events.
func (h *Handler) publish(ctx context.Context, rq *request) ([]byte, error) {
	req, err := parsePublish(rq.body)
	if err != nil {
		return nil, err
	}
	infos, err := h.hub.Publish(ctx, rq.app, req)
	if err != nil {
		return nil, err
	}
	if req.Info == 0 {
		return emptyObject, nil
	}
	buf := append(make([]byte, 0, 64), `{"channels":`...)
	buf = appendInfoMap(buf, infos)
	return append(buf, '}'), nil
}

// batch serves POST /apps/{app}/batch_events with hub.PublishBatch's
// rules.
func (h *Handler) batch(ctx context.Context, rq *request) ([]byte, error) {
	reqs, err := parseBatch(rq.body, rq.app)
	if err != nil {
		return nil, err
	}
	infos, err := hub.PublishBatch(ctx, h.hub, rq.app, reqs)
	if err != nil {
		return nil, err
	}
	if infos == nil {
		return emptyObject, nil
	}
	buf := append(make([]byte, 0, 16+24*len(infos)), `{"batch":[`...)
	for i, ci := range infos {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendCounts(buf, ci)
	}
	return append(buf, "]}"...), nil
}
