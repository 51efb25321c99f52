package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docingest/docingest/extractors/pdf"

	"github.com/docingest/docingest/chunkers"
	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/internal/pdftest"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// testConfig wires the real extractors, a recursive chunker and the hashing embedder, as
// cmd/docingest does with its defaults.
func testConfig(t testing.TB, fp string) PipelineConfig {
	t.Helper()
	c := TestingConfig(fp)
	c.Limits.PDFTimeoutBase = 30 * time.Second
	c.NoETag = true
	return c
}

// TestingConfig is the pipeline configuration every test of this package (and of
// worker_test, through this test file) starts from.
func TestingConfig(fp string) PipelineConfig {
	emb, err := embedders.NewHashing(embedders.DefaultHashing())
	if err != nil {
		panic(err)
	}
	lim := extractors.Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}
	chunker := chunkers.Recursive{Config: chunkers.Config{Max: 200, Overlap: 20}, Sizer: emb.Tokenizer()}
	return PipelineConfig{
		Detect: extractors.Detect, DetectNotPDF: extractors.DetectNotPDF,
		Extractors: map[string]Extractor{
			extractors.FormatPDF:      pdf.Extractor{Limits: lim},
			extractors.FormatHTML:     extractors.HTMLExtractor{Limits: lim},
			extractors.FormatMarkdown: extractors.MarkdownExtractor{Limits: lim},
			extractors.FormatText:     extractors.TextExtractor{Limits: lim},
			extractors.FormatDOCX:     extractors.DOCXExtractor{Limits: lim},
			extractors.FormatCSV:      extractors.CSVExtractor{Limits: lim},
			extractors.FormatJSON:     extractors.JSONExtractor{Limits: lim},
		},
		ChunkerFor:  func(string, string) Chunker { return chunker },
		Tokenizer:   "words",
		Embedder:    emb,
		EmbedBatch:  16,
		Fingerprint: fp,
		Limits:      Limits{MaxObjectBytes: 100 << 20, DocumentTimeout: 30 * time.Second},
	}
}

func newLocal(t testing.TB, dir string) *storage.Local {
	t.Helper()
	l, err := storage.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func newPipeline(t testing.TB, cfg PipelineConfig, out Store) *Pipeline {
	t.Helper()
	p, err := NewPipeline(cfg, out)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// copyTree copies testdata files into a fresh folder.
func copyTree(t testing.TB, from string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		os.MkdirAll(filepath.Dir(target), 0o755)
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// snapshot reads every output file except state/ (which holds wall-clock times).
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, layout.StateRoot) {
			return nil
		}
		b, _ := os.ReadFile(p)
		out[rel] = string(b)
		return nil
	})
	return out
}

func run(t testing.TB, p *Pipeline, src Source, opts BatchOptions) Summary {
	t.Helper()
	opts.Source = src
	if opts.Concurrency == 0 {
		opts.Concurrency = 4
	}
	sum, err := p.RunBatch(context.Background(), opts)
	if err != nil {
		t.Fatalf("RunBatch: %v", err)
	}
	return sum
}

func readChunks(t testing.TB, path string) []ChunkRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []ChunkRecord
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var r ChunkRecord
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, r)
	}
	return out
}

func TestRunSampleDocuments(t *testing.T) {
	t.Parallel()
	src := copyTree(t, "../testdata/docs")
	outDir := t.TempDir()
	p := newPipeline(t, testConfig(t, "fp1"), newLocal(t, outDir))
	sum := run(t, p, newLocal(t, src), BatchOptions{})
	files, _ := os.ReadDir(src)
	if sum.Listed != len(files) || sum.Failed != 0 || sum.Processed != len(files) || sum.Chunks == 0 {
		t.Fatalf("summary %+v for %d files", sum, len(files))
	}
	for _, f := range files {
		name := f.Name()
		text, err := os.ReadFile(filepath.Join(outDir, "text", name+".txt"))
		if err != nil {
			t.Fatalf("%s: no text output: %v", name, err)
		}
		recs := readChunks(t, filepath.Join(outDir, "chunks", name+".jsonl"))
		if len(recs) == 0 {
			t.Fatalf("%s: no chunks", name)
		}
		ids := map[string]bool{}
		for i, r := range recs {
			switch {
			case r.Schema != 1 || r.Index != i || r.Pipeline != "fp1" || r.Tokenizer != "words":
				t.Fatalf("%s chunk %d: header fields %+v", name, i, r)
			case string(text[r.Start:r.End]) != r.Text:
				t.Fatalf("%s chunk %d: text[start:end] differs from the chunk text", name, i)
			case len(r.Embedding) != 384 || r.EmbeddingModel == "":
				t.Fatalf("%s chunk %d: embedding of %d dims, model %q", name, i, len(r.Embedding), r.EmbeddingModel)
			case r.Tokens > 200 || r.Tokens < 1:
				t.Fatalf("%s chunk %d: %d tokens", name, i, r.Tokens)
			case r.Source.URI != name || len(r.Source.SHA256) != 64 || r.Source.ETag != "":
				t.Fatalf("%s chunk %d: source %+v", name, i, r.Source)
			case ids[r.ID]:
				t.Fatalf("%s chunk %d: duplicate id", name, i)
			case r.HeadingPath == nil:
				t.Fatalf("%s chunk %d: heading_path missing", name, i)
			}
			ids[r.ID] = true
			var norm float64
			for _, v := range r.Embedding {
				norm += float64(v) * float64(v)
			}
			if norm < 0.99 || norm > 1.01 {
				t.Fatalf("%s chunk %d: embedding norm² %.3f", name, i, norm)
			}
		}
		if strings.HasSuffix(name, ".pdf") && (recs[0].PageStart != 1 || recs[len(recs)-1].PageEnd < 50) {
			t.Fatalf("%s: pages %d..%d", name, recs[0].PageStart, recs[len(recs)-1].PageEnd)
		}
	}
	// The Markdown guide's chunks carry the heading structure.
	found := false
	for _, r := range readChunks(t, filepath.Join(outDir, "chunks", "report.docx.jsonl")) {
		found = found || slices.Equal(r.HeadingPath, []string{"Quarterly report", "Summary"}) || slices.Contains(r.HeadingPath, "Quarterly report")
	}
	if !found {
		t.Error("no DOCX chunk carries the heading path")
	}
	if entries, _ := os.ReadDir(filepath.Join(outDir, "failed")); len(entries) != 0 {
		t.Fatalf("failure records for good documents: %v", entries)
	}
}

func TestIdempotentAndIncremental(t *testing.T) {
	t.Parallel()
	src := copyTree(t, "../testdata/docs")
	os.MkdirAll(filepath.Join(src, "bad"), 0o755)
	os.WriteFile(filepath.Join(src, "bad", "empty.txt"), nil, 0o644)
	outDir := t.TempDir()
	out := newLocal(t, outDir)
	srcStore := newLocal(t, src)
	p := newPipeline(t, testConfig(t, "fp1"), out)

	first := run(t, p, srcStore, BatchOptions{})
	snap1 := snapshot(t, outDir)
	if first.Failed != 1 {
		t.Fatalf("first run: %+v", first)
	}

	// Unchanged input: nothing is processed, the failed document is not retried.
	second := run(t, p, srcStore, BatchOptions{})
	if second.Processed != 0 || second.Skipped != first.Listed {
		t.Fatalf("second run processed %d, skipped %d of %d", second.Processed, second.Skipped, second.Listed)
	}

	// --force: everything again, byte-identical.
	forced := run(t, p, srcStore, BatchOptions{Force: true})
	if forced.Processed != first.Listed {
		t.Fatalf("forced run: %+v", forced)
	}
	snap2 := snapshot(t, outDir)
	for k, v := range snap1 {
		if k == "failed/bad/empty.txt.json" {
			continue // its attempt count is the only thing that may change
		}
		if snap2[k] != v {
			t.Fatalf("%s changed on a forced rerun", k)
		}
	}
	if len(snap1) != len(snap2) {
		t.Fatalf("outputs %d then %d", len(snap1), len(snap2))
	}

	// A touched file (new mtime, same bytes) is not reprocessed; its state follows.
	notes := filepath.Join(src, "notes.txt")
	later := time.Now().Add(time.Hour)
	os.Chtimes(notes, later, later)
	touched := run(t, p, srcStore, BatchOptions{})
	if touched.Processed != 0 {
		t.Fatalf("touched file reprocessed: %+v", touched)
	}
	if again := run(t, p, srcStore, BatchOptions{}); again.Processed != 0 {
		t.Fatalf("state not renamed after touch: %+v", again)
	}

	// A changed file is the only one redone.
	os.WriteFile(notes, []byte("Completely new notes about owls.\n"), 0o644)
	changed := run(t, p, srcStore, BatchOptions{})
	if changed.Processed != 1 || changed.Skipped != changed.Listed-1 {
		t.Fatalf("changed run: %+v", changed)
	}
	if text, _ := os.ReadFile(filepath.Join(outDir, "text", "notes.txt.txt")); string(text) != "Completely new notes about owls." {
		t.Fatalf("text not updated: %q", text)
	}

	// A changed pipeline (fingerprint) redoes everything.
	p2 := newPipeline(t, testConfig(t, "fp2"), out)
	if s := run(t, p2, srcStore, BatchOptions{}); s.Processed != s.Listed {
		t.Fatalf("new fingerprint: %+v", s)
	}
	// and leaves one marker per source, beside its head
	stateFiles := 0
	filepath.WalkDir(filepath.Join(outDir, "state"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != "head.json" {
			stateFiles++
			if !strings.HasPrefix(d.Name(), "fp2-") {
				t.Errorf("stale state file %s", p)
			}
		}
		return nil
	})
	if stateFiles != first.Listed {
		t.Fatalf("%d state files for %d sources", stateFiles, first.Listed)
	}

	// --dry-run changes nothing.
	os.WriteFile(notes, []byte("Owls again, changed.\n"), 0o644)
	before := snapshot(t, outDir)
	dry := run(t, p2, srcStore, BatchOptions{DryRun: true})
	if dry.Processed != 1 || dry.PlannedBytes != int64(len("Owls again, changed.\n")) {
		t.Fatalf("dry run: %+v", dry)
	}
	if diff := len(snapshot(t, outDir)); diff != len(before) || snapshot(t, outDir)["text/notes.txt.txt"] != before["text/notes.txt.txt"] {
		t.Fatal("dry run wrote outputs")
	}
}

func TestHostileInputsEndInFailureRecords(t *testing.T) {
	t.Parallel()
	src := copyTree(t, "../testdata/hostile")
	os.WriteFile(filepath.Join(src, "deep.pdf"), pdftest.DeepPageTreePDF(100_000), 0o644)
	os.WriteFile(filepath.Join(src, "ok.txt"), []byte("One good document among the bad."), 0o644)
	outDir := t.TempDir()
	p := newPipeline(t, testConfig(t, "fp1"), newLocal(t, outDir))
	sum := run(t, p, newLocal(t, src), BatchOptions{})
	want := map[string]document.Reason{
		"corrupt.docx":   document.ReasonCorrupt,
		"empty.txt":      document.ReasonEmpty,
		"encrypted.pdf":  document.ReasonEncrypted,
		"garbage.docx":   document.ReasonCorrupt,
		"image.png":      document.ReasonUnsupported,
		"scanned.pdf":    document.ReasonNoTextLayer,
		"truncated.json": document.ReasonCorrupt,
		"truncated.pdf":  document.ReasonCorrupt,
		"whitespace.txt": document.ReasonEmpty,
		"deep.pdf":       document.ReasonCorrupt,
	}
	if sum.Failed != len(want) || sum.Processed != len(want)+1 {
		t.Fatalf("summary %+v", sum)
	}
	got := map[string]FailureRecord{}
	err := ListFailures(context.Background(), newLocal(t, outDir), func(_ string, r FailureRecord) error {
		got[r.Source] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, reason := range want {
		r, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: no failure record", name)
		case r.Reason != string(reason) || !r.Permanent || r.Attempts != 1 || r.Pipeline != "fp1":
			t.Errorf("%s: record %+v, want reason %s", name, r, reason)
		case !strings.Contains(r.Error, name):
			t.Errorf("%s: error does not name the file: %q", name, r.Error)
		}
		if _, err := os.Stat(filepath.Join(outDir, "chunks", name+".jsonl")); err == nil {
			t.Errorf("%s: failed document has chunk output", name)
		}
	}
	if !strings.Contains(got["scanned.pdf"].Error, "no text layer (a scan: only OCR reads it)") {
		t.Errorf("scanned.pdf: %q", got["scanned.pdf"].Error)
	}

	// retry: only the failed ones, with their attempt counted
	var retried []string
	var mu sync.Mutex
	s := run(t, p, newLocal(t, src), BatchOptions{RetryFailed: true, OnDone: func(o Outcome) {
		mu.Lock()
		retried = append(retried, o.Object.Key)
		mu.Unlock()
	}})
	if s.Processed != len(want) || slices.Contains(retried, "ok.txt") {
		t.Fatalf("retry: %+v %v", s, retried)
	}
	body, _ := os.ReadFile(filepath.Join(outDir, "failed", "empty.txt.json"))
	var rec FailureRecord
	json.Unmarshal(body, &rec)
	if rec.Attempts != 2 {
		t.Fatalf("attempts after retry: %d", rec.Attempts)
	}
	// a fixed document leaves the failed list
	os.WriteFile(filepath.Join(src, "empty.txt"), []byte("not empty any more"), 0o644)
	run(t, p, newLocal(t, src), BatchOptions{})
	if _, err := os.Stat(filepath.Join(outDir, "failed", "empty.txt.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("failure record kept after the document succeeded")
	}
}

// fakeSource serves documents from memory under any key, including hostile ones.
type fakeSource map[string][]byte

func (f fakeSource) List(ctx context.Context, prefix string, recursive bool, fn func(storage.ObjectInfo) error) error {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := fn(storage.ObjectInfo{Key: k, Size: int64(len(f[k])), ETag: fmt.Sprint(len(f[k]))}); err != nil {
			return err
		}
	}
	return nil
}

func (f fakeSource) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	data, ok := f[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func TestOutputNeverLeavesItsFolder(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	outDir := filepath.Join(parent, "out")
	src := fakeSource{}
	for _, k := range []string{"../../escape.txt", "../sibling.txt", "/abs/path.txt", "a/../../b.txt", "./dot.txt",
		"nul\x00name.txt", "a//b.txt", strings.Repeat("long", 100) + ".txt", "dir/" + strings.Repeat("é", 200), "..", ".", ""} {
		src[k] = []byte(fmt.Sprintf("text for %q", k))
	}
	p := newPipeline(t, testConfig(t, "fp"), newLocal(t, outDir))
	sum := run(t, p, src, BatchOptions{OnDone: func(o Outcome) {
		if o.Err != nil || o.Result.Failure != nil {
			t.Logf("%q: %v %+v", o.Object.Key, o.Err, o.Result.Failure)
		}
	}})
	if sum.Failed != 0 || sum.Processed != len(src) {
		t.Fatalf("summary %+v", sum)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 || entries[0].Name() != "out" {
		t.Fatalf("files written next to the output folder: %v", entries)
	}
	n := 0
	filepath.WalkDir(outDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Name()) > 255 {
			t.Errorf("name over 255 bytes: %s", d.Name())
		}
		if !d.IsDir() && strings.HasPrefix(p, filepath.Join(outDir, "text")) {
			n++
		}
		return nil
	})
	if n != len(src) {
		t.Fatalf("%d text outputs for %d sources (collisions?)", n, len(src))
	}
}

// slowExtractor blocks until its context ends; panicky panics.
type slowExtractor struct{}

func (slowExtractor) Extract(ctx context.Context, _ []byte) (document.Document, error) {
	<-ctx.Done()
	return document.Document{}, ctx.Err()
}

func TestGuards(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "fp")
	cfg.Limits.DocumentTimeout = 200 * time.Millisecond
	cfg.Limits.MaxObjectBytes = 1 << 10
	cfg.Extractors["markdown"] = slowExtractor{}
	cfg.Extractors["csv"] = ExtractorFunc(func(context.Context, []byte) (document.Document, error) { panic("boom") })
	outDir := t.TempDir()
	p := newPipeline(t, cfg, newLocal(t, outDir))
	src := fakeSource{
		"slow.md":  []byte("# never finishes"),
		"bad.csv":  []byte("a,b\n1,2"),
		"big.txt":  bytes.Repeat([]byte("x"), 2<<10),
		"fine.txt": []byte("This one is fine."),
	}
	sum := run(t, p, src, BatchOptions{})
	if sum.Failed != 3 || sum.Processed != 4 {
		t.Fatalf("summary %+v", sum)
	}
	want := map[string]string{"slow.md": "timeout", "bad.csv": "corrupt", "big.txt": "too_large"}
	ListFailures(context.Background(), newLocal(t, outDir), func(_ string, r FailureRecord) error {
		if want[r.Source] != r.Reason {
			t.Errorf("%s: reason %s (%s), want %s", r.Source, r.Reason, r.Error, want[r.Source])
		}
		if r.Source == "slow.md" && !strings.Contains(r.Error, "200ms") {
			t.Errorf("timeout does not name the cap: %s", r.Error)
		}
		if r.Source == "bad.csv" && !strings.Contains(r.Error, "boom") {
			t.Errorf("panic not reported: %s", r.Error)
		}
		return nil
	})
}

// countingExtractor records the most calls in flight at once.
type countingExtractor struct {
	inner          Extractor
	now, max       atomic.Int64
	release, begin chan struct{}
}

func (c *countingExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(2 * time.Millisecond) // hold the slot, so that overlap is likely if allowed
	return c.inner.Extract(ctx, data)
}

func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "fp")
	ce := &countingExtractor{inner: cfg.Extractors["text"]}
	cfg.Extractors["text"] = ce
	src := fakeSource{}
	for i := 0; i < 60; i++ {
		src[fmt.Sprintf("doc%02d.txt", i)] = []byte(fmt.Sprintf("document number %d", i))
	}
	p := newPipeline(t, cfg, newLocal(t, t.TempDir()))
	run(t, p, src, BatchOptions{Concurrency: 3})
	if m := ce.max.Load(); m > 3 || m < 2 {
		t.Fatalf("at most %d extractions at once with a limit of 3", m)
	}
}

// failingStore fails Put for keys containing a substring: a transient output error.
type failingStore struct {
	*storage.Local
	fail string
}

func (f failingStore) Put(ctx context.Context, key string, r io.Reader) error {
	if strings.Contains(key, f.fail) && strings.HasPrefix(key, "chunks/") {
		io.Copy(io.Discard, r)
		return errors.New("disk on fire")
	}
	return f.Local.Put(ctx, key, r)
}

func TestTransientErrorIsRetriedNextRun(t *testing.T) {
	t.Parallel()
	outDir := t.TempDir()
	src := fakeSource{"a.txt": []byte("alpha text"), "b.txt": []byte("beta text")}
	p := newPipeline(t, testConfig(t, "fp"), failingStore{newLocal(t, outDir), "b.txt"})
	sum := run(t, p, src, BatchOptions{})
	if sum.Failed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	var rec FailureRecord
	body, err := os.ReadFile(filepath.Join(outDir, "failed", "b.txt.json"))
	if err != nil {
		t.Fatal("no record of the transient failure")
	}
	json.Unmarshal(body, &rec)
	if rec.Permanent || rec.Reason != "internal" || !strings.Contains(rec.Error, "disk on fire") {
		t.Fatalf("record %+v", rec)
	}
	// no state was written for b.txt, so a healthy run processes it (and only it)
	p2 := newPipeline(t, testConfig(t, "fp"), newLocal(t, outDir))
	if s := run(t, p2, src, BatchOptions{}); s.Processed != 1 || s.Failed != 0 {
		t.Fatalf("next run: %+v", s)
	}
	if _, err := os.Stat(filepath.Join(outDir, "failed", "b.txt.json")); err == nil {
		t.Fatal("failure record kept after success")
	}
}

func TestRealDocuments(t *testing.T) {
	t.Parallel()
	outDir := t.TempDir()
	p := newPipeline(t, testConfig(t, "fp"), newLocal(t, outDir))
	sum := run(t, p, newLocal(t, "../testdata/real"), BatchOptions{})
	if sum.Failed != 0 {
		t.Fatalf("real documents failed: %+v", sum)
	}
	for name, phrase := range map[string]string{
		"debian-reference.en.pdf":             "Debian Reference",
		"ch01.en.html":                        "GNU/Linux tutorials",
		"ch03.en.html":                        "system initialization",
		"developers-reference-resources.html": "Mailing lists",
	} {
		text, err := os.ReadFile(filepath.Join(outDir, "text", name+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(text), phrase) {
			t.Errorf("%s: %q not found", name, phrase)
		}
		if strings.ContainsRune(string(text), '\ufffd') || strings.Contains(string(text), "\ufb01") {
			t.Errorf("%s: replacement characters or ligatures left", name)
		}
	}
}

// poisonEmbedder fails on any batch with a text holding "POISON".
type poisonEmbedder struct{ *embedders.Hashing }

func (p poisonEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	for _, t := range texts {
		if strings.Contains(t, "POISON") {
			return nil, document.Permanentf(document.ReasonUnsupported, "poisoned text")
		}
	}
	return p.Hashing.Embed(ctx, texts)
}

// The chunk encoders' write buffers are reused across documents: a document that fails
// halfway, with chunks still buffered, leaves nothing in the next one's chunk file.
func TestChunkBuffersReusedClean(t *testing.T) {
	t.Parallel()
	doc := func(tag string, poison bool) []byte {
		var b strings.Builder
		for i := range 400 {
			fmt.Fprintf(&b, "%s sentence %d with some words. ", tag, i)
			if i == 300 && poison {
				b.WriteString("POISON ")
			}
		}
		return []byte(b.String())
	}
	src, good := fakeSource{}, fakeSource{}
	for i := range 4 {
		src[fmt.Sprintf("d%d-bad.txt", i)] = doc(fmt.Sprintf("bad%d", i), true)
		k := fmt.Sprintf("d%d-good.txt", i)
		src[k], good[k] = doc(fmt.Sprintf("good%d", i), false), doc(fmt.Sprintf("good%d", i), false)
	}
	h, _ := embedders.NewHashing(embedders.DefaultHashing())
	outputs := func(src fakeSource) map[string]string {
		cfg := testConfig(t, "fp1")
		cfg.Embedder, cfg.EmbedBatch = poisonEmbedder{h}, 2
		outDir := t.TempDir()
		run(t, newPipeline(t, cfg, newLocal(t, outDir)), src, BatchOptions{Concurrency: 1})
		return snapshot(t, filepath.Join(outDir, "chunks"))
	}
	got, want := outputs(src), outputs(good)
	if len(want) != 4 {
		t.Fatalf("%d chunk files from the good documents alone", len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Fatalf("%s: chunk file differs when written after failed documents (%d bytes, want %d)", k, len(got[k]), len(w))
		}
	}
	if len(got) != 4 {
		t.Fatalf("chunk files %d, want only the 4 good ones", len(got))
	}
}
