// Package sqs is a queue.Queue on Amazon SQS (standard or FIFO queues),
// through an aws-sdk-go-v2 *sqs.Client that the host owns. The package
// turns SQS messages into jobs; the consumer loop is package queue's
// Portable.
//
// Import it under an alias, for example sqsqueue:
//
//	cfg, _ := config.LoadDefaultConfig(ctx)
//	client := sqs.NewFromConfig(cfg)
//	url, _ := sqsqueue.QueueURL(ctx, client, "sockudo-webhooks", &sqsqueue.URLOptions{Create: true})
//	q, err := sqsqueue.New(client, url, nil)
//
// The driver depends only on the API interface (the five SQS operations it
// calls), so tests can pass a fake.
//
// # Delivery
//
// A consumer long-polls ReceiveMessage for up to as many messages as it
// has free handlers (at most Options.MaxMessages), hiding each for
// Options.VisibilityTimeout and extending that every third of it while
// its handler runs. A message is deleted when its handler succeeds or
// returns queue.Permanent; when the handler fails, its visibility is set
// to the back-off (or the RetryAfter delay, rounded up to whole seconds),
// which works for FIFO queues too. A consumer that dies leaves its
// messages to come back after the visibility timeout. Job.ID is the
// MessageId, Job.Attempt the ApproximateReceiveCount, and Job.EnqueuedAt
// the enqueue time that Enqueue stores in a message attribute (or the
// SentTimestamp of messages sent by others). Stats counts SQS's
// approximate numbers of visible, delayed and hidden messages, less those
// this Queue's handlers hold.
//
// Payloads that SQS accepts as text are sent as they are; others (binary,
// empty, or with characters SQS rejects) are sent base64-encoded with a
// message attribute saying so. SQS limits a message to 256 KiB.
//
// On a FIFO queue every message carries Options.MessageGroupID and a
// unique deduplication id. Messages of one group are handed out in order,
// one at a time, so use a standard queue when webhook throughput matters
// more than order.
package sqs
