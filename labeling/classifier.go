package labeling

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Example is one labeled text the classifier learns from.
type Example struct {
	Text string
	// Classes holds one class, or any number for multi-label configurations.
	Classes []string
	// Embedding is the chunk's vector when the features use it.
	Embedding []float32
	// Seed marks a class description or configured example: always trained on, never
	// counted as evidence of accuracy (only human labels are).
	Seed bool
	// Group is the document a human label came from: cross-validation keeps a document's
	// chunks in one fold, so accuracy is measured on documents the model has not seen
	// (chunks of one document resemble each other far more than chunks of another).
	// Empty: the example is its own group.
	Group string
}

// Model is a trained classifier: multinomial logistic regression (softmax) for
// single-label configurations, one logistic regression per class for multi-label ones,
// over TF-IDF features, with its probabilities calibrated by a temperature and the
// uncertainty threshold its human labels support. It is stored as JSON under
// labeling/classifier/<version>.json and is a pure function of its training examples and
// settings: the same examples give the same version and weights on any machine, and the
// version is known before training (VersionOf), so a stored model is loaded, not retrained.
type Model struct {
	Version    string   `json:"version"`
	Classes    []string `json:"classes"`
	MultiLabel bool     `json:"multi_label"`
	Measure    string   `json:"measure"`
	Features   Features `json:"features"`
	// Vocabulary lists the hashed buckets the training texts use, IDF their weights.
	Vocabulary []uint32  `json:"vocabulary"`
	IDF        []float32 `json:"idf"`
	// Weights is columns × classes, row-major by column: the vocabulary's columns, then
	// the embedding's.
	Weights []float32 `json:"weights"`
	Bias    []float32 `json:"bias"`
	// Temperature divides the scores before the softmax (or sigmoids): fitted on
	// cross-validated predictions of the human labels so that confidence means accuracy.
	Temperature float64        `json:"temperature"`
	Training    TrainingReport `json:"training"`
	Gate        Gate           `json:"gate"`
	Examples    int            `json:"examples"`
	// Created is when the model was trained: the creation-date of every label it decides.
	Created string `json:"created"`
	vocab   *vocabulary
}

// TrainingReport says how a model was fitted and what cross-validation measured.
type TrainingReport struct {
	Human int `json:"human_labels"`
	Seeds int `json:"seeds"`
	// C is the inverse L2 strength (scikit-learn's), chosen by cross-validated log-loss.
	C          float64 `json:"c"`
	Folds      int     `json:"folds"`
	Iterations int     `json:"iterations"`
	Converged  bool    `json:"converged"`
	// Cross-validated figures on the human labels, after calibration.
	CVAccuracy float64 `json:"cv_accuracy,omitempty"`
	CVLogLoss  float64 `json:"cv_log_loss,omitempty"`
	// CVLogLossUncalibrated is the same before the temperature (which minimises it).
	CVLogLossUncalibrated float64 `json:"cv_log_loss_uncalibrated,omitempty"`
	// CalibrationError is the expected calibration error (15 bins) of the cross-validated
	// probabilities after the temperature; Uncalibrated is the same before it.
	CalibrationError float64 `json:"calibration_error,omitempty"`
	Uncalibrated     float64 `json:"calibration_error_uncalibrated,omitempty"`
}

// Gate is the threshold the target accuracy allows: a chunk is labeled automatically only
// when the gate is open and its uncertainty is at or below Threshold.
type Gate struct {
	Open      bool    `json:"open"`
	Threshold float64 `json:"threshold"`
	Target    float64 `json:"target_accuracy"`
	// Evidence at the threshold: cross-validated human labels at or below it, how many
	// were right, and the one-sided 95% Wilson lower bound of that accuracy.
	Auto       int     `json:"auto"`
	Right      int     `json:"right"`
	LowerBound float64 `json:"lower_bound"`
	Reason     string  `json:"reason,omitempty"`
	// Curve is the threshold trade-off the cross-validated human labels show: per
	// threshold, the share of them that would go to humans and the accuracy of the rest.
	Curve []SimRow `json:"curve,omitempty"`
	// Proposed is where the evidence is gathered: the largest threshold at which the
	// cross-validated accuracy (not yet its lower bound) meets the target, 1 (every chunk)
	// before there is any. Audit slots of a job draw chunks at or below it at random, so
	// that each audit label is evidence for or against opening the gate there.
	Proposed float64 `json:"proposed_threshold"`
}

// Threshold is the uncertainty at or below which a chunk is labeled automatically, and
// whether any is: the gate's threshold, or the configured one when it is stricter.
func (m *Model) Threshold(configured float64) (float64, bool) {
	if !m.Gate.Open {
		return 0, false
	}
	t := m.Gate.Threshold
	if configured > 0 && configured < t {
		t = configured
	}
	return t, true
}

// columns is the feature vector's length.
func (m *Model) columns() int { return len(m.Vocabulary) + m.Features.EmbeddingDims }

func (m *Model) init() error {
	if m.Features.HashDims < 2 || m.Features.EmbeddingDims < 0 {
		return fmt.Errorf("classifier %s: hash_dims %d, embedding_dims %d", m.Version, m.Features.HashDims, m.Features.EmbeddingDims)
	}
	if len(m.IDF) != len(m.Vocabulary) || len(m.Weights) != len(m.Classes)*m.columns() || len(m.Bias) != len(m.Classes) || len(m.Classes) < 2 {
		return fmt.Errorf("classifier %s: %d weights, %d biases and %d idf for %d classes of %d columns", m.Version, len(m.Weights), len(m.Bias), len(m.IDF), len(m.Classes), m.columns())
	}
	if !slices.IsSorted(m.Vocabulary) {
		return fmt.Errorf("classifier %s: vocabulary not sorted", m.Version)
	}
	if !(m.Temperature > 0) || math.IsInf(m.Temperature, 0) {
		m.Temperature = 1
	}
	v := &vocabulary{buckets: m.Vocabulary, idf: make([]float64, len(m.IDF))}
	for i, x := range m.IDF {
		v.idf[i] = float64(x)
	}
	v.index()
	m.vocab = v
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

// Probabilities returns one calibrated probability per class: a distribution for
// single-label models, independent per-class probabilities for multi-label ones.
func (m *Model) Probabilities(text string, emb []float32) []float64 {
	r := m.vocab.vectorize(termCounts(text, m.Features.HashDims), emb, m.Features.EmbeddingDims)
	z := scores(m.Weights, m.Bias, r)
	for k := range z {
		z[k] /= m.Temperature
	}
	return activate(z, m.MultiLabel)
}

// scores are the linear scores of a row (weights columns × classes).
func scores[F float32 | float64](w, b []F, r row) []float64 {
	K := len(b)
	z := make([]float64, K)
	for k := range z {
		z[k] = float64(b[k])
	}
	for i, c := range r.idx {
		x := r.val[i]
		ws := w[int(c)*K : int(c)*K+K]
		for k := range z {
			z[k] += float64(ws[k]) * x
		}
	}
	return z
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

// TrainConfig holds the learning settings. Every field is part of the model's version.
type TrainConfig struct {
	Classes    []string `json:"classes"`
	MultiLabel bool     `json:"multi_label"`
	Features   Features `json:"features"`
	Measure    string   `json:"measure"`
	// Target is the accuracy automatic labels must show (Wilson lower bound) before the
	// gate opens; MinLabelsPerClass is how many human labels every class needs first.
	Target            float64 `json:"target_accuracy"`
	MinLabelsPerClass int     `json:"min_labels_per_class"`
	// Cs is the grid of inverse L2 strengths cross-validation chooses from; Folds the
	// most folds it uses.
	Cs    []float64 `json:"cs"`
	Folds int       `json:"folds"`
	// Tolerance stops the optimiser once no gradient component is larger (the loss is a
	// weighted mean, so this is scale-free); MaxIterations bounds it.
	Tolerance     float64 `json:"tolerance"`
	MaxIterations int     `json:"max_iterations"`
	// Workers fits folds in parallel (not part of the version: results do not depend on it).
	Workers int `json:"-"`
}

// DefaultTraining is what docingest trains with.
func DefaultTraining(cfg Config, f Features) TrainConfig {
	return TrainConfig{Classes: cfg.ClassNames(), MultiLabel: cfg.MultiLabel, Features: f, Measure: cfg.Measure,
		Target: cfg.TargetAccuracy, MinLabelsPerClass: cfg.MinLabelsPerClass,
		Cs: []float64{1, 4, 16, 64}, Folds: 5, Tolerance: 1e-5, MaxIterations: 2000}
}

// canonical sorts examples into a canonical order and checks their classes.
func canonical(tc TrainConfig, examples []Example) ([]Example, error) {
	if len(tc.Classes) < 2 {
		return nil, fmt.Errorf("classifier: need at least two classes, got %d", len(tc.Classes))
	}
	valid := map[string]bool{}
	for _, c := range tc.Classes {
		valid[c] = true
	}
	exs := slices.Clone(examples)
	for _, e := range exs {
		if len(e.Classes) == 0 || (!tc.MultiLabel && len(e.Classes) != 1) {
			return nil, fmt.Errorf("classifier: a %s example has %d classes", map[bool]string{true: "multi-label", false: "single-label"}[tc.MultiLabel], len(e.Classes))
		}
		for _, c := range e.Classes {
			if !valid[c] {
				return nil, fmt.Errorf("classifier: example labeled %q, which is not a configured class", c)
			}
		}
	}
	sort.SliceStable(exs, func(i, j int) bool {
		if exs[i].Text != exs[j].Text {
			return exs[i].Text < exs[j].Text
		}
		if a, b := strings.Join(exs[i].Classes, "\x00"), strings.Join(exs[j].Classes, "\x00"); a != b {
			return a < b
		}
		return !exs[i].Seed && exs[j].Seed
	})
	return exs, nil
}

// VersionOf is the version a model trained on these examples gets: a hash of the settings
// and the examples in canonical order. It costs a hash, not a training.
func VersionOf(tc TrainConfig, examples []Example) (string, error) {
	exs, err := canonical(tc, examples)
	if err != nil {
		return "", err
	}
	return versionOf(tc, exs), nil
}

func versionOf(tc TrainConfig, exs []Example) string {
	h := sha256.New()
	settings, _ := json.Marshal(tc)
	h.Write([]byte("clf/2\x00"))
	h.Write(settings)
	for _, e := range exs {
		h.Write([]byte(e.Text))
		h.Write([]byte{0})
		h.Write([]byte(strings.Join(e.Classes, "\x00")))
		if e.Seed {
			h.Write([]byte{1})
		} else {
			h.Write([]byte{0})
		}
		h.Write([]byte(e.Group))
		h.Write([]byte{0})
		for _, v := range e.Embedding {
			_ = binary.Write(h, binary.LittleEndian, v)
		}
	}
	return "clf-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// dataset is examples as the optimiser sees them.
type dataset struct {
	terms  [][]sparseTerm
	embs   [][]float32
	y      [][]float64 // one-hot (or multi-hot) targets
	weight []float64   // class-balanced sample weights
	human  []int       // indices of human labels
	first  []int       // each example's first class
	group  []string    // each example's document
}

// Train fits a model: chooses the L2 strength by stratified cross-validation on the human
// labels (seeds are always in the training folds), fits a temperature on the
// cross-validated scores, opens the gate at the largest threshold whose automatic
// accuracy meets the target, and fits the final weights on everything.
func Train(ctx context.Context, tc TrainConfig, examples []Example, created string) (*Model, error) {
	exs, err := canonical(tc, examples)
	if err != nil {
		return nil, err
	}
	if tc.Features.HashDims < 2 {
		return nil, fmt.Errorf("classifier: hash_dims must be at least 2, got %d", tc.Features.HashDims)
	}
	m := &Model{Version: versionOf(tc, exs), Classes: tc.Classes, MultiLabel: tc.MultiLabel, Measure: tc.Measure,
		Features: tc.Features, Examples: len(exs), Created: created, Temperature: 1,
		Gate: Gate{Target: tc.Target, Proposed: 1}}
	K := len(tc.Classes)
	index := map[string]int{}
	for i, c := range tc.Classes {
		index[c] = i
	}
	ds := dataset{}
	for i, e := range exs {
		ds.terms = append(ds.terms, termCounts(e.Text, tc.Features.HashDims))
		ds.embs = append(ds.embs, e.Embedding)
		y := make([]float64, K)
		for _, c := range e.Classes {
			y[index[c]] = 1
		}
		ds.y = append(ds.y, y)
		ds.first = append(ds.first, index[e.Classes[0]])
		g := e.Group
		if g == "" {
			g = "\x00" + e.Text
		}
		ds.group = append(ds.group, g)
		if e.Seed {
			m.Training.Seeds++
		} else {
			ds.human = append(ds.human, i)
		}
	}
	m.Training.Human = len(ds.human)
	ds.weight = balancedWeights(ds.y, tc.MultiLabel)
	all := make([]int, len(exs))
	for i := range all {
		all[i] = i
	}
	// cross-validation on the human labels
	C := 16.0
	if len(tc.Cs) > 0 {
		C = tc.Cs[len(tc.Cs)/2]
	}
	perClass := make([]int, K)
	for _, i := range ds.human {
		for k, v := range ds.y[i] {
			if v > 0 {
				perClass[k]++
			}
		}
	}
	groups := map[string]bool{}
	for _, i := range ds.human {
		groups[ds.group[i]] = true
	}
	folds := min(tc.Folds, slices.Min(perClass), len(groups))
	var oof [][]float64 // cross-validated scores of each human label, at the chosen C
	if folds >= 2 && len(tc.Cs) > 0 {
		scoresByC, err := crossValidate(ctx, tc, &ds, folds)
		if err != nil {
			return nil, err
		}
		best := math.Inf(1)
		for ci, c := range tc.Cs {
			if ll := logLoss(scoresByC[ci], ds, tc.MultiLabel, 1); ll < best-1e-9 {
				best, C, oof = ll, c, scoresByC[ci]
			}
		}
		m.Training.Folds = folds
		m.Temperature = fitTemperature(oof, ds, tc.MultiLabel)
		m.Training.CVLogLoss = logLoss(oof, ds, tc.MultiLabel, m.Temperature)
		m.Training.CVLogLossUncalibrated = best
		m.Training.Uncalibrated = calibrationError(oof, ds, tc.MultiLabel, 1)
		m.Training.CalibrationError = calibrationError(oof, ds, tc.MultiLabel, m.Temperature)
	}
	m.Training.C = C
	voc := newVocabulary(ds.terms)
	rows := make([]row, len(exs))
	for i := range rows {
		rows[i] = voc.vectorize(ds.terms[i], ds.embs[i], tc.Features.EmbeddingDims)
	}
	w, iters, converged, err := fit(ctx, tc, rows, ds, all, len(voc.buckets)+tc.Features.EmbeddingDims, C, nil)
	if err != nil {
		return nil, err
	}
	m.Training.Iterations, m.Training.Converged = iters, converged
	cols := len(voc.buckets) + tc.Features.EmbeddingDims
	m.Vocabulary = voc.buckets
	m.IDF = make([]float32, len(voc.idf))
	for i, x := range voc.idf {
		m.IDF[i] = float32(x)
	}
	m.Weights = make([]float32, cols*K)
	for i := range m.Weights {
		m.Weights[i] = float32(w[i])
	}
	m.Bias = make([]float32, K)
	for k := range m.Bias {
		m.Bias[k] = float32(w[cols*K+k])
	}
	if err := m.init(); err != nil {
		return nil, err
	}
	m.Gate = chooseGate(tc, m, ds, oof, perClass)
	if oof != nil {
		right := 0
		for j, i := range ds.human {
			if m.correct(m.decideScores(oof[j]), ds.y[i]) {
				right++
			}
		}
		m.Training.CVAccuracy = float64(right) / float64(len(ds.human))
	}
	return m, nil
}

// decideScores decides from raw (uncalibrated) scores.
func (m *Model) decideScores(z []float64) Decision {
	p := make([]float64, len(z))
	for k := range z {
		p[k] = z[k] / m.Temperature
	}
	return m.Decide(activate(p, m.MultiLabel), m.Measure)
}

// correct reports whether a decision's classes are exactly the true ones.
func (m *Model) correct(d Decision, y []float64) bool {
	n := 0
	for _, v := range y {
		if v > 0 {
			n++
		}
	}
	if len(d.Classes) != n {
		return false
	}
	for _, c := range d.Classes {
		if k := slices.Index(m.Classes, c); k < 0 || y[k] == 0 {
			return false
		}
	}
	return true
}

// balancedWeights gives each example n / (K × n_class) (scikit-learn's "balanced"), by
// its first class; multi-label examples weigh 1.
func balancedWeights(y [][]float64, multi bool) []float64 {
	w := make([]float64, len(y))
	if multi || len(y) == 0 {
		for i := range w {
			w[i] = 1
		}
		return w
	}
	K := len(y[0])
	count := make([]float64, K)
	for _, yi := range y {
		count[slices.Index(yi, 1)]++
	}
	present := 0
	for _, c := range count {
		if c > 0 {
			present++
		}
	}
	for i, yi := range y {
		w[i] = float64(len(y)) / (float64(present) * count[slices.Index(yi, 1)])
	}
	return w
}

// foldOf assigns human labels to folds by document: the largest documents first, each to
// the fold with the fewest labels so far, so that folds are of similar size and no
// document is split between training and scoring.
func foldOf(ds *dataset, folds int) map[int]int {
	size := map[string]int{}
	for _, i := range ds.human {
		size[ds.group[i]]++
	}
	groups := make([]string, 0, len(size))
	for g := range size {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(a, b int) bool {
		if size[groups[a]] != size[groups[b]] {
			return size[groups[a]] > size[groups[b]]
		}
		return groups[a] < groups[b]
	})
	load := make([]int, folds)
	foldOfGroup := map[string]int{}
	for _, g := range groups {
		f := 0
		for k := range load {
			if load[k] < load[f] {
				f = k
			}
		}
		foldOfGroup[g] = f
		load[f] += size[g]
	}
	out := map[int]int{}
	for _, i := range ds.human {
		out[i] = foldOfGroup[ds.group[i]]
	}
	return out
}

// crossValidate returns, for each C of the grid, the out-of-fold scores of every human
// label (in ds.human order). Folds run in parallel; within a fold the grid is walked in
// ascending order, each fit starting from the previous one.
func crossValidate(ctx context.Context, tc TrainConfig, ds *dataset, folds int) ([][][]float64, error) {
	assign := foldOf(ds, folds)
	out := make([][][]float64, len(tc.Cs))
	for ci := range out {
		out[ci] = make([][]float64, len(ds.human))
	}
	pos := map[int]int{}
	for j, i := range ds.human {
		pos[i] = j
	}
	cs := slices.Clone(tc.Cs)
	order := make([]int, len(cs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return cs[order[a]] < cs[order[b]] })
	workers := tc.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	errs := make([]error, folds)
	for f := 0; f < folds; f++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var train, test []int
			for i := range ds.terms {
				if fo, human := assign[i]; human && fo == f {
					test = append(test, i)
				} else {
					train = append(train, i)
				}
			}
			terms := make([][]sparseTerm, len(train))
			for j, i := range train {
				terms[j] = ds.terms[i]
			}
			voc := newVocabulary(terms)
			cols := len(voc.buckets) + tc.Features.EmbeddingDims
			rows := make([]row, len(ds.terms))
			for _, i := range append(slices.Clone(train), test...) {
				rows[i] = voc.vectorize(ds.terms[i], ds.embs[i], tc.Features.EmbeddingDims)
			}
			sub := *ds
			sub.weight = make([]float64, len(ds.y))
			ys := make([][]float64, len(train))
			for j, i := range train {
				ys[j] = ds.y[i]
			}
			bw := balancedWeights(ys, tc.MultiLabel)
			for j, i := range train {
				sub.weight[i] = bw[j]
			}
			var w []float64
			for _, ci := range order {
				var err error
				if w, _, _, err = fit(ctx, tc, rows, sub, train, cols, cs[ci], w); err != nil {
					errs[f] = err
					return
				}
				K := len(tc.Classes)
				for _, i := range test {
					out[ci][pos[i]] = scores(w[:cols*K], w[cols*K:], rows[i])
				}
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// fit minimises the class-weighted mean log-loss plus ||W||² / (2 C Σweights) over the
// examples in use (the bias is not penalised), by L-BFGS from init (or zero) until no
// gradient component exceeds the tolerance.
func fit(ctx context.Context, tc TrainConfig, rows []row, ds dataset, use []int, cols int, C float64, init []float64) ([]float64, int, bool, error) {
	K := len(tc.Classes)
	var S float64
	for _, i := range use {
		S += ds.weight[i]
	}
	obj := &objective{rows: rows, ds: ds, use: use, K: K, cols: cols, S: S, lambda: 1 / (C * S), multi: tc.MultiLabel}
	x := make([]float64, cols*K+K)
	if init != nil && len(init) == len(x) {
		copy(x, init)
	}
	return lbfgs(ctx, obj, x, tc.Tolerance, tc.MaxIterations)
}

type objective struct {
	rows   []row
	ds     dataset
	use    []int
	K      int
	cols   int
	S      float64
	lambda float64
	multi  bool
}

// eval returns the loss at x and writes its gradient.
func (o *objective) eval(x, grad []float64) float64 {
	K, cols := o.K, o.cols
	W, b := x[:cols*K], x[cols*K:]
	clear(grad)
	gW, gb := grad[:cols*K], grad[cols*K:]
	var loss float64
	g := make([]float64, K)
	for _, i := range o.use {
		r := o.rows[i]
		z := scores(W, b, r)
		y := o.ds.y[i]
		s := o.ds.weight[i] / o.S
		if o.multi {
			for k := range z {
				// log(1+e^-z) for y=1, log(1+e^z) for y=0, computed stably
				t := z[k]
				if y[k] == 0 {
					t = -t
				}
				loss += s * softplus(-t)
				g[k] = s * (sigmoid(z[k]) - y[k])
			}
		} else {
			mx := slices.Max(z)
			var sum float64
			for k := range z {
				sum += math.Exp(z[k] - mx)
			}
			lse := mx + math.Log(sum)
			for k := range z {
				p := math.Exp(z[k] - lse)
				g[k] = s * (p - y[k])
				if y[k] > 0 {
					loss -= s * (z[k] - lse)
				}
			}
		}
		for k := range g {
			gb[k] += g[k]
		}
		for j, c := range r.idx {
			v := r.val[j]
			gw := gW[int(c)*K : int(c)*K+K]
			for k := range g {
				gw[k] += g[k] * v
			}
		}
	}
	var reg float64
	for j, w := range W {
		reg += w * w
		gW[j] += o.lambda * w
	}
	return loss + o.lambda*reg/2
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// softplus is log(1+e^z) without overflow.
func softplus(z float64) float64 {
	if z > 30 {
		return z
	}
	return math.Log1p(math.Exp(z))
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
