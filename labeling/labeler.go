package labeling

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// Store is the output prefix as labeling uses it.
type Store interface {
	List(ctx context.Context, prefix string, recursive bool, fn func(storage.ObjectInfo) error) error
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, r io.Reader) error
	Delete(ctx context.Context, key string) error
}

// TextHash identifies a chunk's text: human labels are keyed by it, so they outlive
// re-chunking that produces the same text.
func TextHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:16])
}

// PendingItem is one uncertain chunk waiting for a labeling job.
type PendingItem struct {
	ID      string `json:"id"` // text hash
	Source  string `json:"source"`
	ChunkID string `json:"chunk_id"`
	Index   int    `json:"index"`
	// Text is already redacted: the original never leaves the chunk records.
	Text        string    `json:"text"`
	Redacted    Redacted  `json:"redacted,omitempty"`
	Predicted   []string  `json:"predicted"`
	Confidence  float64   `json:"confidence"`
	Uncertainty float64   `json:"uncertainty"`
	Measure     string    `json:"measure"`
	Classifier  string    `json:"classifier"`
	Embedding   []float32 `json:"embedding,omitempty"`
	// Top are the classifier's most likely classes with their probabilities, and
	// HeadingPath the chunk's place in its document: what a labeler is shown beside the text.
	Top         []ClassScore `json:"top,omitempty"`
	HeadingPath []string     `json:"heading_path,omitempty"`
	// Audit marks a chunk of the random sample (by text hash) that audit slots of a job
	// draw from; Auto, that it was labeled automatically (Predicted is its label).
	Audit bool `json:"audit,omitempty"`
	Auto  bool `json:"auto,omitempty"`
}

// ClassScore is a class and the classifier's probability of it.
type ClassScore struct {
	Class       string  `json:"class"`
	Probability float64 `json:"probability"`
}

// topClasses is the n most probable classes.
func topClasses(m *Model, p []float64, n int) []ClassScore {
	out := make([]ClassScore, 0, len(p))
	for i, v := range p {
		if i < len(m.Classes) {
			out = append(out, ClassScore{Class: m.Classes[i], Probability: round6(v)})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Probability > out[b].Probability })
	return out[:min(n, len(out))]
}

// HumanLabel is a person's label for a text, kept under labeling/human/<text hash>.json.
type HumanLabel struct {
	ID      string   `json:"id"`
	Classes []string `json:"classes"`
	Job     string   `json:"job"`
	Date    string   `json:"date"`
	Sources []string `json:"sources,omitempty"`
	// Text is the redacted text the human saw (for retraining).
	Text string `json:"text"`
	// What the classifier said when the item was sent: its classes, whether they were
	// published as an automatic label, and whether the item was an audit sample.
	Predicted  []string `json:"predicted,omitempty"`
	Classifier string   `json:"classifier,omitempty"`
	Audit      bool     `json:"audit,omitempty"`
	WasAuto    bool     `json:"was_auto,omitempty"`
	// Reviewers are the people whose answers gave the label (local jobs), Disagreement
	// whether their answers differed.
	Reviewers    []string `json:"reviewers,omitempty"`
	Disagreement bool     `json:"disagreement,omitempty"`
}

// Labeler classifies chunks with the current classifier. It is safe for concurrent use.
type Labeler struct {
	cfg      Config
	store    Store
	redactor *Redactor
	features Features
	mu       sync.RWMutex
	model    *Model
	human    map[string]HumanLabel
}

// NewLabeler loads the classifier the configuration and the human labels give (training
// and storing it only when no stored copy exists), and the index of human labels.
func NewLabeler(ctx context.Context, cfg Config, store Store, features Features, now func() time.Time) (*Labeler, error) {
	l := &Labeler{cfg: cfg, store: store, redactor: NewRedactor(cfg.Redact), features: features}
	if err := l.Reload(ctx, now); err != nil {
		return nil, err
	}
	return l, nil
}

// Reload reads the human labels and the classifier again (after a collect).
func (l *Labeler) Reload(ctx context.Context, now func() time.Time) error {
	human, err := LoadHumanLabels(ctx, l.store)
	if err != nil {
		return err
	}
	m, err := Classifier(ctx, l.cfg, l.store, l.features, human, now, true)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.model, l.human = m, human
	l.mu.Unlock()
	return nil
}

// Model returns the classifier in use.
func (l *Labeler) Model() *Model {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.model
}

// Version names the classifier in use.
func (l *Labeler) Version() string { return l.Model().Version }

// LoadHumanLabels reads every human label.
func LoadHumanLabels(ctx context.Context, store Store) (map[string]HumanLabel, error) {
	out := map[string]HumanLabel{}
	err := store.List(ctx, layout.HumanLabelRoot, true, func(o storage.ObjectInfo) error {
		b, err := store.Get(ctx, o.Key)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var h HumanLabel
		if err := json.Unmarshal(b, &h); err != nil {
			return fmt.Errorf("human label %s: %w", o.Key, err)
		}
		out[h.ID] = h
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read human labels: %w", err)
	}
	return out, nil
}

// trainingSet is the seeds, the class descriptions and every human label.
func trainingSet(cfg Config, human map[string]HumanLabel) []Example {
	var exs []Example
	for _, c := range cfg.Classes {
		if c.Description != "" {
			exs = append(exs, Example{Text: c.Description, Classes: []string{c.Name}, Seed: true})
		}
		for _, e := range c.Examples {
			exs = append(exs, Example{Text: e, Classes: []string{c.Name}, Seed: true})
		}
	}
	valid := map[string]bool{}
	for _, c := range cfg.Classes {
		valid[c.Name] = true
	}
	for _, h := range human {
		ok := len(h.Classes) > 0 && (cfg.MultiLabel || len(h.Classes) == 1)
		for _, c := range h.Classes {
			ok = ok && valid[c]
		}
		if ok {
			group := ""
			if len(h.Sources) > 0 {
				group = slices.Min(h.Sources)
			}
			exs = append(exs, Example{Text: h.Text, Classes: h.Classes, Group: group})
		}
	}
	return exs
}

// Classifier returns the model the configuration and the human labels give. Its version is
// a hash of them, so a stored copy (labeling/classifier/<version>.json) is loaded rather
// than retrained; otherwise it is trained and, when store is set, stored (with the time
// it was trained as its creation date, which every label it decides carries).
func Classifier(ctx context.Context, cfg Config, store Store, f Features, human map[string]HumanLabel, now func() time.Time, persist bool) (*Model, error) {
	tc := DefaultTraining(cfg, f)
	exs := trainingSet(cfg, human)
	version, err := VersionOf(tc, exs)
	if err != nil {
		return nil, err
	}
	key := layout.ClassifierRoot + version + ".json"
	b, err := store.Get(ctx, key)
	switch {
	case err == nil:
		m, lerr := LoadModel(b)
		if lerr == nil && m.Version == version {
			return m, nil
		}
		// an unreadable copy is replaced by a fresh training of the same version
	case !errors.Is(err, storage.ErrNotFound):
		return nil, fmt.Errorf("read classifier: %w", err)
	}
	m, err := Train(ctx, tc, exs, now().UTC().Format("2006-01-02T15:04:05.000000"))
	if err != nil {
		return nil, err
	}
	if persist {
		b, _ := json.Marshal(m)
		if err := store.Put(ctx, key, bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("store classifier: %w", err)
		}
	}
	return m, nil
}

// Begin starts labeling one source. The session is not safe for concurrent use; Finish
// makes what it labeled durable.
func (l *Labeler) Begin(source string) *Session {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return &Session{l: l, model: l.model, human: l.human, source: source, written: map[string]bool{}}
}

// Session labels the chunks of one source, batch by batch.
type Session struct {
	l       *Labeler
	model   *Model
	human   map[string]HumanLabel
	source  string
	auto    bytes.Buffer
	written map[string]bool // pending keys written by this session
}

func (s *Session) Label(ctx context.Context, chunks []document.LabelInput) ([]document.Label, error) {
	cfg := s.l.cfg
	out := make([]document.Label, len(chunks))
	for i, c := range chunks {
		id := TextHash(c.Text)
		lab := document.Label{Measure: cfg.Measure, Classifier: s.model.Version}
		if h, ok := s.human[id]; ok {
			lab.Status, lab.Confidence = document.LabelHuman, 1
			setClasses(&lab, h.Classes, cfg.MultiLabel)
			out[i] = lab
			continue
		}
		probs := s.model.Probabilities(c.Text, c.Embedding)
		d := s.model.Decide(probs, cfg.Measure)
		lab.Confidence, lab.Uncertainty = round6(d.Confidence), round6(d.Uncertainty)
		if cfg.MultiLabel {
			lab.Map = map[string]float64{}
			for k, v := range d.ConfidenceMap {
				lab.Map[k] = round6(v)
			}
		}
		setClasses(&lab, d.Classes, cfg.MultiLabel)
		t, open := s.model.Threshold(cfg.Threshold)
		auto := open && d.Uncertainty <= t
		audit := auditSampled(id, cfg.AuditSampleRate)
		if !auto || audit {
			text, red := s.l.redactor.RedactWithin(c.Before, c.Text, c.After)
			item := PendingItem{ID: id, Source: s.source, ChunkID: c.ID, Index: c.Index, Text: text, Redacted: red,
				Predicted: d.Classes, Confidence: lab.Confidence, Uncertainty: lab.Uncertainty, Measure: cfg.Measure,
				Classifier: s.model.Version, Embedding: c.Embedding, Audit: audit, Auto: auto,
				Top: topClasses(s.model, probs, 3), HeadingPath: c.HeadingPath}
			key := layout.Pending(s.source) + id + ".json"
			if !s.written[key] {
				b, _ := json.Marshal(item)
				if err := s.l.store.Put(ctx, key, bytes.NewReader(b)); err != nil {
					return nil, fmt.Errorf("write pending item: %w", err)
				}
				s.written[key] = true
			}
		}
		if auto {
			lab.Status = document.LabelAuto
			line, err := json.Marshal(autoManifestLine(cfg, s.model, s.source, c, d))
			if err != nil {
				return nil, err
			}
			s.auto.Write(line)
			s.auto.WriteByte('\n')
		} else {
			lab.Status = document.LabelPending
		}
		out[i] = lab
	}
	return out, nil
}

// auditSampled picks a chunk for the audit sample by its text hash: a uniform draw that
// every worker and every run makes the same way.
func auditSampled(id string, rate float64) bool {
	if rate <= 0 || len(id) < 16 {
		return false
	}
	v, err := strconv.ParseUint(id[:16], 16, 64)
	if err != nil {
		return false
	}
	return float64(v) < rate*(1<<64)
}

func setClasses(lab *document.Label, classes []string, multi bool) {
	if multi {
		lab.Classes = append([]string{}, classes...)
	} else if len(classes) > 0 {
		lab.Class = classes[0]
	}
}

// round6 keeps records short and stable across platforms' last-bit differences.
func round6(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 6, 64), 64)
	return v
}

// Finish writes the source's confident labels and drops pending items an earlier
// version of the source left that this one no longer has.
func (s *Session) Finish(ctx context.Context) error {
	key := layout.AutoLabels(s.source)
	if s.auto.Len() > 0 {
		if err := s.l.store.Put(ctx, key, &s.auto); err != nil {
			return fmt.Errorf("write labeled dataset: %w", err)
		}
	} else if err := s.l.store.Delete(ctx, key); err != nil {
		return err
	}
	var stale []string
	err := s.l.store.List(ctx, layout.Pending(s.source), false, func(o storage.ObjectInfo) error {
		if !s.written[o.Key] {
			stale = append(stale, o.Key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list pending items: %w", err)
	}
	for _, k := range stale {
		if err := s.l.store.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes a source's auto labels and pending items, and, unless the configuration
// keeps labeled data, the human labels no other source shares.
func (l *Labeler) Remove(ctx context.Context, source string) error {
	if err := l.store.Delete(ctx, layout.AutoLabels(source)); err != nil {
		return err
	}
	var keys []string
	if err := l.store.List(ctx, layout.Pending(source), false, func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := l.store.Delete(ctx, k); err != nil {
			return err
		}
	}
	if l.cfg.KeepLabeledData {
		return nil
	}
	l.mu.RLock()
	var drop []string
	for id, h := range l.human {
		if len(h.Sources) == 1 && h.Sources[0] == source {
			drop = append(drop, id)
		}
	}
	l.mu.RUnlock()
	for _, id := range drop {
		if err := l.store.Delete(ctx, layout.HumanLabelRoot+id+".json"); err != nil {
			return err
		}
	}
	return nil
}

// gtClassIndex is a class's index, as Ground Truth writes labels.
func gtClassIndex(cfg Config, class string) int {
	for i, c := range cfg.Classes {
		if c.Name == class {
			return i
		}
	}
	return -1
}

// autoManifestLine is a confident chunk in Ground Truth output-manifest form.
func autoManifestLine(cfg Config, m *Model, source string, c document.LabelInput, d Decision) map[string]any {
	attr := cfg.Attribute
	line := map[string]any{
		"source":             c.Text,
		"docingest-id":       TextHash(c.Text),
		"docingest-chunk-id": c.ID,
		"docingest-source":   source,
	}
	meta := map[string]any{
		"human-annotated": "no",
		"creation-date":   m.Created,
		"job-name":        "labeling-job/" + cfg.JobPrefix + "-auto-" + strings.TrimPrefix(m.Version, "clf-"),
		"classifier":      m.Version,
	}
	if cfg.MultiLabel {
		idx := []int{}
		classMap, confMap := map[string]string{}, map[string]float64{}
		for _, cl := range d.Classes {
			i := gtClassIndex(cfg, cl)
			idx = append(idx, i)
			classMap[strconv.Itoa(i)] = cl
			confMap[strconv.Itoa(i)] = round6(d.ConfidenceMap[cl])
		}
		line[attr] = idx
		meta["class-map"], meta["confidence-map"], meta["type"] = classMap, confMap, "groundtruth/text-classification-multilabel"
	} else {
		line[attr] = gtClassIndex(cfg, d.Classes[0])
		meta["class-name"], meta["confidence"], meta["type"] = d.Classes[0], round6(d.Confidence), "groundtruth/text-classification"
	}
	line[attr+"-metadata"] = meta
	return line
}
