package worker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/layout"
)

// The pipeline's caps, each at its limit and one past it (issue 14, section 8).

func failureOf(t *testing.T, outDir, source string) *FailureRecord {
	t.Helper()
	var found *FailureRecord
	ListFailures(context.Background(), newLocal(t, outDir), func(_ string, r FailureRecord) error {
		if r.Key() == source {
			found = &r
		}
		return nil
	})
	return found
}

func TestCapObjectBytes(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "fp")
	cfg.Limits.MaxObjectBytes = 1 << 10
	outDir := t.TempDir()
	p := newPipeline(t, cfg, newLocal(t, outDir))
	at := bytes.Repeat([]byte("word "), 1<<10/5)
	at = append(at, bytes.Repeat([]byte("x"), 1<<10-len(at))...)
	src := fakeSource{"at.txt": at, "over.txt": append(bytes.Clone(at), 'x')}
	if sum := run(t, p, src, BatchOptions{}); sum.Failed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if r := failureOf(t, outDir, "over.txt"); r == nil || r.Reason != string(document.ReasonTooLarge) {
		t.Fatalf("one byte over the object cap: %+v", r)
	}
	if r := failureOf(t, outDir, "at.txt"); r != nil {
		t.Fatalf("exactly the object cap: %+v", r)
	}
}

func TestCapSidecarBytes(t *testing.T) {
	t.Parallel()
	// a sidecar of exactly n bytes: {"metadataAttributes": {"a": "xxx…"}}
	sidecar := func(n int) []byte {
		head, tail := `{"metadataAttributes": {"a": "`, `"}}`
		return []byte(head + strings.Repeat("x", n-len(head)-len(tail)) + tail)
	}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "at.txt"), []byte("A document with a sidecar at the cap."), 0o644)
	os.WriteFile(filepath.Join(src, "at.txt"+SidecarSuffix), sidecar(maxSidecarBytes), 0o644)
	os.WriteFile(filepath.Join(src, "over.txt"), []byte("A document with a sidecar one byte over."), 0o644)
	os.WriteFile(filepath.Join(src, "over.txt"+SidecarSuffix), sidecar(maxSidecarBytes+1), 0o644)
	outDir := t.TempDir()
	p := newPipeline(t, testConfig(t, "fp"), newLocal(t, outDir))
	if sum := run(t, p, newLocal(t, src), BatchOptions{}); sum.Failed != 1 || sum.Processed != 2 {
		t.Fatalf("summary %+v", sum)
	}
	if r := failureOf(t, outDir, "over.txt"); r == nil || r.Reason != string(document.ReasonTooLarge) {
		t.Fatalf("a sidecar one byte over the cap: %+v", r)
	}
}

func TestBoundedWriter(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := &boundedWriter{w: &buf, key: "k", budget: 10}
	if _, err := w.Write(make([]byte, 10)); err != nil {
		t.Fatalf("exactly the bound: %v", err)
	}
	_, err := w.Write([]byte{0})
	if r, permanent := document.Classify(err); !permanent || r != document.ReasonTooLarge {
		t.Fatalf("one byte past the bound: %v", err)
	}
	if buf.Len() != 10 {
		t.Fatalf("%d bytes passed on", buf.Len())
	}
}

// A chunking that repeats the whole text in every chunk (as a 40 MB heading repeated in
// every heading_path once did) is stopped by the output bound: a too_large failure record,
// no text or chunk file left, instead of a full disk.
func TestOutputBound(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("Herons stand still in the shallows and wait. ", 4000) // 180 KB
	for _, tc := range []struct {
		copies int
		fail   bool
	}{{2, false}, {200, true}} {
		cfg := testConfig(t, "fp")
		cfg.ChunkerFor = func(string, string) Chunker {
			return ChunkerFunc(func(_ context.Context, doc document.Document) ([]document.Span, error) {
				spans := make([]document.Span, tc.copies)
				for i := range spans {
					spans[i] = document.Span{Start: 0, End: len(doc.Text), Tokens: 1, Parent: -1}
				}
				return spans, nil
			})
		}
		outDir := t.TempDir()
		p := newPipeline(t, cfg, newLocal(t, outDir))
		run(t, p, fakeSource{"doc.txt": []byte(text)}, BatchOptions{})
		r := failureOf(t, outDir, "doc.txt")
		if !tc.fail {
			if r != nil {
				t.Fatalf("%d copies of the text: %+v", tc.copies, r)
			}
			continue
		}
		if r == nil || r.Reason != string(document.ReasonTooLarge) || !strings.Contains(r.Error, "bound") {
			t.Fatalf("%d copies of the text: %+v", tc.copies, r)
		}
		for _, k := range []string{layout.Text("doc.txt"), layout.Chunks("doc.txt")} {
			if _, err := os.Stat(filepath.Join(outDir, filepath.FromSlash(k))); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s left behind: %v", k, err)
			}
		}
	}
}

// An extraction past its deadline has really ended when Process returns: the caller's
// slot is never freed while the extractor still runs (before, the pipeline returned at the
// deadline and left the extractor allocating). The extractor here takes its time to stop
// after its context ends; Process must wait for it.
func TestTimeoutWaitsForExtractor(t *testing.T) {
	t.Parallel()
	var running atomic.Bool
	release := make(chan struct{})
	sawDeadline := make(chan struct{})
	cfg := testConfig(t, "fp")
	cfg.Limits.DocumentTimeout = time.Millisecond
	cfg.Extractors["text"] = ExtractorFunc(func(ctx context.Context, _ []byte) (document.Document, error) {
		running.Store(true)
		defer running.Store(false)
		<-ctx.Done()
		close(sawDeadline)
		<-release // slow to notice, as a parser deep in a loop is
		return document.Document{}, ctx.Err()
	})
	outDir := t.TempDir()
	p := newPipeline(t, cfg, newLocal(t, outDir))
	type outcome struct {
		res         Result
		err         error
		stillRuning bool
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := p.Process(context.Background(), fakeSource{"slow.txt": []byte("text")}, ObjectAt("slow.txt"), 1)
		done <- outcome{res, err, running.Load()}
	}()
	<-sawDeadline
	select {
	case o := <-done:
		t.Fatalf("Process returned while its extractor still ran: %+v", o)
	case <-time.After(200 * time.Millisecond):
		// Process is still waiting for the extractor, as it must (a wrong pipeline returns
		// within milliseconds of the deadline; this wait cannot fail a right one).
	}
	close(release)
	o := <-done
	if o.err != nil || o.stillRuning || o.res.Failure == nil || o.res.Failure.Reason != string(document.ReasonTimeout) {
		t.Fatalf("outcome %+v", o)
	}
}

// A Markdown note that mentions "%PDF-" in its first KiB was sent to the PDF extractor and
// failed as corrupt: when the PDF reading fails, the name's format is tried.
func TestNotPDFAfterAll(t *testing.T) {
	t.Parallel()
	outDir := t.TempDir()
	p := newPipeline(t, testConfig(t, "fp"), newLocal(t, outDir))
	note := "# PDF headers\n\nEvery PDF starts with `%PDF-1.7` on its first line.\n"
	if sum := run(t, p, fakeSource{"note.md": []byte(note), "broken.pdf": []byte("%PDF-1.4\nnot really a pdf")}, BatchOptions{}); sum.Failed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if r := failureOf(t, outDir, "broken.pdf"); r == nil || r.Reason != string(document.ReasonCorrupt) {
		t.Fatalf("a broken PDF named .pdf stays corrupt: %+v", r)
	}
	text, err := os.ReadFile(filepath.Join(outDir, "text", "note.md.txt"))
	if err != nil || !strings.Contains(string(text), "Every PDF starts with") {
		t.Fatalf("note: %q %v", text, err)
	}
}

// readCapped reads the whole object whatever the size it was told (right, too small, too
// large, unknown) and however the reader hands out bytes, stops one byte past the cap,
// and passes the reader's error on.
func TestReadCapped(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 10_000) // 100,000 bytes
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(data) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data[:3000])) },
		"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
		"data+EOF": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
	}
	for name, r := range readers {
		want := data
		if name == "one byte" {
			want = data[:3000]
		}
		for _, size := range []int64{0, int64(len(want)), int64(len(want)) - 7, int64(len(want)) * 3} {
			got, err := readCapped(r(), size, 1<<20)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s, told %d bytes: %d bytes, %v", name, size, len(got), err)
			}
		}
		// the cap: at it the whole object; one past it, limit+1 bytes and no more
		got, err := readCapped(r(), int64(len(want)), int64(len(want)))
		if err != nil || len(got) != len(want) {
			t.Errorf("%s at the cap: %d bytes, %v", name, len(got), err)
		}
		got, err = readCapped(r(), int64(len(want)), int64(len(want))-1)
		if err != nil || len(got) != len(want) {
			t.Errorf("%s one past the cap: %d bytes (want the cap plus one), %v", name, len(got), err)
		}
		got, _ = readCapped(r(), 0, 100)
		if len(got) != 101 {
			t.Errorf("%s, unknown size over a cap of 100: %d bytes read", name, len(got))
		}
	}
	boom := errors.New("connection reset")
	if _, err := readCapped(iotest.TimeoutReader(bytes.NewReader(data)), int64(len(data)), 1<<20); err == nil {
		t.Error("a reader's error was dropped")
	}
	if _, err := readCapped(io.MultiReader(bytes.NewReader(data[:10]), iotest.ErrReader(boom)), 0, 1<<20); !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
}
