package worker

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/internal/pdftest"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// The formats that run outside programs carry the tools' fingerprint, every other format
// the plain one: the tools are not asked for until such a format is met, and a new tools'
// fingerprint (a Tesseract upgrade) redoes those documents and no others.
func TestToolsFingerprintPerFormat(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(src, "notes.txt"), []byte("Plain text about herons, read by no outside program."), 0o644)
	var toolsAsked, ocrAsked atomic.Int32
	toolsFP := "fp-tools-1"
	pipeline := func() *Pipeline {
		cfg := testConfig(t, "fp-plain")
		cfg.ToolFormats = []string{"pdf"}
		cfg.ToolsFingerprint = func() string { toolsAsked.Add(1); return toolsFP }
		cfg.OCR = func() OCRSteps {
			ocrAsked.Add(1)
			return OCRSteps{Scan: func(ctx context.Context, data []byte) (document.Document, error) {
				text := "Forty-two herons near the old mill, read from a scan."
				return document.Document{Format: "pdf", Text: text, Pages: []int{0}}, nil
			}}
		}
		return newPipeline(t, cfg, newLocal(t, out))
	}
	state := func(source string) State {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(layout.StateHead(source))))
		if err != nil {
			t.Fatal(err)
		}
		var st State
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	pipelineOfChunks := func(source string) string {
		t.Helper()
		recs := readChunks(t, filepath.Join(out, "chunks", source+".jsonl"))
		if len(recs) == 0 {
			t.Fatalf("%s: no chunks", source)
		}
		for _, r := range recs {
			if r.Pipeline != recs[0].Pipeline {
				t.Fatalf("%s: chunks of two pipelines", source)
			}
		}
		return recs[0].Pipeline
	}

	// plain text only: the tools are never asked for
	if sum := run(t, pipeline(), newLocal(t, src), BatchOptions{}); sum.Processed != 1 || sum.Failed != 0 {
		t.Fatalf("first run: %+v", sum)
	}
	if n, m := toolsAsked.Load(), ocrAsked.Load(); n != 0 || m != 0 {
		t.Errorf("a run over plain text asked for the tools' fingerprint %d times and for OCR %d times", n, m)
	}
	if got := state("notes.txt").Pipeline; got != "fp-plain" {
		t.Errorf("notes.txt: state of pipeline %q, want fp-plain", got)
	}
	if got := pipelineOfChunks("notes.txt"); got != "fp-plain" {
		t.Errorf("notes.txt: chunks of pipeline %q, want fp-plain", got)
	}
	// an unchanged run does not ask either
	if sum := run(t, pipeline(), newLocal(t, src), BatchOptions{}); sum.Processed != 0 || sum.Skipped != 1 {
		t.Fatalf("unchanged run: %+v", sum)
	}
	if n := toolsAsked.Load(); n != 0 {
		t.Errorf("an unchanged plain-text run asked for the tools' fingerprint %d times", n)
	}

	// a scan carries the tools' fingerprint, in its state, chunks and chunk ids
	os.WriteFile(filepath.Join(src, "scan.pdf"), pdftest.ImageOnlyPDF(), 0o644)
	if sum := run(t, pipeline(), newLocal(t, src), BatchOptions{}); sum.Processed != 1 || sum.Skipped != 1 || sum.Failed != 0 {
		t.Fatalf("run with the scan: %+v", sum)
	}
	if got := state("scan.pdf").Pipeline; got != "fp-tools-1" {
		t.Errorf("scan.pdf: state of pipeline %q, want fp-tools-1", got)
	}
	if got := pipelineOfChunks("scan.pdf"); got != "fp-tools-1" {
		t.Errorf("scan.pdf: chunks of pipeline %q, want fp-tools-1", got)
	}
	if id := readChunks(t, filepath.Join(out, "chunks", "scan.pdf.jsonl"))[0].ID; id != chunkID("scan.pdf", 0, "fp-tools-1") {
		t.Errorf("scan.pdf: chunk id %s is not made with the tools' fingerprint", id)
	}
	if sum := run(t, pipeline(), newLocal(t, src), BatchOptions{}); sum.Processed != 0 || sum.Skipped != 2 {
		t.Fatalf("unchanged run with the scan: %+v", sum)
	}

	// the tools change: the scan is done again, the text is not
	toolsFP = "fp-tools-2"
	if sum := run(t, pipeline(), newLocal(t, src), BatchOptions{}); sum.Processed != 1 || sum.Skipped != 1 {
		t.Fatalf("run after the tools changed: %+v (want the scan redone, the text skipped)", sum)
	}
	if got := state("scan.pdf").Pipeline; got != "fp-tools-2" {
		t.Errorf("scan.pdf after the tools changed: state of pipeline %q", got)
	}
	if got := state("notes.txt").Pipeline; got != "fp-plain" {
		t.Errorf("notes.txt after the tools changed: state of pipeline %q", got)
	}
	// and the reindex plan agrees: nothing left to do
	p := pipeline()
	for _, c := range []struct{ source, want string }{{"notes.txt", "fp-plain"}, {"scan.pdf", "fp-tools-2"}} {
		names := []string{layout.StateName(c.want, changeToken("tok", ""))}
		if a := p.classify(Object{ObjectInfo: storage.ObjectInfo{Key: c.source, ETag: "tok"}}, names, false); a != ReindexUnchanged {
			t.Errorf("reindex classifies %s of pipeline %s as %s", c.source, c.want, a)
		}
		if a := p.classify(Object{ObjectInfo: storage.ObjectInfo{Key: c.source, ETag: "tok2"}}, names, false); a != ReindexChanged {
			t.Errorf("reindex classifies a new version of %s as %s, want changed", c.source, a)
		}
	}
	if a := p.classify(Object{ObjectInfo: storage.ObjectInfo{Key: "scan.pdf", ETag: "tok"}}, []string{layout.StateName("fp-tools-1", changeToken("tok", ""))}, false); a != ReindexStale {
		t.Errorf("reindex classifies a scan of the old tools as %s, want stale", a)
	}

	// a failure after the format is known carries its format's fingerprint (OCR turned
	// off is a new tools' fingerprint: the scan is done again, and fails)
	cfg := testConfig(t, "fp-plain")
	cfg.ToolFormats = []string{"pdf"}
	cfg.ToolsFingerprint = func() string { return "fp-tools-off" }
	cfg.OCR = func() OCRSteps { return OCRSteps{Off: "ocr.enabled is off"} }
	run(t, newPipeline(t, cfg, newLocal(t, out)), newLocal(t, src), BatchOptions{})
	b, err := os.ReadFile(filepath.Join(out, "failed", "scan.pdf.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec FailureRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Reason != string(document.ReasonNoTextLayer) || rec.Pipeline != "fp-tools-off" || state("scan.pdf").Pipeline != "fp-tools-off" {
		t.Errorf("failed scan: record %+v, state of pipeline %q; want no_text_layer of fp-tools-off", rec, state("scan.pdf").Pipeline)
	}
}
