package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/internal/emulators"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/queue/sqsqueue"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
	"github.com/prometheus/client_golang/prometheus"
)

func TestMain(m *testing.M) {
	code := m.Run()
	emulators.Stop()
	os.Exit(code)
}

// env is one test's S3 (gofakes3), queue (fauxqs) and pipeline.
type env struct {
	t        *testing.T
	s3       *s3.Client
	s3URL    string
	sqs      *sqs.Client
	sqsURL   string
	queue    string
	dlq      string
	out      *storage.S3
	pipeline *worker.Pipeline
	cfg      worker.PipelineConfig
}

func newEnv(t *testing.T, visibility time.Duration, maxReceives int, tweak func(*worker.PipelineConfig)) *env {
	t.Helper()
	e := newS3Env(t, tweak)
	e.sqsURL = emulators.Fauxqs(t)
	e.sqs = emulators.SQSClient(e.sqsURL)
	e.queue, e.dlq = emulators.Queue(t, e.sqs, visibility, maxReceives)
	return e
}

// newS3Env is an env without a queue, for tests that use none (they then need no fauxqs).
func newS3Env(t *testing.T, tweak func(*worker.PipelineConfig)) *env {
	t.Helper()
	e := &env{t: t}
	e.s3URL = emulators.GoFakeS3(t)
	e.s3 = emulators.S3Client(e.s3URL)
	emulators.CreateBucket(t, e.s3, "uploads")
	emulators.CreateBucket(t, e.s3, "out")
	e.out = storage.NewS3(e.s3, "out", "v1", storage.S3Options{})
	emb, _ := embedders.NewHashing(embedders.DefaultHashing())
	e.cfg = newEnvConfig(emb)
	if tweak != nil {
		tweak(&e.cfg)
	}
	p, err := worker.NewPipeline(e.cfg, e.out)
	if err != nil {
		t.Fatal(err)
	}
	e.pipeline = p
	return e
}

func newEnvConfig(*embedders.Hashing) worker.PipelineConfig {
	c := worker.TestingConfig("fp-test")
	c.SourceURI = func(k string) string { return "s3://" + k }
	return c
}

func (e *env) consumer(cfg worker.ConsumerConfig) *worker.Consumer {
	e.t.Helper()
	return e.consumerWith(cfg, worker.NewMetrics(prometheus.NewRegistry()))
}

func (e *env) consumerWith(cfg worker.ConsumerConfig, metrics *worker.Metrics) *worker.Consumer {
	e.t.Helper()
	cfg.QueueURL = e.queue
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 4
	}
	if cfg.Visibility == 0 {
		cfg.Visibility = 30 * time.Second
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 10 * time.Second
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase, cfg.BackoffMax = time.Second, 2*time.Second
	}
	cfg.WaitTime = time.Second
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	var logger *slog.Logger
	if os.Getenv("WORKER_TEST_LOGS") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	c, err := worker.NewConsumer(cfg, sqsqueue.New(e.sqs, e.queue), storage.NewS3Buckets(e.s3), e.pipeline, logger, metrics)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) put(key string, body []byte) {
	e.t.Helper()
	_, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		e.t.Fatalf("put %s: %v", key, err)
	}
}

// s3Event builds an S3 notification body as S3 sends it (key URL-encoded the S3 way).
func s3Event(name, key, sequencer string) string {
	rec := map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventName": name,
		"s3": map[string]any{
			"s3SchemaVersion": "1.0", "bucket": map[string]any{"name": "uploads"},
			"object": map[string]any{"key": strings.ReplaceAll(url.QueryEscape(key), "%2F", "/"), "size": 1, "sequencer": sequencer},
		},
	}
	b, _ := json.Marshal(map[string]any{"Records": []any{rec}})
	return string(b)
}

func (e *env) send(body string) {
	e.t.Helper()
	_, err := e.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(e.queue), MessageBody: aws.String(body)})
	if err != nil {
		e.t.Fatalf("send: %v", err)
	}
}

// counterValue reads one labelled counter from a registry.
func counterValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// depth returns the messages in the queue, visible and not.
func depth(t *testing.T, c *sqs.Client, queue string) int {
	t.Helper()
	visible, inFlight, err := sqsqueue.New(c, queue).Depth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return visible + inFlight
}

func (e *env) exists(key string) bool {
	_, err := e.out.Get(context.Background(), key)
	return err == nil
}

// serve runs the consumer in the background until the returned stop is called.
func serve(t *testing.T, c *worker.Consumer) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func TestWorkerEndToEnd(t *testing.T) {
	e := newEnv(t, 30*time.Second, 0, nil)
	files, _ := filepath.Glob("../testdata/docs/*")
	keys := map[string]bool{}
	for i, f := range files {
		data, _ := os.ReadFile(f)
		key := fmt.Sprintf("in/%02d %s", i, filepath.Base(f)) // spaces, unicode from the names
		if i == 0 {
			key = "in/a+b plus & more.txt"
			data = []byte("A key with a plus sign and spaces.")
		}
		e.put(key, data)
		e.send(s3Event("ObjectCreated:Put", key, fmt.Sprintf("%018X", i+1)))
		keys[key] = true
	}
	e.send(`{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"uploads"}`)
	stop := serve(t, e.consumer(worker.ConsumerConfig{}))
	emulators.Eventually(t, 60*time.Second, "every output and an empty queue", func() bool {
		for k := range keys {
			if !e.exists("chunks/uploads/" + layout.SourcePath(k) + ".jsonl") {
				return false
			}
		}
		return depth(t, e.sqs, e.queue) == 0
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	body, _ := e.out.Get(context.Background(), "chunks/uploads/in/a+b plus & more.txt.jsonl")
	var rec worker.ChunkRecord
	json.Unmarshal(bytes.SplitN(body, []byte("\n"), 2)[0], &rec)
	if rec.Source.URI != "s3://uploads/in/a+b plus & more.txt" || rec.Source.ETag == "" || rec.Text != "A key with a plus sign and spaces." {
		t.Fatalf("record %+v", rec)
	}
	n := 0
	e.out.List(context.Background(), "failed/", true, func(o storage.ObjectInfo) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d failure records for good documents", n)
	}
}

func TestWorkerDuplicatesAndOrder(t *testing.T) {
	e := newEnv(t, 30*time.Second, 0, nil)
	c := e.consumer(worker.ConsumerConfig{MaxInFlight: 1})
	settled := make(chan bool, 16)
	c.OnMessage = func(id string, deleted bool, err error) { settled <- deleted }
	stop := serve(t, c)
	wait := func(n int) {
		for i := 0; i < n; i++ {
			select {
			case ok := <-settled:
				if !ok {
					t.Fatal("a message was not deleted")
				}
			case <-time.After(30 * time.Second):
				t.Fatal("timed out")
			}
		}
	}
	text := "chunks/uploads/doc.txt.jsonl"
	e.put("doc.txt", []byte("version two of the document"))
	e.send(s3Event("ObjectCreated:Put", "doc.txt", "0000000002"))
	wait(1)
	first, _ := e.out.Get(context.Background(), text)
	st1, _, _ := e.pipeline.CurrentState(context.Background(), "uploads/doc.txt")

	// the same event again, and an older removal: nothing changes
	e.send(s3Event("ObjectCreated:Put", "doc.txt", "0000000002"))
	e.send(s3Event("ObjectRemoved:Delete", "doc.txt", "0000000001"))
	wait(2)
	again, err := e.out.Get(context.Background(), text)
	st2, _, _ := e.pipeline.CurrentState(context.Background(), "uploads/doc.txt")
	if err != nil || !bytes.Equal(first, again) || !st1.Processed.Equal(st2.Processed) {
		t.Fatalf("duplicate or older event changed the outputs (err %v)", err)
	}
	// a newer removal (the object is really gone) deletes; the older creation delivered
	// late then changes nothing
	if _, err := e.s3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String("uploads"), Key: aws.String("doc.txt")}); err != nil {
		t.Fatal(err)
	}
	e.send(s3Event("ObjectRemoved:Delete", "doc.txt", "0000000003"))
	wait(1)
	if e.exists(text) || e.exists("text/uploads/doc.txt.txt") {
		t.Fatal("outputs kept after a removal")
	}
	e.send(s3Event("ObjectCreated:Put", "doc.txt", "0000000002"))
	wait(1)
	if e.exists(text) {
		t.Fatal("an older creation event resurrected a removed source")
	}
	// a newer creation processes again
	e.put("doc.txt", []byte("version four of the document"))
	e.send(s3Event("ObjectCreated:Put", "doc.txt", "0000000004"))
	wait(1)
	if !e.exists(text) {
		t.Fatal("a newer creation was not processed")
	}
	stop()
}

func TestWorkerPoisonAndDLQ(t *testing.T) {
	e := newEnv(t, 2*time.Second, 2, func(c *worker.PipelineConfig) {
		// an extractor that always fails transiently, for one file type
		c.Extractors[extractors.FormatCSV] = worker.ExtractorFunc(func(context.Context, []byte) (document.Document, error) {
			return document.Document{}, fmt.Errorf("backend unavailable")
		})
	})
	e.put("bad.csv", []byte("a,b\n1,2"))
	e.put("good.txt", []byte("a perfectly good document"))
	e.send(`{"this is": "not an S3 event"`)
	e.send(s3Event("ObjectCreated:Put", "bad.csv", "01"))
	e.send(s3Event("ObjectCreated:Put", "good.txt", "02"))
	stop := serve(t, e.consumer(worker.ConsumerConfig{Visibility: 2 * time.Second, Heartbeat: time.Second}))
	emulators.Eventually(t, 60*time.Second, "the poison message in the DLQ", func() bool {
		return depth(t, e.sqs, e.dlq) == 1 && depth(t, e.sqs, e.queue) == 0
	})
	stop()
	if !e.exists("chunks/uploads/good.txt.jsonl") {
		t.Fatal("the good document was not processed while the bad one was retried")
	}
	var rec worker.FailureRecord
	found := false
	e.out.List(context.Background(), "failed/_messages/", true, func(o storage.ObjectInfo) error {
		b, _ := e.out.Get(context.Background(), o.Key)
		json.Unmarshal(b, &rec)
		found = true
		return nil
	})
	if !found || rec.Reason != "malformed_event" || rec.MessageID == "" || !rec.Permanent {
		t.Fatalf("malformed message record: %+v", rec)
	}
	// the transiently failing document is no failure of its own: the worker writes no
	// failure record for it (its message is in the dead-letter queue, asserted above),
	// and a permanent one would be wrong
	if _, err := e.out.Get(context.Background(), "failed/uploads/bad.csv.json"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a transient failure left a failure record: %v", err)
	}
}

// gate is an extractor that blocks until released, counting how many run at once.
type gate struct {
	inner          worker.Extractor
	now, max, runs atomic.Int64
	hold           time.Duration
}

func (g *gate) Extract(ctx context.Context, data []byte) (document.Document, error) {
	n := g.now.Add(1)
	defer g.now.Add(-1)
	g.runs.Add(1)
	for {
		m := g.max.Load()
		if n <= m || g.max.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-time.After(g.hold):
	case <-ctx.Done():
		return document.Document{}, ctx.Err()
	}
	return g.inner.Extract(ctx, data)
}

// gatedEnv is an env whose text extractor is a gate holding each document for hold, with
// n text documents uploaded and their events queued (keys d0.txt, d1.txt, ...).
func gatedEnv(t *testing.T, hold, visibility time.Duration, n int) (*env, *gate) {
	g := &gate{hold: hold}
	e := newEnv(t, visibility, 0, func(c *worker.PipelineConfig) {
		g.inner = c.Extractors[extractors.FormatText]
		c.Extractors[extractors.FormatText] = g
	})
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("d%d.txt", i)
		e.put(key, []byte("document "+fmt.Sprint(i)))
		e.send(s3Event("ObjectCreated:Put", key, fmt.Sprintf("%02d", i)))
	}
	return e, g
}

// The bound and the heartbeat on the real wire protocol. What is asserted holds however
// loaded the machine is: at most two documents at once, every message deleted, and
// heartbeats sent (ChangeMessageVisibility accepted by the server). That a renewal keeps a
// message from being redelivered, and that the bound is reached exactly, are asserted
// deterministically in consumer_test.go.
func TestWorkerConcurrencyBoundAndHeartbeat(t *testing.T) {
	e, g := gatedEnv(t, 1500*time.Millisecond, 30*time.Second, 5)
	var deletes atomic.Int64
	reg := prometheus.NewRegistry()
	metrics := worker.NewMetrics(reg)
	c := e.consumerWith(worker.ConsumerConfig{MaxInFlight: 2, Heartbeat: 200 * time.Millisecond}, metrics)
	c.OnMessage = func(_ string, deleted bool, _ error) {
		if deleted {
			deletes.Add(1)
		}
	}
	stop := serve(t, c)
	emulators.Eventually(t, 60*time.Second, "all documents", func() bool { return deletes.Load() == 5 && depth(t, e.sqs, e.queue) == 0 })
	stop()
	if m := g.max.Load(); m > 2 {
		t.Fatalf("%d documents at once, over the bound of 2", m)
	}
	if ok := counterValue(t, reg, "docingest_heartbeats_total", "ok"); ok < 1 {
		t.Fatalf("%v heartbeats accepted by the server", ok)
	}
}

func TestWorkerShutdownDrains(t *testing.T) {
	e, g := gatedEnv(t, 2*time.Second, 30*time.Second, 6)
	var deleted atomic.Int64
	c := e.consumer(worker.ConsumerConfig{MaxInFlight: 2})
	c.OnMessage = func(_ string, d bool, _ error) {
		if d {
			deleted.Add(1)
		}
	}
	stop := serve(t, c)
	emulators.Eventually(t, 30*time.Second, "two documents in flight", func() bool { return g.now.Load() == 2 })
	if err := stop(); err != nil { // SIGTERM: stop receiving, drain
		t.Fatal(err)
	}
	if d := deleted.Load(); d != 2 {
		t.Fatalf("%d messages deleted; want the 2 in flight, finished, and no more", d)
	}
	n := 0
	for i := 0; i < 6; i++ {
		if e.exists(fmt.Sprintf("chunks/uploads/d%d.txt.jsonl", i)) {
			n++
		}
	}
	if n != 2 || depth(t, e.sqs, e.queue) != 4 {
		t.Fatalf("%d outputs, %d messages left; want 2 and 4", n, depth(t, e.sqs, e.queue))
	}
}

// TestWorkerSidecarEvents: a source's metadata sidecar is read with it, and an event for
// the sidecar reprocesses the source instead of being taken for a document.
func TestWorkerSidecarEvents(t *testing.T) {
	e := newEnv(t, 30*time.Second, 0, nil)
	e.put("in/doc.txt", []byte("Owls hunt at night."))
	e.put("in/doc.txt"+worker.SidecarSuffix, []byte(`{"metadataAttributes": {"topic": "birds"}}`))
	e.send(s3Event("ObjectCreated:Put", "in/doc.txt", "0A"))
	stop := serve(t, e.consumer(worker.ConsumerConfig{}))
	defer stop()
	topic := func() any {
		body, err := e.out.Get(context.Background(), "chunks/uploads/in/doc.txt.jsonl")
		if err != nil {
			return nil
		}
		var rec worker.ChunkRecord
		json.Unmarshal(bytes.SplitN(body, []byte("\n"), 2)[0], &rec)
		return rec.Metadata["topic"]
	}
	emulators.Eventually(t, 30*time.Second, "chunks with the sidecar's metadata", func() bool { return topic() == "birds" })
	e.put("in/doc.txt"+worker.SidecarSuffix, []byte(`{"metadataAttributes": {"topic": "raptors"}}`))
	e.send(s3Event("ObjectCreated:Put", "in/doc.txt"+worker.SidecarSuffix, "0B"))
	emulators.Eventually(t, 30*time.Second, "chunks with the new metadata and an empty queue", func() bool {
		return topic() == "raptors" && depth(t, e.sqs, e.queue) == 0
	})
	if e.exists("chunks/uploads/in/doc.txt.metadata.json.jsonl") || e.exists("failed/uploads/in/doc.txt.metadata.json.json") {
		t.Fatal("the sidecar was processed as a document")
	}
}
