package labeling

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// SimRow is one threshold of a simulation.
type SimRow struct {
	Threshold float64 `json:"threshold"`
	// ToHumans is the share of items that would be sent to labelers.
	ToHumans float64 `json:"to_humans"`
	// AutoAccuracy is the share of the other items whose automatic label is right.
	AutoAccuracy float64 `json:"auto_accuracy"`
	Auto         int     `json:"auto"`
}

// ReadDataset reads labeled items: Ground Truth output-manifest lines (source text, the
// label attribute and its -metadata) or {"text": ..., "class": ...} / {"classes": [...]}.
func ReadDataset(r io.Reader, cfg Config) ([]Example, error) {
	var out []Example
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	c := &Collector{Config: cfg}
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		var e Example
		if t, ok := rec["text"]; ok {
			json.Unmarshal(t, &e.Text)
			var one string
			if json.Unmarshal(rec["class"], &one) == nil && one != "" {
				e.Classes = []string{one}
			} else {
				json.Unmarshal(rec["classes"], &e.Classes)
			}
		} else {
			json.Unmarshal(rec["source"], &e.Text)
			var meta map[string]any
			json.Unmarshal(rec[cfg.Attribute+"-metadata"], &meta)
			classes, err := c.classesOf(rec[cfg.Attribute], meta)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			e.Classes = classes
		}
		if e.Text == "" || len(e.Classes) == 0 {
			return nil, fmt.Errorf("line %d: no text or no class", n)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// Simulate applies the model to labeled items at each threshold.
func Simulate(m *Model, measure string, items []Example, thresholds []float64) []SimRow {
	type pred struct {
		classes []string
		u       float64
	}
	preds := make([]pred, len(items))
	for i, it := range items {
		d := m.Decide(m.Probabilities(it.Text, it.Embedding), measure)
		preds[i] = pred{d.Classes, d.Uncertainty}
	}
	var rows []SimRow
	for _, t := range thresholds {
		r := SimRow{Threshold: t}
		right, humans := 0, 0
		for i, p := range preds {
			if p.u > t {
				humans++
				continue
			}
			r.Auto++
			a, b := slices.Clone(p.classes), slices.Clone(items[i].Classes)
			slices.Sort(a)
			slices.Sort(b)
			if slices.Equal(a, b) {
				right++
			}
		}
		if len(items) > 0 {
			r.ToHumans = float64(humans) / float64(len(items))
		}
		if r.Auto > 0 {
			r.AutoAccuracy = float64(right) / float64(r.Auto)
		}
		rows = append(rows, r)
	}
	return rows
}
