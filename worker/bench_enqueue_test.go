package worker_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/docingest/docingest/queue/sqsqueue"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
)

// TestBenchReindexEnqueue measures reindex --enqueue's sending (from the end of the plan
// to the last batch) against a bare loop of the same SendMessageBatch calls, one after
// another, to the same fauxqs in the same run. bench/reindex-enqueue.sh runs it.
func TestBenchReindexEnqueue(t *testing.T) {
	if os.Getenv("BENCH") == "" {
		t.Skip("set BENCH=1 (bench/reindex-enqueue.sh does)")
	}
	n, _ := strconv.Atoi(os.Getenv("BENCH_KEYS"))
	if n == 0 {
		n = 5000
	}
	e := newEnv(t, 5*time.Minute, 0, nil)
	for i := range n {
		e.put(fmt.Sprintf("bulk/doc%06d.txt", i), []byte("x"))
	}
	q := sqsqueue.New(e.sqs, e.queue)
	send := func(ctx context.Context, objs []storage.ObjectInfo) error {
		events := make([]sqsqueue.Object, len(objs))
		for i, o := range objs {
			bucket, key, _ := cut(o.Key)
			events[i] = sqsqueue.Object{Bucket: bucket, Key: key, ETag: o.ETag, Size: o.Size}
		}
		return q.SendCreated(ctx, events)
	}
	var objs []storage.ObjectInfo
	storage.NewS3Buckets(e.s3).List(context.Background(), "uploads/bulk/", true, func(o storage.ObjectInfo) error {
		objs = append(objs, o)
		return nil
	})
	bare := func() time.Duration {
		start := time.Now()
		for i := 0; i < len(objs); i += 10 {
			if err := send(context.Background(), objs[i:min(len(objs), i+10)]); err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(start)
	}
	reindex := func(conc int) time.Duration {
		var start time.Time
		sum, err := e.pipeline.Reindex(context.Background(), worker.ReindexOptions{Source: storage.NewS3Buckets(e.s3), Prefix: "uploads/bulk/",
			Enqueue: send, EnqueueConcurrency: conc, OnPlanned: func(worker.ReindexSummary) { start = time.Now() }})
		if err != nil || sum.Enqueued != n {
			t.Fatalf("enqueued %d of %d: %v", sum.Enqueued, n, err)
		}
		return time.Since(start)
	}
	tb, t1, t8 := bare(), reindex(1), reindex(8)
	fmt.Printf("%6d sources  bare loop %.2fs (%.0f/s)  reindex --enqueue-concurrency 1 %.2fs (%.2fx the bare loop)  8 %.2fs (%.2fx, %.0f/s)\n",
		n, tb.Seconds(), float64(n)/tb.Seconds(), t1.Seconds(), t1.Seconds()/tb.Seconds(), t8.Seconds(), t8.Seconds()/tb.Seconds(), float64(n)/t8.Seconds())
}
