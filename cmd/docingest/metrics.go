package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/docingest/docingest/labeling"
	"github.com/docingest/docingest/worker"
)

// labelingMetrics are the labeling dispatcher's metrics, set after each dispatch.
type labelingMetrics struct {
	pending, budgetRemaining prometheus.Gauge
	jobs, items, errors      prometheus.Counter
}

func newLabelingMetrics(reg prometheus.Registerer) *labelingMetrics {
	m := &labelingMetrics{
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "docingest_labeling_pending_items",
			Help: "Items waiting in the labeling spool for a job, after the last dispatch."}),
		budgetRemaining: prometheus.NewGauge(prometheus.GaugeOpts{Name: "docingest_labeling_budget_remaining_items",
			Help: "Items today's labeling budget (labeling.max_items_per_day) still allows, after the last dispatch."}),
		jobs:   prometheus.NewCounter(prometheus.CounterOpts{Name: "docingest_labeling_jobs_total", Help: "Labeling jobs created."}),
		items:  prometheus.NewCounter(prometheus.CounterOpts{Name: "docingest_labeling_items_total", Help: "Items sent to labeling jobs."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "docingest_labeling_dispatch_errors_total", Help: "Dispatch attempts that failed."}),
	}
	reg.MustRegister(m.pending, m.budgetRemaining, m.jobs, m.items, m.errors)
	return m
}

func (m *labelingMetrics) observe(s labeling.DispatchStatus) {
	if s.Err != nil {
		m.errors.Inc()
	}
	if s.Created {
		m.jobs.Inc()
		m.items.Add(float64(s.Items))
	}
	if s.Pending >= 0 {
		m.pending.Set(float64(s.Pending))
	}
	if s.BudgetUsed >= 0 {
		m.budgetRemaining.Set(float64(max(0, s.BudgetPerDay-s.BudgetUsed)))
	}
}

// workerRegistry is every metric the worker serves: the Go runtime and process, the
// consumer's, the PDF children's peak memory, the embedding cache's (when there is one)
// and the labeling dispatcher's (when labeling is on). deploy/'s alerts and dashboard
// may use only these (metrics_test.go checks).
func workerRegistry(reg prometheus.Registerer, em *embedding, labelingOn bool) (*worker.Metrics, *labelingMetrics) {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := worker.NewMetrics(reg)
	reg.MustRegister(em.pdfPeak)
	if em.cache != nil {
		worker.RegisterCacheStats(reg, em.cache.Stats)
	}
	var lab *labelingMetrics
	if labelingOn {
		lab = newLabelingMetrics(reg)
	}
	return metrics, lab
}
