package chunkers

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/docingest/docingest/document"
)

const (
	riverText    = "The river floods the valley every spring. Herons hunt fish in the shallow water of the river. Fishermen mend their nets by the river bank. The water of the river is cold and clear. Trout swim upstream against the current of the river. "
	compilerText = "The compiler parses source code into a syntax tree. Type checking runs over the syntax tree of the program. The compiler emits machine code for each function. Register allocation assigns variables of the program to registers. The linker joins object code into one program. "
)

// topicEmbedder stands in for a semantic model: one dimension per topic word list, plus
// one per sentence length so that neighbours within a topic are not identical.
type topicEmbedder struct{}

func (topicEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	topics := [][]string{{"river", "water", "fish", "herons", "trout", "nets"}, {"compiler", "code", "program", "syntax", "linker", "registers"}}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, len(topics)+1)
		for k, words := range topics {
			for _, w := range words {
				v[k] += float32(strings.Count(strings.ToLower(t), w))
			}
		}
		v[len(topics)] = float32(len(t)%7) / 4
		out[i] = v
	}
	return out, nil
}

func TestSemanticBreaksAtTopicChange(t *testing.T) {
	t.Parallel()
	rivers := strings.Repeat(riverText, 3)
	text := rivers + strings.Repeat(compilerText, 3)
	boundary := len(strings.TrimRight(rivers, " "))
	for _, mode := range []string{ThresholdPercentile, ThresholdStdDev, ThresholdInterquartile} {
		sc := DefaultSemantic()
		sc.Threshold, sc.Amount = mode, DefaultAmount(mode)
		sc.Buffer = 0 // with neighbours in the window the change is spread over three gaps
		c := Semantic{Config: Config{Max: 2000}, Sizer: CharSizer{}, Embedder: topicEmbedder{}, Semantic: sc}
		spans, err := c.Chunk(context.Background(), document.Document{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		ends := map[int]bool{}
		for _, s := range spans {
			ends[s.End] = true
		}
		if !ends[boundary] {
			t.Errorf("%s: no chunk ends where the topic changes (%d); chunks end at %v", mode, boundary, ends)
		}
		if len(spans) < 2 || len(spans) > 8 {
			t.Errorf("%s: %d chunks, want a few", mode, len(spans))
		}
	}
}

func TestSemanticHardCap(t *testing.T) {
	t.Parallel()
	// one topic, no break: the cap alone cuts, with the configured overlap
	text := strings.Repeat(riverText, 40)
	c := Semantic{Config: Config{Max: 60, Overlap: 10}, Sizer: wordpieceSizer, Embedder: testEmbedder, Semantic: DefaultSemantic()}
	doc := document.Document{Text: text}
	spans, err := c.Chunk(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSpans(doc, spans, c.Config, wordpieceSizer, strategyNamed("semantic")); err != nil {
		t.Fatal(err)
	}
	for i, s := range spans {
		if s.Tokens > 60 {
			t.Fatalf("chunk %d has %d tokens", i, s.Tokens)
		}
	}
}

type failingEmbedder struct{}

func (failingEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("model unavailable")
}

func TestSemanticEmbedderError(t *testing.T) {
	t.Parallel()
	c := Semantic{Config: Config{Max: 100}, Sizer: CharSizer{}, Embedder: failingEmbedder{}, Semantic: DefaultSemantic()}
	_, err := c.Chunk(context.Background(), document.Document{Text: riverText})
	if err == nil || !strings.Contains(err.Error(), "model unavailable") {
		t.Fatalf("got %v", err)
	}
}

func TestThresholds(t *testing.T) {
	t.Parallel()
	d := []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0}
	// numpy: np.percentile(d, 95) = 0.955; mean 0.55, std 0.28723, IQR 0.45
	for _, tc := range []struct {
		mode   string
		amount float64
		want   float64
	}{
		{ThresholdPercentile, 95, 0.955},
		{ThresholdPercentile, 50, 0.55},
		{ThresholdStdDev, 1, 0.55 + 0.287228},
		{ThresholdInterquartile, 1.5, 0.55 + 1.5*0.45},
	} {
		if got := threshold(d, tc.mode, tc.amount); math.Abs(got-tc.want) > 1e-5 {
			t.Errorf("%s %g: %g, want %g", tc.mode, tc.amount, got, tc.want)
		}
	}
	if !math.IsInf(threshold(nil, ThresholdPercentile, 95), 1) {
		t.Error("no distances must mean no breaks")
	}
}

func TestSemanticConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c    SemanticConfig
		want string
	}{
		{SemanticConfig{Buffer: -1, Threshold: ThresholdPercentile, Amount: 95, Batch: 1}, "buffer_size"},
		{SemanticConfig{Buffer: 1, Threshold: "median", Amount: 95, Batch: 1}, "threshold"},
		{SemanticConfig{Buffer: 1, Threshold: ThresholdPercentile, Amount: 100, Batch: 1}, "threshold_amount"},
		{SemanticConfig{Buffer: 1, Threshold: ThresholdStdDev, Amount: -1, Batch: 1}, "threshold_amount"},
	} {
		if err := tc.c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", tc.c, err, tc.want)
		}
	}
	if err := DefaultSemantic().Validate(); err != nil {
		t.Error(err)
	}
}

func TestHierarchicalParents(t *testing.T) {
	t.Parallel()
	text := strings.Repeat(riverText+"\n\n"+compilerText+"\n\n", 20)
	h := Hierarchical{Config: Config{Max: 50, Overlap: 10}, Parent: Config{Max: 300, Overlap: 0}, Sizer: wordpieceSizer}
	doc := document.Document{Text: text}
	spans, err := h.Chunk(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkHierarchy(doc, spans, h, wordpieceSizer); err != nil {
		t.Fatal(err)
	}
	parents, children := 0, 0
	for _, s := range spans {
		if s.Parent < 0 {
			parents++
		} else {
			children++
		}
	}
	if parents < 2 || children < 4*parents {
		t.Fatalf("%d parents, %d children", parents, children)
	}
	bad := Hierarchical{Config: Config{Max: 300}, Parent: Config{Max: 300}, Sizer: CharSizer{}}
	if _, err := bad.Chunk(context.Background(), doc); err == nil || !strings.Contains(err.Error(), "smaller") {
		t.Fatalf("children as large as parents accepted: %v", err)
	}
}
