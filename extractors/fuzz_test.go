package extractors

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/internal/pdftest"
)

// fuzzExtractor checks that an extractor, on any bytes, returns within its deadline with a
// document that keeps the contract or a permanent error, and never panics.
func fuzzExtractor(f *testing.F, ex extractor, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		type result struct {
			doc document.Document
			err error
		}
		done := make(chan result, 1)
		go func() {
			doc, err := ex.Extract(ctx, data)
			done <- result{doc, err}
		}()
		select {
		case r := <-done:
			if r.err != nil {
				if _, permanent := document.Classify(r.err); !permanent && ctx.Err() == nil {
					t.Fatalf("transient error on bad input: %v", r.err)
				}
				return
			}
			checkDocument(t, r.doc)
		case <-time.After(20 * time.Second):
			t.Fatalf("extraction of %d bytes did not return (hang)", len(data))
		}
	})
}

func seedFiles(f *testing.F, patterns ...string) [][]byte {
	var out [][]byte
	for _, p := range patterns {
		files, _ := filepath.Glob(filepath.Join("..", "testdata", p))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil && len(b) < 64<<10 {
				out = append(out, b)
			}
		}
	}
	return out
}

var fuzzLimits = Limits{MaxPages: 50, MaxTextBytes: 1 << 20}

func FuzzExtractPDF(f *testing.F) {
	seeds := seedFiles(f, "hostile/*.pdf")
	seeds = append(seeds,
		pdftest.TextPDF("%PDF-1.4", []string{"Hello", "world"}, []string{"two"}),
		pdftest.TextPDF("%PDF-2.0", []string{"version two"}),
		pdftest.HugeCountPDF(), pdftest.CyclicPageTreePDF(), pdftest.DeepPageTreePDF(50),
	)
	fuzzExtractor(f, PDFExtractor{fuzzLimits}, seeds...)
}

// wrappedExtractor runs the PDF extractor on a one-page PDF around the fuzzed content
// stream, so that the fuzzer explores the content-stream lexer, the text walker and line
// building instead of breaking the file's cross-reference table.
type wrappedExtractor struct{ PDFExtractor }

func (w wrappedExtractor) Extract(ctx context.Context, content []byte) (document.Document, error) {
	return w.PDFExtractor.Extract(ctx, pdftest.ContentPDF(content))
}

func FuzzExtractPDFContent(f *testing.F) {
	fuzzExtractor(f, wrappedExtractor{PDFExtractor{fuzzLimits}},
		[]byte("BT /F1 12 Tf 72 720 Td (Hello, world) Tj T* [(Kern)-120(ed)] TJ ET"),
		[]byte("q 1 0 0 1 10 10 cm BI /W 2 /H 2 /BPC 8 /CS /G ID \x00<(\xff EI Q BT /F1 9 Tf 1 0 0 1 72 600 Tm (after) Tj ET"),
		[]byte("BT /F1 12 Tf 72 720 Td (caf) Tj 0 0 Td (\264) Tj -4 0 Td (e) Tj ET"),
		[]byte("/Span << /ActualText (x) >> BDC BT /F1 12 Tf 0 Tr 14 TL (a) ' 1 2 (b) \" ET EMC /Fm1 Do"),
	)
}

func FuzzExtractHTML(f *testing.F) {
	fuzzExtractor(f, HTMLExtractor{fuzzLimits}, append(seedFiles(f, "docs/*.html"),
		[]byte("<p>unclosed <b>bold <table><tr><td>cell"), []byte("<h1></h1><h2>x</h2>"))...)
}

func FuzzExtractDOCX(f *testing.F) {
	fuzzExtractor(f, DOCXExtractor{fuzzLimits}, append(seedFiles(f, "docs/*.docx", "hostile/*.docx"), []byte("PK\x03\x04"))...)
}

func FuzzExtractMarkdown(f *testing.F) {
	fuzzExtractor(f, MarkdownExtractor{fuzzLimits}, append(seedFiles(f, "docs/*.md"), []byte("Title\n===\n```\n# not\n"))...)
}

func FuzzExtractText(f *testing.F) {
	fuzzExtractor(f, TextExtractor{fuzzLimits}, seedFiles(f, "docs/*.txt")...)
}

func FuzzExtractCSV(f *testing.F) {
	fuzzExtractor(f, CSVExtractor{fuzzLimits}, append(seedFiles(f, "docs/*.csv"), []byte("a;b\n\"x;\"y\n"))...)
}

func FuzzExtractJSON(f *testing.F) {
	fuzzExtractor(f, JSONExtractor{fuzzLimits}, append(seedFiles(f, "docs/*.json", "docs/*.jsonl", "hostile/*.json"), []byte(`[[[[[[1]]]]]]`))...)
}
