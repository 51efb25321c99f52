package extractors

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/docingest/docingest/document"
	"pgregory.net/rapid"
)

// SpliceOCR gives the document the builder makes when each OCRed page's paragraphs follow
// that page's own: the same text, pages and headings, and OCR spans over exactly the OCR
// paragraphs.
func TestSpliceOCR(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "pages")
		word := rapid.SampledFrom([]string{"heron", "mill", "weir", "12", "Zürich", "—"})
		para := func(label string) string {
			ws := rapid.SliceOfN(word, 1, 5).Draw(t, label)
			return strings.Join(ws, " ")
		}
		type page struct {
			heading string
			own     []string
			ocr     []string
		}
		pages := make([]page, n)
		var ocrPages []int
		for i := range pages {
			if rapid.Bool().Draw(t, fmt.Sprint("heading", i)) {
				pages[i].heading = para(fmt.Sprint("title", i))
			}
			for j := range rapid.IntRange(0, 3).Draw(t, fmt.Sprint("own", i)) {
				pages[i].own = append(pages[i].own, para(fmt.Sprint("own", i, j)))
			}
			if rapid.Bool().Draw(t, fmt.Sprint("ocr", i)) {
				ocrPages = append(ocrPages, i+1)
				for j := range rapid.IntRange(0, 2).Draw(t, fmt.Sprint("ocrn", i)) {
					pages[i].ocr = append(pages[i].ocr, para(fmt.Sprint("ocr", i, j)))
				}
			}
		}
		lim := Limits{MaxTextBytes: 1 << 20}
		build := func(withOCR bool) (document.Document, error) {
			b := newBuilder(context.Background(), FormatPDF, lim)
			for _, p := range pages {
				b.page()
				if p.heading != "" {
					b.heading(1, "", p.heading)
				}
				for _, s := range p.own {
					b.para(s)
				}
				if withOCR {
					for _, s := range p.ocr {
						b.para(s)
					}
				}
			}
			return b.done()
		}
		base, err := build(false)
		if err != nil {
			t.Skip("no text of its own: that is a scan, read by OCR whole")
		}
		var read [][]OCRParagraph
		var all []string
		for _, n := range ocrPages {
			var ps []OCRParagraph
			for _, s := range pages[n-1].ocr {
				ps = append(ps, OCRParagraph{Text: s, Words: len(strings.Fields(s)), Confidence: 0.5})
				all = append(all, s)
			}
			read = append(read, ps)
		}
		ocr, err := OCRDocument(context.Background(), FormatPDF, lim, read)
		if len(all) == 0 {
			return // OCR found nothing: nothing to splice
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := SpliceOCR(base, ocr, ocrPages, lim)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := build(true)
		if got.Text != want.Text {
			t.Fatalf("text\n%q\nwant\n%q", got.Text, want.Text)
		}
		if !slices.Equal(got.Pages, want.Pages) {
			t.Fatalf("pages %v, want %v (text %q)", got.Pages, want.Pages, got.Text)
		}
		if !slices.Equal(got.Headings, want.Headings) {
			t.Fatalf("headings %v, want %v", got.Headings, want.Headings)
		}
		var spans []string
		for _, sp := range got.OCR {
			spans = append(spans, got.Text[sp.Start:sp.End])
		}
		if !slices.Equal(spans, all) {
			t.Fatalf("OCR spans cover %q, want %q", spans, all)
		}
	})
}

func TestSpliceOCRCap(t *testing.T) {
	lim := Limits{MaxTextBytes: 36}
	base := document.Document{Format: FormatPDF, Text: "page one has its text", Pages: []int{0, 21}}
	ocr := document.Document{Format: FormatPDF, Text: "scanned words", Pages: []int{0}, OCR: []document.OCRSpan{{Start: 0, End: 13, Words: 2, Confidence: 0.9}}}
	got, err := SpliceOCR(base, ocr, []int{2}, lim) // 21 + 2 + 13 = 36 bytes: at the cap
	if err != nil || got.Text != "page one has its text\n\nscanned words" || got.Pages[1] != 23 {
		t.Fatalf("at the cap: %q %v %v", got.Text, got.Pages, err)
	}
	lim.MaxTextBytes = 35
	_, err = SpliceOCR(base, ocr, []int{2}, lim)
	if reason, _ := document.Classify(err); reason != document.ReasonTooLarge {
		t.Fatalf("one past the cap: %v", err)
	}
}
