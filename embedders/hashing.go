package embedders

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/docingest/docingest/internal/ftoa"
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
// Components are rounded to four decimal places. The same text always gives the same
// vector, on any machine. It is lexical, not semantic.
type Hashing struct {
	cfg    HashingConfig
	tok    WordTokenizer
	caches sync.Pool // of *featureCache
}

// NewHashing returns the embedder, or the configuration's error.
func NewHashing(cfg HashingConfig) (*Hashing, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Hashing{cfg: cfg}
	h.caches.New = func() any { return &featureCache{words: make(map[string]*wordFeatures)} }
	return h, nil
}

// Model identifies the embedder and every setting that changes its vectors.
func (h *Hashing) Model() string {
	return fmt.Sprintf("docingest-hashing-v3/d%d/c%d-%d", h.cfg.Dimensions, h.cfg.MinN, h.cfg.MaxN)
}

// Dimensions returns the vector size.
func (h *Hashing) Dimensions() int { return h.cfg.Dimensions }

// Tokenizer returns the tokenizer the embedder counts with.
func (h *Hashing) Tokenizer() WordTokenizer { return h.tok }

// Embed returns one vector per text. It does no I/O; ctx is checked between texts.
func (h *Hashing) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	acc := make([]float64, h.cfg.Dimensions)
	c := h.caches.Get().(*featureCache)
	defer h.caches.Put(c)
	for i, t := range texts {
		if i%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		clear(acc)
		h.features(t, acc, c)
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

var (
	wordBase = fnv(fnvOffset, "w\x00")
	pairBase = fnv(fnvOffset, "b\x00")
	gramBase = fnv(fnvOffset, "c\x00")
)

// slot maps a feature hash to a signed dimension: index+1, negated for a negative sign.
func (h *Hashing) slot(hash uint64) int32 {
	// Mix the bits (FNV's low bits are weak for short keys) before taking the index.
	hash ^= hash >> 33
	hash *= 0xff51afd7ed558ccd
	hash ^= hash >> 33
	idx := int32(hash%uint64(h.cfg.Dimensions)) + 1
	if hash>>63 == 1 {
		return -idx
	}
	return idx
}

func add(acc []float64, slot int32, w float64) {
	if slot < 0 {
		acc[-slot-1] -= w
	} else {
		acc[slot-1] += w
	}
}

// wordFeatures are the features a word brings whatever its neighbours: its own slot, its
// character n-grams' slots (each of weight gram), and the FNV state that starts the hash
// of a pair beginning with it.
type wordFeatures struct {
	lower    string // the word lower-cased
	word     int32
	grams    []int32
	gram     float64
	pairHead uint64
}

// featureCache remembers the features of words already seen: natural text repeats its
// words, and replaying a word's additions in the same order gives the same floats as
// hashing it again. It is bounded, and emptied when full.
type featureCache struct {
	words  map[string]*wordFeatures
	marked []byte
	starts []int
}

// maxCachedWords bounds a cache (one per concurrent Embed). On bench/throughput.sh's 133
// files (text in many languages), five interleaved runs each: 4,096 words took 4-9% less
// CPU than 1,024 (bench/ab.sh: 5.01 to 4.80 CPU-seconds) for 1 MiB more peak RSS; 16,384
// no less than 4,096 for 13 MiB more. On the one 40 MB text they are within 2%.
const maxCachedWords = 1 << 12

// features adds the signed hashed features of text to acc. Words carry weight 1, word
// pairs 0.5, and a word's character n-grams share a weight of 1 between them, so that long
// words do not outweigh short ones.
func (h *Hashing) features(text string, acc []float64, c *featureCache) {
	var prev *wordFeatures
	for i := 0; i < len(text); {
		start, end := h.tok.Next(text, i)
		if start == end {
			break
		}
		i = end
		word := text[start:end]
		if cl, _ := classAt(word, 0); cl != classWord {
			// single-rune tokens: ideographs and kana are words; punctuation is not
			if r, _ := utf8.DecodeRuneInString(word); unicode.IsPunct(r) || unicode.IsSpace(r) {
				prev = nil
				continue
			}
		}
		f := c.words[word]
		if f == nil {
			key := strings.Clone(word) // not a slice of the text, which the cache outlives
			f = h.wordFeatures(lower(key), c)
			if len(c.words) >= maxCachedWords {
				clear(c.words)
			}
			c.words[key] = f
		}
		add(acc, f.word, 1)
		if prev != nil {
			add(acc, h.slot(fnv(prev.pairHead, f.lower)), 0.5)
		}
		prev = f
		for _, g := range f.grams {
			add(acc, g, f.gram)
		}
	}
}

// wordFeatures hashes a lower-cased word's own features.
func (h *Hashing) wordFeatures(word string, c *featureCache) *wordFeatures {
	f := &wordFeatures{lower: word, word: h.slot(fnv(wordBase, word)), pairHead: fnv(fnv(pairBase, word), "\x00")}
	// character n-grams of "<word>", cut at rune boundaries
	c.marked = append(append(append(c.marked[:0], '<'), word...), '>')
	c.starts = c.starts[:0]
	for i := range string(c.marked) {
		c.starts = append(c.starts, i)
	}
	c.starts = append(c.starts, len(c.marked))
	runes := len(c.starts) - 1
	total := 0
	for n := h.cfg.MinN; n <= h.cfg.MaxN; n++ {
		if runes >= n {
			total += runes - n + 1
		}
	}
	if total == 0 {
		return f
	}
	f.gram = 1 / float64(total)
	f.grams = make([]int32, 0, total)
	for n := h.cfg.MinN; n <= h.cfg.MaxN; n++ {
		for s := 0; s+n <= runes; s++ {
			f.grams = append(f.grams, h.slot(fnvBytes(gramBase, c.marked[c.starts[s]:c.starts[s+n]])))
		}
	}
	return f
}

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
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
		out[i] = quantize(v * inv)
	}
	return out
}

// quantize rounds a component of a unit vector to four decimal places (to the float32
// nearest k/10,000). The error, at most 0.00005 a component, moves a cosine similarity by
// less than 0.002 at 384 dimensions, below what a lexical embedder can tell apart; in return
// a vector prints in about half the bytes, and chunk records print their values from a
// table (ftoa.AppendJSON) instead of computing shortest decimals.
func quantize(v float64) float32 {
	k := math.Round(math.Abs(v) * ftoa.Quantum)
	q := ftoa.Quantize(int(k))
	if v < 0 {
		return -q
	}
	return q
}
