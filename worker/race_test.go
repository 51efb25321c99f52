package worker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docingest/docingest/internal/emulators"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// The interleavings of issue 14 (section 4), forced with pauses inside the pipeline rather
// than sleeps, on both S3 servers: two pipelines share one output prefix, as two workers
// (or a worker and a reindex) do.

type raceEnv struct {
	t      *testing.T
	client *s3.Client
	src    *storage.S3Buckets
	out    *storage.S3
}

func raceServers(t *testing.T, fn func(t *testing.T, e *raceEnv)) {
	for _, server := range []struct {
		name  string
		start func(testing.TB) string
	}{{"gofakes3", emulators.GoFakeS3}, {"versitygw", emulators.Versitygw}} {
		t.Run(server.name, func(t *testing.T) {
			url := server.start(t)
			c := emulators.S3Client(url)
			emulators.CreateBucket(t, c, "uploads")
			emulators.CreateBucket(t, c, "out")
			fn(t, &raceEnv{t: t, client: c, src: storage.NewS3Buckets(c), out: storage.NewS3(c, "out", "v1/", storage.S3Options{})})
		})
	}
}

func (e *raceEnv) put(key, body string) {
	e.t.Helper()
	if _, err := e.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *raceEnv) del(key string) {
	e.t.Helper()
	if _, err := e.client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key)}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *raceEnv) pipeline() *Pipeline {
	e.t.Helper()
	cfg := TestingConfig("fp1")
	cfg.SourceURI = func(k string) string { return "s3://" + k }
	return newPipeline(e.t, cfg, e.out)
}

func (e *raceEnv) text(source string) (string, bool) {
	b, err := e.out.Get(context.Background(), layout.Text(source))
	if errors.Is(err, storage.ErrNotFound) {
		return "", false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b), true
}

// gate blocks the first call of a pipeline at one stage until released, and tells when
// that call has arrived.
type gate struct {
	stage   string
	once    sync.Once
	arrived chan struct{}
	release chan struct{}
}

func newGate(stage string) *gate {
	return &gate{stage: stage, arrived: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) pause(stage, _ string) {
	if stage != g.stage {
		return
	}
	g.once.Do(func() {
		close(g.arrived)
		<-g.release
	})
}

// A slow worker read v1; another processed v2 and committed; the slow one then writes
// its v1 outputs over v2's and commits last. Its commit must lose, and it must settle on
// v2, the object as it is now (before: outputs stayed at v1 for good).
func TestRaceSlowOlderWriterLoses(t *testing.T) {
	raceServers(t, func(t *testing.T, e *raceEnv) {
		ctx := context.Background()
		const key = "uploads/doc.txt"
		e.put("doc.txt", "version one of the document, about owls.")
		slow, fast := e.pipeline(), e.pipeline()
		g := newGate("fetched")
		slow.pause = g.pause
		done := make(chan error, 1)
		go func() {
			_, err := slow.Process(ctx, e.src, Object{ObjectInfo: storage.ObjectInfo{Key: key}, Sequencer: "0A"}, 1)
			done <- err
		}()
		<-g.arrived
		e.put("doc.txt", "version two of the document, about larks.")
		if _, err := fast.Process(ctx, e.src, Object{ObjectInfo: storage.ObjectInfo{Key: key}, Sequencer: "0B"}, 1); err != nil {
			t.Fatal(err)
		}
		close(g.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if text, _ := e.text(key); !strings.Contains(text, "larks") {
			t.Fatalf("outputs left at the older version: %q", text)
		}
		st, found, err := slow.CurrentState(ctx, key)
		if err != nil || !found || st.Status != statusOK || st.Sequencer != "0B" {
			t.Fatalf("state %+v %v %v", st, found, err)
		}
	})
}

// A create that read the object before it was deleted finishes after the removal: it
// must not bring the outputs back nor replace the tombstone.
func TestRaceSlowCreateAfterDelete(t *testing.T) {
	raceServers(t, func(t *testing.T, e *raceEnv) {
		ctx := context.Background()
		const key = "uploads/gone.txt"
		e.put("gone.txt", "a document that is about to be deleted.")
		slow, remover := e.pipeline(), e.pipeline()
		g := newGate("fetched")
		slow.pause = g.pause
		done := make(chan error, 1)
		go func() {
			_, err := slow.Process(ctx, e.src, Object{ObjectInfo: storage.ObjectInfo{Key: key}, Sequencer: "10"}, 1)
			done <- err
		}()
		<-g.arrived
		e.del("gone.txt")
		removed, err := remover.RemoveGone(ctx, e.src, key, "11")
		if err != nil || !removed {
			t.Fatalf("removal: %v %v", removed, err)
		}
		close(g.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if text, ok := e.text(key); ok {
			t.Fatalf("outputs of a deleted source came back: %q", text)
		}
		if _, err := e.out.Get(ctx, layout.Chunks(key)); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("chunks of a deleted source came back: %v", err)
		}
		st, found, err := remover.CurrentState(ctx, key)
		if err != nil || !found || st.Status != statusDeleted || st.Sequencer != "11" {
			t.Fatalf("tombstone replaced: %+v %v %v", st, found, err)
		}
	})
}

// The reverse order: the removal checks that the object is gone, then a create commits
// before the removal does. The removal loses its commit, finds the object gone still,
// and removes again.
func TestRaceRemovalCommitsLast(t *testing.T) {
	raceServers(t, func(t *testing.T, e *raceEnv) {
		ctx := context.Background()
		const key = "uploads/late.txt"
		e.put("late.txt", "first content of a document.")
		creator, remover := e.pipeline(), e.pipeline()
		cg := newGate("commit")
		creator.pause = cg.pause
		created := make(chan error, 1)
		go func() {
			_, err := creator.Process(ctx, e.src, Object{ObjectInfo: storage.ObjectInfo{Key: key}, Sequencer: "20"}, 1)
			created <- err
		}()
		<-cg.arrived // the creator's outputs are written; its commit waits
		e.del("late.txt")
		rg := newGate("commit")
		remover.pause = rg.pause
		removed := make(chan error, 1)
		go func() {
			_, err := remover.RemoveGone(ctx, e.src, key, "21")
			removed <- err
		}()
		<-rg.arrived                      // outputs deleted; the tombstone's commit waits
		close(cg.release)                 // the creator commits first
		if err := <-created; err != nil { // and then the removal, which loses and settles
			t.Fatal(err)
		}
		close(rg.release)
		if err := <-removed; err != nil {
			t.Fatal(err)
		}
		if _, ok := e.text(key); ok {
			t.Fatal("outputs of a deleted source left behind")
		}
		st, _, err := remover.CurrentState(ctx, key)
		if err != nil || st.Status != statusDeleted {
			t.Fatalf("state %+v %v", st, err)
		}
	})
}

// Reindex plans an orphan, then the object is uploaded again before the removal: the
// outputs stay. A removal by reindex orders nothing: its tombstone has no sequencer, so a
// later real event is not judged older (before: "reindex:<time>" sorted after every hex
// sequencer and poisoned the key); it keeps the sequencer of the last real event.
func TestReindexOrphanRecreatedAndTombstone(t *testing.T) {
	raceServers(t, func(t *testing.T, e *raceEnv) {
		ctx := context.Background()
		e.put("a.txt", "a document about herons.")
		e.put("b.txt", "a document about storks.")
		p := e.pipeline()
		for _, k := range []string{"uploads/a.txt", "uploads/b.txt"} {
			if _, err := p.Process(ctx, e.src, Object{ObjectInfo: storage.ObjectInfo{Key: k}, Sequencer: "05"}, 1); err != nil {
				t.Fatal(err)
			}
		}
		e.del("a.txt")
		e.del("b.txt")
		sum, err := p.Reindex(ctx, ReindexOptions{
			Source: e.src, Prefix: "uploads/", Concurrency: 1,
			OnPlanned: func(s ReindexSummary) {
				if s.Planned[ReindexOrphan].Sources != 2 {
					t.Errorf("planned %+v", s.Planned)
				}
				e.put("a.txt", "a document about herons, uploaded again.") // between planning and removal
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Removed != 1 {
			t.Fatalf("removed %d, want 1 (b.txt)", sum.Removed)
		}
		if _, ok := e.text("uploads/a.txt"); !ok {
			t.Fatal("the outputs of an object uploaded again were removed")
		}
		st, _, err := p.CurrentState(ctx, "uploads/b.txt")
		// the tombstone keeps the last real event's sequencer, nothing synthetic
		if err != nil || st.Status != statusDeleted || st.Sequencer != "05" {
			t.Fatalf("reindex tombstone %+v %v", st, err)
		}
		// b.txt comes back with a real event: it is processed.
		e.put("b.txt", "storks again.")
		if _, err := p.Process(ctx, e.src, Object{ObjectInfo: storage.ObjectInfo{Key: "uploads/b.txt"}, Sequencer: "06"}, 1); err != nil {
			t.Fatal(err)
		}
		if text, _ := e.text("uploads/b.txt"); !strings.Contains(text, "storks again") {
			t.Fatalf("text %q", text)
		}
	})
}

// A head read before another writer's commit cannot be committed over it, on both
// servers (the conditional write itself).
func TestStateHeadIsConditional(t *testing.T) {
	raceServers(t, func(t *testing.T, e *raceEnv) {
		ctx := context.Background()
		p := e.pipeline()
		head, err := p.readHead(ctx, "uploads/x.txt")
		if err != nil || head.found {
			t.Fatal(head, err)
		}
		st := State{Schema: 1, Source: "uploads/x.txt", Status: statusOK, Pipeline: "fp1", Processed: time.Now()}
		if err := p.putState(ctx, st, head); err != nil {
			t.Fatal(err)
		}
		if err := p.putState(ctx, st, head); !errors.Is(err, errConflict) {
			t.Fatalf("second commit from the same head: %v, want a conflict", err)
		}
		head2, _ := p.readHead(ctx, "uploads/x.txt")
		if err := p.putState(ctx, st, head2); err != nil {
			t.Fatal(err)
		}
		if err := p.putState(ctx, st, head); !errors.Is(err, errConflict) {
			t.Fatalf("commit from a stale head: %v, want a conflict", err)
		}
		_ = bytes.MinRead
	})
}

// A source key near S3's 1,024-byte limit gets outputs whose keys stay under it (before,
// the output keys went over, the writes failed as transient and the message ended in the
// dead-letter queue with no failure record).
func TestLongSourceKeyOnS3(t *testing.T) {
	raceServers(t, func(t *testing.T, e *raceEnv) {
		ctx := context.Background()
		key := strings.Repeat(strings.Repeat("k", 99)+"/", 10) + strings.Repeat("d", 10) + ".txt" // 1,014 bytes
		e.put(key, "a document under a very long key.")
		p := e.pipeline()
		res, err := p.Process(ctx, e.src, ObjectAt("uploads/"+key), 1)
		if err != nil || res.Failure != nil {
			t.Fatalf("%+v %v", res, err)
		}
		if text, ok := e.text("uploads/" + key); !ok || !strings.Contains(text, "very long key") {
			t.Fatalf("text %q", text)
		}
	})
}

// An S3-compatible server that does not implement conditional writes (it answers
// NotImplemented to If-Match / If-None-Match) still gets its outputs and state: the commit
// falls back to a plain write, and says so in the log.
func TestCommitWithoutConditionalWrites(t *testing.T) {
	backend := emulators.GoFakeS3(t)
	target, _ := url.Parse(backend)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var refused atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && (r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Match") != "") {
			refused.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotImplemented)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented.</Message></Error>`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c := emulators.S3Client(srv.URL)
	emulators.CreateBucket(t, c, "uploads")
	emulators.CreateBucket(t, c, "out")
	e := &raceEnv{t: t, client: c, src: storage.NewS3Buckets(c), out: storage.NewS3(c, "out", "v1/", storage.S3Options{})}
	e.put("plain.txt", "a document on a server without conditional writes.")
	p := e.pipeline()
	if res, err := p.Process(context.Background(), e.src, ObjectAt("uploads/plain.txt"), 1); err != nil || res.Failure != nil {
		t.Fatalf("%+v %v", res, err)
	}
	st, found, err := p.CurrentState(context.Background(), "uploads/plain.txt")
	if err != nil || !found || st.Status != statusOK || refused.Load() == 0 {
		t.Fatalf("state %+v %v %v, %d conditional writes refused", st, found, err, refused.Load())
	}
}
