package peers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/docingest/docingest/extractors/pdf"

	"github.com/docingest/docingest/chunkers"
	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/tmc/langchaingo/textsplitter"
)

// corpusText reads BENCH_CORPUS (a text file) or, without it, the cleaned text of
// ../../testdata/real, repeated to BENCH_MB megabytes (default 10).
func corpusText(t testing.TB) string {
	mb := 10
	if v := os.Getenv("BENCH_MB"); v != "" {
		fmt.Sscan(v, &mb)
	}
	var one string
	if p := os.Getenv("BENCH_CORPUS"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		one = string(b)
	} else {
		var sb strings.Builder
		files, _ := filepath.Glob("../../testdata/real/*.*")
		for _, f := range files {
			data, _ := os.ReadFile(f)
			var doc document.Document
			var err error
			switch extractors.Detect(f, data) {
			case extractors.FormatPDF:
				doc, err = pdf.Extractor{}.Extract(context.Background(), data)
			case extractors.FormatHTML:
				doc, err = extractors.HTMLExtractor{}.Extract(context.Background(), data)
			default:
				continue
			}
			if err == nil {
				sb.WriteString(doc.Text + "\n\n")
			}
		}
		one = sb.String()
	}
	if one == "" {
		t.Fatal("empty corpus")
	}
	want := mb << 20
	return strings.Repeat(one, max(1, want/len(one)))[:min(want, len(one)*max(1, want/len(one)))]
}

type result struct {
	name    string
	mbps    float64
	chunks  int
	over    int
	maxSize int
}

func measure(name string, text string, limit int, runs int, split func(string) []string) result {
	var best time.Duration
	var chunks []string
	for i := 0; i < runs; i++ {
		start := time.Now()
		chunks = split(text)
		if d := time.Since(start); i == 0 || d < best {
			best = d
		}
	}
	r := result{name: name, chunks: len(chunks), mbps: float64(len(text)) / 1e6 / best.Seconds()}
	for _, c := range chunks {
		n := utf8.RuneCountInString(c)
		r.maxSize = max(r.maxSize, n)
		if n > limit {
			r.over++
		}
	}
	return r
}

// TestRecursiveVsLangchaingo compares the recursive splitters at 1000 characters with 200
// of overlap. It prints a table; it fails only if docingest emits a chunk over the limit.
func TestRecursiveVsLangchaingo(t *testing.T) {
	if os.Getenv("BENCH") == "" {
		t.Skip("set BENCH=1 (bench/recursive.sh does) to run the comparison")
	}
	text := corpusText(t)
	const size, overlap, runs = 1000, 200, 3
	lc := textsplitter.NewRecursiveCharacter(textsplitter.WithChunkSize(size), textsplitter.WithChunkOverlap(overlap))
	ours := chunkers.Recursive{Config: chunkers.Config{Max: size, Overlap: overlap}, Sizer: chunkers.CharSizer{}}
	results := []result{
		measure("langchaingo RecursiveCharacter", text, size, runs, func(s string) []string {
			out, err := lc.SplitText(s)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}),
		measure("docingest recursive", text, size, runs, func(s string) []string {
			spans, _ := ours.Chunk(context.Background(), document.Document{Text: s})
			out := make([]string, len(spans))
			for i, sp := range spans {
				out[i] = s[sp.Start:sp.End]
			}
			return out
		}),
	}
	fmt.Printf("input: %.1f MB, chunk size %d characters, overlap %d, best of %d runs\n", float64(len(text))/1e6, size, overlap, runs)
	fmt.Printf("%-32s %10s %8s %10s %9s\n", "splitter", "MB/s", "chunks", "over limit", "largest")
	for _, r := range results {
		fmt.Printf("%-32s %10.1f %8d %10d %9d\n", r.name, r.mbps, r.chunks, r.over, r.maxSize)
	}
	fmt.Printf("ratio docingest / langchaingo: %.1fx\n", results[1].mbps/results[0].mbps)
	if results[1].over > 0 {
		t.Errorf("docingest emitted %d chunks over the limit", results[1].over)
	}
}
