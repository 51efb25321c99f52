package labeling

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/docingest/docingest/embedders"
)

// Example is one labeled text the classifier learns from.
type Example struct {
	Text string
	// Classes holds one class, or any number for multi-label configurations.
	Classes []string
	// Embedding is the chunk's vector when the features use it.
	Embedding []float32
}

// Features says what a chunk is turned into for the classifier: hashed word, word-pair
// and character n-gram counts (the hashing embedder's features, L2-normalised) and,
// when the embedder is a semantic model, its vector.
type Features struct {
	HashDims int `json:"hash_dims"`
	// EmbeddingModel is set when the chunk's embedding is part of the features.
	EmbeddingModel string `json:"embedding_model,omitempty"`
	EmbeddingDims  int    `json:"embedding_dims,omitempty"`
}

// Model is a trained classifier: multinomial logistic regression (softmax) for single-label
// configurations, one logistic regression per class for multi-label ones. It is stored as
// JSON under labeling/classifier/ and is a pure function of its training examples and
// settings: the same examples give the same version and weights on any machine.
type Model struct {
	Version    string    `json:"version"`
	Classes    []string  `json:"classes"`
	MultiLabel bool      `json:"multi_label"`
	Features   Features  `json:"features"`
	Weights    []float32 `json:"weights"` // classes × dims, row-major
	Bias       []float32 `json:"bias"`
	Examples   int       `json:"examples"`
	// Created is when the model was trained: the creation-date of every label it decides.
	Created string `json:"created"`
	hashing *embedders.Hashing
}

// dims is the feature vector's length.
func (f Features) dims() int { return f.HashDims + f.EmbeddingDims }

func (m *Model) init() error {
	h, err := embedders.NewHashing(embedders.HashingConfig{Dimensions: m.Features.HashDims, MinN: 3, MaxN: 5})
	if err != nil {
		return fmt.Errorf("classifier features: %w", err)
	}
	m.hashing = h
	if len(m.Weights) != len(m.Classes)*m.Features.dims() || len(m.Bias) != len(m.Classes) {
		return fmt.Errorf("classifier %s: %d weights and %d biases for %d classes of %d features", m.Version, len(m.Weights), len(m.Bias), len(m.Classes), m.Features.dims())
	}
	return nil
}

// LoadModel reads a stored model.
func LoadModel(b []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("classifier: %w", err)
	}
	if err := m.init(); err != nil {
		return nil, err
	}
	return &m, nil
}

// vector returns the features of a text (and its embedding).
func (m *Model) vector(text string, emb []float32) []float64 {
	vs, _ := m.hashing.Embed(context.Background(), []string{text}) // no I/O, cannot fail
	x := make([]float64, m.Features.dims())
	for i, v := range vs[0] {
		x[i] = float64(v)
	}
	if m.Features.EmbeddingDims > 0 && len(emb) == m.Features.EmbeddingDims {
		for i, v := range emb {
			x[m.Features.HashDims+i] = float64(v)
		}
	}
	return x
}

// Probabilities returns one probability per class: a distribution for single-label
// models, independent per-class probabilities for multi-label ones.
func (m *Model) Probabilities(text string, emb []float32) []float64 {
	return m.probs(m.vector(text, emb))
}

func (m *Model) probs(x []float64) []float64 {
	d := m.Features.dims()
	z := make([]float64, len(m.Classes))
	for k := range z {
		row := m.Weights[k*d : (k+1)*d]
		s := float64(m.Bias[k])
		for i, xi := range x {
			if xi != 0 {
				s += float64(row[i]) * xi
			}
		}
		z[k] = s
	}
	return activate(z, m.MultiLabel)
}

// activate turns scores into probabilities in place: independent sigmoids for
// multi-label models, a softmax otherwise.
func activate(z []float64, multi bool) []float64 {
	if multi {
		for k := range z {
			z[k] = 1 / (1 + math.Exp(-z[k]))
		}
		return z
	}
	mx := slices.Max(z)
	var sum float64
	for k := range z {
		z[k] = math.Exp(z[k] - mx)
		sum += z[k]
	}
	for k := range z {
		z[k] /= sum
	}
	return z
}

// TrainConfig holds the learning settings.
type TrainConfig struct {
	Classes    []string
	MultiLabel bool
	Features   Features
	// Epochs of full-batch gradient descent, learning rate and L2 penalty.
	Epochs int
	Rate   float64
	L2     float64
}

// DefaultTraining is what docingest trains with.
func DefaultTraining(classes []string, multi bool, f Features) TrainConfig {
	return TrainConfig{Classes: classes, MultiLabel: multi, Features: f, Epochs: 300, Rate: 2, L2: 1e-3}
}

// Train fits a model. Examples are sorted into a canonical order first, so the result
// does not depend on the order they were collected in; the version is a hash of the
// settings and the examples.
func Train(cfg TrainConfig, examples []Example, created string) (*Model, error) {
	if len(cfg.Classes) < 2 {
		return nil, fmt.Errorf("classifier: need at least two classes, got %d", len(cfg.Classes))
	}
	index := map[string]int{}
	for i, c := range cfg.Classes {
		index[c] = i
	}
	exs := slices.Clone(examples)
	sort.SliceStable(exs, func(i, j int) bool {
		if exs[i].Text != exs[j].Text {
			return exs[i].Text < exs[j].Text
		}
		return fmt.Sprint(exs[i].Classes) < fmt.Sprint(exs[j].Classes)
	})
	h := sha256.New()
	settings, _ := json.Marshal(cfg)
	h.Write(settings)
	for _, e := range exs {
		for _, c := range e.Classes {
			if _, ok := index[c]; !ok {
				return nil, fmt.Errorf("classifier: example labeled %q, which is not a configured class", c)
			}
		}
		h.Write([]byte(e.Text))
		h.Write([]byte{0})
		h.Write([]byte(fmt.Sprint(e.Classes)))
		h.Write([]byte{0})
		for _, v := range e.Embedding {
			binary.Write(h, binary.LittleEndian, v)
		}
	}
	m := &Model{Version: "clf-" + hex.EncodeToString(h.Sum(nil)[:8]), Classes: cfg.Classes, MultiLabel: cfg.MultiLabel,
		Features: cfg.Features, Examples: len(exs), Created: created}
	d, K := cfg.Features.dims(), len(cfg.Classes)
	m.Weights, m.Bias = make([]float32, K*d), make([]float32, K)
	if err := m.init(); err != nil {
		return nil, err
	}
	if len(exs) == 0 {
		return m, nil
	}
	xs := make([][]float64, len(exs))
	ys := make([][]float64, len(exs))
	for i, e := range exs {
		xs[i] = m.vector(e.Text, e.Embedding)
		ys[i] = make([]float64, K)
		for _, c := range e.Classes {
			ys[i][index[c]] = 1
		}
		if !cfg.MultiLabel && len(e.Classes) != 1 {
			return nil, fmt.Errorf("classifier: a single-label example has %d classes", len(e.Classes))
		}
	}
	w := make([]float64, K*d)
	b := make([]float64, K)
	gw := make([]float64, K*d)
	gb := make([]float64, K)
	n := float64(len(exs))
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		clear(gw)
		clear(gb)
		for i, x := range xs {
			p := predictRaw(w, b, x, K, d, cfg.MultiLabel)
			for k := 0; k < K; k++ {
				g := p[k] - ys[i][k]
				if g == 0 {
					continue
				}
				gb[k] += g
				row := gw[k*d : (k+1)*d]
				for j, xj := range x {
					if xj != 0 {
						row[j] += g * xj
					}
				}
			}
		}
		for j := range w {
			w[j] -= cfg.Rate * (gw[j]/n + cfg.L2*w[j])
		}
		for k := range b {
			b[k] -= cfg.Rate * gb[k] / n
		}
	}
	for j, v := range w {
		m.Weights[j] = float32(v)
	}
	for k, v := range b {
		m.Bias[k] = float32(v)
	}
	return m, nil
}

func predictRaw(w, b, x []float64, K, d int, multi bool) []float64 {
	z := make([]float64, K)
	for k := 0; k < K; k++ {
		s := b[k]
		row := w[k*d : (k+1)*d]
		for j, xj := range x {
			if xj != 0 {
				s += row[j] * xj
			}
		}
		z[k] = s
	}
	return activate(z, multi)
}

// Uncertainty measures.
const (
	LeastConfidence = "least_confidence"
	Margin          = "margin"
	Entropy         = "entropy"
)

// Decision is what the classifier says about one chunk.
type Decision struct {
	// Classes: the predicted class (single-label) or every class with p >= 0.5.
	Classes []string
	// Confidence of the prediction: the top probability (single-label) or the lowest
	// confidence among the classes' yes/no decisions (multi-label).
	Confidence float64
	// ConfidenceMap has each class's probability (multi-label).
	ConfidenceMap map[string]float64
	// Uncertainty in [0, 1] by the configured measure: for multi-label, that of the least
	// certain class.
	Uncertainty float64
}

// Decide turns probabilities into a decision under the given measure.
func (m *Model) Decide(p []float64, measure string) Decision {
	if m.MultiLabel {
		d := Decision{ConfidenceMap: map[string]float64{}, Confidence: 1}
		for k, pk := range p {
			d.ConfidenceMap[m.Classes[k]] = pk
			if pk >= 0.5 {
				d.Classes = append(d.Classes, m.Classes[k])
			}
			d.Confidence = math.Min(d.Confidence, math.Max(pk, 1-pk))
			d.Uncertainty = math.Max(d.Uncertainty, uncertainty([]float64{pk, 1 - pk}, measure))
		}
		return d
	}
	best := 0
	for k := range p {
		if p[k] > p[best] {
			best = k
		}
	}
	return Decision{Classes: []string{m.Classes[best]}, Confidence: p[best], Uncertainty: uncertainty(p, measure)}
}

// uncertainty of a distribution, scaled to [0, 1].
func uncertainty(p []float64, measure string) float64 {
	s := slices.Clone(p)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	K := float64(len(s))
	switch measure {
	case Margin:
		return 1 - (s[0] - s[1])
	case Entropy:
		var h float64
		for _, x := range s {
			if x > 0 {
				h -= x * math.Log(x)
			}
		}
		return h / math.Log(K)
	}
	// least confidence, scaled so that a uniform distribution is 1
	return (1 - s[0]) * K / (K - 1)
}
