package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docingest/docingest/internal/emulators"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
	"golang.org/x/sync/errgroup"
)

// TestBenchReindexPlan measures planning a reindex of BENCH_KEYS sources (all unchanged,
// so the plan is the whole cost) against a bare ListObjectsV2 walk of the same prefix, in
// the same run on the same server. bench/reindex.sh runs it; it is skipped otherwise.
func TestBenchReindexPlan(t *testing.T) {
	if os.Getenv("BENCH") == "" {
		t.Skip("set BENCH=1 (bench/reindex.sh does)")
	}
	n, _ := strconv.Atoi(os.Getenv("BENCH_KEYS"))
	if n == 0 {
		n = 10000
	}
	client := emulators.S3Client(emulators.GoFakeS3(t))
	emulators.CreateBucket(t, client, "uploads")
	emulators.CreateBucket(t, client, "out")
	ctx := context.Background()
	out := storage.NewS3(client, "out", "v1", storage.S3Options{})
	p := newPipeline(t, testConfig(t, "fp-bench"), out)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := 0; i < n; i++ {
		g.Go(func() error {
			key := fmt.Sprintf("corpus/d%03d/doc%06d.txt", i/1000, i)
			body := []byte("document " + strconv.Itoa(i))
			res, err := client.PutObject(gctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key), Body: bytes.NewReader(body)})
			if err != nil {
				return err
			}
			etag := trimQuotes(aws.ToString(res.ETag))
			st := State{Schema: 1, Source: "uploads/" + key, ETag: etag, Pipeline: "fp-bench", Status: statusOK, Processed: time.Now()}
			b, _ := json.Marshal(st)
			return out.Put(gctx, layout.StateDir(st.Source)+layout.StateName("fp-bench", etag), bytes.NewReader(b))
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	src := storage.NewS3Buckets(client)
	bare := func() time.Duration {
		start := time.Now()
		c := 0
		pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String("uploads"), Prefix: aws.String("corpus/")})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c += len(page.Contents)
		}
		if c != n {
			t.Fatalf("listed %d of %d", c, n)
		}
		return time.Since(start)
	}
	plan := func() time.Duration {
		start := time.Now()
		sum, err := p.Reindex(ctx, ReindexOptions{Source: src, Prefix: "uploads/corpus/", DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Planned[ReindexUnchanged].Sources != n || sum.ToDo().Sources != 0 {
			t.Fatalf("plan %v", sum.Planned)
		}
		return time.Since(start)
	}
	best := func(f func() time.Duration) time.Duration {
		b := f()
		for i := 0; i < 2; i++ {
			b = min(b, f())
		}
		return b
	}
	tb, tp := best(bare), best(plan)
	fmt.Printf("%7d keys  bare ListObjectsV2 walk %8.3fs   reindex plan %8.3fs   plan/walk %.2fx\n", n, tb.Seconds(), tp.Seconds(), tp.Seconds()/tb.Seconds())
}

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
