package worker

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the consumer's Prometheus metrics, registered on the registry the caller
// gives (no global registry).
type Metrics struct {
	Documents  *prometheus.CounterVec
	Messages   *prometheus.CounterVec
	InFlight   prometheus.Gauge
	Chunks     prometheus.Counter
	Stage      *prometheus.HistogramVec
	Receive    prometheus.Histogram
	Heartbeats *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Documents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "docingest_documents_total", Help: "Documents handled, by outcome (processed, failed, removed, skipped, retried) and failure reason.",
		}, []string{"outcome", "reason"}),
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "docingest_messages_total", Help: "Queue messages, by outcome (deleted, retried, malformed, test).",
		}, []string{"outcome"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "docingest_in_flight", Help: "Messages being processed now.",
		}),
		Chunks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "docingest_chunks_total", Help: "Chunks written.",
		}),
		Stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "docingest_stage_seconds", Help: "Time per pipeline stage (fetch, extract, chunk, embed, write) per document.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"stage"}),
		Receive: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "docingest_receive_seconds", Help: "Time of each ReceiveMessage call (long polls included).",
			Buckets: prometheus.ExponentialBuckets(0.005, 3, 10),
		}),
		Heartbeats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "docingest_heartbeats_total", Help: "Visibility extensions of in-flight messages, by result (ok, error).",
		}, []string{"result"}),
	}
	reg.MustRegister(m.Documents, m.Messages, m.InFlight, m.Chunks, m.Stage, m.Receive, m.Heartbeats)
	return m
}

func (m *Metrics) observe(res Result) {
	if m == nil {
		return
	}
	m.Stage.WithLabelValues("fetch").Observe(res.Fetch.Seconds())
	m.Stage.WithLabelValues("extract").Observe(res.Extract.Seconds())
	m.Stage.WithLabelValues("chunk").Observe(res.Chunk.Seconds())
	m.Stage.WithLabelValues("embed").Observe(res.Embed.Seconds())
	m.Stage.WithLabelValues("write").Observe(res.Write.Seconds())
	chunks := res.Chunks
	for _, a := range res.Attachments {
		chunks += a.Chunks
	}
	m.Chunks.Add(float64(chunks))
}
