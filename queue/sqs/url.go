package sqs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// URLAPI is the part of *sqs.Client that QueueURL uses.
type URLAPI interface {
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	CreateQueue(ctx context.Context, in *sqs.CreateQueueInput, optFns ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
}

var _ URLAPI = (*sqs.Client)(nil)

// URLOptions configures QueueURL.
type URLOptions struct {
	// Prefix, when set, makes the URL Prefix followed by the name (with a
	// "/" between them when Prefix lacks one), without asking SQS:
	// Sockudo's queue_url_prefix, such as
	// "https://sqs.us-east-1.amazonaws.com/123456789012/".
	Prefix string
	// FIFO appends ".fifo" to the name when it lacks it, and creates a
	// FIFO queue.
	FIFO bool
	// Create creates the queue when it does not exist (ignored with
	// Prefix).
	Create bool
	// Attributes are passed to CreateQueue, for example
	// {"VisibilityTimeout": "30"}.
	Attributes map[string]string
}

// QueueURL returns the URL of the SQS queue called name: built from
// opts.Prefix when set, otherwise asked of SQS with GetQueueUrl and, when
// the queue does not exist and opts.Create is set, created. opts may be
// nil.
func QueueURL(ctx context.Context, client URLAPI, name string, opts *URLOptions) (string, error) {
	var o URLOptions
	if opts != nil {
		o = *opts
	}
	if name == "" {
		return "", errors.New("sqs queue: queue name is empty")
	}
	if o.FIFO && !strings.HasSuffix(name, ".fifo") {
		name += ".fifo"
	}
	if o.Prefix != "" {
		if !strings.HasSuffix(o.Prefix, "/") {
			o.Prefix += "/"
		}
		return o.Prefix + name, nil
	}
	if client == nil {
		return "", errors.New("sqs queue: client is nil")
	}
	out, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &name})
	if err == nil {
		return deref(out.QueueUrl), nil
	}
	var missing *types.QueueDoesNotExist
	if !errors.As(err, &missing) || !o.Create {
		return "", fmt.Errorf("sqs queue: get URL of %q: %w", name, err)
	}
	attrs := make(map[string]string, len(o.Attributes)+1)
	for k, v := range o.Attributes {
		attrs[k] = v
	}
	if strings.HasSuffix(name, ".fifo") {
		attrs[string(types.QueueAttributeNameFifoQueue)] = "true"
	}
	created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name, Attributes: attrs})
	if err != nil {
		return "", fmt.Errorf("sqs queue: create %q: %w", name, err)
	}
	return deref(created.QueueUrl), nil
}
