package chunkers

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docingest/docingest/document"
)

// TestNoChunkOverMax100MB runs every strategy over 100 MB of real text (the cleaned text
// of testdata/real, repeated) with WordPiece sizing and checks the whole contract. It
// takes minutes, so it runs when DOCINGEST_TEST_LARGE=1 (bench/chunkers.sh sets it) and is
// skipped otherwise.
func TestNoChunkOverMax100MB(t *testing.T) {
	if os.Getenv("DOCINGEST_TEST_LARGE") != "1" {
		t.Skip("set DOCINGEST_TEST_LARGE=1 (bench/chunkers.sh does) to chunk 100 MB")
	}
	one := corpus(t)
	text := strings.Repeat(one, (100<<20)/len(one)+1)[:100<<20]
	text = strings.ToValidUTF8(text, "")
	doc := document.Document{Text: text}
	cfg := Config{Max: 512, Overlap: 50}
	for _, st := range strategies {
		if st.name == "markdown" {
			continue // no headings in this text: the same as sentence
		}
		start := time.Now()
		spans, err := st.make(cfg, wordpieceSizer).Chunk(context.Background(), doc)
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if err := checkStrategy(doc, spans, cfg, wordpieceSizer, st); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		over := 0
		for _, s := range spans {
			if s.Tokens > cfg.Max && !(st.name == "hierarchical" && s.Parent < 0) { // parents are larger by design
				over++
			}
		}
		t.Logf("%s: %d chunks over 100 MB in %s, %d over %d WordPiece tokens", st.name, len(spans), elapsed.Round(time.Second), over, cfg.Max)
	}
}
