package embedders

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
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
	h.caches.New = func() any { return newFeatureCache() }
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

// mix spreads a feature hash's bits (FNV's low bits are weak for short keys): its top bit
// gives the sign, the rest modulo the dimensions the index.
func mix(hash uint64) uint64 {
	hash ^= hash >> 33
	hash *= 0xff51afd7ed558ccd
	hash ^= hash >> 33
	return hash
}

// slot is the feature with this hash's dimension and sign.
func (h *Hashing) slot(hash uint64) uint32 {
	hash = mix(hash)
	return signSlot(hash%uint64(h.cfg.Dimensions), hash>>63 == 1)
}

// word is a cached word's features as features uses them: its own slot and its
// character n-grams' slots (each of weight gram, 1/count), the FNV state that starts the
// hash of a pair beginning with it, and the word lower-cased, which ends the hash of a
// pair ending with it. A slot is a dimension with the feature's sign in its top bit
// (signSlot). Its slices point into the cache and are valid until the next get.
type word struct {
	slots    []uint32 // slots[0] is the word's own; the rest its n-grams'
	lower    []byte
	gram     float64
	pairHead uint64
}

// signSlot packs a dimension and a sign. Adding a negated weight gives the same float as
// subtracting it, so the sign picks the weight from a pair (w, -w) without a branch.
func signSlot(dim uint64, negative bool) uint32 {
	if negative {
		return uint32(dim) | 1<<31
	}
	return uint32(dim)
}

// featureCache remembers the features of words already seen: natural text repeats its
// words, and replaying a word's additions in the same order gives the same floats as
// hashing it again. It holds two generations of at most maxCachedWords words each (see get).
type featureCache struct {
	seed       maphash.Seed
	young, old *generation // old is made at the first turn, which many caches never reach
	marked     []byte
	starts     []int
}

// generation is one of a cache's two tables with its words, packed: a word's record in
// words (its header and slots) and its bytes in keys, so that a lookup touches the table,
// one record and the bytes beside it, not a chain of small objects across the heap (with
// several documents in flight the caches outgrow the CPU's own, and every pointer followed
// was a miss). When a generation is emptied its storage is used again.
type generation struct {
	table []cached // open addressing; len is a power of two, 2*maxCachedWords
	n     int      // words held
	words []uint32 // records: recordHeader words, then the slots
	keys  []byte   // each word as it appears, then lower-cased when that differs
}

// A record's header, in words (uint32) from its start.
const (
	recPairHead  = 0 // 2 words, low first
	recGram      = 2 // 2 words, the float64's bits, low first
	recKeyAt     = 4 // where the word's bytes start in keys
	recLens      = 5 // the word's length | its lower-cased form's length << 16 (0: the same)
	recSlots     = 6 // the number of slots
	recordHeader = 7
)

// cached is a table entry: the token's hash, compared before its bytes are, and where
// its record starts, plus one (0 is an empty entry).
type cached struct {
	hash uint64
	at   uint32
}

func newGeneration() *generation {
	return &generation{table: make([]cached, 2*maxCachedWords)}
}

// find returns where token's record starts, or -1 and the empty place where it belongs.
func (g *generation) find(hash uint64, token string) (int, int) {
	mask := len(g.table) - 1
	i := int(hash) & mask
	for ; g.table[i].at != 0; i = (i + 1) & mask {
		if e := g.table[i]; e.hash == hash {
			at := int(e.at - 1)
			k, n := int(g.words[at+recKeyAt]), int(g.words[at+recLens]&0xffff)
			if string(g.keys[k:k+n]) == token {
				return at, i
			}
		}
	}
	return -1, i
}

// word returns the features of the record at at.
func (g *generation) word(at int) word {
	r := g.words[at : at+recordHeader]
	k, n, l := int(r[recKeyAt]), int(r[recLens]&0xffff), int(r[recLens]>>16)
	w := word{
		slots:    g.words[at+recordHeader : at+recordHeader+int(r[recSlots])],
		pairHead: uint64(r[recPairHead]) | uint64(r[recPairHead+1])<<32,
		gram:     math.Float64frombits(uint64(r[recGram]) | uint64(r[recGram+1])<<32),
		lower:    g.keys[k : k+n],
	}
	if l > 0 {
		w.lower = g.keys[k+n : k+n+l]
	}
	return w
}

// copyFrom copies the record at at in o into g and returns where it starts there.
func (g *generation) copyFrom(o *generation, at int) int {
	r := o.words[at : at+recordHeader]
	k, n := int(r[recKeyAt]), int(r[recLens]&0xffff)+int(r[recLens]>>16)
	to := len(g.words)
	g.words = append(g.words, o.words[at:at+recordHeader+int(r[recSlots])]...)
	g.words[to+recKeyAt] = uint32(len(g.keys))
	g.keys = append(g.keys, o.keys[k:k+n]...)
	return to
}

// empty drops the generation's words; their storage is used again, unless a generation
// of unusually long words made it large.
func (g *generation) empty() {
	clear(g.table)
	g.n = 0
	g.words, g.keys = g.words[:0], g.keys[:0]
	if cap(g.words) > 1<<18 {
		g.words = nil
	}
	if cap(g.keys) > 1<<18 {
		g.keys = nil
	}
}

func newFeatureCache() *featureCache {
	return &featureCache{seed: maphash.MakeSeed(), young: newGeneration()}
}

// get returns the features of token, from the cache or hashed now. When the young
// generation is full it becomes the old one and the old one, emptied, the young; a word
// missing from the young generation but held by the old one is copied back into the
// young, so the words a text keeps using stay while the rare ones go.
func (c *featureCache) get(h *Hashing, token string) word {
	hash := maphash.String(c.seed, token)
	at, i := c.young.find(hash, token)
	if at >= 0 {
		return c.young.word(at)
	}
	if c.young.n >= maxCachedWords {
		if c.old == nil {
			c.old = newGeneration()
		}
		c.young, c.old = c.old, c.young
		c.young.empty()
		_, i = c.young.find(hash, token)
	}
	from := -1
	if c.old != nil {
		from, _ = c.old.find(hash, token)
	}
	if from >= 0 {
		at = c.young.copyFrom(c.old, from)
	} else {
		at = h.addWord(token, c)
	}
	c.young.table[i] = cached{hash, uint32(at + 1)}
	c.young.n++
	return c.young.word(at)
}

// maxCachedWords bounds each generation of a cache (one cache per concurrent Embed). With
// the map this table replaced, 4,096 words took 4-9% less CPU than 1,024 on
// bench/throughput.sh's 133 files of many languages; generations of 8,192 were no faster
// than 4,096 on them or on the 40 MB text (bench/ab.sh, four interleaved runs each).
const maxCachedWords = 1 << 12

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

// features adds the signed hashed features of text to acc. Words carry weight 1, word
// pairs 0.5, and a word's character n-grams share a weight of 1 between them, so that long
// words do not outweigh short ones. The tokens are WordTokenizer's: ASCII tokens are cut
// here, in the same loop that finds them, and any other through WordTokenizer.Next.
func (h *Hashing) features(text string, acc []float64, c *featureCache) {
	unit, half := [2]float64{1, -1}, [2]float64{0.5, -0.5}
	var prev uint64 // the pair head of the word before, 0 after punctuation
	hasPrev := false
	for i := 0; i < len(text); {
		var start, end int
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
				start, end = i, i+1
			default:
				j := i + 1
				for j < len(text) && j-i < MaxWordBytes && text[j] < utf8.RuneSelf && asciiKind[text[j]] == kindWord {
					j++
				}
				if j < len(text) && j-i < MaxWordBytes && text[j] >= utf8.RuneSelf {
					start, end = h.tok.Next(text, i) // the word goes on past ASCII
				} else {
					start, end = i, j
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
		f := c.get(h, word)
		t := f.slots
		acc[t[0]&^(1<<31)] += unit[t[0]>>31]
		if hasPrev {
			p := h.slot(fnvBytes(prev, f.lower))
			acc[p&^(1<<31)] += half[p>>31]
		}
		prev, hasPrev = f.pairHead, true
		gram := [2]float64{f.gram, -f.gram}
		for _, g := range t[1:] {
			acc[g&^(1<<31)] += gram[g>>31]
		}
	}
}

// addWord hashes the features of token (as it appears in the text) into a new record of
// the young generation and returns where it starts.
func (h *Hashing) addWord(token string, c *featureCache) int {
	word := lower(token)
	g := c.young
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
	var gram float64
	if total > 0 {
		gram = 1 / float64(total)
	}
	// tokens are at most MaxWordBytes long, and lower-casing at most doubles them
	lens := uint32(len(token))
	if word != token {
		lens |= uint32(len(word)) << 16
	}
	pairHead, gramBits := fnv(fnv(pairBase, word), "\x00"), math.Float64bits(gram)
	at := len(g.words)
	g.words = append(g.words, uint32(pairHead), uint32(pairHead>>32), uint32(gramBits), uint32(gramBits>>32),
		uint32(len(g.keys)), lens, uint32(1+total))
	g.keys = append(g.keys, token...)
	if word != token {
		g.keys = append(g.keys, word...)
	}
	g.words = slices.Grow(g.words, 1+total)[:at+recordHeader+1+total]
	slots := g.words[at+recordHeader:]
	slots[0] = h.slot(fnv(wordBase, word))
	// The n-grams in order of n, then of start (the order their weights are added in),
	// hashed in one pass per start: the hash of an n-gram goes on into the n+1-gram's.
	for s := 0; s+h.cfg.MinN <= runes; s++ {
		hash := fnvBytes(gramBase, c.marked[c.starts[s]:c.starts[s+h.cfg.MinN-1]])
		pos := 1 + s
		for n := h.cfg.MinN; n <= h.cfg.MaxN && s+n <= runes; n++ {
			hash = fnvBytes(hash, c.marked[c.starts[s+n-1]:c.starts[s+n]])
			slots[pos] = h.slot(hash)
			pos += runes - n + 1 // to the n+1-grams, which number one fewer
		}
	}
	return at
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
	if b != 0 {
		b |= uint32(math.Float64bits(v)>>63) << 31
	}
	return math.Float32frombits(b)
}
