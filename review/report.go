package review

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docingest/docingest/labeling"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// JobRow is one job on the Review page.
type JobRow struct {
	labeling.JobStatus
	Items     int
	Audit     bool
	Reviewers int
	// Disagreement is the share of done items whose answers differed (-1: not known, as
	// for Ground Truth jobs, whose output holds only the consolidated label).
	Disagreement float64
	// Cost is what Ground Truth bills (or, for a local job, would bill) for the objects
	// labeled so far.
	Cost  labeling.Cost
	Local bool
}

// ClassRow is one class's labels.
type ClassRow struct {
	Name        string
	Human, Auto int
}

// Version is one classifier version and what cross-validation measured of it.
type Version struct {
	Version          string  `json:"version"`
	Created          string  `json:"created"`
	HumanLabels      int     `json:"human_labels"`
	CVAccuracy       float64 `json:"cv_accuracy"`
	CalibrationError float64 `json:"calibration_error"`
	GateOpen         bool    `json:"gate_open"`
	Threshold        float64 `json:"threshold"`
}

// Report is every figure of the Review page.
type Report struct {
	Generated string
	Output    string
	Backend   string
	Jobs      []JobRow
	Pending   int
	Classes   []ClassRow
	// Uncertainty histogram of the items waiting for humans and those sent to them.
	Histogram HistogramData
	// Gate and Curve: the current classifier's threshold and its trade-off.
	Classifier string
	GateOpen   bool
	GateReason string
	Threshold  float64
	Target     float64
	Curve      []labeling.SimRow
	Versions   []Version
	Audit      AuditSummary
	CostTotal  labeling.Cost
	Charts     Charts
}

// Charts are the report's SVG charts.
type Charts struct {
	Labels, Histogram, Curve, Versions template.HTML
}

// Report gathers the Review page's figures from the output.
func (s *Server) Report(ctx context.Context) (*Report, error) {
	rep := &Report{Generated: s.Now().UTC().Format(time.RFC3339), Output: s.Store.URI(""), Backend: s.Labeling.ResolvedBackend(), Target: s.Labeling.TargetAccuracy}
	jobs, err := s.Backend.Jobs(ctx, s.Labeling.JobPrefix)
	if err != nil {
		return nil, err
	}
	var sent []float64
	for _, j := range jobs {
		row := JobRow{JobStatus: j, Items: j.Labeled + j.Remaining + j.Failed, Disagreement: -1, Local: j.Backend == labeling.BackendLocal}
		if row.Local {
			p, err := s.Local.Progress(ctx, j.Name)
			if err != nil {
				return nil, err
			}
			row.Audit, row.Reviewers, row.Items = p.Job.Audit, len(p.Reviewers), len(p.Items)
			if p.Done > 0 {
				row.Disagreement = float64(p.Disagreements) / float64(p.Done)
			}
			for _, it := range p.Items {
				sent = append(sent, it.Item.Uncertainty)
			}
		} else if c, err := labeling.ReadClaim(ctx, s.Store, j.Name); err == nil {
			for _, it := range c.Items {
				sent = append(sent, it.Uncertainty)
			}
		}
		row.Cost = labeling.EstimateCost(s.Labeling, j.Labeled)
		rep.CostTotal.Items += row.Cost.Items
		rep.CostTotal.TotalUSD += row.Cost.TotalUSD
		rep.Jobs = append(rep.Jobs, row)
	}
	pending, err := s.pendingItems(ctx)
	if err != nil {
		return nil, err
	}
	rep.Pending = len(pending)
	var waiting []float64
	for _, it := range pending {
		if !it.Auto {
			waiting = append(waiting, it.Uncertainty)
		}
	}
	human, err := s.humanLabels(ctx)
	if err != nil {
		return nil, err
	}
	if rep.Classes, err = s.classCounts(ctx, human); err != nil {
		return nil, err
	}
	if s.Model != nil {
		m, err := s.Model(ctx, human)
		if err != nil {
			return nil, err
		}
		rep.Classifier, rep.GateOpen, rep.GateReason, rep.Curve = m.Version, m.Gate.Open, m.Gate.Reason, m.Gate.Curve
		rep.Threshold, _ = m.Threshold(s.Labeling.Threshold)
	}
	if rep.Versions, err = s.versions.list(ctx, s.Store); err != nil {
		return nil, err
	}
	if rep.Audit, err = s.auditSummary(ctx, human, pending); err != nil {
		return nil, err
	}
	rep.Histogram = histogram(waiting, sent, 10)
	rep.Charts = Charts{
		Labels:    labelChart(rep.Classes),
		Histogram: histogramChart(rep.Histogram, rep.Threshold, rep.GateOpen),
		Curve:     curveChart(rep.Curve, s.Labeling.TargetAccuracy),
		Versions:  versionChart(rep.Versions),
	}
	return rep, nil
}

// classCounts counts human labels (labeling/human/) and automatic ones (labeled/auto/)
// per class.
func (s *Server) classCounts(ctx context.Context, human map[string]labeling.HumanLabel) ([]ClassRow, error) {
	rows := make([]ClassRow, len(s.Labeling.Classes))
	at := map[string]int{}
	for i, c := range s.Labeling.Classes {
		rows[i].Name = c.Name
		at[c.Name] = i
	}
	for _, h := range human {
		for _, c := range h.Classes {
			if i, ok := at[c]; ok {
				rows[i].Human++
			}
		}
	}
	meta := s.Labeling.Attribute + "-metadata"
	files, err := s.caches.auto.load(ctx, s.Store, layout.LabeledRoot+"auto/", func(body []byte) ([]int, error) {
		counts := make([]int, len(rows))
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var line map[string]json.RawMessage
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			var m struct {
				ClassName string            `json:"class-name"`
				ClassMap  map[string]string `json:"class-map"`
			}
			_ = json.Unmarshal(line[meta], &m)
			if i, ok := at[m.ClassName]; ok {
				counts[i]++
			}
			for _, c := range m.ClassMap {
				if i, ok := at[c]; ok {
					counts[i]++
				}
			}
		}
		return counts, sc.Err()
	})
	if err != nil {
		return nil, err
	}
	for _, counts := range files {
		for i, n := range counts {
			rows[i].Auto += n
		}
	}
	return rows, nil
}

// versionCache keeps what was read of each classifier version (a version never changes).
type versionCache struct {
	mu   sync.Mutex
	seen map[string]Version
}

func (c *versionCache) list(ctx context.Context, store labeling.VersionedStore) ([]Version, error) {
	var keys []string
	if err := store.List(ctx, layout.ClassifierRoot, false, func(o storage.ObjectInfo) error {
		if strings.HasSuffix(o.Key, ".json") {
			keys = append(keys, o.Key)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var out []Version
	for _, k := range keys {
		c.mu.Lock()
		v, ok := c.seen[k]
		c.mu.Unlock()
		if !ok {
			body, err := store.Get(ctx, k)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			var m struct {
				Version  string `json:"version"`
				Created  string `json:"created"`
				Training struct {
					Human            int     `json:"human_labels"`
					CVAccuracy       float64 `json:"cv_accuracy"`
					CalibrationError float64 `json:"calibration_error"`
				} `json:"training"`
				Gate struct {
					Open      bool    `json:"open"`
					Threshold float64 `json:"threshold"`
				} `json:"gate"`
			}
			if err := json.Unmarshal(body, &m); err != nil {
				return nil, fmt.Errorf("classifier %s: %w", k, err)
			}
			v = Version{Version: m.Version, Created: m.Created, HumanLabels: m.Training.Human, CVAccuracy: m.Training.CVAccuracy,
				CalibrationError: m.Training.CalibrationError, GateOpen: m.Gate.Open, Threshold: m.Gate.Threshold}
			c.mu.Lock()
			c.seen[k] = v
			c.mu.Unlock()
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created < out[j].Created })
	return out, nil
}

// AuditSummary is what people said of automatic labels they checked.
type AuditSummary struct {
	Checked, Agreed int
	Accuracy        float64
	// Low and High bound the accuracy: the two-sided 95% Wilson score interval.
	Low, High float64
	ByClass   []AuditClass
	// Candidates are the automatic labels kept for an audit now.
	Candidates int
	MaxItems   int
	Target     float64
}

// AuditClass is the audit of one predicted class.
type AuditClass struct {
	Class           string
	Checked, Agreed int
	Low, High       float64
}

// wilson95 is the two-sided 95% normal quantile.
const wilson95 = 1.959963984540054

func (s *Server) auditSummary(ctx context.Context, human map[string]labeling.HumanLabel, pending []labeling.PendingItem) (AuditSummary, error) {
	a := AuditSummary{MaxItems: s.Labeling.MaxItemsPerJob, Target: s.Labeling.TargetAccuracy}
	byClass := map[string]*AuditClass{}
	for _, h := range human {
		if !h.WasAuto {
			continue
		}
		a.Checked++
		agreed := labeling.SameClasses(h.Predicted, h.Classes)
		if agreed {
			a.Agreed++
		}
		key := strings.Join(h.Predicted, ",")
		c := byClass[key]
		if c == nil {
			c = &AuditClass{Class: key}
			byClass[key] = c
		}
		c.Checked++
		if agreed {
			c.Agreed++
		}
	}
	if a.Checked > 0 {
		a.Accuracy = float64(a.Agreed) / float64(a.Checked)
	}
	a.Low, a.High = labeling.WilsonInterval(a.Agreed, a.Checked, wilson95)
	for _, c := range byClass {
		c.Low, c.High = labeling.WilsonInterval(c.Agreed, c.Checked, wilson95)
		a.ByClass = append(a.ByClass, *c)
	}
	sort.Slice(a.ByClass, func(i, j int) bool { return a.ByClass[i].Class < a.ByClass[j].Class })
	for _, it := range pending {
		if it.Auto {
			a.Candidates++
		}
	}
	return a, nil
}

// HistogramData counts uncertainties in equal bins over [0, 1].
type HistogramData struct {
	Waiting, Sent []int
}

func histogram(waiting, sent []float64, bins int) HistogramData {
	h := HistogramData{Waiting: make([]int, bins), Sent: make([]int, bins)}
	bin := func(u float64) int { return min(bins-1, max(0, int(math.Floor(u*float64(bins))))) }
	for _, u := range waiting {
		h.Waiting[bin(u)]++
	}
	for _, u := range sent {
		h.Sent[bin(u)]++
	}
	return h
}

// WriteReport writes the Review page as one self-contained HTML file (style inlined,
// charts inline SVG, no script, no forms): to share.
func (s *Server) WriteReport(ctx context.Context, w io.Writer) error {
	rep, err := s.Report(ctx)
	if err != nil {
		return err
	}
	css, err := assets.ReadFile("static/app.css")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := s.pages["review"].Execute(&buf, pageData{Title: "Labeling report", Nav: "review", Static: true, CSS: template.CSS(css), Data: rep}); err != nil {
		return err
	}
	_, err = buf.WriteTo(w)
	return err
}
