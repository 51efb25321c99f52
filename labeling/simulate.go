package labeling

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// SimRow is one threshold of a simulation.
type SimRow struct {
	Threshold float64 `json:"threshold"`
	// ToHumans is the share of items that would be sent to labelers.
	ToHumans float64 `json:"to_humans"`
	// AutoAccuracy is the share of the other items whose automatic label is right, and
	// AutoAccuracyLower its one-sided 95% Wilson lower bound.
	AutoAccuracy      float64 `json:"auto_accuracy"`
	Auto              int     `json:"auto"`
	AutoAccuracyLower float64 `json:"auto_accuracy_lower"`
	// Chosen marks the threshold the classifier uses (its gate under the target accuracy,
	// or the configured threshold when that is stricter); Configured, labeling.threshold.
	Chosen     bool `json:"chosen,omitempty"`
	Configured bool `json:"configured,omitempty"`
}

// ReadDataset reads labeled items, one JSON object a line: {"text": ..., "class": name}
// or {"text": ..., "classes": [...]}; {"source": text, "<attribute>": name}; or Ground
// Truth output-manifest lines (source text, the label attribute as a class index or
// indices, and its -metadata). A class that is not configured is an error.
func ReadDataset(r io.Reader, cfg Config) ([]Example, error) {
	var out []Example
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	c := &Collector{Config: cfg}
	valid := map[string]bool{}
	for _, n := range cfg.ClassNames() {
		valid[n] = true
	}
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var rec map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		var e Example
		textKey, labelKey := "source", cfg.Attribute
		if _, ok := rec["text"]; ok {
			textKey = "text"
			if _, ok := rec["class"]; ok {
				labelKey = "class"
			} else {
				labelKey = "classes"
			}
		}
		if err := json.Unmarshal(rec[textKey], &e.Text); err != nil {
			return nil, fmt.Errorf("line %d: %q must be a string", n, textKey)
		}
		raw := bytes.TrimSpace(rec[labelKey])
		var name string
		var names []string
		switch {
		case len(raw) == 0:
		case json.Unmarshal(raw, &name) == nil:
			e.Classes = []string{name}
		case json.Unmarshal(raw, &names) == nil:
			e.Classes = names
		default:
			var meta map[string]any
			_ = json.Unmarshal(rec[cfg.Attribute+"-metadata"], &meta)
			classes, err := c.classesOf(raw, meta)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			e.Classes = classes
		}
		if e.Text == "" || len(e.Classes) == 0 {
			return nil, fmt.Errorf("line %d: no text or no class (expected {\"text\", \"class\"}, {\"source\", %q} or a Ground Truth output-manifest line)", n, cfg.Attribute)
		}
		if !cfg.MultiLabel && len(e.Classes) != 1 {
			return nil, fmt.Errorf("line %d: %d classes, but labeling is single-label", n, len(e.Classes))
		}
		for _, cl := range e.Classes {
			if !valid[cl] {
				return nil, fmt.Errorf("line %d: class %q is not configured (classes: %s)", n, cl, strings.Join(cfg.ClassNames(), ", "))
			}
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// Simulate applies the model to labeled items at each threshold (items whose uncertainty
// is at or below it are labeled automatically). The configured threshold and the one the
// classifier uses get rows of their own.
func Simulate(m *Model, items []Example, thresholds []float64, configured float64) []SimRow {
	type pred struct {
		u     float64
		right bool
	}
	preds := make([]pred, len(items))
	for i, it := range items {
		d := m.Decide(m.Probabilities(it.Text, it.Embedding), m.Measure)
		preds[i] = pred{d.Uncertainty, SameClasses(d.Classes, it.Classes)}
	}
	ts := slices.Clone(thresholds)
	if configured > 0 {
		ts = append(ts, configured)
	}
	chosen, open := m.Threshold(configured)
	if open {
		ts = append(ts, chosen)
	}
	slices.Sort(ts)
	ts = slices.Compact(ts)
	var rows []SimRow
	for _, t := range ts {
		r := SimRow{Threshold: t, Chosen: open && t == chosen, Configured: configured > 0 && t == configured}
		right, humans := 0, 0
		for _, p := range preds {
			if p.u > t {
				humans++
				continue
			}
			r.Auto++
			if p.right {
				right++
			}
		}
		if len(items) > 0 {
			r.ToHumans = float64(humans) / float64(len(items))
		}
		if r.Auto > 0 {
			r.AutoAccuracy = float64(right) / float64(r.Auto)
		}
		r.AutoAccuracyLower = WilsonLower(right, r.Auto)
		rows = append(rows, r)
	}
	return rows
}

// CalibrationError is the model's expected calibration error on labeled items (15 bins):
// how far, on average, its confidence is from its accuracy.
func CalibrationError(m *Model, items []Example) float64 {
	type obs struct {
		conf  float64
		right bool
	}
	var all []obs
	for _, it := range items {
		p := m.Probabilities(it.Text, it.Embedding)
		if m.MultiLabel {
			for k, pk := range p {
				all = append(all, obs{math.Max(pk, 1-pk), (pk >= 0.5) == slices.Contains(it.Classes, m.Classes[k])})
			}
			continue
		}
		d := m.Decide(p, m.Measure)
		all = append(all, obs{d.Confidence, SameClasses(d.Classes, it.Classes)})
	}
	return ece(all, func(o obs) (float64, bool) { return o.conf, o.right })
}
