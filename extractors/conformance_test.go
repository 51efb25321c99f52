package extractors

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/internal/pdftest"
	"github.com/google/go-cmp/cmp"
)

type extractor interface {
	Extract(ctx context.Context, data []byte) (document.Document, error)
}

func readDoc(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type formatCase struct {
	format   string
	make     func(Limits) extractor
	sample   func(testing.TB) []byte
	want     []string // substrings of the cleaned text
	headings []string // titles, in order (nil: not checked)
	pages    int      // 0: not paged
}

func formatCases() []formatCase {
	return []formatCase{
		{"pdf", func(l Limits) extractor { return PDFExtractor{l} },
			func(testing.TB) []byte {
				return pdftest.TextPDF("%PDF-1.4", []string{"Hello PDF world.", "Second line here."}, []string{"Page two text."})
			},
			[]string{"Hello PDF world.\nSecond line here.", "Page two text."}, nil, 2},
		{"html", func(l Limits) extractor { return HTMLExtractor{l} },
			func(t testing.TB) []byte { return readDoc(t, "page.html") },
			[]string{"Composting turns kitchen scraps", "- Coffee grounds and tea leaves", "Straw | Brown | 3 parts"},
			[]string{"Composting at home", "What to compost", "Greens and browns"}, 0},
		{"markdown", func(l Limits) extractor { return MarkdownExtractor{l} },
			func(t testing.TB) []byte { return readDoc(t, "guide.md") },
			[]string{"# Getting started", "go build ./cmd/docingest", "- `chunks/` holds one JSON object per chunk"},
			[]string{"Getting started", "Installing", "Running", "Output layout", "Troubleshooting"}, 0},
		{"text", func(l Limits) extractor { return TextExtractor{l} },
			func(t testing.TB) []byte { return readDoc(t, "notes.txt") },
			[]string{"They counted forty-two herons", "Dr. Ellis noted"}, nil, 0},
		{"docx", func(l Limits) extractor { return DOCXExtractor{l} },
			func(t testing.TB) []byte { return readDoc(t, "report.docx") },
			[]string{"Sales grew by twelve percent this quarter. The new shop opened in March.", "Line one\nLine two after a tab", "North | 1,200"},
			[]string{"Quarterly report", "Summary", "Figures", "Outlook"}, 0},
		{"csv", func(l Limits) extractor { return CSVExtractor{l} },
			func(t testing.TB) []byte { return readDoc(t, "stations.csv") },
			[]string{"station: North Field, East\ncity: Tromsø\nelevation_m: 35"}, nil, 0},
		{"json", func(l Limits) extractor { return JSONExtractor{l} },
			func(t testing.TB) []byte { return readDoc(t, "catalog.json") },
			[]string{"title: Tide tables of the Atlantic coast\nauthor.name: M. Duarte", "tags[1]: guide", "available: true"}, nil, 0},
	}
}

// checkDocument verifies what every successful extraction promises.
func checkDocument(t *testing.T, doc document.Document) {
	t.Helper()
	if !utf8.ValidString(doc.Text) {
		t.Error("text is not valid UTF-8")
	}
	if strings.ContainsAny(doc.Text, "\r\ufffd\x00") {
		t.Error("text holds CR, U+FFFD or NUL")
	}
	if doc.Text != strings.TrimSpace(doc.Text) {
		t.Error("text has leading or trailing white space")
	}
	for _, h := range doc.Headings {
		if h.Offset < 0 || h.Offset >= len(doc.Text) {
			t.Errorf("heading %q: offset %d out of range", h.Title, h.Offset)
			continue
		}
		if len(h.Title) > MaxHeadingTitle {
			t.Errorf("heading title of %d bytes, over MaxHeadingTitle", len(h.Title))
		}
		title := strings.TrimSuffix(h.Title, "…") // a title cut to MaxHeadingTitle starts the heading's text
		if !strings.Contains(doc.Text[h.Offset:min(len(doc.Text), h.Offset+len(title)+8)], title) {
			t.Errorf("heading %q is not at its offset %d: %q", h.Title, h.Offset, doc.Text[h.Offset:min(len(doc.Text), h.Offset+40)])
		}
	}
	for i := 1; i < len(doc.Pages); i++ {
		if doc.Pages[i] < doc.Pages[i-1] || doc.Pages[i] > len(doc.Text) {
			t.Errorf("page starts out of order: %v", doc.Pages)
		}
	}
}

// extractSafely runs an extractor, turning a panic into a test failure with the input named.
func extractSafely(t *testing.T, ex extractor, data []byte, what string) (doc document.Document, err error) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("%s: panic: %v", what, v)
		}
	}()
	// a guard against hangs, not a speed target: under -race on a loaded 2-core machine a
	// 256 MiB bomb takes over 20 s to reach its cap
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return ex.Extract(ctx, data)
}

func wantPermanent(t *testing.T, err error, what string, reasons ...document.Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	reason, permanent := document.Classify(err)
	if !permanent {
		t.Fatalf("%s: error is not permanent: %v", what, err)
	}
	if len(reasons) > 0 && !containsReason(reasons, reason) {
		t.Fatalf("%s: reason %s (%v), want one of %v", what, reason, err, reasons)
	}
}

func containsReason(rs []document.Reason, r document.Reason) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func TestExtractorConformance(t *testing.T) {
	for _, fc := range formatCases() {
		t.Run(fc.format, func(t *testing.T) {
			t.Parallel()
			ex := fc.make(Limits{MaxPages: 100, MaxTextBytes: 1 << 20})
			sample := fc.sample(t)
			if got := Detect("file."+fc.format, sample); got != fc.format && !(fc.format == "text") {
				t.Errorf("Detect = %q, want %q", got, fc.format)
			}

			doc, err := extractSafely(t, ex, sample, "sample")
			if err != nil {
				t.Fatalf("sample: %v", err)
			}
			checkDocument(t, doc)
			if doc.Format != fc.format {
				t.Errorf("format %q, want %q", doc.Format, fc.format)
			}
			for _, w := range fc.want {
				if !strings.Contains(doc.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, doc.Text)
				}
			}
			if fc.headings != nil {
				var got []string
				for _, h := range doc.Headings {
					got = append(got, h.Title)
				}
				if diff := cmp.Diff(fc.headings, got); diff != "" {
					t.Errorf("headings:\n%s", diff)
				}
			}
			if len(doc.Pages) != fc.pages {
				t.Errorf("%d pages, want %d", len(doc.Pages), fc.pages)
			}

			// Empty input: a clear permanent error.
			_, err = extractSafely(t, ex, nil, "empty")
			wantPermanent(t, err, "empty", document.ReasonEmpty, document.ReasonCorrupt)

			// Truncated input: never a panic; an error or whatever text survived.
			for _, cut := range []int{1, len(sample) / 3, len(sample) / 2, len(sample) - 1} {
				doc, err := extractSafely(t, ex, sample[:cut], "truncated")
				if err == nil {
					checkDocument(t, doc)
				} else {
					wantPermanent(t, err, "truncated")
				}
			}

			// Garbage: never a panic.
			rng := rand.New(rand.NewPCG(1, uint64(len(fc.format))))
			for i := 0; i < 50; i++ {
				g := make([]byte, rng.IntN(4096))
				for j := range g {
					g[j] = byte(rng.Uint32())
				}
				if i%2 == 0 && len(sample) > 16 { // a damaged copy of the sample
					g = bytes.Clone(sample)
					for k := 0; k < 8; k++ {
						g[rng.IntN(len(g))] = byte(rng.Uint32())
					}
				}
				doc, err := extractSafely(t, ex, g, "garbage")
				if err == nil {
					checkDocument(t, doc)
				} else if _, permanent := document.Classify(err); !permanent {
					t.Fatalf("garbage: transient error %v", err)
				}
			}

			// Text cap: honoured, with its reason.
			small := fc.make(Limits{MaxPages: 100, MaxTextBytes: 10})
			_, err = extractSafely(t, small, sample, "capped")
			wantPermanent(t, err, "text cap", document.ReasonTooLarge)

			// Cancellation: an expired context is reported, not ignored.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := ex.Extract(ctx, bytes.Repeat(append(sample, '\n'), 1)); err != nil && !errors.Is(err, context.Canceled) {
				if _, permanent := document.Classify(err); !permanent {
					t.Errorf("cancelled: %v", err)
				}
			}
		})
	}
}

func TestPDFHostile(t *testing.T) {
	t.Parallel()
	ex := PDFExtractor{Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}}
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
			doc, err := extractSafely(t, PDFExtractor{Limits{MaxPages: 10}}, pdftest.TextPDF("%PDF-1.4", pages...), "page cap")
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
		doc, err := extractSafely(t, PDFExtractor{}, pdftest.TextPDF(header, []string{"Readable text."}), header)
		if err != nil {
			t.Errorf("header %q: %v", header, err)
			continue
		}
		if doc.Text != "Readable text." {
			t.Errorf("header %q: text %q", header, doc.Text)
		}
	}
}

func TestPDFRunningHeadsRemoved(t *testing.T) {
	t.Parallel()
	var pages [][]string
	for i := 1; i <= 6; i++ {
		pages = append(pages, []string{"Annual Report 2026", "Body of page " + strings.Repeat("x", i) + ".", "Page " + string(rune('0'+i))})
	}
	doc, err := extractSafely(t, PDFExtractor{}, pdftest.TextPDF("%PDF-1.4", pages...), "heads")
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

func TestDOCXZipBomb(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	zw := newZip(&buf)
	w, _ := zw.Create("word/document.xml")
	w.Write([]byte(`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>`))
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for i := 0; i < 200; i++ { // 200 MiB of text, a few hundred KiB zipped
		w.Write(chunk)
	}
	w.Write([]byte(`</w:t></w:r></w:p></w:body></w:document>`))
	zw.Close()
	_, err := extractSafely(t, DOCXExtractor{Limits{MaxTextBytes: 1 << 20}}, buf.Bytes(), "zip bomb")
	wantPermanent(t, err, "zip bomb", document.ReasonTooLarge)
}

func TestDetect(t *testing.T) {
	t.Parallel()
	docx := readDoc(t, "report.docx")
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"a.bin", []byte("%PDF-1.4\n..."), FormatPDF},
		{"renamed.txt", docx, FormatDOCX},
		{"x.docx", []byte("PK\x03\x04junk"), FormatDOCX},
		{"x.zip", []byte("PK\x03\x04junk"), ""},
		{"page", []byte("  <!DOCTYPE html><p>hi"), FormatHTML},
		{"README.md", []byte("# Title"), FormatMarkdown},
		{"data.csv", []byte("a,b\n1,2"), FormatCSV},
		{"data.ndjson", []byte(`{"a":1}`), FormatJSON},
		{"notes", []byte("plain words"), FormatText},
		{"latin1", []byte("caf\xe9 cr\xe8me"), FormatText},
		{"utf16", []byte("\xff\xfeh\x00i\x00"), FormatText},
		{"photo.jpg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"), ""},
		{"old.doc", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), ""},
	} {
		if got := Detect(tc.name, tc.data); got != tc.want {
			t.Errorf("Detect(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
