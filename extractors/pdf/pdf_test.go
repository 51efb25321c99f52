package pdf

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/extractors/extractortest"
	"github.com/docingest/docingest/internal/pdftest"
	"github.com/docingest/docingest/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func extractSafely(t testing.TB, ex extractortest.Extractor, data []byte, what string) (document.Document, error) {
	t.Helper()
	return extractortest.ExtractSafely(t, ex, data, what)
}

func wantPermanent(t testing.TB, err error, what string, reasons ...document.Reason) {
	t.Helper()
	extractortest.WantPermanent(t, err, what, reasons...)
}

// Case is the PDF case of the extractor conformance suite; newExtractor makes the
// extractor under test with the suite's caps (pdfchild runs it on the child too).
func Case(newExtractor func(extractors.Limits) extractortest.Extractor) extractortest.Case {
	return extractortest.Case{
		Format: extractors.FormatPDF,
		New: func(maxPages, maxText int) extractortest.Extractor {
			return newExtractor(extractors.Limits{MaxPages: maxPages, MaxTextBytes: maxText})
		},
		Sample: pdftest.TextPDF("%PDF-1.4", []string{"Hello PDF world.", "Second line here."}, []string{"Page two text."}),
		Want:   []string{"Hello PDF world.\nSecond line here.", "Page two text."},
		Pages:  2,
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	extractortest.Run(t, Case(func(l extractors.Limits) extractortest.Extractor { return Extractor{l} }))
}

// TestGolden compares the cleaned text of real PDFs with the files in testdata/golden.
func TestGolden(t *testing.T) {
	for _, name := range []string{"real/debian-reference.en.pdf", "docs/developers-reference.pdf"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Extractor{extractors.Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}}.Extract(context.Background(), data)
			if err != nil {
				t.Fatal(err)
			}
			testenv.Golden(t, doc.Text, filepath.Join("..", "..", "testdata", "golden", strings.ReplaceAll(name, "/", "__")+".txt"), *update)
		})
	}
}

func TestPDFHostile(t *testing.T) {
	t.Parallel()
	ex := Extractor{extractors.Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}}
	cases := []struct {
		name string
		data []byte
		want document.Reason
	}{
		{"encrypted", pdftest.EncryptedPDF(), document.ReasonEncrypted},
		{"image only", pdftest.ImageOnlyPDF(), document.ReasonNoTextLayer},
		{"cyclic page tree", pdftest.CyclicPageTreePDF(), document.ReasonCorrupt},
		{"deep page tree", pdftest.DeepPageTreePDF(100_000), document.ReasonCorrupt},
		{"decompression bomb", pdftest.BombPDF(256 << 20), document.ReasonTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := extractSafely(t, ex, tc.data, tc.name)
			wantPermanent(t, err, tc.name, tc.want)
			if !strings.Contains(err.Error(), "pdf") {
				t.Errorf("error does not say what failed: %v", err)
			}
			t.Logf("%s: %v after %s", tc.name, err, time.Since(start).Round(time.Millisecond))
		})
	}
	t.Run("huge /Count is not trusted", func(t *testing.T) {
		doc, err := extractSafely(t, ex, pdftest.HugeCountPDF(), "huge count")
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Pages) != 1 || !strings.Contains(doc.Text, "only one page here") {
			t.Fatalf("pages %v, text %q", doc.Pages, doc.Text)
		}
	})
	t.Run("page cap", func(t *testing.T) {
		// at the cap and one page past it
		for _, n := range []int{10, 11} {
			pages := make([][]string, n)
			for i := range pages {
				pages[i] = []string{strings.Repeat(string(rune('a'+i)), 6) + " is the text of this page"} // not a running head
			}
			doc, err := extractSafely(t, Extractor{extractors.Limits{MaxPages: 10}}, pdftest.TextPDF("%PDF-1.4", pages...), "page cap")
			if n <= 10 {
				if err != nil || len(doc.Pages) != n {
					t.Fatalf("%d pages at a cap of 10: %d pages, %v", n, len(doc.Pages), err)
				}
				continue
			}
			wantPermanent(t, err, "page cap", document.ReasonTooManyPages)
		}
	})
}

func TestPDFHeaders(t *testing.T) {
	t.Parallel()
	for _, header := range []string{"%PDF-2.0", "%PDF-1.4 ", "%PDF-1.7\r"} {
		doc, err := extractSafely(t, Extractor{}, pdftest.TextPDF(header, []string{"Readable text."}), header)
		if err != nil {
			t.Errorf("header %q: %v", header, err)
			continue
		}
		if doc.Text != "Readable text." {
			t.Errorf("header %q: text %q", header, doc.Text)
		}
	}
}

// A trailer whose /Size is smaller than its cross-reference table (pdfunite writes
// such files) reads like its repaired self: the catalog past /Size is found.
func TestPDFTrailerSizeTooSmall(t *testing.T) {
	t.Parallel()
	good := pdftest.TextPDF("%PDF-1.4", []string{"First page."}, []string{"Second page."})
	// objects: catalog, pages, font, 2 per page: /Size 8. A catalog moved to the end of
	// the table, past a /Size of 3, is lost unless /Size is repaired.
	for _, size := range []string{"8", "3", "2"} {
		bad := bytes.Replace(good, []byte("/Size 8 "), []byte("/Size "+size+" "), 1)
		doc, err := extractSafely(t, Extractor{}, bad, "/Size "+size)
		if err != nil || doc.Text != "First page.\n\nSecond page." {
			t.Errorf("/Size %s: %q %v", size, doc.Text, err)
		}
	}
	if got := repairTrailerSize(good); &got[0] != &good[0] {
		t.Error("a file that needs no repair was copied")
	}
	if got := repairTrailerSize(bytes.Replace(good, []byte("/Size 8 "), []byte("/Size 3 "), 1)); !bytes.Contains(got, []byte("/Size 8 ")) || len(got) != len(good) {
		t.Errorf("repaired trailer: %q", got[bytes.LastIndex(got, []byte("trailer")):])
	}
}

func TestPDFRunningHeadsRemoved(t *testing.T) {
	t.Parallel()
	var pages [][]string
	for i := 1; i <= 6; i++ {
		pages = append(pages, []string{"Annual Report 2026", "Body of page " + strings.Repeat("x", i) + ".", "Page " + string(rune('0'+i))})
	}
	doc, err := extractSafely(t, Extractor{}, pdftest.TextPDF("%PDF-1.4", pages...), "heads")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(doc.Text, "Annual Report") || strings.Contains(doc.Text, "Page 3") {
		t.Fatalf("running heads kept:\n%s", doc.Text)
	}
	if strings.Count(doc.Text, "Body of page") != 6 {
		t.Fatalf("body lost:\n%s", doc.Text)
	}
	if len(doc.Pages) != 6 || doc.PageAt(strings.Index(doc.Text, "xxx.")) != 3 {
		t.Fatalf("pages %v", doc.Pages)
	}
}

var fuzzLimits = extractors.Limits{MaxPages: 50, MaxTextBytes: 1 << 20}

func FuzzExtractPDF(f *testing.F) {
	seeds := extractortest.SeedFiles(filepath.Join("..", "..", "testdata"), "hostile/*.pdf")
	seeds = append(seeds,
		pdftest.TextPDF("%PDF-1.4", []string{"Hello", "world"}, []string{"two"}),
		pdftest.TextPDF("%PDF-2.0", []string{"version two"}),
		pdftest.HugeCountPDF(), pdftest.CyclicPageTreePDF(), pdftest.DeepPageTreePDF(50),
	)
	extractortest.Fuzz(f, Extractor{fuzzLimits}, seeds...)
}

// wrappedExtractor runs the PDF extractor on a one-page PDF around the fuzzed content
// stream, so that the fuzzer explores the content-stream lexer, the text walker and line
// building instead of breaking the file's cross-reference table.
type wrappedExtractor struct{ Extractor }

func (w wrappedExtractor) Extract(ctx context.Context, content []byte) (document.Document, error) {
	return w.Extractor.Extract(ctx, pdftest.ContentPDF(content))
}

func FuzzExtractPDFContent(f *testing.F) {
	extractortest.Fuzz(f, wrappedExtractor{Extractor{fuzzLimits}},
		[]byte("BT /F1 12 Tf 72 720 Td (Hello, world) Tj T* [(Kern)-120(ed)] TJ ET"),
		[]byte("q 1 0 0 1 10 10 cm BI /W 2 /H 2 /BPC 8 /CS /G ID \x00<(\xff EI Q BT /F1 9 Tf 1 0 0 1 72 600 Tm (after) Tj ET"),
		[]byte("BT /F1 12 Tf 72 720 Td (caf) Tj 0 0 Td (\264) Tj -4 0 Td (e) Tj ET"),
		[]byte("/Span << /ActualText (x) >> BDC BT /F1 12 Tf 0 Tr 14 TL (a) ' 1 2 (b) \" ET EMC /Fm1 Do"),
	)
}

func BenchmarkExtractPDF(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "real", "debian-reference.en.pdf"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var pages int
	for b.Loop() {
		doc, err := (Extractor{}).Extract(context.Background(), data)
		if err != nil {
			b.Fatal(err)
		}
		pages = len(doc.Pages)
	}
	b.ReportMetric(float64(pages)*float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}

// PageImages tells which pages paint an image: an inline image, an image XObject, a form
// that paints one (run the first time, remembered the next), and not a page of text alone
// or one that paints a form of text.
func TestPageImages(t *testing.T) {
	t.Parallel()
	text := func(s string) string { return "BT /F1 12 Tf 72 720 Td (" + s + ") Tj ET " }
	contents := []string{
		text("An inline image follows this text") + "q 10 0 0 10 0 0 cm BI /W 1 /H 1 /BPC 8 /CS /G ID \x80 EI Q",
		text("Nothing but text on this page"),
		text("An image XObject follows") + "q 10 0 0 10 0 0 cm /Im1 Do Q",
		text("A form that paints the image") + "/Fm1 Do",
		text("The same form again, from the cache") + "/Fm1 Do",
		text("A form of text only") + "/Fm2 Do",
	}
	res := "<< /Font << /F1 3 0 R >> /XObject << /Im1 4 0 R /Fm1 5 0 R /Fm2 6 0 R >> >>"
	objs := []pdftest.Object{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"", // the page tree, below
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		pdftest.Stream("/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8", []byte{0x80}),
		pdftest.Stream("/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /Im1 4 0 R >> >>", []byte("q 10 0 0 10 0 0 cm /Im1 Do Q")),
		pdftest.Stream("/Type /XObject /Subtype /Form /BBox [0 0 100 100] /Resources << /Font << /F1 3 0 R >> >>", []byte(text("words in a form"))),
	}
	var kids []string
	for _, c := range contents {
		page := len(objs) + 1
		kids = append(kids, fmt.Sprintf("%d 0 R", page))
		objs = append(objs,
			pdftest.Object(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources %s /Contents %d 0 R >>", res, page+1)),
			pdftest.Stream("", []byte(c)))
	}
	objs[1] = pdftest.Object(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids)))
	doc, err := Extractor{extractors.Limits{MaxPages: 50, MaxTextBytes: 1 << 20}}.Extract(context.Background(), pdftest.Build("%PDF-1.4", objs, ""))
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, true, true, true, false}; !slices.Equal(doc.PageImages, want) {
		t.Fatalf("PageImages = %v, want %v (pages %v)", doc.PageImages, want, doc.Pages)
	}
}
