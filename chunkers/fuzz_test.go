package chunkers

import (
	"context"
	"testing"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/embedders"
)

// fuzzChunker checks the full contract on arbitrary bytes (valid UTF-8 or not) and sizes.
func fuzzChunker(f *testing.F, st strategy) {
	f.Add("Hello world. This is a test.\n\nNew paragraph here!", 10, 3, false)
	f.Add("日本語の文章です。English here. مرحبا 🙂", 5, 1, true)
	f.Add("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 7, 6, false)
	f.Add("   \n\n\t ", 3, 0, true)
	f.Add("\xff\xfe broken \xc3 utf8 \xe2\x82", 4, 2, false)
	f.Add("Tokenization of unaffable words; naïve café.", 6, 2, true)
	f.Fuzz(func(t *testing.T, text string, max, overlap int, words bool) {
		max = 1 + abs(max)%200
		overlap = abs(overlap) % max
		cfg := Config{Max: max, Overlap: overlap}
		// the unit: characters, words, or WordPiece pieces (picked by the length)
		sizers := []Sizer{CharSizer{}, embedders.WordTokenizer{}, wordpieceSizer}
		var sz Sizer = sizers[len(text)%3]
		if words {
			sz = sizers[1+len(text)%2]
		}
		doc := document.Document{Text: text}
		spans, err := st.make(cfg, sz).Chunk(context.Background(), doc)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkStrategy(doc, spans, cfg, sz, st); err != nil {
			t.Fatalf("max=%d overlap=%d %s: %v", max, overlap, sz.Name(), err)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // math.MinInt
			return 0
		}
		return -n
	}
	return n
}

func strategyNamed(name string) strategy {
	for _, s := range strategies {
		if s.name == name {
			return s
		}
	}
	panic(name)
}

func FuzzChunkFixed(f *testing.F)        { fuzzChunker(f, strategyNamed("fixed")) }
func FuzzChunkRecursive(f *testing.F)    { fuzzChunker(f, strategyNamed("recursive")) }
func FuzzChunkSentence(f *testing.F)     { fuzzChunker(f, strategyNamed("sentence")) }
func FuzzChunkMarkdown(f *testing.F)     { fuzzChunker(f, strategyNamed("markdown")) }
func FuzzChunkSemantic(f *testing.F)     { fuzzChunker(f, strategyNamed("semantic")) }
func FuzzChunkHierarchical(f *testing.F) { fuzzChunker(f, strategyNamed("hierarchical")) }
