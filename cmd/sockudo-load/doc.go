// Command sockudo-load measures a sockudo.Server against the floor: the
// thinnest Pusher-shaped broadcaster on coder/websocket (one reader and one
// writer goroutine per socket, a buffered channel as the outbound queue,
// no auth, no limits). Both run in this process, each on its own
// 127.0.0.1 listener; the same client code drives both, and the tool
// prints a table of figures with their ratio (sockudo / floor) and the
// project's performance targets (listed in scenarios.go).
//
// The clients run in a child process (this binary re-executed with a
// hidden flag), so the parent only hosts the servers and its heap, stack,
// allocation and CPU figures are the servers' own. Only one target is
// under load at any time; the other server is idle meanwhile.
//
// # Scenarios
//
//   - idle: open -conns sockets subscribed to one channel, let them go
//     idle, force two GCs and report the server process's HeapInuse and
//     StackInuse growth per connection (from runtime.MemStats, as deltas
//     from before the connections), with goroutines per connection.
//   - latency: for each SxR of -latency, S subscribers of each target
//     receive R publishes per second for -duration. Both targets keep
//     their subscribers open while publishing alternates between them
//     every second on one steady schedule (A B B A A B ...), so that load
//     from elsewhere on the machine falls on both alike. The publisher
//     embeds a send timestamp (nanoseconds since an epoch shared by both
//     processes, read from the monotonic clock) in the event data;
//     clients record receive minus send. It reports p50, p99 and max
//     delivery latency, lost messages (expected messages not received in
//     order), and the server process's allocations and CPU per delivery.
//     Publishing calls Server.Trigger and the floor's publish function
//     directly, so neither pays for HTTP.
//   - connect: open -connect sockets through the WebSocket handshake and
//     pusher:connection_established with -dialers concurrent dialers,
//     -rounds times per target in alternating order, and report
//     connections per second and server CPU per connection.
//   - soak: -soak-pool clients churn against sockudo alone for -duration.
//     Each session connects, signs in half the time (pusher:signin with a
//     watchlist), subscribes to one public, one private and one presence
//     channel of -soak-channels per kind (signed with the app secret;
//     users are shared by two pool slots on average, so presence members
//     often hold several sockets), lives a random time in
//     [-soak-life/4, -soak-life], sometimes unsubscribes, and leaves
//     abruptly (the TCP connection closed without a close frame; a tenth
//     of the sessions right after sending their subscribes) or with a
//     close handshake, then reconnects. Publishes go through the HTTP API
//     (the pusher-http-go SDK), -soak-rate per second spread over the
//     channels; each event carries its channel's sequence number, so a
//     socket counts as lost any event published after its subscription
//     was confirmed that it did not receive (at the end, sessions wait
//     for the last publish of their channels). The server process's
//     RSS (/proc/self/status), live heap, goroutines and open descriptors
//     (/proc/self/fd) are sampled every -soak-sample, with the server's
//     Stats. After the churn every client leaves, the tool waits (up to
//     30 s) for the server to count no socket, channel or signed-in user,
//     collects and returns free memory (debug.FreeOSMemory) and takes the
//     final sample. The verdict: goroutines within 5 and descriptors
//     within 3 of the baseline taken before any client, sockets,
//     channels and users at 0, live heap within 8 MiB, RSS within
//     -soak-rss-slack MiB (or half the baseline, if more: code first run
//     during the churn and runtime metadata sized for the peak stay
//     resident), no lost or duplicated event, no error. A miss makes the
//     tool exit 1. The figures come as "# soak:" comment lines (baseline,
//     peak, final and limit of each resource, and the churn's counts)
//     and as table rows. Only the in-process server can be sampled. A
//     10-minute run with -soak-pool 300 on 2 cores: 106 665 connects
//     (58 570 abrupt), 30 012 publishes, 2 246 450 messages received,
//     none lost; RSS 10.2 MiB at the baseline, 27.3 MiB at the peak,
//     16.2 MiB at the end; goroutines 8, 396, 8; descriptors 11, 318, 11.
//
// # Usage
//
//	go run ./cmd/sockudo-load [flags]
//
// Flags:
//
//	-run list           scenarios to run, in order (default "idle,latency,connect")
//	-conns n            idle sockets (default 10000)
//	-latency list       latency scenarios as SUBSxRATE (default "250x12,2000x20")
//	-duration d         publishing time of each latency scenario, churn
//	                    time of the soak (default 10s)
//	-connect n          sockets opened by the connect scenario (default 2000)
//	-dialers k          concurrent dialers in every scenario (default 50)
//	-rounds n           rounds of the connect scenario per target (default 3)
//	-floor-queue n      capacity of the floor's per-socket channel (default 64)
//	-timeout d          bound on the whole run (default 10m)
//	-cpuprofile file    write a CPU profile of the server process
//	-heapprofile prefix write heap profiles prefix.sockudo and prefix.floor,
//	                    taken while the idle sockets are open
//	-soak-pool n        soak: clients churning at once (default 200)
//	-soak-rate n        soak: HTTP API publishes per second (default 50)
//	-soak-channels n    soak: channels of each kind (default 4)
//	-soak-life d        soak: longest session (default 3s)
//	-soak-sample d      soak: sampling interval (default 5s)
//	-soak-rss-slack MiB soak: RSS allowed over the baseline (default 32)
//
// -duration is also the soak's churn time (at most 10m); when soak runs
// and -timeout is not given, the bound on the run is 10m plus -duration.
// The soak is not in the default -run: run it with -run soak.
//
// Every run is bounded in time and connection count, uses loopback only
// and stops by itself. Each process needs a file descriptor per socket:
// the tool raises RLIMIT_NOFILE to what the largest scenario needs and
// fails with a clear error when the hard limit is too low.
//
// The output is one row per figure:
//
//	SCENARIO  METRIC  SOCKUDO  FLOOR  RATIO  TARGET  RESULT
//
// RATIO is sockudo / floor; RESULT is ok, MISS, or - when the row has no
// target. Lines starting with # are comments: the Go version, CPUs, file
// descriptor limit and load average. Clients and servers share the
// machine's cores, so figures from a small machine are pessimistic for
// both and only their ratio is meaningful; other work on the machine
// (see the load average) skews them.
//
// The sockudo server runs with its defaults (outbound queue 1000 frames,
// close slow consumers). The floor's channel is allocated whole when a
// socket opens, so its capacity counts in its idle memory (24 bytes a
// slot); 64 slots are plenty at these rates, since a full channel only
// makes the publisher wait.
package main
