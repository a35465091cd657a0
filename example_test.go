package sockudo_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
)

// A host mounts the server under its own prefix and publishes from Go.
func ExampleNew() {
	srv, err := sockudo.New(
		sockudo.WithApps(appmanager.App{ID: "app-id", Key: "app-key", Secret: "app-secret", Enabled: true}),
		sockudo.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/pusher/", http.StripPrefix("/pusher", srv))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	// A client connects and subscribes, as pusher-js would.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/pusher/app/app-key?protocol=7", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.CloseNow()
	_, _, _ = ws.Read(ctx) // pusher:connection_established
	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"event":"pusher:subscribe","data":{"channel":"news"}}`))
	_, ack, _ := ws.Read(ctx)
	fmt.Println(string(ack))

	err = srv.Trigger(ctx, "app-id", sockudo.Event{Name: "headline", Channels: []string{"news"}, Data: `{"title":"Hello"}`})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, msg, _ := ws.Read(ctx)
	fmt.Println(string(msg))
	// Output:
	// {"event":"pusher_internal:subscription_succeeded","channel":"news","data":"{}"}
	// {"event":"headline","channel":"news","data":"{\"title\":\"Hello\"}"}
}

// A channel authorization endpoint answers pusher-js with this body.
func ExampleAuthorizeChannel() {
	body, err := sockudo.AuthorizeChannel("278d425bdf160c739803", "7ad3773142a6692b25b8", "1234.1234", "private-foobar")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(body))
	// Output:
	// {"auth":"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"}
}

// A user authentication endpoint answers pusher-js's signin with this body.
func ExampleAuthenticateUser() {
	body, err := sockudo.AuthenticateUser("278d425bdf160c739803", "7ad3773142a6692b25b8", "1234.1234", sockudo.User{ID: "12345"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(body))
	// Output:
	// {"auth":"278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba","user_data":"{\"id\":\"12345\"}"}
}

// A host vetoes subscriptions and observes channels in process.
func ExampleWithHooks() {
	occupied := make(chan string, 1)
	srv, err := sockudo.New(
		sockudo.WithApps(appmanager.App{ID: "app-id", Key: "app-key", Secret: "app-secret", Enabled: true}),
		sockudo.WithLogger(slog.New(slog.DiscardHandler)),
		sockudo.WithHooks(sockudo.Hooks{
			// Inline: runs before the subscription takes effect; keep it fast.
			OnSubscribe: func(ctx context.Context, s sockudo.Socket, sub sockudo.Subscription) error {
				if strings.HasPrefix(sub.Channel, "staff-") {
					return &sockudo.ProtocolError{Code: 4009, Message: "Staff only"}
				}
				return nil
			},
			// Asynchronous: runs on the server's hook goroutine.
			OnChannelOccupied: func(ctx context.Context, ev sockudo.ChannelEvent) {
				occupied <- ev.AppID + " " + ev.Channel
			},
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/app/app-key?protocol=7", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.CloseNow()
	_, _, _ = ws.Read(ctx) // pusher:connection_established

	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"event":"pusher:subscribe","data":{"channel":"staff-room"}}`))
	_, _, _ = ws.Read(ctx) // pusher:error
	_, refused, _ := ws.Read(ctx)
	fmt.Println(string(refused))

	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"event":"pusher:subscribe","data":{"channel":"lobby"}}`))
	_, _, _ = ws.Read(ctx) // pusher_internal:subscription_succeeded
	fmt.Println("occupied:", <-occupied)
	// Output:
	// {"event":"pusher:subscription_error","channel":"staff-room","data":{"type":"Forbidden","error":"Staff only","status":403}}
	// occupied: app-id lobby
}
