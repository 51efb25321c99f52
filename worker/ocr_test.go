package worker

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/internal/pdftest"
)

// A PDF without a text layer goes to the OCR function with a time limit of its own (the
// document's plus the per-page allowance), and its chunks carry the OCR confidence;
// without OCR the record says why it is off.
func TestScanGoesToOCR(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "scan.pdf"), pdftest.ImageOnlyPDF(), 0o644)
	os.WriteFile(filepath.Join(src, "text.txt"), []byte("Plain text, not OCR."), 0o644)
	cfg := testConfig(t, "fp-ocr")
	var deadline time.Duration
	cfg.Limits.OCRTimeoutPerPage = time.Hour
	cfg.OCR = func(ctx context.Context, data []byte) (document.Document, error) {
		if d, ok := ctx.Deadline(); ok {
			deadline = time.Until(d)
		}
		text := "Forty-two herons near the old mill."
		return document.Document{Format: "pdf", Text: text, Pages: []int{0},
			OCR: []document.OCRSpan{{Start: 0, End: len(text), Words: 7, Confidence: 0.87654}}}, nil
	}
	out := t.TempDir()
	sum := run(t, newPipeline(t, cfg, newLocal(t, out)), newLocal(t, src), BatchOptions{})
	if sum.Processed != 2 || sum.Failed != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if deadline < 50*time.Minute {
		t.Errorf("OCR ran with %s left: the per-page allowance was not given", deadline)
	}
	read := func(name string) ChunkRecord {
		b, err := os.ReadFile(filepath.Join(out, "chunks", name+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		var rec ChunkRecord
		if err := json.Unmarshal(b[:strings.IndexByte(string(b), '\n')], &rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	if rec := read("scan.pdf"); rec.OCRConfidence == nil || *rec.OCRConfidence != 0.8765 {
		t.Errorf("scan.pdf: ocr_confidence %v, want 0.8765", rec.OCRConfidence)
	}
	if rec := read("text.txt"); rec.OCRConfidence != nil {
		t.Errorf("text.txt: ocr_confidence %v on text that was not OCRed", *rec.OCRConfidence)
	}

	cfg = testConfig(t, "fp-no-ocr")
	cfg.OCROff = "tesseract is not installed (Debian package tesseract-ocr)"
	out = t.TempDir()
	run(t, newPipeline(t, cfg, newLocal(t, out)), newLocal(t, src), BatchOptions{})
	b, _ := os.ReadFile(filepath.Join(out, "failed", "scan.pdf.json"))
	var rec FailureRecord
	json.Unmarshal(b, &rec)
	if rec.Reason != string(document.ReasonNoTextLayer) || !strings.Contains(rec.Error, "OCR is off: tesseract is not installed") {
		t.Errorf("without OCR: %+v", rec)
	}
}
