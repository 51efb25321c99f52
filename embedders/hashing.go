package embedders

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
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
// neighbouring words and each character n-gram of a word is hashed to a dimension and a
// sign, the signed weights are summed, and the vector is L2-normalised. Words carry weight
// 1, pairs 0.5, and a word's n-grams share a weight of 1 between them, so that long words
// do not outweigh short ones. Components are rounded to four decimal places. The same text
// always gives the same vector, on any machine. It is lexical, not semantic.
//
// Since docingest-hashing-v4 the text is read once, every feature hashed as it is met, with
// no table of words seen: a word's bytes are hashed eight at a time (hashBytes), a pair
// from its two words' hashes, and an n-gram of ASCII bytes from the word's bytes packed
// into a 64-bit integer as they are read. v3 hashed with FNV-1a byte by byte and kept a
// cache of the words seen. v4 has the same features and weights: its retrieval was no
// worse than v3's on text the tests do not use (bench/retrieval.sh), and it embeds that
// text 1.8x as fast (BenchmarkHashingRealText on the bench corpus's 133 files).
type Hashing struct {
	cfg      HashingConfig
	tok      WordTokenizer
	scratchs sync.Pool // of *scratch
}

// scratch is an Embed's working storage, reused.
type scratch struct {
	marked []byte // "<word>", lower-cased
	starts []int  // where its characters start, and its length
}

// NewHashing returns the embedder, or the configuration's error.
func NewHashing(cfg HashingConfig) (*Hashing, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Hashing{cfg: cfg}
	h.scratchs.New = func() any { return new(scratch) }
	return h, nil
}

// Model identifies the embedder and every setting that changes its vectors.
func (h *Hashing) Model() string {
	return fmt.Sprintf("docingest-hashing-v4/d%d/c%d-%d", h.cfg.Dimensions, h.cfg.MinN, h.cfg.MaxN)
}

// Dimensions returns the vector size.
func (h *Hashing) Dimensions() int { return h.cfg.Dimensions }

// Tokenizer returns the tokenizer the embedder counts with.
func (h *Hashing) Tokenizer() WordTokenizer { return h.tok }

// Embed returns one vector per text. It does no I/O; ctx is checked between texts.
func (h *Hashing) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	acc := make([]float64, h.cfg.Dimensions)
	sc := h.scratchs.Get().(*scratch)
	defer h.scratchs.Put(sc)
	for i, t := range texts {
		if i%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		clear(acc)
		h.features(t, acc, sc)
		out[i] = normalize(acc)
	}
	return out, nil
}

// The seeds of the three kinds of feature, and the multiplier that puts a hashed byte
// string's length into its hash.
const (
	wordSeed = 0x243f6a8885a308d3 // digits of pi
	pairSeed = 0x13198a2e03707344
	gramSeed = 0xa4093822299f31d0
	lenMul   = 0x9e3779b97f4a7c15 // 2^64 / the golden ratio
)

// fmix is MurmurHash3's 64-bit finalizer: every bit of x moves every bit of the result.
func fmix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// hashBytes hashes b eight bytes at a time, little-endian, the last ones padded with
// zeros, its length first.
func hashBytes(seed uint64, b []byte) uint64 {
	h := seed ^ uint64(len(b))*lenMul
	for len(b) > 8 {
		h = fmix(h ^ binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	return fmix(h ^ packed(b))
}

// packed is b (at most eight bytes) as a little-endian integer.
func packed(b []byte) uint64 {
	var x uint64
	for i, c := range b {
		x |= uint64(c) << (8 * i)
	}
	return x
}

// add adds the feature with this hash to acc: the hash's top 32 bits pick the dimension,
// its lowest bit the sign (weights holds w and -w).
func add(acc []float64, hash uint64, weights *[2]float64) {
	acc[(hash>>32)*uint64(len(acc))>>32] += weights[hash&1]
}

// tokenKind classifies an ASCII byte for features' fast path.
const (
	kindSpace  = iota // white space and controls: between tokens
	kindWord          // letters and digits: part of a word
	kindPunct         // punctuation: a token that is no feature and breaks word pairs
	kindSymbol        // other symbols ($ + < = > ^ ` | ~): a one-byte word
)

var asciiKind = func() (t [128]uint8) {
	for c := 0; c < 128; c++ {
		switch asciiClass[c] {
		case classSpace:
			t[c] = kindSpace
		case classWord:
			t[c] = kindWord
		default:
			if unicode.IsPunct(rune(c)) {
				t[c] = kindPunct
			} else {
				t[c] = kindSymbol
			}
		}
	}
	return t
}()

// features adds the signed hashed features of text to acc. The tokens are
// WordTokenizer's: ASCII tokens are cut here, in the same loop that finds them, and any
// other through WordTokenizer.Next.
func (h *Hashing) features(text string, acc []float64, sc *scratch) {
	unit, half := [2]float64{1, -1}, [2]float64{0.5, -0.5}
	var prev uint64  // the hash of the word before
	hasPrev := false // false at the start and after punctuation
	for i := 0; i < len(text); {
		var start, end int
		ascii := false // text[start:end] is ASCII
		if b := text[i]; b < utf8.RuneSelf {
			switch asciiKind[b] {
			case kindSpace:
				i++
				continue
			case kindPunct:
				hasPrev = false
				i++
				continue
			case kindSymbol:
				start, end, ascii = i, i+1, true
			default:
				j := i + 1
				for j < len(text) && j-i < MaxWordBytes && text[j] < utf8.RuneSelf && asciiKind[text[j]] == kindWord {
					j++
				}
				if j < len(text) && j-i < MaxWordBytes && text[j] >= utf8.RuneSelf {
					start, end = h.tok.Next(text, i) // the word goes on past ASCII
				} else {
					start, end, ascii = i, j, true
				}
			}
		} else {
			start, end = h.tok.Next(text, i)
			if start == end {
				break
			}
			if cl, _ := classAt(text, start); cl != classWord {
				// single-rune tokens: ideographs and kana are words; punctuation is not
				if r, _ := utf8.DecodeRuneInString(text[start:]); unicode.IsPunct(r) || unicode.IsSpace(r) {
					hasPrev = false
					i = end
					continue
				}
			}
		}
		i = end
		word := text[start:end]
		var wh uint64
		if ascii {
			wh = h.asciiWord(word, acc, sc)
		} else {
			wh = h.word(word, acc, sc)
		}
		add(acc, wh, &unit)
		if hasPrev {
			add(acc, fmix(pairSeed^prev*lenMul^wh), &half)
		}
		prev, hasPrev = wh, true
	}
}

// asciiWord adds the character n-grams of an ASCII word to acc and returns the hash of
// the word lower-cased. The n-grams come in order of where they end, then of length: the
// last eight bytes read are kept packed in an integer, so an n-gram of up to eight bytes
// is a shift of it (what hashBytes would pack). The default sizes, 3 to 5, have a loop of
// their own with the three shifts fixed and no inner loop, whose varying length the
// general loop's branches must guess at every byte. With MaxN above 8, word does it all.
func (h *Hashing) asciiWord(word string, acc []float64, sc *scratch) uint64 {
	minN, maxN := h.cfg.MinN, h.cfg.MaxN
	if maxN > 8 {
		return h.word(word, acc, sc)
	}
	if cap(sc.marked) < MaxWordBytes+10 {
		sc.marked = make([]byte, 0, MaxWordBytes+10)
	}
	n := len(word)
	m := sc.marked[:n+2] // "<word>", lower-cased
	m[0] = '<'
	var x uint64 // the first eight bytes, packed as hashBytes packs them (not read back
	// from m: a load over bytes just stored one by one waits for the stores)
	for i := 0; i < n; i++ {
		c := word[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		m[i+1] = c
		if i < 8 {
			x |= uint64(c) << (8 * i)
		}
	}
	m[n+1] = '>'
	var wh uint64
	if n <= 8 {
		wh = fmix(wordSeed ^ uint64(n)*lenMul ^ x)
	} else {
		wh = hashBytes(wordSeed, m[1:n+1])
	}
	total := gramCount(len(m), minN, maxN)
	if total == 0 {
		return wh
	}
	g := 1 / float64(total)
	gram := [2]float64{g, -g}
	if minN == 3 && maxN == 5 {
		// m has at least three bytes
		k, seed := uint64(lenMul), uint64(gramSeed)
		s3, s4, s5 := seed^3*k, seed^4*k, seed^5*k
		w := uint64(m[0])<<40 | uint64(m[1])<<48 | uint64(m[2])<<56
		add(acc, fmix(s3^w>>40), &gram)
		if len(m) > 3 {
			w = w>>8 | uint64(m[3])<<56
			add(acc, fmix(s3^w>>40), &gram)
			add(acc, fmix(s4^w>>32), &gram)
			for _, c := range m[4:] {
				w = w>>8 | uint64(c)<<56
				add(acc, fmix(s3^w>>40), &gram)
				add(acc, fmix(s4^w>>32), &gram)
				add(acc, fmix(s5^w>>24), &gram)
			}
		}
		return wh
	}
	var w uint64 // the bytes read, the last one in the top byte
	for e, c := range m {
		w = w>>8 | uint64(c)<<56
		for n := minN; n <= min(maxN, e+1); n++ {
			add(acc, fmix(gramSeed^uint64(n)*lenMul^w>>(64-8*n)), &gram)
		}
	}
	return wh
}

// word is asciiWord for any word: lower-cased a character at a time (as strings.ToLower
// does), its n-grams cut at character boundaries.
func (h *Hashing) word(word string, acc []float64, sc *scratch) uint64 {
	m := append(sc.marked[:0], '<')
	st := append(sc.starts[:0], 0)
	for _, r := range word {
		st = append(st, len(m))
		m = utf8.AppendRune(m, unicode.ToLower(r))
	}
	st = append(st, len(m))
	m = append(m, '>')
	st = append(st, len(m))
	sc.marked, sc.starts = m, st
	wh := hashBytes(wordSeed, m[1:len(m)-1])
	runes, minN, maxN := len(st)-1, h.cfg.MinN, h.cfg.MaxN
	total := gramCount(runes, minN, maxN)
	if total == 0 {
		return wh
	}
	g := 1 / float64(total)
	gram := [2]float64{g, -g}
	for e := minN; e <= runes; e++ { // n-grams ending before character e
		for n := minN; n <= min(maxN, e); n++ {
			add(acc, hashBytes(gramSeed, m[st[e-n]:st[e]]), &gram)
		}
	}
	return wh
}

// gramCount is how many n-grams, minN <= n <= maxN, a word of this many characters has.
func gramCount(runes, minN, maxN int) int {
	total := 0
	for n := minN; n <= maxN && n <= runes; n++ {
		total += runes - n + 1
	}
	return total
}

func normalize(acc []float64) []float32 {
	// four sums, so that the additions do not wait on each other
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(acc); i += 4 {
		s0 += acc[i] * acc[i]
		s1 += acc[i+1] * acc[i+1]
		s2 += acc[i+2] * acc[i+2]
		s3 += acc[i+3] * acc[i+3]
	}
	for ; i < len(acc); i++ {
		s0 += acc[i] * acc[i]
	}
	sum := (s0 + s1) + (s2 + s3)
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
// nearest k/10,000). The error, at most 0.00005 a component, can move a cosine similarity
// by at most 0.002 at 384 dimensions; measured (bench/quantize.sh, 4,238 chunks of text the
// tests do not use, 200 queries) it moved them by 0.00003 on average and 0.00016 at most,
// and 1,998 of 2,000 top-10 neighbours stayed. In return a vector prints in about half the
// bytes (chunk files 32% smaller) and from a table (ftoa.AppendList) instead of by
// computing shortest decimals.
func quantize(v float64) float32 {
	q := ftoa.Quanta(int(math.Abs(v)*ftoa.Quantum + 0.5)) // |v| <= 1
	// v's sign on q without a branch on it (the signs of hashed features are coin flips);
	// a value that rounds to zero is 0, not -0
	b := math.Float32bits(q)
	nonzero := (b | -b) >> 31 // 1 unless b is 0 (b, positive, is below 1<<31)
	return math.Float32frombits(b | uint32(math.Float64bits(v)>>63)&nonzero<<31)
}
