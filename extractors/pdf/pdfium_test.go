package pdf

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/extractors/extractortest"
	"github.com/docingest/docingest/internal/pdftest"
)

var (
	pdfiumOnce sync.Once
	pdfiumInst *PDFium
	pdfiumErr  error
)

// sharedPDFium starts one PDFium instance for the package's tests (start-up takes seconds).
func sharedPDFium(t *testing.T) *PDFium {
	pdfiumOnce.Do(func() { pdfiumInst, pdfiumErr = NewPDFium(context.Background()) })
	if pdfiumErr != nil {
		t.Fatal(pdfiumErr)
	}
	return pdfiumInst
}

func wordSet(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	}) {
		out[w] = true
	}
	return out
}

// overlap is |A ∩ B| / |A ∪ B| of two texts' word sets.
func overlap(a, b string) float64 {
	wa, wb := wordSet(a), wordSet(b)
	inter := 0
	for w := range wa {
		if wb[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(wa)+len(wb)-inter)
}

// TestPDFiumConformance: the PDFium backend passes the suite the default PDF extractor
// passes.
func TestPDFiumConformance(t *testing.T) {
	t.Parallel()
	p := sharedPDFium(t)
	extractortest.Run(t, Case(func(l extractors.Limits) extractortest.Extractor { return PDFiumExtractor{Limits: l, PDFium: p} }))
}

// TestPDFiumBackend: the same real PDF read by both backends gives the same pages and
// nearly the same words; PDFium's CRLF and U+FFFE hyphen marks never reach the text.
func TestPDFiumBackend(t *testing.T) {
	t.Parallel()
	p := sharedPDFium(t)
	data, err := os.ReadFile("../../testdata/docs/developers-reference.pdf")
	if err != nil {
		t.Fatal(err)
	}
	lim := extractors.Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}
	a, err := extractSafely(t, PDFiumExtractor{Limits: lim, PDFium: p}, data, "pdfium")
	if err != nil {
		t.Fatal(err)
	}
	b, err := extractSafely(t, Extractor{Limits: lim}, data, "ledongthuc")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Pages) != len(b.Pages) || a.Format != extractors.FormatPDF {
		t.Fatalf("pdfium %d pages, ledongthuc %d", len(a.Pages), len(b.Pages))
	}
	if strings.ContainsAny(a.Text, "\r\uFFFE\uFFFD") {
		t.Fatal("carriage returns, hyphen marks or replacement characters in the text")
	}
	if o := overlap(a.Text, b.Text); o < 0.85 {
		t.Fatalf("word-set overlap of the two backends %.2f", o)
	} else {
		t.Logf("word-set overlap pdfium / ledongthuc: %.3f", o)
	}
	if a.PageAt(len(a.Text)-1) != len(a.Pages) {
		t.Fatalf("page of the last offset: %d of %d", a.PageAt(len(a.Text)-1), len(a.Pages))
	}
	for name, tc := range map[string]struct {
		data []byte
		want document.Reason
	}{
		"encrypted rc4":    {pdftest.EncryptedPDF(), document.ReasonEncrypted},
		"encrypted aes":    {pdftest.EncryptedAESPDF(), document.ReasonEncrypted},
		"image only":       {pdftest.ImageOnlyPDF(), document.ReasonNoTextLayer},
		"cyclic page tree": {pdftest.CyclicPageTreePDF(), document.ReasonCorrupt},
		"garbage":          {[]byte("%PDF-1.4 this is not a pdf"), document.ReasonCorrupt},
		"huge count":       {pdftest.HugeCountPDF(), document.ReasonCorrupt},
	} {
		_, err := extractSafely(t, PDFiumExtractor{Limits: lim, PDFium: p}, tc.data, name)
		if name == "huge count" {
			// PDFium counts the real pages, so the lie is harmless: text or a clear failure
			if err != nil {
				wantPermanent(t, err, name)
			}
			continue
		}
		if name == "cyclic page tree" {
			wantPermanent(t, err, name) // corrupt, or no text on what it could read
			continue
		}
		wantPermanent(t, err, name, tc.want)
	}
}

func TestPDFiumLines(t *testing.T) {
	t.Parallel()
	got := pdfiumLines("First line with hyph\uFFFE\r\nenation here\r\n\r\nSecond para\rend\uFFFE")
	want := []string{"First line with hyphenation here", "Second para", "end"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%q", got)
	}
}
