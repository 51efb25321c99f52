package extractors

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden compares the cleaned text of real and sample documents with the files in
// testdata/golden on every run; -update rewrites them (review the diff before committing).
func TestGolden(t *testing.T) {
	lim := Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}
	for _, name := range []string{
		"real/debian-reference.en.pdf", "docs/developers-reference.pdf", "real/ch03.en.html",
		"docs/page.html", "docs/report.docx", "docs/guide.md", "docs/stations.csv", "docs/catalog.json",
	} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			format := Detect(name, data)
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
			if *update {
				if err := os.WriteFile(golden, []byte(doc.Text), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./extractors -run TestGolden -update)", err)
			}
			if got := doc.Text; got != string(want) {
				gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
				for i := 0; i < max(len(gl), len(wl)); i++ {
					var g, w string
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if g != w {
						t.Fatalf("differs from %s at line %d:\n got: %q\nwant: %q\n(-update rewrites it)", golden, i+1, g, w)
					}
				}
			}
		})
	}
}
