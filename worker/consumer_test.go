package worker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/queue"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/vectorindex"
	"github.com/docingest/docingest/worker"
	"github.com/prometheus/client_golang/prometheus"
)

// The consumer's own invariants, on a queue in memory behind worker.Queue (the consumer's
// own small interface): deterministic, with the test deciding when each document may
// finish, instead of wall-clock holds against a visibility timeout on a loaded machine.

type visCall struct {
	receipt string
	seconds int32
}

// memQueue is queue.Memory (which passes the queue conformance suite with SQS) with a
// record of what the consumer did to it.
type memQueue struct {
	*queue.Memory
	mu             sync.Mutex
	outstanding    int // received, neither deleted nor handed back
	maxOutstanding int
	receipts       []string
	vis            []visCall
	visSeen        chan struct{} // a token per visibility call
	deleted        []string
}

func newMemQueue(bodies ...string) *memQueue {
	q := &memQueue{Memory: queue.NewMemory(), visSeen: make(chan struct{}, 1<<16)}
	for _, b := range bodies {
		q.Send(context.Background(), b)
	}
	return q
}

func (q *memQueue) Receive(ctx context.Context, n int, wait, visibility time.Duration) ([]queue.Delivery, error) {
	ds, err := q.Memory.Receive(ctx, n, wait, visibility)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.outstanding += len(ds)
	q.maxOutstanding = max(q.maxOutstanding, q.outstanding)
	for _, d := range ds {
		q.receipts = append(q.receipts, d.Receipt)
	}
	return ds, err
}

// Delete and ChangeVisibility record under the same lock as they act, so the record is in
// the order the queue saw the calls (a message handed back can be received, and handed
// back again, at once).
func (q *memQueue) Delete(ctx context.Context, d queue.Delivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	err := q.Memory.Delete(ctx, d)
	if err == nil {
		q.outstanding--
		q.deleted = append(q.deleted, d.ID)
	}
	return err
}

func (q *memQueue) ChangeVisibility(ctx context.Context, d queue.Delivery, visibility time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	err := q.Memory.ChangeVisibility(ctx, d, visibility)
	q.vis = append(q.vis, visCall{d.Receipt, int32(visibility / time.Second)})
	q.visSeen <- struct{}{}
	if err == nil && visibility == 0 {
		q.outstanding-- // handed back: visible again now
	}
	return err
}

func (q *memQueue) snapshot() (maxOutstanding int, vis []visCall, deleted []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.maxOutstanding, append([]visCall(nil), q.vis...), append([]string(nil), q.deleted...)
}

func (q *memQueue) firstReceipt() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.receipts) == 0 {
		return ""
	}
	return q.receipts[0]
}

// heldExtractor blocks every text document until the test lets it go (or its context
// ends), and counts how many are held at once.
type heldExtractor struct {
	inner         worker.Extractor
	entered       chan struct{}
	release       chan struct{}
	now, maxNow   atomic.Int64
	honourCtxOnly bool
}

func (h *heldExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	n := h.now.Add(1)
	defer h.now.Add(-1)
	for m := h.maxNow.Load(); n > m && !h.maxNow.CompareAndSwap(m, n); m = h.maxNow.Load() {
	}
	h.entered <- struct{}{}
	select {
	case <-h.release:
	case <-ctx.Done():
		return document.Document{}, ctx.Err()
	}
	return h.inner.Extract(ctx, data)
}

// memEnv is a consumer over a memQueue, with n text documents in a local folder (as
// bucket "uploads") and one event each in the queue.
func memEnv(t *testing.T, n int, cfg worker.ConsumerConfig) (*worker.Consumer, *memQueue, *heldExtractor, chan string) {
	t.Helper()
	return memEnvWith(t, n, cfg, nil)
}

// memEnvWith is memEnv with the body of message i from body(i, event) instead of event.
func memEnvWith(t *testing.T, n int, cfg worker.ConsumerConfig, body func(i int, event string) string) (*worker.Consumer, *memQueue, *heldExtractor, chan string) {
	t.Helper()
	return memEnvPipeline(t, n, cfg, body, nil)
}

// memEnvPipeline is memEnvWith with the pipeline's configuration changed by mod.
func memEnvPipeline(t *testing.T, n int, cfg worker.ConsumerConfig, body func(i int, event string) string, mod func(*worker.PipelineConfig)) (*worker.Consumer, *memQueue, *heldExtractor, chan string) {
	t.Helper()
	srcDir, outDir := t.TempDir(), t.TempDir()
	var bodies []string
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("d%d.txt", i)
		os.MkdirAll(filepath.Join(srcDir, "uploads"), 0o755)
		os.WriteFile(filepath.Join(srcDir, "uploads", key), []byte("document "+strconv.Itoa(i)), 0o644)
		ev := s3Event("ObjectCreated:Put", key, fmt.Sprintf("%02d", i))
		if body != nil {
			ev = body(i, ev)
		}
		bodies = append(bodies, ev)
	}
	q := newMemQueue(bodies...)
	pc := worker.TestingConfig("fp-mem")
	h := &heldExtractor{inner: pc.Extractors[extractors.FormatText], entered: make(chan struct{}, n), release: make(chan struct{})}
	pc.Extractors[extractors.FormatText] = h
	if mod != nil {
		mod(&pc)
	}
	src, _ := storage.NewLocal(srcDir)
	out, _ := storage.NewLocal(outDir)
	p, err := worker.NewPipeline(pc, out)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QueueURL = "mem"
	cfg.WaitTime = time.Second
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 4
	}
	if cfg.Visibility == 0 {
		cfg.Visibility, cfg.Heartbeat = 30*time.Second, 10*time.Second
	}
	cfg.BackoffBase, cfg.BackoffMax = time.Second, 2*time.Second
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	c, err := worker.NewConsumer(cfg, q, src, p, nil, worker.NewMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	settled := make(chan string, n*2)
	c.OnMessage = func(id string, deleted bool, _ error) {
		if deleted {
			settled <- id
		}
	}
	return c, q, h, settled
}

// A slot is taken before each receive: with max_in_flight 2, never more than two messages
// are out of the queue at once, and two documents are worked on together.
func TestConsumerBoundsMessagesInFlight(t *testing.T) {
	c, q, h, settled := memEnv(t, 5, worker.ConsumerConfig{MaxInFlight: 2})
	stop := serve(t, c)
	<-h.entered
	<-h.entered // two documents held: every slot is taken
	if m, _, _ := q.snapshot(); m != 2 {
		t.Fatalf("%d messages out of the queue with 2 slots", m)
	}
	close(h.release)
	for i := 0; i < 5; i++ {
		<-settled
	}
	stop()
	if m, _, deleted := q.snapshot(); m != 2 || len(deleted) != 5 || h.maxNow.Load() != 2 {
		t.Fatalf("at most %d messages out and %d documents at once (want 2 and 2); %d deleted", m, h.maxNow.Load(), len(deleted))
	}
}

// While a document is worked on, its message's visibility is renewed every heartbeat, to
// the full visibility timeout, until it is deleted.
func TestConsumerHeartbeatRenewsVisibility(t *testing.T) {
	c, q, h, settled := memEnv(t, 1, worker.ConsumerConfig{Visibility: 2 * time.Second, Heartbeat: 5 * time.Millisecond})
	stop := serve(t, c)
	<-h.entered
	for i := 0; i < 3; i++ {
		<-q.visSeen // three renewals while the document is held
	}
	close(h.release)
	<-settled
	stop()
	_, vis, deleted := q.snapshot()
	if len(deleted) != 1 {
		t.Fatalf("deleted %v", deleted)
	}
	for _, v := range vis {
		if v.receipt != q.firstReceipt() || v.seconds != 2 {
			t.Fatalf("visibility call %+v: want the message's receipt and 2 s", v)
		}
	}
}

// A message still in progress at the drain deadline is cancelled and handed back with a
// visibility of 0, so another worker takes it at once (before, it waited out its
// visibility timeout).
func TestConsumerHandsBackAtDrainDeadline(t *testing.T) {
	c, q, h, _ := memEnv(t, 1, worker.ConsumerConfig{DrainTimeout: time.Millisecond})
	stop := serve(t, c)
	<-h.entered // held until its context ends
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	_, vis, deleted := q.snapshot()
	// (a poll still under way when the stop came may take it again: that too is handed
	// back at once)
	if len(deleted) != 0 || len(vis) == 0 || vis[0] != (visCall{q.firstReceipt(), 0}) {
		t.Fatalf("deleted %v, visibility calls %+v: want the message handed back with 0", deleted, vis)
	}
	for _, v := range vis {
		if v.seconds != 0 {
			t.Fatalf("visibility calls %+v: every one hands the message back", vis)
		}
	}
}

// Visibility, wait and back-off are whole seconds (SQS counts in seconds) and the back-off
// at most SQS's 12 hours.
func TestConsumerConfigSeconds(t *testing.T) {
	t.Parallel()
	base := worker.ConsumerConfig{QueueURL: "q", MaxInFlight: 1, WaitTime: time.Second, Visibility: 2 * time.Second,
		Heartbeat: time.Second, BackoffBase: time.Second, BackoffMax: 12 * time.Hour, DrainTimeout: time.Second}
	if err := base.Validate(); err != nil {
		t.Fatalf("a back-off of exactly 12h: %v", err)
	}
	for name, tweak := range map[string]func(*worker.ConsumerConfig){
		"backoff_max":        func(c *worker.ConsumerConfig) { c.BackoffMax = 12*time.Hour + time.Second },
		"visibility_timeout": func(c *worker.ConsumerConfig) { c.Visibility = 1500 * time.Millisecond },
		"backoff_base":       func(c *worker.ConsumerConfig) { c.BackoffBase = 1500 * time.Millisecond },
		"wait_time":          func(c *worker.ConsumerConfig) { c.WaitTime = 500 * time.Millisecond },
	} {
		c := base
		tweak(&c)
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// An event for an object under the worker's own output prefix is the worker's output
// coming back: it is acknowledged and never processed (before, the worker ingested its
// own outputs forever).
func TestConsumerIgnoresItsOwnOutputs(t *testing.T) {
	c, q, h, settled := memEnvWith(t, 1, worker.ConsumerConfig{OutputBucket: "uploads", OutputPrefix: "v1/"}, func(int, string) string {
		return s3Event("ObjectCreated:Put", "v1/text/d0.txt.txt", "01") // an output of this worker
	})
	close(h.release)
	stop := serve(t, c)
	<-settled
	stop()
	if _, _, deleted := q.snapshot(); len(deleted) != 1 || h.maxNow.Load() != 0 {
		t.Fatalf("deleted %v, extractions %d: want the message acknowledged and nothing processed", deleted, h.maxNow.Load())
	}
}

// flakyIndex is a vector index whose first upsert fails.
type flakyIndex struct {
	mu       sync.Mutex
	calls    int
	upserted []string
}

func (f *flakyIndex) Upsert(_ context.Context, vs []vectorindex.Vector) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls == 1 {
		return nil, errors.New("index unavailable")
	}
	for _, v := range vs {
		f.upserted = append(f.upserted, v.ID)
	}
	return nil, nil
}

func (f *flakyIndex) Delete(context.Context, []string) error { return nil }

// A message whose commit could not update the vector index is kept, and its redelivery
// (same sequencer as the committed state) is processed again rather than skipped as
// already applied.
func TestConsumerRedoesAnEventTheIndexMissed(t *testing.T) {
	idx := &flakyIndex{}
	c, q, h, settled := memEnvPipeline(t, 1, worker.ConsumerConfig{}, nil, func(pc *worker.PipelineConfig) { pc.Vectors = idx })
	close(h.release)
	go func() { // the document is extracted once per delivery
		for range h.entered {
		}
	}()
	stop := serve(t, c)
	<-settled
	stop()
	_, _, deleted := q.snapshot()
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if len(deleted) != 1 || len(q.receipts) < 2 || idx.calls != 2 || len(idx.upserted) == 0 {
		t.Fatalf("deleted %v after %d receives; %d upserts, vectors %v: want the message received again and the index updated before it was deleted",
			deleted, len(q.receipts), idx.calls, idx.upserted)
	}
}
