package worker_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/docingest/docingest/worker"
	"github.com/prometheus/client_golang/prometheus"
)

func TestEndpoints(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	worker.NewMetrics(reg)
	var hits atomic.Int64
	worker.RegisterCacheStats(reg, func() (int64, int64) { return hits.Load(), 2 })
	hits.Store(5)
	var ready atomic.Bool
	addr, stop, err := worker.Endpoints{Registry: reg, Ready: ready.Load}.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, _ := get("/readyz"); code != 503 {
		t.Errorf("/readyz before the first receive: %d, want 503", code)
	}
	ready.Store(true)
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz when ready: %d", code)
	}
	code, body := get("/metrics")
	if code != 200 || !strings.Contains(body, "docingest_embedding_cache_hits_total 5") || !strings.Contains(body, "docingest_embedding_cache_misses_total 2") || !strings.Contains(body, "docingest_in_flight") {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	if code, _ := get("/debug/pprof/"); code != 404 {
		t.Errorf("pprof served while off: %d", code)
	}
}
