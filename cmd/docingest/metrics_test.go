package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"

	"github.com/docingest/docingest/storage"
)

// recorder is a Registerer that keeps the names of what is registered on it.
type recorder struct {
	mu    sync.Mutex
	names map[string]bool
	hist  map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 256)
	go func() { c.Describe(ch); close(ch) }()
	r.mu.Lock()
	defer r.mu.Unlock()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	if h, ok := c.(*prometheus.HistogramVec); ok {
		ch := make(chan *prometheus.Desc, 1)
		h.Describe(ch)
		r.hist[fqName.FindStringSubmatch((<-ch).String())[1]] = true
	}
	if h, ok := c.(prometheus.Histogram); ok {
		ch := make(chan *prometheus.Desc, 1)
		h.Describe(ch)
		r.hist[fqName.FindStringSubmatch((<-ch).String())[1]] = true
	}
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r *recorder) Unregister(prometheus.Collector) bool { return false }

// exported builds the worker's registry as `docingest worker` does (with the embedding
// cache and labeling on, so that every optional metric is there) and returns the names.
func exported(t *testing.T) *recorder {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Embedding.Cache = "on"
	out, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, em, err := buildPipelineConfig(context.Background(), cfg, slog.New(slog.DiscardHandler), out, func() (*awsClients, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	r := &recorder{names: map[string]bool{}, hist: map[string]bool{}}
	workerRegistry(r, em, true)
	return r
}

// otherSystems are metrics the dashboard may read that are not the worker's.
var otherSystems = map[string]string{"keda_scaler_metrics_value": "KEDA's view of the queue depth"}

var metricName = regexp.MustCompile(`\b((?:docingest|keda|go|process)_[a-z0-9_]+)\b`)

// unknownMetrics lists the metrics an expression names that the worker does not export.
func (r *recorder) unknownMetrics(expr string) []string {
	var out []string
	for _, m := range metricName.FindAllStringSubmatch(expr, -1) {
		name := m[1]
		if _, ok := otherSystems[name]; ok {
			continue
		}
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && r.hist[b] {
				base = b
			}
		}
		if !r.names[base] || (base == name && r.hist[base]) {
			out = append(out, name)
		}
	}
	return out
}

func TestMonitoringUsesExportedMetrics(t *testing.T) {
	r := exported(t)
	for _, want := range []string{"docingest_documents_total", "docingest_stage_seconds", "docingest_pdf_child_peak_memory_bytes",
		"docingest_embedding_cache_hits_total", "docingest_labeling_pending_items", "docingest_labeling_budget_remaining_items"} {
		if !r.names[want] {
			t.Fatalf("the recorder missed %s (it saw %d metrics): the check would prove nothing", want, len(r.names))
		}
	}
	if u := r.unknownMetrics(`rate(docingest_documents_totl[5m]) + docingest_stage_seconds`); len(u) != 2 {
		t.Fatalf("a misspelled metric and a histogram without its suffix went unnoticed: %v", u)
	}

	b, err := os.ReadFile("../../deploy/k8s/prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert, Expr string
				}
			}
		}
	}
	if err := yaml.Unmarshal(b, &rule); err != nil {
		t.Fatal(err)
	}
	alerts := map[string]string{}
	for _, g := range rule.Spec.Groups {
		for _, rl := range g.Rules {
			alerts[rl.Alert] = rl.Expr
			if u := r.unknownMetrics(rl.Expr); len(u) > 0 {
				t.Errorf("alert %s uses %v, which the worker does not export", rl.Alert, u)
			}
		}
	}
	for alert, metric := range map[string]string{
		"DocingestFailureRateHigh":            `outcome="failed"`,
		"DocingestPDFChildrenKilledForMemory": `reason="memory"`,
		"DocingestNoProgress":                 "docingest_in_flight",
		"DocingestLabelingBacklog":            "docingest_labeling_pending_items",
		"DocingestLabelingBudgetExhausted":    "docingest_labeling_budget_remaining_items",
	} {
		if !strings.Contains(alerts[alert], metric) {
			t.Errorf("alert %s is missing or does not use %s: %q", alert, metric, alerts[alert])
		}
	}

	b, err = os.ReadFile("../../deploy/grafana/docingest.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			all = append(all, tg.Expr)
			if u := r.unknownMetrics(tg.Expr); len(u) > 0 {
				t.Errorf("panel %q uses %v, which the worker does not export", p.Title, u)
			}
		}
	}
	joined := strings.Join(all, "\n")
	var missing []string
	for topic, metric := range map[string]string{"throughput": "docingest_documents_total", "latency per stage": "docingest_stage_seconds_bucket",
		"outcomes": "docingest_messages_total", "in flight": "docingest_in_flight", "queue depth": "keda_scaler_metrics_value",
		"cache hit rate": "docingest_embedding_cache_hits_total"} {
		if !strings.Contains(joined, metric) {
			missing = append(missing, topic)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the dashboard has no panel for %v", missing)
	}
}
