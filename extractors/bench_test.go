package extractors

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func benchExtract(b *testing.B, ex extractor, path string) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", path))
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var pages int
	for b.Loop() {
		doc, err := ex.Extract(context.Background(), data)
		if err != nil {
			b.Fatal(err)
		}
		pages = len(doc.Pages)
	}
	if pages > 0 {
		b.ReportMetric(float64(pages)*float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	}
}

func BenchmarkExtractHTML(b *testing.B) { benchExtract(b, HTMLExtractor{}, "real/ch01.en.html") }
func BenchmarkExtractMarkdown(b *testing.B) {
	benchExtract(b, MarkdownExtractor{}, "docs/guide.md")
}
func BenchmarkExtractText(b *testing.B) { benchExtract(b, TextExtractor{}, "docs/notes.txt") }
func BenchmarkExtractDOCX(b *testing.B) { benchExtract(b, DOCXExtractor{}, "docs/report.docx") }
func BenchmarkExtractCSV(b *testing.B)  { benchExtract(b, CSVExtractor{}, "docs/stations.csv") }
func BenchmarkExtractJSON(b *testing.B) { benchExtract(b, JSONExtractor{}, "docs/catalog.json") }
