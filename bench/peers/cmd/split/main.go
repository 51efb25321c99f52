// Command split runs one splitter over one text file and prints one JSON line: time,
// MB/s, chunk count, chunk-size statistics in the splitter's unit, chunks over the limit
// (counted with the splitter's own measure) and the process's peak RSS. bench/chunkers.sh
// runs it once per splitter and size, so every peak RSS is a process of its own.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docingest/docingest/chunkers"
	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/wordpiece"
	tiktoken "github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
	"github.com/tmc/langchaingo/textsplitter"
)

type result struct {
	Splitter string  `json:"splitter"`
	Unit     string  `json:"unit"`
	Limit    int     `json:"limit"`
	Bytes    int     `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	MBps     float64 `json:"mb_per_s"`
	Chunks   int     `json:"chunks"`
	Mean     float64 `json:"mean"`
	P50      int     `json:"p50"`
	Max      int     `json:"max"`
	Over     int     `json:"over"`
	RSSMiB   float64 `json:"peak_rss_mib"`
}

func main() {
	name := flag.String("splitter", "", "splitter to run")
	in := flag.String("in", "", "text file")
	flag.Parse()
	// read the file straight into one string (no second copy of the input)
	f, err := os.Open(*in)
	if err != nil {
		fail(err)
	}
	var sb strings.Builder
	if st, err := f.Stat(); err == nil {
		sb.Grow(int(st.Size()))
	}
	if _, err := io.Copy(&sb, f); err != nil {
		fail(err)
	}
	f.Close()
	text := sb.String()
	tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
	cl100k, err := tiktoken.GetEncoding("cl100k_base")
	if err != nil {
		fail(err)
	}
	wp := wordpiece.Default()
	runes := utf8.RuneCountInString
	tiktokens := func(s string) int { return len(cl100k.Encode(s, nil, nil)) }

	var split func(string) ([]string, error)
	var measure func(string) int
	res := result{Splitter: *name}
	ours := func(c interface {
		Chunk(context.Context, document.Document) ([]document.Span, error)
	}) func(string) ([]string, error) {
		return func(s string) ([]string, error) {
			spans, err := c.Chunk(context.Background(), document.Document{Text: s})
			out := make([]string, len(spans))
			for i, sp := range spans {
				out[i] = s[sp.Start:sp.End]
			}
			return out, err
		}
	}
	chars := chunkers.Config{Max: 1000, Overlap: 200}
	tokens := chunkers.Config{Max: 512, Overlap: 50}
	switch *name {
	case "docingest-recursive-chars":
		split, measure, res.Unit, res.Limit = ours(chunkers.Recursive{Config: chars, Sizer: chunkers.CharSizer{}}), runes, "chars", 1000
	case "docingest-markdown-chars":
		split, measure, res.Unit, res.Limit = ours(chunkers.Markdown{Config: chars, Sizer: chunkers.CharSizer{}}), runes, "chars", 1000
	case "docingest-recursive-wordpiece":
		split, measure, res.Unit, res.Limit = ours(chunkers.Recursive{Config: tokens, Sizer: wp}), wp.Count, "wordpiece", 512
	case "docingest-sentence-wordpiece":
		split, measure, res.Unit, res.Limit = ours(chunkers.Sentence{Config: tokens, Sizer: wp}), wp.Count, "wordpiece", 512
	case "docingest-semantic-wordpiece":
		h, _ := embedders.NewHashing(embedders.DefaultHashing())
		split, measure, res.Unit, res.Limit = ours(chunkers.Semantic{Config: tokens, Sizer: wp, Embedder: h, Semantic: chunkers.DefaultSemantic()}), wp.Count, "wordpiece", 512
	case "docingest-hierarchical-wordpiece":
		split, measure, res.Unit, res.Limit = ours(chunkers.Hierarchical{Config: tokens, Parent: chunkers.Config{Max: 1536, Overlap: 0}, Sizer: wp}), wp.Count, "wordpiece", 1536
	case "docingest-fixed-wordpiece":
		split, measure, res.Unit, res.Limit = ours(chunkers.Fixed{Config: tokens, Sizer: wp}), wp.Count, "wordpiece", 512
	case "langchaingo-recursive-chars":
		s := textsplitter.NewRecursiveCharacter(textsplitter.WithChunkSize(1000), textsplitter.WithChunkOverlap(200))
		split, measure, res.Unit, res.Limit = s.SplitText, runes, "chars", 1000
	case "langchaingo-markdown-chars":
		s := textsplitter.NewMarkdownTextSplitter(textsplitter.WithChunkSize(1000), textsplitter.WithChunkOverlap(200))
		split, measure, res.Unit, res.Limit = s.SplitText, runes, "chars", 1000
	case "langchaingo-token-cl100k":
		s := textsplitter.NewTokenSplitter(textsplitter.WithChunkSize(512), textsplitter.WithChunkOverlap(50), textsplitter.WithEncodingName("cl100k_base"))
		split, measure, res.Unit, res.Limit = s.SplitText, tiktokens, "cl100k", 512
	default:
		fail(fmt.Errorf("unknown splitter %q", *name))
	}
	start := time.Now()
	chunks, err := split(text)
	elapsed := time.Since(start)
	if err != nil {
		fail(err)
	}
	res.Bytes, res.Seconds = len(text), elapsed.Seconds()
	res.MBps = float64(len(text)) / 1e6 / elapsed.Seconds()
	res.RSSMiB = peakRSS()
	text = ""
	sizes := make([]int, len(chunks))
	total := 0
	for i, c := range chunks {
		sizes[i] = measure(c)
		total += sizes[i]
		if sizes[i] > res.Limit {
			res.Over++
		}
	}
	res.Chunks = len(chunks)
	if len(sizes) > 0 {
		slices.Sort(sizes)
		res.Mean = float64(total) / float64(len(sizes))
		res.P50, res.Max = sizes[len(sizes)/2], sizes[len(sizes)-1]
	}
	json.NewEncoder(os.Stdout).Encode(res)
}

// peakRSS is VmHWM from /proc/self/status, in MiB.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "split:", err)
	os.Exit(1)
}
