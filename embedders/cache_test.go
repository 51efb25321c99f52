package embedders

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/docingest/docingest/storage"
)

// countingEmbedder records what reaches the model.
type countingEmbedder struct {
	inner *Hashing
	mu    sync.Mutex
	seen  []string
}

func (c *countingEmbedder) Model() string { return c.inner.Model() }
func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.mu.Lock()
	c.seen = append(c.seen, texts...)
	c.mu.Unlock()
	return c.inner.Embed(ctx, texts)
}

func TestCacheHitsAfterFirstPass(t *testing.T) {
	t.Parallel()
	h, _ := NewHashing(DefaultHashing())
	model := &countingEmbedder{inner: h}
	dir := t.TempDir()
	store, _ := storage.NewLocal(dir)
	c := NewCached(model, store)
	texts := []string{"alpha beta", "gamma", "alpha beta", "delta epsilon"}
	first, err := c.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(model.seen, []string{"alpha beta", "gamma", "delta epsilon"}) {
		t.Fatalf("model saw %q, want each text once", model.seen)
	}
	want, _ := h.Embed(context.Background(), texts)
	for i := range want {
		if !slices.Equal(first[i], want[i]) {
			t.Fatalf("vector %d differs from the model's", i)
		}
	}
	// a new cache over the same store: every vector from the cache, bit for bit
	model.seen = nil
	c2 := NewCached(model, store)
	second, err := c2.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(model.seen) != 0 {
		t.Fatalf("model called for %q", model.seen)
	}
	if hits, misses := c2.Stats(); hits != 4 || misses != 0 {
		t.Fatalf("hits %d misses %d", hits, misses)
	}
	for i := range want {
		if !slices.Equal(second[i], want[i]) {
			t.Fatalf("cached vector %d differs", i)
		}
	}
	// a damaged entry is a miss, and is rewritten
	os.WriteFile(filepath.Join(dir, filepath.FromSlash(c2.Key("gamma"))), []byte("junk"), 0o644)
	if _, err := c2.Embed(context.Background(), []string{"gamma"}); err != nil || !slices.Equal(model.seen, []string{"gamma"}) {
		t.Fatalf("damaged entry: %v, model saw %q", err, model.seen)
	}
	// another model never reads these vectors
	other, _ := NewHashing(HashingConfig{Dimensions: 64, MinN: 3, MaxN: 5})
	if NewCached(other, store).Key("gamma") == c2.Key("gamma") {
		t.Fatal("two models share a cache key")
	}
}
