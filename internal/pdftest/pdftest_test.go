package pdftest

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated fixtures in testdata/hostile")

// The PDFs committed under testdata/hostile are this package's output: they are compared
// on every run and rewritten only with -update.
func TestHostileFixtures(t *testing.T) {
	for name, data := range map[string][]byte{
		"encrypted.pdf": EncryptedPDF(),
		"scanned.pdf":   ImageOnlyPDF(),
	} {
		path := filepath.Join("..", "..", "testdata", "hostile", name)
		if *update {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run go test ./internal/pdftest -update)", name, err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%s differs from the generator's output (run go test ./internal/pdftest -update)", name)
		}
	}
}

func TestBuildOffsets(t *testing.T) {
	pdf := TextPDF("%PDF-1.4", []string{"hello"})
	i := bytes.LastIndex(pdf, []byte("startxref\n"))
	if i < 0 {
		t.Fatal("no startxref")
	}
	var off int
	if _, err := fmt.Sscan(string(pdf[i+len("startxref\n"):]), &off); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf[off:], []byte("xref\n")) {
		t.Fatalf("startxref %d does not point at the xref table", off)
	}
}
