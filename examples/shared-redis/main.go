package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/rueidis"

	"github.com/sockudo-go/sockudo"
	"github.com/sockudo-go/sockudo/appmanager"
	rediscache "github.com/sockudo-go/sockudo/cache/redis"
	redisqueue "github.com/sockudo-go/sockudo/queue/redis"
	redislimit "github.com/sockudo-go/sockudo/ratelimit/redis"
)

func main() {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379"
	}
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		log.Fatal("REDIS_URL: ", err)
	}
	client, err := rueidis.NewClient(opt)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close() // last: after the server and the queue have stopped

	opts, closeDrivers, err := redisOptions(client, "myapp:")
	if err != nil {
		log.Fatal(err)
	}
	defer closeDrivers()
	srv, err := sockudo.New(append(opts,
		sockudo.WithApps(appmanager.App{ID: "app-id", Key: "app-key", Secret: "app-secret", Enabled: true}),
		sockudo.WithAPIRateLimit(sockudo.RateLimit{Max: 100, Window: time.Minute}),
		sockudo.WithConnectionRateLimit(sockudo.RateLimit{Max: 20, Window: time.Minute}),
	)...)
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Bound slow and idle clients. WebSockets are hijacked, so these
	// deadlines do not apply to them.
	hs := &http.Server{
		Addr:              "127.0.0.1:6001",
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       20 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = hs.Shutdown(sctx)
	}()
	slog.Info("listening", "addr", hs.Addr, "redis", opt.InitAddress)
	if err := hs.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Print(err)
	}
}

// redisOptions builds the cache, the webhook queue and the rate limiter on
// client, with their keys under prefix, and returns the options that plug
// them into a server. closeDrivers stops the queue; the client stays the
// caller's to close, after the server has shut down.
func redisOptions(client rueidis.Client, prefix string) (opts []sockudo.Option, closeDrivers func(), err error) {
	c, err := rediscache.New(client, &rediscache.Options{Prefix: prefix + "cache:", DefaultTTL: 30 * time.Minute})
	if err != nil {
		return nil, nil, fmt.Errorf("cache: %w", err)
	}
	q, err := redisqueue.New(client, &redisqueue.Options{Prefix: prefix + "queue:"})
	if err != nil {
		return nil, nil, fmt.Errorf("queue: %w", err)
	}
	l, err := redislimit.New(client, &redislimit.Options{Prefix: prefix + "rl:"})
	if err != nil {
		q.Close()
		return nil, nil, fmt.Errorf("rate limiter: %w", err)
	}
	return []sockudo.Option{
		sockudo.WithCache(c),
		sockudo.WithQueue(q),
		// While Redis is down the server lets requests through and counts
		// the failures; WithRateLimiterFailClosed would refuse them.
		sockudo.WithRateLimiter(l),
	}, func() { q.Close() }, nil
}
