package chunkers

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/docingest/docingest/document"
)

// Embedder is what the semantic strategy needs from an embedding model.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Threshold modes of the semantic strategy, as the peers name them.
const (
	ThresholdPercentile    = "percentile"
	ThresholdStdDev        = "standard_deviation"
	ThresholdInterquartile = "interquartile"
)

// SemanticConfig tunes where the semantic strategy breaks.
type SemanticConfig struct {
	// Buffer is how many sentences on each side join a sentence in the window that is
	// embedded for it (1: the sentence before, itself and the one after).
	Buffer int
	// Threshold is percentile, standard_deviation or interquartile.
	Threshold string
	// Amount: the percentile (95), the number of standard deviations above the mean (3)
	// or the number of interquartile ranges above the mean (1.5).
	Amount float64
	// Batch is how many windows go to the embedder per call.
	Batch int
}

// DefaultSemantic is the peers' default: percentile 95 over windows of three sentences.
func DefaultSemantic() SemanticConfig {
	return SemanticConfig{Buffer: 1, Threshold: ThresholdPercentile, Amount: 95, Batch: 64}
}

// DefaultAmount is the amount each mode uses when none is given.
func DefaultAmount(mode string) float64 {
	switch mode {
	case ThresholdStdDev:
		return 3
	case ThresholdInterquartile:
		return 1.5
	}
	return 95
}

// Validate names the bad field.
func (c SemanticConfig) Validate() error {
	switch {
	case c.Buffer < 0 || c.Buffer > 16:
		return fmt.Errorf("buffer_size: must be between 0 and 16, got %d", c.Buffer)
	case c.Threshold != ThresholdPercentile && c.Threshold != ThresholdStdDev && c.Threshold != ThresholdInterquartile:
		return fmt.Errorf("threshold: must be %s, %s or %s, got %q", ThresholdPercentile, ThresholdStdDev, ThresholdInterquartile, c.Threshold)
	case c.Threshold == ThresholdPercentile && (c.Amount <= 0 || c.Amount >= 100):
		return fmt.Errorf("threshold_amount: a percentile must be between 0 and 100, got %g", c.Amount)
	case c.Amount < 0 || math.IsNaN(c.Amount):
		return fmt.Errorf("threshold_amount: must not be negative, got %g", c.Amount)
	case c.Batch < 1:
		return fmt.Errorf("batch: must be at least 1, got %d", c.Batch)
	}
	return nil
}

// Semantic breaks between sentences where the meaning shifts: each sentence is embedded
// together with its neighbours (Buffer on each side), and a chunk ends after sentence i
// when the cosine distance between the windows of i and i+1 is above the threshold
// (a percentile of all distances in the document, or the mean plus a number of standard
// deviations or interquartile ranges). Unlike the peers' semantic splitters it has a
// hard cap: a segment over Max units is cut by the recursive strategy (with Overlap), so
// no chunk is ever over Max. Segments do not overlap one another.
//
// Memory: one distance per sentence and one batch of vectors; the vectors of the whole
// document are never held at once.
type Semantic struct {
	Config
	Sizer    Sizer
	Embedder Embedder
	Semantic SemanticConfig
}

func (c Semantic) Chunk(ctx context.Context, doc document.Document) ([]document.Span, error) {
	text := doc.Text
	sents := Sentence{Config: c.Config, Sizer: c.Sizer}.units(text, 0, len(text))
	if len(sents) == 0 {
		return nil, nil
	}
	dist, err := c.distances(ctx, text, sents)
	if err != nil {
		return nil, err
	}
	limit := threshold(dist, c.Semantic.Threshold, c.Semantic.Amount)
	// When more than the top share of distances are tied at the maximum (windows with no
	// feature in common, frequent in tables and code), "above the threshold" would select
	// none of them: the tied maximum breaks instead.
	maxDist := float32(0)
	for _, d := range dist {
		maxDist = max(maxDist, d)
	}
	cutter := Recursive{Config: c.Config, Sizer: c.Sizer}
	var out []document.Span
	first := 0
	for i := range sents {
		if i+1 < len(sents) {
			d := float64(dist[i])
			if !(d > limit || d == limit && dist[i] == maxDist) {
				continue
			}
		}
		from, to := sents[first][0], sents[i][1]
		if n := c.Sizer.Count(text[from:to]); n <= c.Max {
			out = append(out, document.Span{Start: from, End: to, Tokens: n, Parent: -1})
		} else {
			out = cutter.split(text, from, to, out)
		}
		first = i + 1
	}
	return out, nil
}

// distances returns, for each sentence but the last, the cosine distance between its
// window and the next sentence's.
func (c Semantic) distances(ctx context.Context, text string, sents [][2]int) ([]float32, error) {
	if c.Embedder == nil {
		return nil, fmt.Errorf("semantic chunking needs an embedder")
	}
	dist := make([]float32, max(len(sents)-1, 0))
	if len(sents) < 2 {
		return dist, nil
	}
	b := c.Semantic.Buffer
	window := func(i int) string {
		return text[sents[max(0, i-b)][0]:sents[min(len(sents)-1, i+b)][1]]
	}
	batch := max(c.Semantic.Batch, 1)
	texts := make([]string, 0, batch)
	var prev []float32
	for at := 0; at < len(sents); at += batch {
		texts = texts[:0]
		for i := at; i < min(len(sents), at+batch); i++ {
			texts = append(texts, window(i))
		}
		vecs, err := c.Embedder.Embed(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("embed sentence windows: %w", err)
		}
		if len(vecs) != len(texts) {
			return nil, fmt.Errorf("embed sentence windows: %d vectors for %d texts", len(vecs), len(texts))
		}
		for k, v := range vecs {
			if i := at + k; i > 0 {
				dist[i-1] = float32(1 - cosine(prev, v))
			}
			prev = v
		}
	}
	return dist, nil
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range min(len(a), len(b)) {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// threshold returns the breakpoint distance: distances above it end a chunk.
func threshold(dist []float32, mode string, amount float64) float64 {
	if len(dist) == 0 {
		return math.Inf(1)
	}
	sorted := make([]float64, len(dist))
	var sum float64
	for i, d := range dist {
		sorted[i] = float64(d)
		sum += float64(d)
	}
	slices.Sort(sorted)
	mean := sum / float64(len(sorted))
	switch mode {
	case ThresholdStdDev:
		var ss float64
		for _, d := range sorted {
			ss += (d - mean) * (d - mean)
		}
		return mean + amount*math.Sqrt(ss/float64(len(sorted)))
	case ThresholdInterquartile:
		return mean + amount*(percentile(sorted, 75)-percentile(sorted, 25))
	}
	return percentile(sorted, amount)
}

// percentile interpolates linearly between closest ranks (numpy's default).
func percentile(sorted []float64, p float64) float64 {
	pos := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}
