package embedders

import (
	"context"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// HashingConfig sets the hashing embedder's feature space.
type HashingConfig struct {
	// Dimensions of the output vectors.
	Dimensions int
	// MinN and MaxN bound the character n-grams taken from each word (with boundary marks).
	MinN, MaxN int
}

// DefaultHashing is the configuration of the zero-setup default.
func DefaultHashing() HashingConfig { return HashingConfig{Dimensions: 384, MinN: 3, MaxN: 5} }

// Validate names the bad field.
func (c HashingConfig) Validate() error {
	switch {
	case c.Dimensions < 8 || c.Dimensions > 65536:
		return fmt.Errorf("dimensions: must be between 8 and 65536, got %d", c.Dimensions)
	case c.MinN < 1 || c.MaxN < c.MinN || c.MaxN > 16:
		return fmt.Errorf("char_ngrams: need 1 <= min <= max <= 16, got %d..%d", c.MinN, c.MaxN)
	}
	return nil
}

// Hashing is a signed feature-hashing embedder: each lower-cased word, each pair of
// neighbouring words and each character n-gram of a word is hashed (FNV-1a, 64 bits) to a
// dimension and a sign, the signed counts are summed, and the vector is L2-normalised.
// The same text always gives the same vector, on any machine. It is lexical, not semantic.
type Hashing struct {
	cfg HashingConfig
	tok WordTokenizer
}

// NewHashing returns the embedder, or the configuration's error.
func NewHashing(cfg HashingConfig) (*Hashing, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Hashing{cfg: cfg}, nil
}

// Model identifies the embedder and every setting that changes its vectors.
func (h *Hashing) Model() string {
	return fmt.Sprintf("docingest-hashing-v2/d%d/c%d-%d", h.cfg.Dimensions, h.cfg.MinN, h.cfg.MaxN)
}

// Dimensions returns the vector size.
func (h *Hashing) Dimensions() int { return h.cfg.Dimensions }

// Tokenizer returns the tokenizer the embedder counts with.
func (h *Hashing) Tokenizer() WordTokenizer { return h.tok }

// Embed returns one vector per text. It does no I/O; ctx is checked between texts.
func (h *Hashing) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	acc := make([]float64, h.cfg.Dimensions)
	for i, t := range texts {
		if i%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		clear(acc)
		h.features(t, acc)
		out[i] = normalize(acc)
	}
	return out, nil
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnv(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func (h *Hashing) add(acc []float64, hash uint64, w float64) {
	// Mix the bits (FNV's low bits are weak for short keys) before taking the index.
	hash ^= hash >> 33
	hash *= 0xff51afd7ed558ccd
	hash ^= hash >> 33
	idx := hash % uint64(len(acc))
	if hash>>63 == 1 {
		w = -w
	}
	acc[idx] += w
}

// features adds the signed hashed features of text to acc. Words carry weight 1, word
// pairs 0.5, and a word's character n-grams share a weight of 1 between them, so that long
// words do not outweigh short ones.
func (h *Hashing) features(text string, acc []float64) {
	var prev string
	var buf strings.Builder
	for i := 0; i < len(text); {
		start, end := h.tok.Next(text, i)
		if start == end {
			break
		}
		i = end
		word := text[start:end]
		if c, _ := classAt(word, 0); c != classWord {
			// single-rune tokens: ideographs and kana are words; punctuation is not
			if r, _ := utf8.DecodeRuneInString(word); unicode.IsPunct(r) || unicode.IsSpace(r) {
				prev = ""
				continue
			}
		}
		word = lower(word)
		h.add(acc, fnv(fnv(fnvOffset, "w\x00"), word), 1)
		if prev != "" {
			h.add(acc, fnv(fnv(fnv(fnvOffset, "b\x00"), prev), "\x00"+word), 0.5)
		}
		prev = word
		// character n-grams of "<word>"
		buf.Reset()
		buf.WriteByte('<')
		buf.WriteString(word)
		buf.WriteByte('>')
		h.charGrams(acc, buf.String())
	}
}

func (h *Hashing) charGrams(acc []float64, marked string) {
	// rune starts, to cut n-grams at rune boundaries
	var starts [64]int
	idx := starts[:0]
	for i := range marked {
		idx = append(idx, i)
	}
	idx = append(idx, len(marked))
	runes := len(idx) - 1
	total := 0
	for n := h.cfg.MinN; n <= h.cfg.MaxN; n++ {
		if runes >= n {
			total += runes - n + 1
		}
	}
	if total == 0 {
		return
	}
	w := 1 / float64(total)
	base := fnv(fnvOffset, "c\x00")
	for n := h.cfg.MinN; n <= h.cfg.MaxN; n++ {
		for s := 0; s+n <= runes; s++ {
			h.add(acc, fnv(base, marked[idx[s]:idx[s+n]]), w)
		}
	}
}

func lower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || (c >= 'A' && c <= 'Z') {
			return strings.ToLower(s)
		}
	}
	return s
}

func normalize(acc []float64) []float32 {
	var sum float64
	for _, v := range acc {
		sum += v * v
	}
	out := make([]float32, len(acc))
	if sum == 0 {
		return out
	}
	inv := 1 / math.Sqrt(sum)
	for i, v := range acc {
		out[i] = float32(v * inv)
	}
	return out
}
