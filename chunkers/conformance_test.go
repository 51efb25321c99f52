package chunkers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/wordpiece"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// chunker is what every strategy implements (worker declares the same interface).
type chunker interface {
	Chunk(ctx context.Context, doc document.Document) ([]document.Span, error)
}

type strategy struct {
	name string
	make func(Config, Sizer) chunker
	// exact: consecutive chunks overlap by exactly Overlap units (fixed, recursive);
	// otherwise by whole sentences fitting in Overlap units.
	exact bool
}

var strategies = []strategy{
	{"fixed", func(c Config, s Sizer) chunker { return Fixed{c, s} }, true},
	{"recursive", func(c Config, s Sizer) chunker { return Recursive{c, s} }, true},
	{"sentence", func(c Config, s Sizer) chunker { return Sentence{c, s} }, false},
	{"markdown", func(c Config, s Sizer) chunker { return Markdown{c, s} }, false},
	{"semantic", func(c Config, s Sizer) chunker {
		return Semantic{Config: c, Sizer: s, Embedder: testEmbedder, Semantic: DefaultSemantic()}
	}, false},
	{"hierarchical", func(c Config, s Sizer) chunker { return hierarchicalFor(c, s) }, false},
}

// testEmbedder is the real hashing embedder: lexical, but it moves with the vocabulary.
var testEmbedder = func() Embedder {
	h, err := embedders.NewHashing(embedders.DefaultHashing())
	if err != nil {
		panic(err)
	}
	return h
}()

// hierarchicalFor makes children of the given size under parents four times as large.
func hierarchicalFor(c Config, s Sizer) Hierarchical {
	return Hierarchical{Config: c, Parent: Config{Max: c.Max * 4, Overlap: c.Overlap}, Sizer: s}
}

// hierarchicalView checks hierarchical output as two levels: the parents must meet the
// recursive contract over the text with the parent sizes, and the children of each
// parent the recursive contract over that parent's text.
func checkHierarchy(doc document.Document, spans []document.Span, h Hierarchical, sz Sizer) error {
	rec := strategyNamed("recursive")
	var parents []document.Span
	kids := map[int][]document.Span{}
	for i, s := range spans {
		if s.Parent < 0 {
			parents = append(parents, s)
			continue
		}
		if s.Parent >= i || spans[s.Parent].Parent >= 0 {
			return fmt.Errorf("chunk %d: parent %d is not an earlier parent", i, s.Parent)
		}
		p := spans[s.Parent]
		if s.Start < p.Start || s.End > p.End {
			return fmt.Errorf("chunk %d [%d,%d) is outside its parent [%d,%d)", i, s.Start, s.End, p.Start, p.End)
		}
		kids[s.Parent] = append(kids[s.Parent], s)
	}
	if err := checkSpans(doc, parents, h.Parent, sz, rec); err != nil {
		return fmt.Errorf("parents: %w", err)
	}
	for i, s := range spans {
		if s.Parent >= 0 {
			continue
		}
		sub := document.Document{Text: doc.Text[s.Start:s.End]}
		shifted := make([]document.Span, len(kids[i]))
		for k, c := range kids[i] {
			c.Start -= s.Start
			c.End -= s.Start
			c.Parent = -1
			shifted[k] = c
		}
		if err := checkSpans(sub, shifted, h.Config, sz, rec); err != nil {
			return fmt.Errorf("children of chunk %d: %w", i, err)
		}
	}
	return nil
}

// checkStrategy runs the contract that applies to a strategy's output.
func checkStrategy(doc document.Document, spans []document.Span, cfg Config, sz Sizer, st strategy) error {
	if st.name == "hierarchical" {
		return checkHierarchy(doc, spans, hierarchicalFor(cfg, sz), sz)
	}
	return checkSpans(doc, spans, cfg, sz, st)
}

var sizers = []Sizer{CharSizer{}, embedders.WordTokenizer{}, wordpieceSizer}

var wordpieceSizer = wordpiece.Default()

// exactBack reports whether Back cuts exactly n units. WordPiece cannot start a tail
// inside a word, so its overlaps may be shorter than asked (never longer).
func exactBack(sz Sizer) bool {
	_, wp := sz.(*wordpiece.Tokenizer)
	return !wp
}

func isBlank(s string) bool { return strings.TrimFunc(s, unicode.IsSpace) == "" }

// checkSpans verifies the contract every strategy promises (see doc.go).
func checkSpans(doc document.Document, spans []document.Span, cfg Config, sz Sizer, st strategy) error {
	text := doc.Text
	if isBlank(text) {
		if len(spans) != 0 {
			return fmt.Errorf("blank input gave %d chunks", len(spans))
		}
		return nil
	}
	if len(spans) == 0 {
		return fmt.Errorf("no chunks for %d bytes of text", len(text))
	}
	if !isBlank(text[:spans[0].Start]) {
		return fmt.Errorf("text before the first chunk is not covered: %q", text[:spans[0].Start])
	}
	if last := spans[len(spans)-1]; !isBlank(text[last.End:]) {
		return fmt.Errorf("text after the last chunk is not covered: %q", text[last.End:])
	}
	valid := utf8.ValidString(text)
	for i, s := range spans {
		if s.Start < 0 || s.End > len(text) || s.Start >= s.End {
			return fmt.Errorf("chunk %d: bad bounds [%d,%d) in %d bytes", i, s.Start, s.End, len(text))
		}
		chunk := text[s.Start:s.End]
		if valid && !utf8.ValidString(chunk) {
			return fmt.Errorf("chunk %d: cut inside a rune: %q", i, chunk)
		}
		if isBlank(chunk) {
			return fmt.Errorf("chunk %d is blank", i)
		}
		if n := sz.Count(chunk); n > cfg.Max && utf8.RuneCountInString(strings.TrimSpace(chunk)) > 1 {
			// (one character that expands to more WordPiece pieces than Max is the only
			// exception: it cannot be cut)
			return fmt.Errorf("chunk %d: %d %s, over the max of %d: %q", i, n, sz.Name(), cfg.Max, chunk)
		} else if n != s.Tokens {
			return fmt.Errorf("chunk %d: reports %d tokens, has %d", i, s.Tokens, n)
		}
		if i == 0 {
			continue
		}
		a := spans[i-1]
		if s.Start <= a.Start || s.End <= a.End {
			return fmt.Errorf("chunk %d [%d,%d) does not follow chunk %d [%d,%d)", i, s.Start, s.End, i-1, a.Start, a.End)
		}
		// exact strategies overlap by Overlap units, but never by the whole previous chunk
		want := min(cfg.Overlap, sz.Count(text[a.Start:a.End])-1)
		if s.Start >= a.End {
			if !isBlank(text[a.End:s.Start]) {
				return fmt.Errorf("gap between chunks %d and %d is not covered: %q", i-1, i, text[a.End:s.Start])
			}
			// Overlap may be dropped only when it and the white space after it fill a chunk.
			if st.exact && exactBack(sz) && want > 0 && want+sz.Count(text[a.End:s.Start]) < cfg.Max {
				return fmt.Errorf("chunks %d and %d do not overlap (want %d %s)", i-1, i, want, sz.Name())
			}
			continue
		}
		over := sz.Count(text[s.Start:a.End])
		if st.exact && exactBack(sz) {
			if over != want {
				return fmt.Errorf("chunks %d and %d overlap by %d %s, want %d", i-1, i, over, sz.Name(), want)
			}
		} else if over > cfg.Overlap {
			return fmt.Errorf("chunks %d and %d overlap by %d %s, over %d", i-1, i, over, sz.Name(), cfg.Overlap)
		}
	}
	return nil
}

// checkWholeSentences verifies that sentence-packing strategies overlap by whole units:
// every chunk starts where one of the units starts.
func checkWholeSentences(doc document.Document, spans []document.Span, cfg Config, sz Sizer, st strategy) error {
	if st.exact {
		return nil
	}
	starts := map[int]bool{}
	for _, u := range (Sentence{cfg, sz}).units(doc.Text, 0, len(doc.Text)) {
		starts[u[0]] = true
	}
	for _, h := range doc.Headings {
		for _, u := range (Sentence{cfg, sz}).units(doc.Text, h.Offset, len(doc.Text)) {
			starts[u[0]] = true
		}
	}
	for i, s := range spans {
		if !starts[s.Start] {
			return fmt.Errorf("chunk %d starts at %d, not at a sentence: %q", i, s.Start, doc.Text[s.Start:min(len(doc.Text), s.Start+40)])
		}
	}
	return nil
}

func runConformance(t *testing.T, doc document.Document, cfg Config) {
	t.Helper()
	for _, st := range strategies {
		for _, sz := range sizers {
			c := st.make(cfg, sz)
			spans, err := c.Chunk(context.Background(), doc)
			if err != nil {
				t.Fatalf("%s/%s: %v", st.name, sz.Name(), err)
			}
			if err := checkStrategy(doc, spans, cfg, sz, st); err != nil {
				t.Fatalf("%s/%s max=%d overlap=%d: %v", st.name, sz.Name(), cfg.Max, cfg.Overlap, err)
			}
			if err := checkWholeSentences(doc, spans, cfg, sz, st); err != nil && st.name == "sentence" {
				t.Fatalf("%s/%s: %v", st.name, sz.Name(), err)
			}
			again, _ := c.Chunk(context.Background(), doc)
			if diff := cmp.Diff(spans, again); diff != "" {
				t.Fatalf("%s/%s: not deterministic:\n%s", st.name, sz.Name(), diff)
			}
		}
	}
}

// pieces the property tests build texts from: words of several scripts, punctuation,
// every kind of white space, long words.
var pieces = []string{
	"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "a", "I",
	"日本語のテキスト", "中文", "مرحبا", "بالعالم", "🙂", "👩‍👩‍👧", "naïve", "café",
	".", ". ", "! ", "? ", "。", ", ", ";", "Dr. ", "e.g. ", "\"Yes.\" ",
	" ", " ", " ", "  ", "\n", "\n\n", "\t", "\u00a0", "\u3000",
	"- item\n", "1. first\n", "supercalifragilisticexpialidocious", strings.Repeat("x", 40),
	"한국어", "ǅ",
}

func genText(t *rapid.T) string {
	n := rapid.IntRange(0, 120).Draw(t, "pieces")
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(rapid.SampledFrom(pieces).Draw(t, "piece"))
	}
	return b.String()
}

func genConfig(t *rapid.T) Config {
	max := rapid.IntRange(1, 60).Draw(t, "max")
	return Config{Max: max, Overlap: rapid.IntRange(0, max-1).Draw(t, "overlap")}
}

func TestConformanceProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		text := genText(rt)
		cfg := genConfig(rt)
		doc := document.Document{Text: text}
		// headings at some line starts, for the markdown strategy
		for i := 0; i < len(text); i++ {
			if (i == 0 || text[i-1] == '\n') && rapid.Bool().Draw(rt, "heading") {
				doc.Headings = append(doc.Headings, document.Heading{Level: rapid.IntRange(1, 3).Draw(rt, "level"), Title: "h", Offset: i})
			}
		}
		for _, st := range strategies {
			for _, sz := range sizers {
				spans, err := st.make(cfg, sz).Chunk(context.Background(), doc)
				if err != nil {
					rt.Fatalf("%s/%s: %v", st.name, sz.Name(), err)
				}
				if err := checkStrategy(doc, spans, cfg, sz, st); err != nil {
					rt.Fatalf("%s/%s max=%d overlap=%d: %v", st.name, sz.Name(), cfg.Max, cfg.Overlap, err)
				}
				if st.name == "sentence" {
					if err := checkWholeSentences(doc, spans, cfg, sz, st); err != nil {
						rt.Fatalf("%s/%s: %v", st.name, sz.Name(), err)
					}
				}
			}
		}
	})
}

func TestConformanceCases(t *testing.T) {
	t.Parallel()
	prose := strings.Repeat("The river was calm. Herons stood in the shallows, waiting! Did the fish notice? ", 40)
	cases := map[string]string{
		"empty":           "",
		"whitespace only": " \n\n\t \u00a0\u3000 \n",
		"one 1 MB line":   strings.Repeat("abcdefghij", 100_000),
		"mixed scripts":   strings.Repeat("日本語の文章です。English words here. مرحبا بالعالم. 🙂👩‍👩‍👧 emoji! ", 200),
		"prose":           prose,
		"paragraphs":      strings.Repeat("A short paragraph of text.\n\nAnother one, a little longer than the first.\n", 100),
		"single word":     "hello",
		"long word":       "Pneumonoultramicroscopicsilicovolcanoconiosis",
	}
	for name, text := range cases {
		for _, cfg := range []Config{{Max: 1, Overlap: 0}, {Max: 7, Overlap: 3}, {Max: 100, Overlap: 20}, {Max: 1000, Overlap: 200}} {
			t.Run(fmt.Sprintf("%s/%d-%d", name, cfg.Max, cfg.Overlap), func(t *testing.T) {
				if name == "one 1 MB line" && cfg.Max < 100 {
					t.Skip("covered by the larger sizes; max 1 would make a million chunks per strategy")
				}
				runConformance(t, document.Document{Text: text}, cfg)
			})
		}
	}
}

func TestRecursivePrefersParagraphs(t *testing.T) {
	t.Parallel()
	text := "First paragraph is here.\n\nSecond paragraph follows it.\n\nThird."
	spans, _ := Recursive{Config{Max: 40, Overlap: 0}, CharSizer{}}.Chunk(context.Background(), document.Document{Text: text})
	var got []string
	for _, s := range spans {
		got = append(got, text[s.Start:s.End])
	}
	want := []string{"First paragraph is here.", "Second paragraph follows it.\n\nThird."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatal(diff)
	}
}

func TestSentenceOverlapIsWholeSentences(t *testing.T) {
	t.Parallel()
	text := "One two three. Four five six. Seven eight nine. Ten eleven twelve."
	spans, _ := Sentence{Config{Max: 9, Overlap: 4}, embedders.WordTokenizer{}}.Chunk(context.Background(), document.Document{Text: text})
	var got []string
	for _, s := range spans {
		got = append(got, text[s.Start:s.End])
	}
	want := []string{
		"One two three. Four five six.",
		"Four five six. Seven eight nine.",
		"Seven eight nine. Ten eleven twelve.",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatal(diff)
	}
}

func TestMarkdownHeadingPaths(t *testing.T) {
	t.Parallel()
	text := "Intro text.\n\n# Guide\n\nGuide body.\n\n## Install\n\nInstall body.\n\n# Other\n\nOther body."
	off := func(s string) int { return strings.Index(text, s) }
	doc := document.Document{Text: text, Headings: []document.Heading{
		{Level: 1, Title: "Guide", Offset: off("# Guide")},
		{Level: 2, Title: "Install", Offset: off("## Install")},
		{Level: 1, Title: "Other", Offset: off("# Other")},
	}}
	spans, _ := Markdown{Config{Max: 100, Overlap: 0}, CharSizer{}}.Chunk(context.Background(), doc)
	type got struct {
		Text string
		Path []string
	}
	var out []got
	for _, s := range spans {
		out = append(out, got{text[s.Start:s.End], s.HeadingPath})
	}
	want := []got{
		{"Intro text.", []string{}},
		{"# Guide\n\nGuide body.", []string{"Guide"}},
		{"## Install\n\nInstall body.", []string{"Guide", "Install"}},
		{"# Other\n\nOther body.", []string{"Other"}},
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Fatal(diff)
	}
}

func TestSentenceSpans(t *testing.T) {
	t.Parallel()
	text := `Dr. Smith arrived. He said "Hello." Then left! Was it 3.5 km? Yes. 日本です。次の文。- a
- b`
	var got []string
	for _, s := range sentenceSpans(text, 0, len(text)) {
		got = append(got, text[s[0]:s[1]])
	}
	want := []string{"Dr. Smith arrived.", `He said "Hello."`, "Then left!", "Was it 3.5 km?", "Yes.", "日本です。", "次の文。", "- a", "- b"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatal(diff)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Max: 0}, "max_size"},
		{Config{Max: 10, Overlap: -1}, "overlap"},
		{Config{Max: 10, Overlap: 10}, "overlap"},
		{Config{Max: 10, Overlap: 9}, ""},
	} {
		err := tc.cfg.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: got %v, want an error naming %q", tc.cfg, err, tc.want)
		}
	}
}

func TestSizersAdvanceBack(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		s := genText(rt)
		for _, sz := range sizers {
			total := sz.Count(s)
			n := rapid.IntRange(0, total+2).Draw(rt, "n")
			a, held := advance(sz, s, n)
			if held < 0 {
				held = min(n, total)
			}
			got := sz.Count(s[:a])
			// a counting sizer may stop short, or (at the very start) take one character
			// that expands to more units than n; every other sizer is exact
			_, counting := sz.(countingSizer)
			single := utf8.RuneCountInString(strings.TrimSpace(s[:a])) == 1
			if got != held || (!counting && got != min(n, total)) || (got > min(n, total) && !single) {
				rt.Fatalf("%s: Count(s[:Advance(s,%d)]) = %d (reported %d), want %d", sz.Name(), n, got, held, min(n, total))
			}
			b := sz.Back(s, n)
			if got := sz.Count(s[b:]); got != min(n, total) && (exactBack(sz) || got > n) {
				rt.Fatalf("%s: Count(s[Back(s,%d):]) = %d, want %d", sz.Name(), n, got, min(n, total))
			}
		}
	})
}
