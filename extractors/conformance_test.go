package extractors

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors/extractortest"
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
		{"xlsx", func(l Limits) extractor { return XLSXExtractor{Limits: l} },
			func(t testing.TB) []byte { return readDoc(t, "../formats/budget.xlsx") },
			[]string{"Item: Rent\nAmount: 12,500.50\nShare: 41.7%\nDue: 2026-01-31\nPaid: TRUE", "Due: 2026-06-01T14:30:00", "column D: A stray cell far from the others"},
			[]string{"Budget 2026", "Notes"}, 0},
		{"pptx", func(l Limits) extractor { return PPTXExtractor{Limits: l} },
			func(t testing.TB) []byte { return readDoc(t, "../formats/deck.pptx") },
			[]string{"The river rose by half a metre overnight", "Site | Herons | Egrets", "Notes: Ask the volunteers for June dates."},
			[]string{"Field survey results", "Where we counted", "Counts by site", "Next steps"}, 4},
		{"odt", func(l Limits) extractor { return ODFExtractor{Limits: l} },
			func(t testing.TB) []byte { return readDoc(t, "../formats/deck.odt") },
			[]string{"The river rose by half a metre overnight", "Site | Herons | Egrets", "Ask the volunteers for June dates."},
			[]string{"Field survey results", "Where we counted", "Counts by site", "Next steps"}, 0},
		{"rtf", func(l Limits) extractor { return RTFExtractor{Limits: l} },
			func(t testing.TB) []byte { return readDoc(t, "../formats/deck.rtf") },
			[]string{"The river rose by half a metre overnight", "Site | Herons | Egrets", "Ask the volunteers for June dates."},
			[]string{"Where we counted", "Counts by site", "Next steps"}, 0},
		{"epub", func(l Limits) extractor { return EPUBExtractor{Limits: l} },
			func(t testing.TB) []byte { return readDoc(t, "../formats/deck.epub") },
			[]string{"The river rose by half a metre overnight", "Site | Herons | Egrets", "Ask the volunteers for June dates."},
			[]string{"Field survey results", "Where we counted", "Counts by site", "Next steps"}, 4},
		{"eml", func(l Limits) extractor { return EMLExtractor{Limits: l} },
			func(t testing.TB) []byte { return readDoc(t, "../formats/survey.eml") },
			[]string{"the spring count is done: forty-two herons near the old mill and thirteen at the weir.", "The budget for the June count is attached."},
			[]string{"Re: Zählung am Mühlwehr — spring results"}, 0},
		{"json", func(l Limits) extractor { return JSONExtractor{l} },
			func(t testing.TB) []byte { return readDoc(t, "catalog.json") },
			[]string{"title: Tide tables of the Atlantic coast\nauthor.name: M. Duarte", "tags[1]: guide", "available: true"}, nil, 0},
	}
}

func checkDocument(t testing.TB, doc document.Document) {
	t.Helper()
	extractortest.CheckDocument(t, doc)
}

func extractSafely(t testing.TB, ex extractor, data []byte, what string) (document.Document, error) {
	t.Helper()
	return extractortest.ExtractSafely(t, ex, data, what)
}

func wantPermanent(t testing.TB, err error, what string, reasons ...document.Reason) {
	t.Helper()
	extractortest.WantPermanent(t, err, what, reasons...)
}

// suiteCase is fc as the conformance suite takes it.
func (fc formatCase) suiteCase(t testing.TB) extractortest.Case {
	return extractortest.Case{
		Format: fc.format,
		New: func(maxPages, maxText int) extractortest.Extractor {
			return fc.make(Limits{MaxPages: maxPages, MaxTextBytes: maxText})
		},
		Sample: fc.sample(t), Want: fc.want, Headings: fc.headings, Pages: fc.pages,
	}
}

func TestExtractorConformance(t *testing.T) {
	if extractortest.MaxHeadingTitle != MaxHeadingTitle {
		t.Fatalf("extractortest.MaxHeadingTitle %d, extractors.MaxHeadingTitle %d", extractortest.MaxHeadingTitle, MaxHeadingTitle)
	}
	for _, fc := range formatCases() {
		t.Run(fc.format, func(t *testing.T) {
			t.Parallel()
			c := fc.suiteCase(t)
			if got := Detect("file."+fc.format, c.Sample); got != fc.format && fc.format != "text" {
				t.Errorf("Detect = %q, want %q", got, fc.format)
			}
			extractortest.Run(t, c)
		})
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
	xlsx, pptx := readDoc(t, "../formats/budget.xlsx"), readDoc(t, "../formats/deck.pptx")
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"a.bin", []byte("%PDF-1.4\n..."), FormatPDF},
		{"renamed.txt", docx, FormatDOCX},
		{"x.docx", []byte("PK\x03\x04junk"), FormatDOCX},
		{"x.zip", []byte("PK\x03\x04junk"), ""},
		// a zip is told by its parts, whatever its name says
		{"budget.docx", xlsx, FormatXLSX},
		{"deck.xlsx", pptx, FormatPPTX},
		{"upload", pptx, FormatPPTX},
		{"report.pptx", docx, FormatDOCX},
		{"x.xlsx", []byte("PK\x03\x04junk"), FormatXLSX},
		{"x.pptx", []byte("not even a zip"), FormatPPTX},
		{"deck.docx", readDoc(t, "../formats/deck.odt"), FormatODT},
		{"x.odp", []byte("PK\x03\x04junk"), FormatODP},
		{"letter.txt", []byte(`{\rtf1\ansi hello}`), FormatRTF},
		{"budget.xls", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), FormatXLS},
		{"memo.DOC", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), FormatDOC},
		{"talk.ppt", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), FormatPPT},
		{"secret.docx", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), ""}, // encrypted OOXML
		{"letter.rtf", []byte("plain"), FormatRTF},
		{"page", []byte("  <!DOCTYPE html><p>hi"), FormatHTML},
		{"README.md", []byte("# Title"), FormatMarkdown},
		{"data.csv", []byte("a,b\n1,2"), FormatCSV},
		{"data.ndjson", []byte(`{"a":1}`), FormatJSON},
		{"notes", []byte("plain words"), FormatText},
		{"latin1", []byte("caf\xe9 cr\xe8me"), FormatText},
		{"utf16", []byte("\xff\xfeh\x00i\x00"), FormatText},
		{"photo.jpg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"), FormatJPEG},
		{"scan", []byte("\x89PNG\r\n\x1a\nrest"), FormatPNG},
		{"fax.tif", []byte("II*\x00rest"), FormatTIFF},
		{"x.webp", []byte("RIFF\x10\x00\x00\x00WEBPVP8 "), FormatWebP},
		{"old.doc", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), FormatDOC},
	} {
		if got := Detect(tc.name, tc.data); got != tc.want {
			t.Errorf("Detect(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
