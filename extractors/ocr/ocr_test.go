package ocr

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/extractors/extractortest"
	"github.com/docingest/docingest/extractors/pdf"
	"github.com/docingest/docingest/extractors/pdfchild"
	"github.com/docingest/docingest/internal/hostile"
	"github.com/docingest/docingest/internal/pdftest"
	"github.com/docingest/docingest/internal/testenv"
)

var lim = extractors.Limits{MaxPages: 100, MaxTextBytes: 1 << 20}

func engine(t *testing.T) *Engine {
	t.Helper()
	tl := Find()
	e, off, err := New(DefaultConfig(), tl, lim, pdfchild.Extractor{MaxRSS: 512 << 20})
	if err != nil || e == nil {
		testenv.Missing(t, "Tesseract with English data and poppler-utils ("+off+")")
	}
	return e
}

// render draws page n of a real PDF (the Debian Developer's Reference in testdata) with
// pdftoppm, as a scanner would give it.
func render(t *testing.T, e *Engine, n, dpi int) []byte {
	t.Helper()
	out, err := exec.Command(e.Tools.PDFToPPM, "-r", fmt.Sprint(dpi), "-png", "-gray", "-f", fmt.Sprint(n), "-l", fmt.Sprint(n), "-singlefile",
		"../../testdata/docs/developers-reference.pdf").Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func words(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !('a' <= r && r <= 'z' || '0' <= r && r <= '9') }) {
		if len(w) > 2 {
			out[w] = true
		}
	}
	return out
}

// A page image reads as the page's text, with its words' confidence.
func TestImage(t *testing.T) {
	e := engine(t)
	doc, err := ImageExtractor{Engine: e, Format: extractors.FormatPNG}.Extract(context.Background(), render(t, e, 1, 300))
	if err != nil {
		t.Fatal(err)
	}
	extractortest.CheckDocument(t, doc)
	if !strings.Contains(doc.Text, "Developer") || len(doc.OCR) == 0 || len(doc.Pages) != 1 {
		t.Fatalf("text %q, spans %v", doc.Text, doc.OCR)
	}
	c := doc.OCRConfidence(0, len(doc.Text))
	if c == nil || *c < 0.8 || *c > 1 {
		t.Errorf("confidence %v", c)
	}
}

// A PDF of page images (no text layer) reads with OCR page by page, close to the text
// layer of the PDF those pages were rendered from.
func TestScannedPDF(t *testing.T) {
	e := engine(t)
	scan, err := pdftest.ScanPDF([][]byte{render(t, e, 14, 300), render(t, e, 15, 300)}, 300)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := e.PDF(context.Background(), scan)
	if err != nil {
		t.Fatal(err)
	}
	extractortest.CheckDocument(t, doc)
	if len(doc.Pages) != 2 {
		t.Errorf("%d pages", len(doc.Pages))
	}
	// the text layer of the same pages, as pdftotext reads it
	if o := overlap(pdftotext(t, e, 14, 15), doc.Text); o < 0.9 {
		t.Errorf("word overlap with the text layer %.2f, want at least 0.9", o)
	}
}

// pdftotext reads pages first..last of the Developer's Reference's text layer.
func pdftotext(t *testing.T, e *Engine, first, last int) string {
	t.Helper()
	ref, err := exec.Command(filepath.Join(filepath.Dir(e.Tools.PDFToPPM), "pdftotext"), "-f", fmt.Sprint(first), "-l", fmt.Sprint(last), "../../testdata/docs/developers-reference.pdf", "-").Output()
	if err != nil {
		t.Fatal("pdftotext (poppler-utils): ", err)
	}
	return string(ref)
}

// overlap is the share of want's words (over two letters) that got has.
func overlap(want, got string) float64 {
	w, g := words(want), words(got)
	hit := 0
	for x := range w {
		if g[x] {
			hit++
		}
	}
	return float64(hit) / float64(len(w))
}

// A text PDF with a scanned page in the middle (pages 13 and 15 of the Developer's
// Reference as they are, page 14 as a 300 DPI scan, joined by pdfunite): the text layer
// is kept where it is, and only the scanned page is read by OCR, its text on its page.
// Pages with text, and a blank page without an image, run no OCR at all.
func TestFillPages(t *testing.T) {
	e := engine(t)
	data, err := pdftest.MixedPDF("../../testdata/docs/developers-reference.pdf", 13, 15, map[int]bool{14: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	base, err := pdf.Extractor{Limits: lim}.Extract(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(base.Pages) != 3 || base.Pages[1] != base.Pages[2] {
		t.Fatalf("text layer: pages %v: want page 2 empty", base.Pages)
	}
	if !slices.Equal(base.PageImages, []bool{false, true, false}) {
		t.Fatalf("PageImages = %v, want the scanned page 2 alone", base.PageImages)
	}
	doc, err := e.FillPages(ctx, data, base)
	if err != nil {
		t.Fatal(err)
	}
	extractortest.CheckDocument(t, doc)
	page := func(d document.Document, i int) string {
		end := len(d.Text)
		if i+1 < len(d.Pages) {
			end = d.Pages[i+1]
		}
		return d.Text[d.Pages[i]:end]
	}
	if len(doc.Pages) != 3 || page(doc, 0) != page(base, 0) || strings.TrimSpace(page(doc, 2)) != strings.TrimSpace(page(base, 2)) {
		t.Fatalf("the text layer's pages changed: %v", doc.Pages)
	}
	if o := overlap(pdftotext(t, e, 14, 14), page(doc, 1)); o < 0.9 {
		t.Errorf("the scanned page's OCR text overlaps its original text layer by %.2f, want at least 0.9", o)
	}
	if len(doc.OCR) == 0 {
		t.Fatal("no OCR spans")
	}
	for _, sp := range doc.OCR {
		if sp.Start < doc.Pages[1] || sp.End > doc.Pages[2] {
			t.Errorf("OCR span %v outside the scanned page %d..%d", sp, doc.Pages[1], doc.Pages[2])
		}
	}
	for _, h := range base.Headings {
		if h.Offset >= base.Pages[2] && !slices.ContainsFunc(doc.Headings, func(g document.Heading) bool { return g.Title == h.Title && g.Offset > doc.Pages[2]-1 }) {
			t.Errorf("heading %q of page 3 lost or not moved", h.Title)
		}
	}

	// no page without text: no child at all; a blank page without an image: pdfimages
	// only, no rendering
	broken := *e
	broken.Tools.PDFImages, broken.Tools.PDFToPPM = "/nonexistent/pdfimages", "/nonexistent/pdftoppm"
	text := pdftest.TextPDF("%PDF-1.4", []string{"A page of text with more than sixteen letters."}, []string{"And a second one, also long enough."})
	tdoc, err := pdf.Extractor{Limits: lim}.Extract(ctx, text)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := broken.FillPages(ctx, text, tdoc); err != nil || got.Text != tdoc.Text {
		t.Errorf("a text PDF: %q %v", got.Text, err)
	}
	blank := pdftest.TextPDF("%PDF-1.4", []string{"A page of text with more than sixteen letters."}, []string{"12"})
	bdoc, err := pdf.Extractor{Limits: lim}.Extract(ctx, blank)
	if err != nil {
		t.Fatal(err)
	}
	broken.Tools.PDFImages = e.Tools.PDFImages
	if got, err := broken.FillPages(ctx, blank, bdoc); err != nil || got.Text != bdoc.Text {
		t.Errorf("a page with a page number and no image: %q %v", got.Text, err)
	}

	// sparse pages far apart: pdfimages reads each alone, not every page between them
	pages := make([][]string, 12)
	words := strings.Fields("alder birch cedar damson elder fir ginkgo hazel ilex juniper kauri larch")
	for i := range pages { // lines that differ (a line on every page is a running head)
		pages[i] = []string{"The " + words[i] + " grows by the river, a page of text."}
	}
	pages[0], pages[11] = []string{"i"}, []string{"12"}
	far := pdftest.TextPDF("%PDF-1.4", pages...)
	fdoc, err := pdf.Extractor{Limits: lim}.Extract(ctx, far)
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "calls")
	wrapper := filepath.Join(t.TempDir(), "pdfimages")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\necho \"$2 $3 $4 $5\" >> "+log+"\nexec "+e.Tools.PDFImages+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	broken.Tools.PDFImages = wrapper
	if !slices.Equal(fdoc.PageImages, make([]bool, 12)) {
		t.Fatalf("PageImages = %v, want 12 pages without images", fdoc.PageImages)
	}
	if got, err := broken.FillPages(ctx, far, fdoc); err != nil || got.Text != fdoc.Text {
		t.Errorf("pages 1 and 12 with few letters and no image: %q %v", got.Text, err)
	}
	if calls, _ := os.ReadFile(log); len(calls) != 0 {
		t.Errorf("pdfimages was called (%q) though the extractor saw no image", calls)
	}
	fdoc.PageImages = nil // as the PDFium backend gives it: pdfimages tells
	if got, err := broken.FillPages(ctx, far, fdoc); err != nil || got.Text != fdoc.Text {
		t.Errorf("pages 1 and 12 with few letters and no image: %q %v", got.Text, err)
	}
	if calls, _ := os.ReadFile(log); string(calls) != "-f 1 -l 1\n-f 12 -l 12\n" {
		t.Errorf("pdfimages was called with %q, want pages 1 and 12 alone", calls)
	}
}

// Hostile images end as failure records before Tesseract sees them: a decompression bomb
// (a header declaring 50,000×50,000 pixels) as too_large, a truncated image as corrupt.
// The pixel cap holds at the limit and one past it.
func TestHostileImages(t *testing.T) {
	e := &Engine{Tools: Tools{Tesseract: "/nonexistent/tesseract"}, Languages: []string{"eng"}, Limits: lim}
	for _, c := range hostile.ImageCases() {
		if c.Reason == "no_text_layer" || strings.HasSuffix(c.Name, "-zlib") || c.Name == "png-truncated-data" {
			continue // decoded for real: below, and in bench/ocr.sh
		}
		var b bytes.Buffer
		if err := c.Write(&b); err != nil {
			t.Fatal(err)
		}
		_, err := e.Image(context.Background(), b.Bytes(), c.File)
		extractortest.WantPermanent(t, err, c.Name, document.Reason(c.Reason))
	}
	_, err := e.Image(context.Background(), hostile.PNGHeader(8000, 8001), "png")
	extractortest.WantPermanent(t, err, "one row past the pixel cap", document.ReasonTooLarge)
	// at the cap, the image is handed to Tesseract (here a missing one: not a cap error)
	_, err = e.Image(context.Background(), hostile.PNGHeader(8000, 8000), "png")
	if reason, _ := document.Classify(err); reason == document.ReasonTooLarge {
		t.Errorf("an image at the pixel cap was refused: %v", err)
	}
	// a real but damaged image goes to Tesseract, which fails: a failure record
	real := engine(t)
	img := render(t, real, 1, 100)
	_, err = real.Image(context.Background(), img[:len(img)/2], "png")
	if _, permanent := document.Classify(err); err != nil && !permanent {
		t.Errorf("a truncated page: a transient error %v", err)
	}
	var half bytes.Buffer
	for _, c := range hostile.ImageCases() {
		if c.Name == "png-truncated-data" {
			c.Write(&half)
		}
	}
	_, err = ImageExtractor{Engine: real, Format: "png"}.Extract(context.Background(), half.Bytes())
	extractortest.WantPermanent(t, err, "a PNG cut off in its pixel data", document.ReasonCorrupt)
	// an image without any text
	var blank bytes.Buffer
	png.Encode(&blank, image.NewGray(image.Rect(0, 0, 600, 400)))
	_, err = ImageExtractor{Engine: real, Format: "png"}.Extract(context.Background(), blank.Bytes())
	extractortest.WantPermanent(t, err, "a blank image", document.ReasonNoTextLayer)
}

// A scan whose page would render past the pixel cap at the configured DPI is refused
// from its page size, before anything is rendered.
func TestHugePage(t *testing.T) {
	e := engine(t)
	objs := []pdftest.Object{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] /Contents 4 0 R >>",
		pdftest.Stream("", []byte("q Q")),
	}
	_, err := e.PDF(context.Background(), pdftest.Build("%PDF-1.4", objs, ""))
	extractortest.WantPermanent(t, err, "a 200-inch page", document.ReasonTooLarge)
	if err == nil || !strings.Contains(err.Error(), "page 1") {
		t.Errorf("%v does not name the page", err)
	}
}

// auto turns OCR on only where Tesseract is; on refuses to start without it; off is off.
func TestConfig(t *testing.T) {
	cfg := DefaultConfig()
	e, off, err := New(cfg, Tools{}, lim, pdfchild.Extractor{})
	if e != nil || err != nil || !strings.Contains(off, "tesseract-ocr") {
		t.Errorf("auto without tesseract: %v %q %v", e, off, err)
	}
	cfg.Enabled = "on"
	if _, _, err := New(cfg, Tools{}, lim, pdfchild.Extractor{}); err == nil || !strings.Contains(err.Error(), "tesseract") {
		t.Errorf("on without tesseract: %v", err)
	}
	cfg.Enabled, cfg.Languages = "auto", []string{"deu"}
	if e, off, _ := New(cfg, Tools{Tesseract: "t", PDFToPPM: "p", PDFInfo: "i", PDFImages: "m", Langs: []string{"eng"}}, lim, pdfchild.Extractor{}); e != nil || !strings.Contains(off, "tesseract-ocr-deu") {
		t.Errorf("a language without data: %v %q", e, off)
	}
	cfg = DefaultConfig()
	cfg.Enabled = "off"
	if e, _, _ := New(cfg, Find(), lim, pdfchild.Extractor{}); e != nil {
		t.Error("off is on")
	}
	bad := Config{Enabled: "maybe", DPI: 10, Concurrency: 0}
	if errs := bad.Validate(); len(errs) != 5 {
		t.Errorf("%d errors for a bad config: %v", len(errs), errs)
	}
	a, b := &Engine{Tools: Tools{Version: "5.3.0", DataDigest: "x"}, Languages: []string{"eng"}, DPI: 300}, &Engine{Tools: Tools{Version: "5.3.0", DataDigest: "x"}, Languages: []string{"eng"}, DPI: 200}
	if a.Fingerprint() == b.Fingerprint() || (*Engine)(nil).Fingerprint() == a.Fingerprint() {
		t.Error("the fingerprint does not follow the DPI or OCR's being off")
	}

}

func FuzzParseTSV(f *testing.F) {
	f.Add([]byte("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t96.5\tHello\n5\t1\t1\t1\t1\t2\t0\t0\t1\t1\t-1\t\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, p := range parseTSV(b) {
			if p.Words < 1 || p.Confidence < 0 || p.Text == "" {
				t.Fatalf("a paragraph %+v", p)
			}
		}
	})
}

func TestPageRanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pages []int
		want  [][2]int
	}{
		{nil, nil},
		{[]int{1}, [][2]int{{1, 1}}},
		{[]int{1, 2, 3}, [][2]int{{1, 3}}},
		{[]int{1, 6}, [][2]int{{1, 6}}},         // 4 pages between: read through
		{[]int{1, 7}, [][2]int{{1, 1}, {7, 7}}}, // 5 pages between: two calls
		{[]int{2, 900}, [][2]int{{2, 2}, {900, 900}}},
	} {
		if got := pageRanges(tc.pages, rangeGap); !slices.Equal(got, tc.want) {
			t.Errorf("pageRanges(%v) = %v, want %v", tc.pages, got, tc.want)
		}
	}
}
