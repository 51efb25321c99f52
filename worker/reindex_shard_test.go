package worker_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
)

// awkwardKeys are names whose escaped state paths sort differently from the keys: a file
// beside a folder of the same name, folders that end like output files, characters that
// escaping moves (":" becomes "%3A", below every letter), a segment long enough to be
// hashed, and sources with sidecars.
func awkwardKeys() []string {
	keys := []string{
		"t/a.txt", "t/a.txt/b.txt", "t/a.txt/c.txt", "t/a.txt-2.txt", "t/a/b.txt",
		"t/b", "t/b/c.txt", "t/b.txt",
		"t/x:1.txt", "t/x0.txt", "t/x;1.txt", "t/x%1.txt", "t/x 1.txt", "t/xé.txt", "t/x|1.txt",
		"t/" + strings.Repeat("long", 60) + ".txt", "t/" + strings.Repeat("long", 60) + "/z.txt",
		"t/s1.txt", "t/s2.txt",
	}
	for i := range 24 {
		keys = append(keys, fmt.Sprintf("t/n/doc%02d.txt", i))
	}
	return keys
}

func (e *env) del(key string) {
	e.t.Helper()
	if _, err := e.s3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key)}); err != nil {
		e.t.Fatal(err)
	}
}

// plan runs a dry-run reindex and returns what it planned for each key.
func (e *env) plan(r *worker.KeyRange, mem int, fanout ...int) map[string]worker.ReindexAction {
	e.t.Helper()
	got := map[string]worker.ReindexAction{}
	fan := 0
	if len(fanout) > 0 {
		fan = fanout[0]
	}
	e.reindex(worker.ReindexOptions{DryRun: true, Range: r, SortMemory: mem, TempDir: e.t.TempDir(), ListFanout: fan,
		OnPlan: func(key string, a worker.ReindexAction) {
			if prev, ok := got[key]; ok {
				e.t.Errorf("%s planned twice (%s, %s)", key, prev, a)
			}
			got[key] = a
		}})
	return got
}

// shardedSetup processes the awkward keys, then changes, removes and adds some: the plan
// then holds every action.
func shardedSetup(t *testing.T) *env {
	e := newS3Env(t, nil)
	for _, k := range awkwardKeys() {
		e.put(k, []byte("the text of "+k))
	}
	e.put("t/s1.txt"+worker.SidecarSuffix, []byte(`{"metadataAttributes": {"team": "a"}}`))
	e.put("t/s2.txt"+worker.SidecarSuffix, []byte(`{"metadataAttributes": {"team": "b"}}`))
	first := e.reindex(worker.ReindexOptions{})
	if first.Failed > 1 || first.Processed < len(awkwardKeys())-1 { // t/b has no extension
		t.Fatalf("first pass: %+v", first)
	}
	for _, k := range []string{"t/a.txt", "t/x:1.txt", "t/n/doc03.txt", "t/b/c.txt"} {
		e.put(k, []byte("changed text of "+k))
	}
	e.put("t/s2.txt"+worker.SidecarSuffix, []byte(`{"metadataAttributes": {"team": "c"}}`))
	for _, k := range []string{"t/a.txt/b.txt", "t/x;1.txt", "t/n/doc10.txt", "t/" + strings.Repeat("long", 60) + ".txt"} {
		e.del(k)
	}
	for _, k := range []string{"t/a.txt/a.txt", "t/x:0.txt", "t/n/doc10b.txt", "t/c.txt"} {
		e.put(k, []byte("new text of "+k))
	}
	return e
}

// Split at any key (and between keys), two shards plan together exactly what one
// unsharded reindex plans: every source once, with the same action, orphans included,
// however escaping moves the state paths against the keys. Small sort buffers make the
// sorts spill, so the merge reads runs from disk.
func TestReindexShardsPartitionThePlan(t *testing.T) {
	e := shardedSetup(t)
	want := e.plan(nil, 0)
	counts := map[worker.ReindexAction]int{}
	for _, a := range want {
		counts[a]++
	}
	for _, a := range []worker.ReindexAction{worker.ReindexNew, worker.ReindexChanged, worker.ReindexUnchanged, worker.ReindexOrphan} {
		if counts[a] == 0 {
			t.Fatalf("the reference plan has no %s source: %v", a, want)
		}
	}
	if counts[worker.ReindexOrphan] != 4 || want["uploads/t/s2.txt"] != worker.ReindexChanged || want["uploads/t/s1.txt"] != worker.ReindexUnchanged {
		t.Fatalf("reference plan: %v", want)
	}
	if spilled := e.plan(nil, 64); !maps.Equal(spilled, want) {
		t.Fatalf("with spilled sorts the plan differs:\n%v\nwant\n%v", spilled, want)
	}
	for _, fan := range []int{2, 5, 64} {
		if got := e.plan(nil, 0, fan); !maps.Equal(got, want) {
			t.Fatalf("listed in %d parts at once, the plan differs:\n%v\nwant\n%v", fan, got, want)
		}
	}
	// n shards from the recorded split points (bounds where escaping is not monotonic
	// among them), each listing in parts: together exactly the whole plan.
	for n := 2; n <= 9; n++ {
		union := map[string]worker.ReindexAction{}
		for i := range n {
			r, fromSplits, err := e.pipeline.ShardRange(context.Background(), "uploads/", i, n)
			if err != nil || !fromSplits {
				t.Fatalf("shard %d/%d: %v %v", i, n, err, fromSplits)
			}
			for k, a := range e.plan(r, 0, 1+i%3) {
				if prev, ok := union[k]; ok {
					t.Errorf("%d shards: %s planned twice (%s, %s)", n, k, prev, a)
				}
				union[k] = a
			}
		}
		if !maps.Equal(union, want) {
			t.Errorf("%d shards plan %v\nwant %v", n, union, want)
		}
	}
	var bounds []string
	for k := range want {
		bounds = append(bounds, k)
	}
	bounds = append(bounds, "uploads/t/a.txt/", "uploads/t/x:", "uploads/t/x", "uploads/t/b/", "uploads/t/n/doc10", "uploads/t/s1.txt"+worker.SidecarSuffix)
	slices.Sort(bounds)
	for i, b := range bounds {
		mem := 0
		if i%3 == 0 {
			mem = 96
		}
		lo := e.plan(&worker.KeyRange{UpTo: b}, mem, i%4)
		hi := e.plan(&worker.KeyRange{After: b}, mem, i%5)
		union := maps.Clone(lo)
		for k, a := range hi {
			if prev, ok := union[k]; ok {
				t.Errorf("split at %q: %s planned by both shards (%s, %s)", b, k, prev, a)
			}
			union[k] = a
		}
		if !maps.Equal(union, want) {
			for k, a := range want {
				if union[k] != a {
					t.Errorf("split at %q: %s planned %q, want %q", b, k, union[k], a)
				}
			}
			for k := range union {
				if _, ok := want[k]; !ok {
					t.Errorf("split at %q: %s planned but not in the reference", b, k)
				}
			}
		}
	}
}

// Shards from recorded split points divide the sources about evenly and enqueue, between
// them, each source to do exactly once; orphans are removed by exactly one shard.
func TestReindexShardsEnqueue(t *testing.T) {
	e := shardedSetup(t)
	want := e.plan(nil, 0)
	const n = 3
	var mu sync.Mutex
	sent := map[string]int{}
	removed := 0
	var sizes []int
	for i := range n {
		r, fromSplits, err := e.pipeline.ShardRange(context.Background(), "uploads/", i, n)
		if err != nil || !fromSplits {
			t.Fatalf("shard %d: %v, from split points %v (the first pass records them)", i, err, fromSplits)
		}
		planned := 0
		sum := e.reindex(worker.ReindexOptions{Range: r, EnqueueConcurrency: 3, OnPlan: func(string, worker.ReindexAction) { planned++ },
			Enqueue: func(_ context.Context, objs []storage.ObjectInfo) error {
				mu.Lock()
				defer mu.Unlock()
				for _, o := range objs {
					sent[o.Key]++
				}
				return nil
			}})
		removed += sum.Removed
		sizes = append(sizes, planned)
	}
	for k, a := range want {
		todo := a != worker.ReindexUnchanged && a != worker.ReindexOrphan
		if todo && sent[k] != 1 || !todo && sent[k] != 0 {
			t.Errorf("%s (%s) sent %d times", k, a, sent[k])
		}
	}
	if removed != 4 {
		t.Errorf("%d orphans removed, want 4", removed)
	}
	for _, s := range sizes {
		if s < len(want)/n/2 {
			t.Errorf("shard sizes %v: split points should spread %d sources evenly", sizes, len(want))
		}
	}
	// Without split points for the prefix, the ranges still cover every key once.
	var all []string
	for i := range 4 {
		r, fromSplits, err := e.pipeline.ShardRange(context.Background(), "uploads/t/", i, 4)
		if err != nil || fromSplits {
			t.Fatalf("shard %d of another prefix: %v %v", i, err, fromSplits)
		}
		for k := range e.plan(r, 0) {
			all = append(all, k)
		}
	}
	if len(all) != len(want)-4 { // the orphans are gone now
		t.Errorf("fallback ranges planned %d sources, want %d", len(all), len(want)-4)
	}
}

// A reindex that enqueues and stops part way (an error, a SIGTERM) records how far it got;
// run again, it sends only the rest. A finished one, or --restart, starts over.
func TestReindexCheckpoint(t *testing.T) {
	e := newS3Env(t, nil)
	for i := range 95 {
		e.put(fmt.Sprintf("c/doc%02d.txt", i), []byte(fmt.Sprintf("checkpointed document %d", i)))
	}
	var sent []string
	fail := errors.New("queue unavailable")
	send := func(limit int) func(context.Context, []storage.ObjectInfo) error {
		return func(_ context.Context, objs []storage.ObjectInfo) error {
			if limit >= 0 && len(sent) >= limit {
				return fail
			}
			for _, o := range objs {
				sent = append(sent, o.Key)
			}
			return nil
		}
	}
	opts := worker.ReindexOptions{Source: storage.NewS3Buckets(e.s3), Prefix: "uploads/", Checkpoint: "all", EnqueueConcurrency: 1}
	opts.Enqueue = send(40)
	if _, err := e.pipeline.Reindex(context.Background(), opts); !errors.Is(err, fail) {
		t.Fatalf("first pass: %v", err)
	}
	if len(sent) != 40 {
		t.Fatalf("%d sent before the failure", len(sent))
	}
	if _, err := e.out.Get(context.Background(), layout.ReindexCheckpoint("all")); err != nil {
		t.Fatalf("no checkpoint: %v", err)
	}
	opts.Enqueue = send(-1)
	sum, err := e.pipeline.Reindex(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 95 || sum.Enqueued != 55 || sum.Resumed != 40 {
		t.Fatalf("resumed: %d sent in all, %d this time, %d skipped as sent", len(sent), sum.Enqueued, sum.Resumed)
	}
	seen := map[string]bool{}
	for _, k := range sent {
		if seen[k] {
			t.Errorf("%s sent twice", k)
		}
		seen[k] = true
	}
	// finished: the next pass sends everything again (nothing was processed)
	if sum, _ := e.pipeline.Reindex(context.Background(), opts); sum.Enqueued != 95 || sum.Resumed != 0 {
		t.Errorf("after a finished pass: %d sent, %d skipped", sum.Enqueued, sum.Resumed)
	}
	// stopped again, then --restart
	sent = nil
	opts.Enqueue = send(20)
	e.pipeline.Reindex(context.Background(), opts)
	opts.Enqueue, opts.Restart = send(-1), true
	if sum, _ := e.pipeline.Reindex(context.Background(), opts); sum.Enqueued != 95 || sum.Resumed != 0 {
		t.Errorf("with Restart: %d sent, %d skipped", sum.Enqueued, sum.Resumed)
	}
	// a pass with other options does not take this checkpoint
	sent = nil
	opts.Enqueue, opts.Restart = send(30), false
	e.pipeline.Reindex(context.Background(), opts)
	opts.Enqueue, opts.Suffixes = send(-1), []string{".txt"}
	if sum, _ := e.pipeline.Reindex(context.Background(), opts); sum.Resumed != 0 || sum.Enqueued != 95 {
		t.Errorf("other options resumed a checkpoint: %d sent, %d skipped", sum.Enqueued, sum.Resumed)
	}
}

// Planning from an inventory (a listing in no order, taken at a moment): it plans as a
// listing would, sidecars included; a source processed after the report was taken is
// left alone though the report shows an older version, and a state written after it is
// not an orphan although the report lacks its source.
func TestReindexFromInventory(t *testing.T) {
	e := shardedSetup(t)
	want := e.plan(nil, 0)
	// The report: what a listing shows now, shuffled.
	var listing []storage.ObjectInfo
	storage.NewS3Buckets(e.s3).List(context.Background(), "uploads/", true, func(o storage.ObjectInfo) error {
		listing = append(listing, o)
		return nil
	})
	for i := range listing {
		j := (i * 7919) % len(listing)
		listing[i], listing[j] = listing[j], listing[i]
	}
	taken := time.Now()
	fromReport := func(r *worker.KeyRange) map[string]worker.ReindexAction {
		got := map[string]worker.ReindexAction{}
		e.reindex(worker.ReindexOptions{DryRun: true, Range: r, SortMemory: 128, TempDir: t.TempDir(), ListingTime: taken,
			Listing: func(_ context.Context, fn func(storage.ObjectInfo) error) error {
				for _, o := range listing {
					if err := fn(o); err != nil {
						return err
					}
				}
				return nil
			},
			OnPlan: func(k string, a worker.ReindexAction) { got[k] = a }})
		return got
	}
	if got := fromReport(nil); !maps.Equal(got, want) {
		t.Fatalf("from the report:\n%v\nwant what the listing plans:\n%v", got, want)
	}
	lo, hi := fromReport(&worker.KeyRange{UpTo: "uploads/t/n/doc05.txt"}), fromReport(&worker.KeyRange{After: "uploads/t/n/doc05.txt"})
	maps.Copy(lo, hi)
	if !maps.Equal(lo, want) {
		t.Errorf("two shards from the report differ from the whole plan:\n%v", lo)
	}
	// After the report: a new upload processed by the event path, and a changed source
	// processed too. Neither is touched by a plan from the old report.
	time.Sleep(1100 * time.Millisecond) // S3 keeps LastModified to the second
	taken = time.Now().Add(-time.Second)
	e.put("t/after-report.txt", []byte("uploaded after the report"))
	e.put("t/n/doc07.txt", []byte("changed after the report"))
	for _, k := range []string{"uploads/t/after-report.txt", "uploads/t/n/doc07.txt"} {
		if _, err := e.pipeline.Process(context.Background(), storage.NewS3Buckets(e.s3), worker.ObjectAt(k), 1); err != nil {
			t.Fatal(err)
		}
	}
	got := fromReport(nil)
	if a, ok := got["uploads/t/after-report.txt"]; ok {
		t.Errorf("a source uploaded after the report was planned as %s", a)
	}
	if got["uploads/t/n/doc07.txt"] != worker.ReindexUnchanged {
		t.Errorf("a source processed after the report was planned as %s", got["uploads/t/n/doc07.txt"])
	}
}
