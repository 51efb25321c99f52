// Package sqsqueue is the worker's queue on Amazon SQS: receive, delete and change the
// visibility of deliveries (queue.Delivery), send synthetic S3 events for a reindex in
// batches, and read the queue's depth and ARN.
package sqsqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/docingest/docingest/queue"
)

// API is the part of the SQS client the queue calls.
type API interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// MaxBatch is the most entries one SendMessageBatch call takes.
const MaxBatch = 10

// Queue is one SQS queue.
type Queue struct {
	api API
	url string
}

// New returns the queue at url.
func New(api API, url string) *Queue { return &Queue{api: api, url: url} }

// URL is the queue's URL.
func (q *Queue) URL() string { return q.url }

// seconds is d in SQS's whole seconds (rounded down, as the worker's configuration
// requires whole seconds anyway).
func seconds(d time.Duration) int32 { return int32(d / time.Second) }

// Receive long-polls for up to n messages (SQS takes at most 10), for up to wait,
// making them invisible for visibility.
func (q *Queue) Receive(ctx context.Context, n int, wait, visibility time.Duration) ([]queue.Delivery, error) {
	out, err := q.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(q.url),
		MaxNumberOfMessages:         int32(min(n, 10)),
		WaitTimeSeconds:             seconds(wait),
		VisibilityTimeout:           seconds(visibility),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, err
	}
	ds := make([]queue.Delivery, len(out.Messages))
	for i, m := range out.Messages {
		receives, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		ds[i] = queue.Delivery{ID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), Receives: max(receives, 1), Receipt: aws.ToString(m.ReceiptHandle)}
	}
	return ds, nil
}

// Delete deletes the message of delivery d.
func (q *Queue) Delete(ctx context.Context, d queue.Delivery) error {
	_, err := q.api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(d.Receipt)})
	return err
}

// ChangeVisibility makes the message of delivery d invisible for visibility from now.
func (q *Queue) ChangeVisibility(ctx context.Context, d queue.Delivery, visibility time.Duration) error {
	_, err := q.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(d.Receipt), VisibilityTimeout: seconds(visibility),
	})
	return err
}

// SendBatch sends up to MaxBatch messages in one call. Entries the queue rejects are an
// error naming how many and the first reason: nothing is dropped silently.
func (q *Queue) SendBatch(ctx context.Context, bodies []string) error {
	if len(bodies) > MaxBatch {
		return fmt.Errorf("sqsqueue: %d messages in one batch (at most %d)", len(bodies), MaxBatch)
	}
	entries := make([]types.SendMessageBatchRequestEntry, len(bodies))
	for i, b := range bodies {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)}
	}
	out, err := q.api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
	if err != nil {
		return err
	}
	if len(out.Failed) > 0 {
		return fmt.Errorf("%d of %d messages rejected: %s", len(out.Failed), len(entries), aws.ToString(out.Failed[0].Message))
	}
	return nil
}

// Object is an S3 object a synthetic event names.
type Object struct {
	Bucket, Key, ETag string
	Size              int64
}

// SendCreated enqueues one synthetic ObjectCreated event per object (see
// SyntheticCreated), MaxBatch per call.
func (q *Queue) SendCreated(ctx context.Context, objs []Object) error {
	for i := 0; i < len(objs); i += MaxBatch {
		batch := objs[i:min(len(objs), i+MaxBatch)]
		bodies := make([]string, len(batch))
		for k, o := range batch {
			bodies[k] = SyntheticCreated(o.Bucket, o.Key, o.ETag, o.Size)
		}
		if err := q.SendBatch(ctx, bodies); err != nil {
			return err
		}
	}
	return nil
}

// SyntheticCreated returns an S3 event notification body for an object, as a reindex
// enqueues it: ObjectCreated with the listed ETag and size, the key URL-encoded as S3
// encodes it, and no sequencer (a real event's sequencer orders after it).
func SyntheticCreated(bucket, key, etag string, size int64) string {
	rec := map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
		"s3": map[string]any{
			"s3SchemaVersion": "1.0",
			"configurationId": "docingest-reindex",
			"bucket":          map[string]any{"name": bucket},
			"object":          map[string]any{"key": url.QueryEscape(key), "size": size, "eTag": etag},
		},
	}
	b, _ := json.Marshal(map[string]any{"Records": []any{rec}})
	return string(b)
}

// Depth reads the approximate numbers of visible and in-flight messages.
func (q *Queue) Depth(ctx context.Context) (visible, inFlight int, err error) {
	out, err := q.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.url), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		return 0, 0, err
	}
	visible, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible, inFlight, nil
}

// ARN reads the queue's ARN (a call that also proves the queue can be reached).
func (q *Queue) ARN(ctx context.Context) (string, error) {
	out, err := q.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", err
	}
	return out.Attributes[string(types.QueueAttributeNameQueueArn)], nil
}

// EndpointOf is the SQS endpoint a queue URL implies when it is not an AWS one
// (http://127.0.0.1:4566/000000000000/uploads gives http://127.0.0.1:4566), or "".
func EndpointOf(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil || u.Host == "" {
		return ""
	}
	host := u.Hostname()
	if strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn") || strings.HasSuffix(host, ".api.aws") {
		return "" // the SDK resolves AWS's own endpoints, FIPS and dual-stack included
	}
	return u.Scheme + "://" + u.Host
}
