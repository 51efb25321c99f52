package embedders

import (
	"context"
	"fmt"
	"hash/maphash"
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

// wordFeatures are the features a word brings whatever its neighbours: its own slot
// (weight 1), its character n-grams' slots (each of weight gram, 1/count), and the FNV
// state that starts the hash of a pair beginning with it. A slot is a dimension with the
// feature's sign in its top bit (signSlot).
type wordFeatures struct {
	key      string   // the token as it appears in the text
	lower    string   // the word lower-cased
	slots    []uint32 // slots[0] is the word's own; the rest its n-grams'
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

// generation is one of a cache's two tables with the storage of its words. When it is
// emptied its storage is handed out again, so a cache that has turned over allocates
// nothing more: on text of many words the replaced cache allocated a third of the run's
// memory, all of it fresh pages (dear on this kind of VM) and garbage to collect.
type generation struct {
	table     []cached // open addressing; len is a power of two, 2*maxCachedWords
	n         int      // words held
	entries   [][]wordFeatures
	slabs     [][]uint32 // the words' slots, handed out from slabs[cur][used:]
	cur, used int
}

// cached is a table entry: the token's hash, compared before its bytes are.
type cached struct {
	hash uint64
	f    *wordFeatures
}

const (
	entryChunk = 512  // words per chunk of a generation's entries
	slabSlots  = 8192 // slots per slab
)

func newGeneration() *generation {
	return &generation{table: make([]cached, 2*maxCachedWords)}
}

// find returns the features of token, or nil and the empty place where it belongs.
func (g *generation) find(hash uint64, token string) (*wordFeatures, int) {
	mask := len(g.table) - 1
	i := int(hash) & mask
	for ; g.table[i].f != nil; i = (i + 1) & mask {
		if e := g.table[i]; e.hash == hash && e.f.key == token {
			return e.f, i
		}
	}
	return nil, i
}

// newEntry returns the generation's next entry, to be filled by the caller.
func (g *generation) newEntry() *wordFeatures {
	c, k := g.n/entryChunk, g.n%entryChunk
	if c == len(g.entries) {
		g.entries = append(g.entries, make([]wordFeatures, entryChunk))
	}
	return &g.entries[c][k]
}

// newSlots returns n slots from the slabs.
func (g *generation) newSlots(n int) []uint32 {
	if n > slabSlots/8 {
		return make([]uint32, n)
	}
	if g.cur < len(g.slabs) && g.used+n > slabSlots {
		g.cur, g.used = g.cur+1, 0
	}
	if g.cur == len(g.slabs) {
		g.slabs = append(g.slabs, make([]uint32, slabSlots))
	}
	t := g.slabs[g.cur][g.used : g.used+n : g.used+n]
	g.used += n
	return t
}

// empty drops the generation's words; their storage is handed out again.
func (g *generation) empty() {
	clear(g.table)
	g.n, g.cur, g.used = 0, 0, 0
}

func newFeatureCache() *featureCache {
	return &featureCache{seed: maphash.MakeSeed(), young: newGeneration()}
}

// get returns the features of token, from the cache or hashed now. When the young
// generation is full it becomes the old one and the old one, emptied, the young; a word
// missing from the young generation but held by the old one is copied back into the
// young, so the words a text keeps using stay while the rare ones go. The features
// returned are valid until the next call.
func (c *featureCache) get(h *Hashing, token string) *wordFeatures {
	hash := maphash.String(c.seed, token)
	f, i := c.young.find(hash, token)
	if f != nil {
		return f
	}
	if c.young.n >= maxCachedWords {
		if c.old == nil {
			c.old = newGeneration()
		}
		c.young, c.old = c.old, c.young
		c.young.empty()
		_, i = c.young.find(hash, token)
	}
	var src *wordFeatures
	if c.old != nil {
		src, _ = c.old.find(hash, token)
	}
	if src != nil {
		f = c.young.newEntry()
		*f = *src
		f.slots = c.young.newSlots(len(src.slots))
		copy(f.slots, src.slots)
	} else {
		f = h.wordFeatures(strings.Clone(token), c) // not a slice of the text, which the cache outlives
	}
	c.young.table[i] = cached{hash, f}
	c.young.n++
	return f
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
			p := h.slot(fnv(prev, f.lower))
			acc[p&^(1<<31)] += half[p>>31]
		}
		prev, hasPrev = f.pairHead, true
		gram := [2]float64{f.gram, -f.gram}
		for _, g := range t[1:] {
			acc[g&^(1<<31)] += gram[g>>31]
		}
	}
}

// wordFeatures hashes a word's own features; key is the token as it appears.
func (h *Hashing) wordFeatures(key string, c *featureCache) *wordFeatures {
	word := lower(key)
	g := c.young
	f := g.newEntry()
	*f = wordFeatures{key: key, lower: word, pairHead: fnv(fnv(pairBase, word), "\x00")}
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
	f.slots = g.newSlots(1 + total)
	f.slots[0] = h.slot(fnv(wordBase, word))
	if total == 0 {
		return f
	}
	f.gram = 1 / float64(total)
	// The n-grams in order of n, then of start (the order their weights are added in),
	// hashed in one pass per start: the hash of an n-gram goes on into the n+1-gram's.
	at := 1
	for s := 0; s+h.cfg.MinN <= runes; s++ {
		hash := fnvBytes(gramBase, c.marked[c.starts[s]:c.starts[s+h.cfg.MinN-1]])
		pos := at + s
		for n := h.cfg.MinN; n <= h.cfg.MaxN && s+n <= runes; n++ {
			hash = fnvBytes(hash, c.marked[c.starts[s+n-1]:c.starts[s+n]])
			f.slots[pos] = h.slot(hash)
			pos += runes - n + 1 // to the n+1-grams, which number one fewer
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
