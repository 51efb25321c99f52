package labeling

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Features says what a chunk is turned into for the classifier: TF-IDF weights of its
// hashed words and word pairs (sublinear term frequency, smoothed inverse document
// frequency learned from the training texts, L2-normalised, as scikit-learn's
// TfidfVectorizer computes them) and, when the embedder is a semantic model, its vector.
type Features struct {
	// HashDims is the size of the hashed space words and word pairs fall into (2^18 by
	// default: a paragraph of 200 words sets about 400 of them, so collisions are rare).
	HashDims int `json:"hash_dims"`
	// EmbeddingModel is set when the chunk's embedding is part of the features.
	EmbeddingModel string `json:"embedding_model,omitempty"`
	EmbeddingDims  int    `json:"embedding_dims,omitempty"`
}

// DefaultHashDims is the hashed feature space of a new classifier.
const DefaultHashDims = 1 << 18

// maxTokenBytes cuts pathological "words" (a base64 blob) so one cannot dominate a text.
const maxTokenBytes = 64

// termCounts hashes a text's words (two or more letters or digits, lower-cased, as
// scikit-learn's default token pattern) and adjacent word pairs into dims buckets and
// counts them. The result is sorted by bucket.
func termCounts(text string, dims int) []sparseTerm {
	counts := map[uint32]float64{}
	add := func(parts ...string) { counts[uint32(fnv64a(parts...)%uint64(dims))]++ }
	var prev string
	var word strings.Builder
	flush := func() {
		if word.Len() == 0 {
			return
		}
		w := word.String()
		word.Reset()
		if utf8.RuneCountInString(w) < 2 {
			prev = ""
			return
		}
		add(w)
		if prev != "" {
			add(prev, " ", w)
		}
		prev = w
	}
	for _, r := range text {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' {
			if word.Len() < maxTokenBytes {
				word.WriteRune(unicode.ToLower(r))
			}
			continue
		}
		flush()
	}
	flush()
	out := make([]sparseTerm, 0, len(counts))
	for k, v := range counts {
		out = append(out, sparseTerm{k, v})
	}
	slices.SortFunc(out, func(a, b sparseTerm) int { return int(a.bucket) - int(b.bucket) })
	return out
}

// fnv64a is FNV-1a (hash/fnv's New64a) of the concatenated parts, without allocating:
// it runs for every word of every chunk the worker labels.
func fnv64a(parts ...string) uint64 {
	h := uint64(14695981039346656037)
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h ^= uint64(p[i])
			h *= 1099511628211
		}
	}
	return h
}

type sparseTerm struct {
	bucket uint32
	count  float64
}

// vocabulary is the buckets the training texts use and their inverse document frequency.
type vocabulary struct {
	buckets []uint32 // sorted
	idf     []float64
	col     map[uint32]int32
}

// newVocabulary learns the buckets and smoothed idf (ln((1+n)/(1+df)) + 1) of texts.
func newVocabulary(docs [][]sparseTerm) *vocabulary {
	df := map[uint32]int{}
	for _, d := range docs {
		for _, t := range d {
			df[t.bucket]++
		}
	}
	v := &vocabulary{buckets: make([]uint32, 0, len(df))}
	for b := range df {
		v.buckets = append(v.buckets, b)
	}
	slices.Sort(v.buckets)
	n := float64(len(docs))
	v.idf = make([]float64, len(v.buckets))
	for i, b := range v.buckets {
		v.idf[i] = math.Log((1+n)/(1+float64(df[b]))) + 1
	}
	v.index()
	return v
}

func (v *vocabulary) index() {
	v.col = make(map[uint32]int32, len(v.buckets))
	for i, b := range v.buckets {
		v.col[b] = int32(i)
	}
}

// row is one text as a sparse vector over the model's columns: vocabulary buckets first,
// then the embedding's dimensions.
type row struct {
	idx []int32
	val []float64
}

// vectorize weights a text's terms by sublinear tf × idf over the vocabulary (terms the
// training never saw are left out, as a fitted TfidfVectorizer does), L2-normalises them,
// and appends the embedding when the model uses one.
func (v *vocabulary) vectorize(terms []sparseTerm, emb []float32, embDims int) row {
	var r row
	var norm float64
	for _, t := range terms {
		c, ok := v.col[t.bucket]
		if !ok {
			continue
		}
		w := (1 + math.Log(t.count)) * v.idf[c]
		r.idx = append(r.idx, c)
		r.val = append(r.val, w)
		norm += w * w
	}
	if norm > 0 {
		norm = math.Sqrt(norm)
		for i := range r.val {
			r.val[i] /= norm
		}
	}
	if embDims > 0 && len(emb) == embDims {
		base := int32(len(v.buckets))
		for i, x := range emb {
			if x != 0 {
				r.idx = append(r.idx, base+int32(i))
				r.val = append(r.val, float64(x))
			}
		}
	}
	return r
}
