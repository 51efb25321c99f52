package worker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docingest/docingest/chunkers"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/internal/emulators"
	"github.com/docingest/docingest/queue/sqsqueue"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
)

func (e *env) reindex(opts worker.ReindexOptions) worker.ReindexSummary {
	e.t.Helper()
	opts.Source = storage.NewS3Buckets(e.s3)
	if opts.Prefix == "" {
		opts.Prefix = "uploads/"
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 4
	}
	sum, err := e.pipeline.Reindex(context.Background(), opts)
	if err != nil {
		e.t.Fatalf("reindex: %v", err)
	}
	return sum
}

func planned(s worker.ReindexSummary, a worker.ReindexAction) int { return s.Planned[a].Sources }

func TestReindexEnqueue1000(t *testing.T) {
	e := newEnv(t, 30*time.Second, 0, nil)
	const n = 1000
	for i := 0; i < n; i++ {
		e.put(fmt.Sprintf("bulk/d%02d/doc %04d.txt", i/100, i), []byte(fmt.Sprintf("document %d of the bulk load, some words", i)))
	}
	var sent atomic.Int64
	sum := e.reindex(worker.ReindexOptions{Enqueue: func(ctx context.Context, objs []storage.ObjectInfo) error {
		if len(objs) > 10 {
			t.Errorf("batch of %d events", len(objs))
		}
		events := make([]sqsqueue.Object, len(objs))
		for i, o := range objs {
			bucket, key, _ := cut(o.Key)
			events[i] = sqsqueue.Object{Bucket: bucket, Key: key, ETag: o.ETag, Size: o.Size}
		}
		err := sqsqueue.New(e.sqs, e.queue).SendCreated(ctx, events)
		sent.Add(int64(len(objs)))
		return err
	}})
	if sum.Enqueued != n || sent.Load() != n || planned(sum, worker.ReindexNew) != n {
		t.Fatalf("enqueued %d (sent %d), planned %v", sum.Enqueued, sent.Load(), sum.Planned)
	}
	if d := depth(t, e.sqs, e.queue); d != n {
		t.Fatalf("%d messages in the queue, want %d", d, n)
	}
	stop := serve(t, e.consumer(worker.ConsumerConfig{MaxInFlight: 8}))
	emulators.Eventually(t, 120*time.Second, "the queue drained", func() bool { return depth(t, e.sqs, e.queue) == 0 })
	stop()
	files := 0
	e.out.List(context.Background(), "chunks/", true, func(storage.ObjectInfo) error { files++; return nil })
	if files != n {
		t.Fatalf("%d chunk files for %d sources", files, n)
	}
	// everything is now unchanged
	if s := e.reindex(worker.ReindexOptions{DryRun: true}); planned(s, worker.ReindexUnchanged) != n || s.ToDo().Sources != 0 {
		t.Fatalf("after the workers: %v", s.Planned)
	}
}

func cut(k string) (string, string, bool) {
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			return k[:i], k[i+1:], true
		}
	}
	return k, "", false
}

func TestReindexIncrementalOrphansAndTwins(t *testing.T) {
	e := newS3Env(t, nil)
	ctx := context.Background()
	const n = 30
	for i := 0; i < n; i++ {
		e.put(fmt.Sprintf("docs/doc%02d.txt", i), []byte(fmt.Sprintf("original text of document %d", i)))
	}
	e.put("docs/twin-a.txt", []byte("identical content in two sources"))
	e.put("docs/twin-b.txt", []byte("identical content in two sources"))
	first := e.reindex(worker.ReindexOptions{})
	if first.Processed != n+2 || planned(first, worker.ReindexNew) != n+2 {
		t.Fatalf("first: %+v", first)
	}
	// change 10 objects: exactly those are redone
	for i := 0; i < 10; i++ {
		e.put(fmt.Sprintf("docs/doc%02d.txt", i), []byte(fmt.Sprintf("changed text of document %d", i)))
	}
	var redone []string
	var mu sync.Mutex
	second := e.reindex(worker.ReindexOptions{OnDone: func(o worker.Object, a worker.ReindexAction, _ worker.Result, _ error) {
		mu.Lock()
		redone = append(redone, o.Key)
		mu.Unlock()
	}})
	if second.Processed != 10 || planned(second, worker.ReindexChanged) != 10 || planned(second, worker.ReindexUnchanged) != n-10+2 {
		t.Fatalf("second: %+v %v", second, redone)
	}
	// a new chunker configuration (new fingerprint): everything made by the old one is redone
	emb, _ := embedders.NewHashing(embedders.DefaultHashing())
	cfg := e.cfg
	cfg.Fingerprint = "fp-test-2"
	newChunker := chunkers.Sentence{Config: chunkers.Config{Max: 50, Overlap: 10}, Sizer: emb.Tokenizer()}
	cfg.ChunkerFor = func(string, string) worker.Chunker { return newChunker }
	p2, err := worker.NewPipeline(cfg, e.out)
	if err != nil {
		t.Fatal(err)
	}
	e.pipeline = p2
	third := e.reindex(worker.ReindexOptions{})
	if third.Processed != n+2 || planned(third, worker.ReindexStale) != n+2 {
		t.Fatalf("after the config change: %+v", third)
	}
	if fourth := e.reindex(worker.ReindexOptions{}); fourth.Processed != 0 || fourth.ToDo().Sources != 0 {
		t.Fatalf("a further run did something: %+v", fourth)
	}
	// delete 5 sources, one of them a byte-identical twin of a kept one
	gone := []string{"docs/doc20.txt", "docs/doc21.txt", "docs/doc22.txt", "docs/doc23.txt", "docs/twin-b.txt"}
	for _, k := range gone {
		if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("uploads"), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	fifth := e.reindex(worker.ReindexOptions{})
	if fifth.Removed != 5 || planned(fifth, worker.ReindexOrphan) != 5 || fifth.Processed != 0 {
		t.Fatalf("orphans: %+v", fifth)
	}
	for _, k := range gone {
		for _, out := range []string{"text/uploads/" + k + ".txt", "chunks/uploads/" + k + ".jsonl"} {
			if e.exists(out) {
				t.Errorf("%s kept after its source was deleted", out)
			}
		}
	}
	if !e.exists("chunks/uploads/docs/twin-a.txt.jsonl") || !e.exists("text/uploads/docs/twin-a.txt.txt") {
		t.Fatal("the kept twin lost its outputs")
	}
	if sixth := e.reindex(worker.ReindexOptions{}); sixth.Removed != 0 || sixth.ToDo().Sources != 0 {
		t.Fatalf("removed sources planned again: %+v", sixth)
	}
}

func TestReindexResumable(t *testing.T) {
	e := newS3Env(t, nil)
	const n = 60
	for i := 0; i < n; i++ {
		e.put(fmt.Sprintf("r/doc%02d.txt", i), []byte(fmt.Sprintf("resumable document %d", i)))
	}
	var mu sync.Mutex
	counts := map[string]int{}
	ctx, cancel := context.WithCancel(context.Background())
	opts := worker.ReindexOptions{Source: storage.NewS3Buckets(e.s3), Prefix: "uploads/", Concurrency: 2,
		OnDone: func(o worker.Object, _ worker.ReindexAction, r worker.Result, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil && r.Failure == nil {
				counts[o.Key]++
			}
			if len(counts) == 20 {
				cancel() // interrupted a third of the way
			}
		}}
	if _, err := e.pipeline.Reindex(ctx, opts); err == nil {
		t.Fatal("the interrupted reindex reported no error")
	}
	opts.OnDone = func(o worker.Object, _ worker.ReindexAction, r worker.Result, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil && r.Failure == nil {
			counts[o.Key]++
		}
	}
	sum, err := e.pipeline.Reindex(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for k, c := range counts {
		if c != 1 {
			t.Errorf("%s processed %d times", k, c)
		}
	}
	for i := 0; i < n; i++ {
		if !e.exists(fmt.Sprintf("chunks/uploads/r/doc%02d.txt.jsonl", i)) {
			t.Errorf("doc%02d has no outputs after the rerun (%+v)", i, sum)
		}
	}
	if s := e.reindex(worker.ReindexOptions{Prefix: "uploads/r/"}); s.ToDo().Sources != 0 {
		t.Fatalf("work left after the rerun: %v", s.Planned)
	}
}

func TestReindexLocalFolder(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	for i := 0; i < 5; i++ {
		os.WriteFile(filepath.Join(src, fmt.Sprintf("n%d.md", i)), []byte(fmt.Sprintf("# Note %d\n\nbody", i)), 0o644)
	}
	os.WriteFile(filepath.Join(src, "skip.bin"), []byte("not selected"), 0o644)
	outDir := t.TempDir()
	out, _ := storage.NewLocal(outDir)
	cfg := worker.TestingConfig("fp-local")
	cfg.NoETag = true
	p, err := worker.NewPipeline(cfg, out)
	if err != nil {
		t.Fatal(err)
	}
	local, _ := storage.NewLocal(src)
	run := func() worker.ReindexSummary {
		s, err := p.Reindex(context.Background(), worker.ReindexOptions{Source: local, Suffixes: []string{".md"}, Concurrency: 2})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := run(); s.Processed != 5 {
		t.Fatalf("first: %+v", s)
	}
	if s := run(); s.Processed != 0 || planned(s, worker.ReindexUnchanged) != 5 {
		t.Fatalf("second: %+v", s)
	}
	os.Remove(filepath.Join(src, "n0.md"))
	if s := run(); s.Removed != 1 {
		t.Fatalf("after a delete: %+v", s)
	}
	if _, err := os.Stat(filepath.Join(outDir, "chunks", "n0.md.jsonl")); err == nil {
		t.Fatal("outputs of a deleted file kept")
	}
	if _, err := os.Stat(filepath.Join(outDir, "chunks", "skip.bin.jsonl")); err == nil {
		t.Fatal("suffix filter ignored")
	}
}
