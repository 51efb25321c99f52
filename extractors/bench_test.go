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

// BenchmarkExtractTextCorpus extracts plain text files as one document each: the golden
// texts, or the files DOCINGEST_BENCH_TEXT matches, e.g.
// 'bench/corpus/throughput/files133/*.txt' (made by bench/throughput.sh), which the
// tests do not use.
func BenchmarkExtractTextCorpus(b *testing.B) {
	pattern := "../testdata/golden/*.txt"
	if p := os.Getenv("DOCINGEST_BENCH_TEXT"); p != "" {
		pattern = p
	}
	paths, err := filepath.Glob(pattern)
	if err != nil || len(paths) == 0 {
		b.Fatalf("no files match %q (%v)", pattern, err)
	}
	var files [][]byte
	size := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, data)
		size += len(data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, data := range files {
			if _, err := (TextExtractor{}).Extract(context.Background(), data); err != nil {
				b.Fatal(err)
			}
		}
	}
}
