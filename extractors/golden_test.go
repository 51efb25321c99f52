package extractors

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docingest/docingest/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden compares the cleaned text of real and sample documents with the files in
// testdata/golden on every run; -update rewrites them (review the diff before committing).
func TestGolden(t *testing.T) {
	lim := Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}
	for _, name := range []string{
		"real/ch03.en.html",
		"docs/page.html", "docs/report.docx", "docs/guide.md", "docs/stations.csv", "docs/catalog.json",
		"formats/budget.xlsx", "formats/deck.pptx", "formats/deck.odt", "formats/deck.rtf",
		"formats/deck.epub", "formats/survey.eml",
		"formats/real/guide.epub", "formats/real/aprx-requirement-specification.odt", "formats/real/aprx-manual-pics.odp",
		"formats/real/countrystatistics.ods", "formats/real/table-complex.pptx", "formats/real/BF.Clock23.xlsx",
		"formats/real/aft2rtf-doc.rtf", "formats/real/ocr-png.eml",
	} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			format := Detect(name, data)
			if format == FormatODS || format == FormatODP {
				format = FormatODT // one extractor reads the three OpenDocument formats
			}
			var ex extractor
			for _, fc := range formatCases() { // the conformance suite's table of extractors
				if fc.format == format {
					ex = fc.make(lim)
				}
			}
			if ex == nil {
				t.Fatalf("no extractor for format %q", format)
			}
			doc, err := ex.Extract(context.Background(), data)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("..", "testdata", "golden", strings.ReplaceAll(name, "/", "__")+".txt")
			testenv.Golden(t, doc.Text, golden, *update)
		})
	}
}
