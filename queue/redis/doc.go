// Package redis is a reliable queue.Queue on Redis, through a rueidis
// client that the host owns: standalone, Sentinel or Cluster, decided by
// the client's own options. The package provides the storage (keys and
// Lua scripts); the consumer loop is package queue's Portable.
//
// Import it under an alias, for example redisqueue:
//
//	client, _ := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:6379"}})
//	q, err := redisqueue.New(client, &redisqueue.Options{Name: "webhooks"})
//
// # Storage
//
// A queue keeps six keys that share the hash tag {<Prefix><Name>}, so that
// its Lua scripts run on one Redis Cluster slot. With the defaults:
//
//	{sockudo_queue:webhooks}:ready     list of job ids waiting to be handled
//	{sockudo_queue:webhooks}:delayed   sorted set of ids scheduled for a retry, by due time
//	{sockudo_queue:webhooks}:leased    sorted set of ids being handled, by lease deadline
//	{sockudo_queue:webhooks}:payload   hash of id to payload
//	{sockudo_queue:webhooks}:attempts  hash of id to the number of deliveries so far
//	{sockudo_queue:webhooks}:enqueued  hash of id to the enqueue time (Unix milliseconds)
//
// Taking a job moves it from ready to leased with a deadline Options.Lease
// ahead; the consumer loop renews the leases of the jobs it is handling
// every third of a lease. A job is removed when its handler succeeds or returns
// queue.Permanent, and moved to delayed when it fails. Due retries and
// expired leases go back to ready whenever a consumer looks for work, so
// the jobs of a consumer that crashed are handled again about one lease
// later. Every acknowledgement carries the attempt number it answers, so
// a consumer that lost its lease cannot remove or reschedule a job that
// another consumer now holds. Times come from the Redis server's clock.
//
// Jobs are as durable as the Redis server's persistence settings make
// them (use appendonly for jobs that must survive a Redis restart).
// Consumers poll every Options.PollInterval when the queue is idle and
// are woken at once by Enqueue calls on the same Queue; while Redis is
// unreachable they log, back off and retry rather than return. Stats
// counts as Depth every job stored in Redis (ready, scheduled for a retry
// or leased by another process) that this Queue's handlers do not hold.
package redis
