package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/docingest/docingest/internal/emulators"
	"github.com/docingest/docingest/queue/sqsqueue"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
)

func TestMain(m *testing.M) {
	// The pipeline runs PDF extraction as "<this binary> extract-pdf": answer it as
	// docingest would, instead of running the tests again. cliProcess runs the whole
	// command line in a process of its own the same way (for settings that only the
	// process environment carries, like the AWS SDK's).
	if len(os.Args) > 1 && os.Args[1] == "extract-pdf" || os.Getenv("DOCINGEST_TEST_AS_CLI") == "1" {
		os.Exit(execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Environ()))
	}
	code := m.Run()
	emulators.Stop()
	os.Exit(code)
}

// buildBinary builds docingest once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "docingest")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestWorkerCrashSafety(t *testing.T) {
	sqsURL := emulators.Fauxqs(t)
	q := emulators.SQSClient(sqsURL)
	s3URL := emulators.GoFakeS3(t)
	s3c := emulators.S3Client(s3URL)
	emulators.CreateBucket(t, s3c, "uploads")
	emulators.CreateBucket(t, s3c, "out")
	queue, _ := emulators.Queue(t, q, 3*time.Second, 0)
	bin := buildBinary(t)
	ctx := context.Background()

	// 24 documents of about 1.5 MB: each takes long enough to be caught mid-way.
	words := strings.Fields("the survey team walked the east bank and counted herons near the old mill while rain swelled the river")
	const n = 24
	for i := 0; i < n; i++ {
		var b strings.Builder
		for b.Len() < 1500<<10 {
			for j := 0; j < 60; j++ {
				b.WriteString(words[(i+j*7+b.Len())%len(words)])
				b.WriteByte(' ')
			}
			b.WriteString(".\n\n")
		}
		key := fmt.Sprintf("batch/doc%02d.txt", i)
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key), Body: strings.NewReader(b.String())}); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"uploads"},"object":{"key":%q,"size":%d,"sequencer":"%016X"}}}]}`, key, b.Len(), i+1)
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	out := storage.NewS3(s3c, "out", "v1", storage.S3Options{})
	chunkFiles := func() int {
		c := 0
		out.List(ctx, "chunks/", true, func(storage.ObjectInfo) error { c++; return nil })
		return c
	}
	env := append(os.Environ(),
		"AWS_ENDPOINT_URL_S3="+s3URL, "AWS_ENDPOINT_URL_SQS="+sqsURL, "AWS_REGION="+emulators.Region,
		"AWS_ACCESS_KEY_ID="+emulators.AccessKey, "AWS_SECRET_ACCESS_KEY="+emulators.SecretKey,
		"DOCINGEST_AWS_S3_PATH_STYLE=true", "DOCINGEST_WORKER_VISIBILITY_TIMEOUT=3s", "DOCINGEST_WORKER_HEARTBEAT=1s",
		"DOCINGEST_WORKER_WAIT_TIME=1s", "DOCINGEST_WORKER_METRICS_ADDR=127.0.0.1:0", "DOCINGEST_WORKER_MAX_IN_FLIGHT=3",
		"DOCINGEST_WORKER_BACKOFF_BASE=1s", "DOCINGEST_WORKER_BACKOFF_MAX=2s")
	start := func(extraEnv ...string) (*exec.Cmd, *lockedBuffer) {
		cmd := exec.Command(bin, "worker", "--queue-url", queue, "--out", "s3://out/v1")
		cmd.Env = append(env, extraEnv...)
		logs := &lockedBuffer{}
		cmd.Stderr = logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("worker logs:\n%s", tail(logs.String(), 3000))
			}
		})
		return cmd, logs
	}

	// The first worker commits four documents, then holds every commit: the kill lands
	// with documents in flight, their outputs written and their messages not deleted
	// (the most dangerous moment, and a certain one, however loaded the machine is).
	first, firstLogs := start("DOCINGEST_TEST_HOLD_COMMITS=4")
	emulators.Eventually(t, 120*time.Second, "documents held before their commit", func() bool {
		return strings.Count(firstLogs.String(), "holding a commit") >= 3 // every slot
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	done := chunkFiles()
	if done >= n {
		t.Fatalf("all %d documents finished before the kill: the test proves nothing", n)
	}
	t.Logf("killed with %d of %d documents written, 3 of them not committed", done, n)

	second, _ := start()
	emulators.Eventually(t, 180*time.Second, "every document and an empty queue", func() bool {
		if chunkFiles() < n {
			return false
		}
		visible, inFlight, err := sqsqueue.New(q, queue).Depth(ctx)
		return err == nil && visible == 0 && inFlight == 0
	})
	_ = second.Process.Signal(syscall.SIGTERM)
	waitErr := make(chan error, 1)
	go func() { waitErr <- second.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("worker did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop on SIGTERM")
	}

	// Exactly once in the outputs: every document has one complete chunk file whose
	// records are indexes 0..k-1, each once, matching its text output.
	for i := 0; i < n; i++ {
		src := fmt.Sprintf("uploads/batch/doc%02d.txt", i)
		body, err := out.Get(ctx, "chunks/"+src+".jsonl")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		text, err := out.Get(ctx, "text/"+src+".txt")
		if err != nil {
			t.Fatalf("%s: no text: %v", src, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		idx := 0
		for sc.Scan() {
			var rec worker.ChunkRecord
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s line %d: %v", src, idx, err)
			}
			if rec.Index != idx || string(text[rec.Start:rec.End]) != rec.Text {
				t.Fatalf("%s: record %d has index %d or wrong offsets", src, idx, rec.Index)
			}
			idx++
		}
		if idx == 0 || len(text) == 0 {
			t.Fatalf("%s: %d chunks", src, idx)
		}
		st, ok, err := statePresent(ctx, out, src)
		if err != nil || !ok || st != "ok" {
			t.Fatalf("%s: state %q %v %v", src, st, ok, err)
		}
	}
	failed := 0
	out.List(ctx, "failed/", true, func(storage.ObjectInfo) error { failed++; return nil })
	if failed != 0 {
		t.Fatalf("%d failure records", failed)
	}
}

// statePresent reads a source's committed state: its head, and exactly one marker that
// agrees with it.
func statePresent(ctx context.Context, out *storage.S3, src string) (string, bool, error) {
	statuses := map[string]string{}
	err := out.List(ctx, "state/"+src+"/", false, func(o storage.ObjectInfo) error {
		b, err := out.Get(ctx, o.Key)
		if err != nil {
			return err
		}
		var st worker.State
		if err := json.Unmarshal(b, &st); err != nil {
			return err
		}
		statuses[path.Base(o.Key)] = st.Status
		return nil
	})
	if err != nil || len(statuses) == 0 {
		return "", false, err
	}
	head, ok := statuses["head.json"]
	if !ok || len(statuses) != 2 {
		return "", false, fmt.Errorf("state of %s: want a head and one marker, got %v", src, statuses)
	}
	for name, st := range statuses {
		if st != head {
			return "", false, fmt.Errorf("state of %s: marker %s says %q, head %q", src, name, st, head)
		}
	}
	return head, true, nil
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func TestWorkerServesHealthAndMetrics(t *testing.T) {
	sqsURL := emulators.Fauxqs(t)
	q := emulators.SQSClient(sqsURL)
	s3URL := emulators.GoFakeS3(t)
	emulators.CreateBucket(t, emulators.S3Client(s3URL), "out")
	queue, _ := emulators.Queue(t, q, 30*time.Second, 0)
	bin := buildBinary(t)
	// the kernel picks the port; the worker logs the address it listens on
	cmd := exec.Command(bin, "worker", "--queue-url", queue, "--out", "s3://out/v1")
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL_S3="+s3URL, "AWS_ENDPOINT_URL_SQS="+sqsURL, "AWS_REGION="+emulators.Region,
		"AWS_ACCESS_KEY_ID="+emulators.AccessKey, "AWS_SECRET_ACCESS_KEY="+emulators.SecretKey, "DOCINGEST_AWS_S3_PATH_STYLE=true",
		"DOCINGEST_WORKER_WAIT_TIME=1s", "DOCINGEST_WORKER_METRICS_ADDR=127.0.0.1:0")
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addrLine := regexp.MustCompile(`"msg":"serving metrics","addr":"([0-9.:]+)"`)
	var addr string
	emulators.Eventually(t, 30*time.Second, "the metrics address in the logs", func() bool {
		m := addrLine.FindStringSubmatch(logs.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	emulators.Eventually(t, 30*time.Second, "/readyz", func() bool { code, _ := get("/readyz"); return code == 200 })
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	code, body := get("/metrics")
	for _, m := range []string{"docingest_in_flight", "docingest_receive_seconds", "go_goroutines", "docingest_pdf_child_peak_memory_bytes_count{measured_by="} {
		if code != 200 || !strings.Contains(body, m) {
			t.Fatalf("/metrics lacks %s (status %d)", m, code)
		}
	}
	if code, _ := get("/debug/pprof/"); code != http.StatusNotFound {
		t.Fatalf("/debug/pprof/ served without worker.pprof: %d", code)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit on SIGTERM: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"worker stopped"`) {
		t.Fatalf("logs are not JSON or lack the stop line:\n%s", logs.String())
	}
}

// A queue URL on a non-AWS host is its own endpoint (no AWS_ENDPOINT_URL_SQS needed),
// --log-format text is honoured, and an empty DOCINGEST_WORKER_METRICS_ADDR turns the
// metrics endpoint off; a queue that cannot be reached fails the start with exit 2.
func TestWorkerQueueURLAndLogFlags(t *testing.T) {
	sqsURL := emulators.Fauxqs(t)
	q := emulators.SQSClient(sqsURL)
	s3URL := emulators.GoFakeS3(t)
	emulators.CreateBucket(t, emulators.S3Client(s3URL), "out")
	queue, _ := emulators.Queue(t, q, 30*time.Second, 0)
	// fauxqs names its queues under sqs.<region>.localhost, which this resolver may not
	// know: give the worker the same queue on the address the server listens on.
	u, _ := url.Parse(queue)
	u.Host = strings.TrimPrefix(sqsURL, "http://")
	queue = u.String()
	bin := buildBinary(t)
	env := append(os.Environ(), "AWS_ENDPOINT_URL_S3="+s3URL, "AWS_REGION="+emulators.Region,
		"AWS_ACCESS_KEY_ID="+emulators.AccessKey, "AWS_SECRET_ACCESS_KEY="+emulators.SecretKey, "DOCINGEST_AWS_S3_PATH_STYLE=true",
		"DOCINGEST_WORKER_WAIT_TIME=1s", "DOCINGEST_WORKER_METRICS_ADDR=")
	cmd := exec.Command(bin, "worker", "--queue-url", queue, "--out", "s3://out/v1", "--log-format", "text")
	cmd.Env = env
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), `msg="worker started"`); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not start:\n%s", logs.String())
		}
	}
	if strings.Contains(logs.String(), "serving metrics") {
		t.Errorf("metrics served with DOCINGEST_WORKER_METRICS_ADDR empty:\n%s", logs.String())
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit on SIGTERM: %v\n%s", err, logs.String())
	}

	// Port 1 on loopback refuses connections: the start fails, naming the queue.
	dead := "http://127.0.0.1:1/000000000000/gone"
	start := time.Now()
	probe := exec.Command(bin, "worker", "--queue-url", dead, "--out", "s3://out/v1")
	probe.Env = env
	out, err := probe.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitUsage || !strings.Contains(string(out), "queue "+dead+" cannot be reached") {
		t.Fatalf("unreachable queue: %v after %s:\n%s", err, time.Since(start), out)
	}
}
