package worker

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Endpoints are what a worker serves on its metrics address: /metrics from Registry,
// /healthz (the process is up), /readyz (Ready: the consumer has received from its queue
// and is not shutting down) and, when Pprof is set, /debug/pprof/.
type Endpoints struct {
	Registry *prometheus.Registry
	Ready    func() bool
	Pprof    bool
}

// Handler routes the endpoints.
func (e Endpoints) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(e.Registry, promhttp.HandlerOpts{Registry: e.Registry}))
	if e.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) { fmt.Fprintln(rw, "ok") })
	mux.HandleFunc("/readyz", func(rw http.ResponseWriter, _ *http.Request) {
		if e.Ready == nil || !e.Ready() {
			http.Error(rw, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ready")
	})
	return mux
}

// Listen serves the endpoints on addr until stop is called (stop waits up to 5 s for
// requests in flight).
func (e Endpoints) Listen(addr string) (bound net.Addr, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: e.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// RegisterCacheStats exports an embedding cache's hits and misses as counters.
func RegisterCacheStats(reg prometheus.Registerer, stats func() (hits, misses int64)) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "docingest_embedding_cache_hits_total", Help: "Chunks whose vector came from the embedding cache."},
			func() float64 { h, _ := stats(); return float64(h) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "docingest_embedding_cache_misses_total", Help: "Chunks the model embedded (not in the cache)."},
			func() float64 { _, m := stats(); return float64(m) }))
}
