package sqsqueue_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/docingest/docingest/internal/emulators"
	"github.com/docingest/docingest/queue/queuetest"
	"github.com/docingest/docingest/queue/sqsqueue"
)

func TestMain(m *testing.M) {
	code := m.Run()
	emulators.Stop()
	os.Exit(code)
}

// TestConformance runs the queue suite against SQS's wire protocol (fauxqs).
func TestConformance(t *testing.T) {
	endpoint := emulators.Fauxqs(t)
	c := emulators.SQSClient(endpoint)
	queuetest.Run(t, func(t *testing.T) queuetest.Queue {
		u, _ := emulators.Queue(t, c, 30*time.Second, 0)
		return testQueue{sqsqueue.New(c, u), c, u}
	})
}

// testQueue adds the suite's Send (the worker never sends single messages).
type testQueue struct {
	*sqsqueue.Queue
	c   *sqs.Client
	url string
}

func (q testQueue) Send(ctx context.Context, body string) (string, error) {
	out, err := q.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(body)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.MessageId), nil
}

// TestSendCreated: synthetic events go out MaxBatch per call, every one arrives, and the
// body is an S3 event whose key is URL-encoded as S3 encodes it.
func TestSendCreated(t *testing.T) {
	endpoint := emulators.Fauxqs(t)
	c := emulators.SQSClient(endpoint)
	u, _ := emulators.Queue(t, c, 30*time.Second, 0)
	q := sqsqueue.New(c, u)
	ctx := context.Background()
	var objs []sqsqueue.Object
	for i := 0; i < 23; i++ {
		objs = append(objs, sqsqueue.Object{Bucket: "b", Key: "dir/a file+" + string(rune('a'+i)) + ".txt", ETag: `"e"`, Size: int64(i)})
	}
	if err := q.SendCreated(ctx, objs); err != nil {
		t.Fatal(err)
	}
	if v, _, err := q.Depth(ctx); err != nil || v != 23 {
		t.Fatalf("depth %d, %v; want 23", v, err)
	}
	ds, err := q.Receive(ctx, 1, time.Second, 30*time.Second)
	if err != nil || len(ds) != 1 {
		t.Fatalf("receive: %v %v", ds, err)
	}
	var ev struct {
		Records []struct {
			S3 struct {
				Bucket struct{ Name string }
				Object struct {
					Key  string
					Size int64
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(ds[0].Body), &ev); err != nil || len(ev.Records) != 1 {
		t.Fatalf("body %s: %v", ds[0].Body, err)
	}
	key, err := url.QueryUnescape(ev.Records[0].S3.Object.Key)
	if err != nil || ev.Records[0].S3.Bucket.Name != "b" || key[:11] != "dir/a file+" {
		t.Errorf("event %+v (key %q)", ev, key)
	}
	if err := q.SendBatch(ctx, make([]string, sqsqueue.MaxBatch+1)); err == nil {
		t.Error("a batch over MaxBatch was sent")
	}
	if arn, err := q.ARN(ctx); err != nil || arn == "" {
		t.Errorf("ARN %q, %v", arn, err)
	}
}

func TestEndpointOf(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://127.0.0.1:4566/000000000000/uploads":                    "http://127.0.0.1:4566",
		"https://sqs.eu-west-1.amazonaws.com/111122223333/uploads":      "",
		"https://sqs-fips.us-east-1.amazonaws.com/111122223333/uploads": "",
		"https://sqs.cn-north-1.amazonaws.com.cn/111122223333/uploads":  "",
		"https://sqs.eu-west-1.api.aws/111122223333/uploads":            "",
		"not a url": "",
		"https://queue.internal.example:8443/000000000000/uploads?x=1": "https://queue.internal.example:8443",
	} {
		if got := sqsqueue.EndpointOf(in); got != want {
			t.Errorf("sqsqueue.EndpointOf(%q) = %q, want %q", in, got, want)
		}
	}
}
