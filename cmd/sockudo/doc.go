// Command sockudo is the standalone sockudo server: a drop-in for Sockudo
// deployments (soketi's SOKETI_* variables are not read; a warning says
// so). With no configuration it serves the Pusher
// protocol on 0.0.0.0:6001 for the app app-id / app-key / app-secret,
// with in-memory drivers:
//
//	go run ./cmd/sockudo [--config config.json] [--check-config] [--version]
//
// Configuration comes from defaults, then a Sockudo-shaped config.json
// given with --config, then Sockudo's environment variables (HOST, PORT,
// SOCKUDO_DEFAULT_APP_*, APP_MANAGER_DRIVER, CACHE_DRIVER, QUEUE_DRIVER,
// RATE_LIMITER_*, ...). Keys the server does not support are ignored with
// a warning, so an existing Sockudo config file starts as it is.
//
// The cache, queue and rate limiter drivers that point at the same Redis
// share one client. Health checks are answered at /up and, for load
// balancers set up for soketi, at the root path.
//
// Package internal/config reads the configuration; internal/backends
// opens the drivers it names.
package main
