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
	cfg.OCR = func() OCRSteps {
		return OCRSteps{Scan: func(ctx context.Context, data []byte) (document.Document, error) {
			if d, ok := ctx.Deadline(); ok {
				deadline = time.Until(d)
			}
			text := "Forty-two herons near the old mill."
			return document.Document{Format: "pdf", Text: text, Pages: []int{0},
				OCR: []document.OCRSpan{{Start: 0, End: len(text), Words: 7, Confidence: 0.87654}}}, nil
		}}
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
	cfg.OCR = func() OCRSteps { return OCRSteps{Off: "tesseract is not installed (Debian package tesseract-ocr)"} }
	out = t.TempDir()
	run(t, newPipeline(t, cfg, newLocal(t, out)), newLocal(t, src), BatchOptions{})
	b, _ := os.ReadFile(filepath.Join(out, "failed", "scan.pdf.json"))
	var rec FailureRecord
	json.Unmarshal(b, &rec)
	if rec.Reason != string(document.ReasonNoTextLayer) || !strings.Contains(rec.Error, "OCR is off: tesseract is not installed") {
		t.Errorf("without OCR: %+v", rec)
	}
}

// A PDF with a text layer goes to OCRPages (which reads its image-only pages) with a
// time limit of its own, and what it returns is the document; a scan, already read by
// OCR whole, does not.
func TestTextPDFGoesToOCRPages(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "text.pdf"), pdftest.TextPDF("%PDF-1.4", []string{"A page of text about the old mill."}, []string{"12"}), 0o644)
	os.WriteFile(filepath.Join(src, "scan.pdf"), pdftest.ImageOnlyPDF(), 0o644)
	cfg := testConfig(t, "fp-ocr-pages")
	cfg.Limits.OCRTimeoutPerPage = time.Hour
	scan := func(ctx context.Context, data []byte) (document.Document, error) {
		text := "Scanned words."
		return document.Document{Format: "pdf", Text: text, Pages: []int{0}, OCR: []document.OCRSpan{{Start: 0, End: len(text), Words: 2, Confidence: 0.5}}}, nil
	}
	var calls int
	var deadline time.Duration
	pages := func(ctx context.Context, data []byte, doc document.Document) (document.Document, error) {
		calls++
		if d, ok := ctx.Deadline(); ok {
			deadline = time.Until(d)
		}
		if len(doc.Pages) != 2 {
			t.Errorf("OCRPages got pages %v", doc.Pages)
		}
		add := "\n\nForty-two herons."
		doc.OCR = append(doc.OCR, document.OCRSpan{Start: len(doc.Text) + 2, End: len(doc.Text) + len(add), Words: 2, Confidence: 0.75})
		doc.Text += add
		return doc, nil
	}
	cfg.OCR = func() OCRSteps { return OCRSteps{Scan: scan, Pages: pages} }
	out := t.TempDir()
	if sum := run(t, newPipeline(t, cfg, newLocal(t, out)), newLocal(t, src), BatchOptions{}); sum.Failed != 0 || sum.Processed != 2 {
		t.Fatalf("summary %+v", sum)
	}
	if calls != 1 || deadline < 50*time.Minute {
		t.Errorf("OCRPages called %d times (want 1: the text PDF), with %s left", calls, deadline)
	}
	recs := readChunks(t, filepath.Join(out, "chunks", "text.pdf.jsonl"))
	if len(recs) != 1 || !strings.Contains(recs[0].Text, "Forty-two herons") || recs[0].OCRConfidence == nil {
		t.Errorf("chunks of the text PDF: %+v", recs)
	}
}
