package legacy

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/extractors/extractortest"
	"github.com/docingest/docingest/extractors/pdfchild"
	"github.com/docingest/docingest/internal/testenv"
)

var lim = extractors.Limits{MaxPages: 100, MaxTextBytes: 1 << 20}

func findTools(t *testing.T) Tools {
	t.Helper()
	tl := Find()
	if tl.XLS2CSV == "" || tl.Catdoc == "" || tl.Catppt == "" {
		testenv.Missing(t, "catdoc's converters (Debian package catdoc)")
	}
	return tl
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/formats/legacy/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// A real Word file (written by LibreOffice Writer) and a real PowerPoint deck (SystemC's
// example slides), both from Debian packages, read by the real catdoc and catppt: their
// text compared with testdata/golden on every run.
func TestDOCAndPPT(t *testing.T) {
	tl := findTools(t)
	for _, c := range []struct{ format, name string }{
		{extractors.FormatDOC, "writer.doc"},
		{extractors.FormatPPT, "lt_mixed_endian_example.ppt"},
	} {
		data, err := os.ReadFile("../../testdata/formats/real/" + c.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := extractors.Detect(c.name, data); got != c.format {
			t.Errorf("%s detected as %q", c.name, got)
		}
		doc, err := For(c.format, tl, lim, pdfchild.Extractor{MaxRSS: 256 << 20}).Extract(context.Background(), data)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		extractortest.CheckDocument(t, doc)
		testenv.Golden(t, doc.Text, "../../testdata/golden/formats__real__"+c.name+".txt", *update)
	}
}

// Real .xls files from Debian packages (Spreadsheet::ParseExcel's and xlrd's examples),
// read by the real xls2csv: a section per sheet, rows as the CSV extractor writes them.
func TestXLS(t *testing.T) {
	tl := findTools(t)
	if tl.Version == "" {
		t.Error("catdoc's version was not found: the fingerprint would not change with it")
	}
	ex := For(extractors.FormatXLS, tl, lim, pdfchild.Extractor{MaxRSS: 256 << 20})
	doc, err := ex.Extract(context.Background(), read(t, "Test97.xls"))
	if err != nil {
		t.Fatal(err)
	}
	extractortest.CheckDocument(t, doc)
	for _, want := range []string{"This Data is 'ASC Only': 1234567.89012345", "Sheet 2", "This is Sheet2"} {
		if !strings.Contains(doc.Text, want) {
			t.Errorf("missing %q in:\n%s", want, doc.Text)
		}
	}
	if doc.Format != extractors.FormatXLS || len(doc.Headings) < 2 {
		t.Errorf("format %q, headings %+v", doc.Format, doc.Headings)
	}
	if doc, err := ex.Extract(context.Background(), read(t, "namesdemo.xls")); err != nil || doc.Text == "" {
		t.Errorf("namesdemo.xls: %v", err)
	}
}

// Every converter, on what is not its format (an .xls given to catdoc and catppt, junk
// with the OLE signature), ends in a failure record, never a hang or a crash; the output
// cap holds; a cancelled context stops the child.
func TestBadInput(t *testing.T) {
	tl := findTools(t)
	junk := append([]byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), make([]byte, 4096)...)
	for _, f := range []string{extractors.FormatDOC, extractors.FormatXLS, extractors.FormatPPT} {
		ex := For(f, tl, lim, pdfchild.Extractor{MaxRSS: 256 << 20})
		for name, data := range map[string][]byte{"junk": junk, "xls": read(t, "Test97.xls")} {
			doc, err := ex.Extract(context.Background(), data)
			if err != nil {
				if _, permanent := document.Classify(err); !permanent {
					t.Errorf("%s on %s: a transient error: %v", f, name, err)
				}
				continue
			}
			extractortest.CheckDocument(t, doc)
		}
	}
	capped := For(extractors.FormatXLS, tl, lim, pdfchild.Extractor{MaxRSS: 256 << 20, MaxOutput: 64})
	_, err := capped.Extract(context.Background(), read(t, "Test97.xls"))
	extractortest.WantPermanent(t, err, "output over the cap", document.ReasonTooLarge)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := For(extractors.FormatXLS, tl, lim, pdfchild.Extractor{}).Extract(ctx, read(t, "Test97.xls")); err == nil {
		t.Error("a cancelled extraction succeeded")
	}
}

// Without the converter, the record names the tool to install.
func TestMissingTool(t *testing.T) {
	for f, tool := range tools {
		_, err := For(f, Tools{}, lim, pdfchild.Extractor{}).Extract(context.Background(), []byte("\xD0\xCF\x11\xE0"))
		extractortest.WantPermanent(t, err, f+" without its converter", document.ReasonUnsupported)
		if err == nil || !strings.Contains(err.Error(), tool) || !strings.Contains(err.Error(), "Debian package catdoc") {
			t.Errorf("%s: %v does not name %s", f, err, tool)
		}
	}
	if (Tools{}).Fingerprint() == (Tools{XLS2CSV: "/usr/bin/xls2csv", Version: "0.95"}).Fingerprint() {
		t.Error("the fingerprint does not change with the converters present")
	}
}
