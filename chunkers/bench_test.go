package chunkers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docingest/docingest/extractors/pdf"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/extractors"
)

var (
	benchOnce sync.Once
	benchText string
)

// corpus returns about 8 MB of real cleaned text: the documents of testdata/real, through
// their extractors, repeated.
func corpus(b testing.TB) string {
	benchOnce.Do(func() {
		var sb strings.Builder
		files, _ := filepath.Glob("../testdata/real/*.*")
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			var ex interface {
				Extract(context.Context, []byte) (document.Document, error)
			}
			switch extractors.Detect(f, data) {
			case extractors.FormatPDF:
				ex = pdf.Extractor{}
			case extractors.FormatHTML:
				ex = extractors.HTMLExtractor{}
			default:
				continue
			}
			doc, err := ex.Extract(context.Background(), data)
			if err == nil {
				sb.WriteString(doc.Text)
				sb.WriteString("\n\n")
			}
		}
		one := sb.String()
		benchText = strings.Repeat(one, max(1, (8<<20)/max(1, len(one))))
	})
	if benchText == "" {
		b.Skip("no text in testdata/real")
	}
	return benchText
}

func benchChunker(b *testing.B, c chunker) {
	text := corpus(b)
	doc := document.Document{Text: text}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for b.Loop() {
		spans, _ := c.Chunk(context.Background(), doc)
		n = len(spans)
	}
	b.ReportMetric(float64(n), "chunks")
}

// Character sizing at 1000/200, the setting the peers are measured with.
func BenchmarkChunkRecursive(b *testing.B) {
	benchChunker(b, Recursive{Config{Max: 1000, Overlap: 200}, CharSizer{}})
}
func BenchmarkChunkFixed(b *testing.B) {
	benchChunker(b, Fixed{Config{Max: 1000, Overlap: 200}, CharSizer{}})
}
func BenchmarkChunkSentence(b *testing.B) {
	benchChunker(b, Sentence{Config{Max: 1000, Overlap: 200}, CharSizer{}})
}
func BenchmarkChunkMarkdown(b *testing.B) {
	benchChunker(b, Markdown{Config{Max: 1000, Overlap: 200}, CharSizer{}})
}

// Token sizing at 512/50 with the default tokenizer.
func BenchmarkChunkRecursiveTokens(b *testing.B) {
	benchChunker(b, Recursive{Config{Max: 512, Overlap: 50}, embedders.WordTokenizer{}})
}
func BenchmarkChunkFixedTokens(b *testing.B) {
	benchChunker(b, Fixed{Config{Max: 512, Overlap: 50}, embedders.WordTokenizer{}})
}
func BenchmarkChunkSentenceTokens(b *testing.B) {
	benchChunker(b, Sentence{Config{Max: 512, Overlap: 50}, embedders.WordTokenizer{}})
}
func BenchmarkChunkMarkdownTokens(b *testing.B) {
	benchChunker(b, Markdown{Config{Max: 512, Overlap: 50}, embedders.WordTokenizer{}})
}

// BenchmarkNewlineScan is the floor: one pass counting newlines over the same text.
func BenchmarkNewlineScan(b *testing.B) {
	text := corpus(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		_ = strings.Count(text, "\n")
	}
}

// WordPiece sizing at 512/50, the token setting the peers are measured with.
func BenchmarkChunkRecursiveWordPiece(b *testing.B) {
	benchChunker(b, Recursive{Config{Max: 512, Overlap: 50}, wordpieceSizer})
}
