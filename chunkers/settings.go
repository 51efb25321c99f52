package chunkers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/docingest/docingest/document"
)

// Strategies are the names the chunking section accepts ("auto": markdown for Markdown
// documents, recursive for the others).
var Strategies = []string{"auto", "fixed", "recursive", "sentence", "markdown", "semantic", "hierarchical"}

// Settings is the chunking section of the configuration file. Its field names are part of
// the pipeline fingerprint (cmd/docingest hashes the section as JSON): renaming one
// reprocesses every output.
type Settings struct {
	Strategy string `yaml:"strategy" doc:"auto (markdown for Markdown, recursive for the rest) | fixed | recursive | sentence | markdown | semantic | hierarchical"`
	Unit     string `yaml:"unit" doc:"tokens (of the embedder's tokenizer) | chars (Unicode code points) | wordpiece (BERT uncased pieces)"`
	MaxSize  int    `yaml:"max_size" doc:"largest chunk, in units; no chunk is ever larger"`
	Overlap  int    `yaml:"overlap" doc:"units repeated from the end of one chunk at the start of the next (whole sentences for sentence and markdown)"`

	SemanticBuffer          int     `yaml:"semantic_buffer_size" doc:"semantic: sentences on each side of a sentence in its embedded window"`
	SemanticThreshold       string  `yaml:"semantic_threshold" doc:"semantic: breakpoint rule, percentile | standard_deviation | interquartile"`
	SemanticThresholdAmount float64 `yaml:"semantic_threshold_amount" doc:"semantic: the rule's amount (0: 95, 3 or 1.5)"`

	ParentSize    int `yaml:"parent_size" doc:"hierarchical: size of the parents (children use max_size and overlap)"`
	ParentOverlap int `yaml:"parent_overlap" doc:"hierarchical: overlap of the parents"`

	Overrides []Override `yaml:"overrides" doc:"another strategy (and optionally max_size, overlap) for sources under a key prefix: [{prefix, strategy, max_size, overlap}]; the longest prefix wins"`
}

// Override applies to sources whose key starts with Prefix (the key as it appears in the
// output layout: bucket/key for S3 sources, the relative path for local ones).
type Override struct {
	Prefix   string `yaml:"prefix"`
	Strategy string `yaml:"strategy"`
	MaxSize  int    `yaml:"max_size,omitempty"`
	Overlap  *int   `yaml:"overlap,omitempty"`
}

// DefaultSettings are the defaults of ARCHITECTURE.md ("Configuration").
func DefaultSettings() Settings {
	return Settings{Strategy: "auto", Unit: "tokens", MaxSize: 256, Overlap: 32,
		SemanticBuffer: 1, SemanticThreshold: ThresholdPercentile, ParentSize: 1024, Overrides: []Override{}}
}

// Sizes returns the override's max size and overlap, inheriting what it leaves out.
func (o Override) Sizes(s Settings) (size, overlap int) {
	size, overlap = s.MaxSize, s.Overlap
	if o.MaxSize != 0 {
		size = o.MaxSize
		overlap = min(overlap, size-1)
	}
	if o.Overlap != nil {
		overlap = *o.Overlap
	}
	return size, overlap
}

// Semantic returns the semantic strategy's settings.
func (s Settings) Semantic() SemanticConfig {
	sc := DefaultSemantic()
	sc.Buffer, sc.Threshold = s.SemanticBuffer, s.SemanticThreshold
	sc.Amount = s.SemanticThresholdAmount
	if sc.Amount == 0 {
		sc.Amount = DefaultAmount(sc.Threshold)
	}
	return sc
}

// Validate names every bad field by its path in the configuration file.
func (s Settings) Validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("chunking.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if !slices.Contains(Strategies, s.Strategy) {
		bad("strategy", "must be one of %s, got %q", strings.Join(Strategies, ", "), s.Strategy)
	}
	if s.Unit != "tokens" && s.Unit != "chars" && s.Unit != "wordpiece" {
		bad("unit", "must be tokens, chars or wordpiece, got %q", s.Unit)
	}
	if s.MaxSize < 1 {
		bad("max_size", "must be at least 1, got %d", s.MaxSize)
	}
	if s.Overlap < 0 || (s.MaxSize >= 1 && s.Overlap >= s.MaxSize) {
		bad("overlap", "must be at least 0 and below chunking.max_size (%d), got %d", s.MaxSize, s.Overlap)
	}
	if err := s.Semantic().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("chunking.semantic_%w", err))
	}
	if s.ParentSize <= s.MaxSize {
		bad("parent_size", "must be above chunking.max_size (%d), got %d", s.MaxSize, s.ParentSize)
	}
	if s.ParentOverlap < 0 || s.ParentOverlap >= s.ParentSize {
		bad("parent_overlap", "must be at least 0 and below chunking.parent_size (%d), got %d", s.ParentSize, s.ParentOverlap)
	}
	for i, o := range s.Overrides {
		field := fmt.Sprintf("overrides[%d]", i)
		if o.Prefix == "" {
			bad(field+".prefix", "must not be empty")
		}
		if !slices.Contains(Strategies, o.Strategy) {
			bad(field+".strategy", "must be one of %s, got %q", strings.Join(Strategies, ", "), o.Strategy)
		}
		size, overlap := o.Sizes(s)
		if size < 1 {
			bad(field+".max_size", "must be at least 1, got %d", size)
		}
		if overlap < 0 || overlap >= size {
			bad(field+".overlap", "must be at least 0 and below its max_size (%d), got %d", size, overlap)
		}
	}
	return errs
}

// Chunker is what every strategy is.
type Chunker interface {
	Chunk(ctx context.Context, doc document.Document) ([]document.Span, error)
}

// New builds the named strategy with size, counting with sz; emb and batch serve the
// semantic strategy ("auto" is resolved per document by Picker).
func (cc Settings) New(strategy string, size Config, sz Sizer, emb Embedder, batch int) (Chunker, error) {
	if err := size.Validate(); err != nil {
		return nil, fmt.Errorf("chunking.%w", err)
	}
	switch strategy {
	case "fixed":
		return Fixed{Config: size, Sizer: sz}, nil
	case "recursive":
		return Recursive{Config: size, Sizer: sz}, nil
	case "sentence":
		return Sentence{Config: size, Sizer: sz}, nil
	case "markdown":
		return Markdown{Config: size, Sizer: sz}, nil
	case "semantic":
		sc := cc.Semantic()
		sc.Batch = batch
		return Semantic{Config: size, Sizer: sz, Embedder: emb, Semantic: sc}, nil
	case "hierarchical":
		h := Hierarchical{Config: size, Parent: Config{Max: cc.ParentSize, Overlap: cc.ParentOverlap}, Sizer: sz}
		if err := h.Validate(); err != nil {
			return nil, fmt.Errorf("chunking: hierarchical: %w", err)
		}
		return h, nil
	}
	return nil, fmt.Errorf("chunking.strategy: unknown %q", strategy)
}

// Picker returns the function that picks each document's chunker: the override with the
// longest prefix of the source key, else the configured strategy; "auto" means markdown
// for documents of the format named markdown (extractors.FormatMarkdown) and recursive
// for the others. Every chunker is built, and checked, here.
func (cc Settings) Picker(sz Sizer, emb Embedder, batch int, markdown string) (func(format, key string) Chunker, error) {
	type rule struct {
		prefix      string
		auto        bool
		one, md, rc Chunker
	}
	build := func(prefix, strategy string, size Config) (rule, error) {
		r := rule{prefix: prefix, auto: strategy == "auto"}
		var err error
		if r.auto {
			if r.md, err = cc.New("markdown", size, sz, emb, batch); err != nil {
				return r, err
			}
			r.rc, err = cc.New("recursive", size, sz, emb, batch)
			return r, err
		}
		r.one, err = cc.New(strategy, size, sz, emb, batch)
		return r, err
	}
	def, err := build("", cc.Strategy, Config{Max: cc.MaxSize, Overlap: cc.Overlap})
	if err != nil {
		return nil, err
	}
	rules := []rule{def}
	for i, o := range cc.Overrides {
		size, overlap := o.Sizes(cc)
		r, err := build(o.Prefix, o.Strategy, Config{Max: size, Overlap: overlap})
		if err != nil {
			return nil, fmt.Errorf("chunking.overrides[%d]: %w", i, err)
		}
		rules = append(rules, r)
	}
	return func(format, key string) Chunker {
		best := rules[0]
		for _, r := range rules[1:] {
			if strings.HasPrefix(key, r.prefix) && len(r.prefix) > len(best.prefix) {
				best = r
			}
		}
		switch {
		case !best.auto:
			return best.one
		case format == markdown:
			return best.md
		}
		return best.rc
	}, nil
}

// Sizes lists every chunk size the settings can produce (overrides and parents included).
func (cc Settings) Sizes() []int {
	sizes := []int{cc.MaxSize}
	hier := cc.Strategy == "hierarchical"
	for _, o := range cc.Overrides {
		size, _ := o.Sizes(cc)
		sizes = append(sizes, size)
		hier = hier || o.Strategy == "hierarchical"
	}
	if hier {
		sizes = append(sizes, cc.ParentSize)
	}
	return sizes
}
