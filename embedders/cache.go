package embedders

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"

	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
	"golang.org/x/sync/errgroup"
)

// Embedder is what the cache wraps.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Model() string
}

// CacheStore is where cached vectors live: the output store.
type CacheStore interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, r io.Reader) error
}

// Cached puts an embedding cache in front of an embedder: vectors are stored under
// cache/embeddings/<model hash>/<text hash>.f32 in the output store, keyed by the model id
// and the SHA-256 of the text, so re-indexing unchanged chunks makes no model calls. A
// cache entry that cannot be read is a miss; one that cannot be written is an error (the
// document is retried), so the cache never silently stops working.
type Cached struct {
	inner  Embedder
	store  CacheStore
	prefix string
	// Parallel is how many cache reads or writes run at once (16 by default).
	Parallel     int
	hits, misses atomic.Int64
}

// NewCached wraps inner.
func NewCached(inner Embedder, store CacheStore) *Cached {
	sum := sha256.Sum256([]byte(inner.Model()))
	return &Cached{inner: inner, store: store, prefix: layout.EmbeddingCache(hex.EncodeToString(sum[:12])), Parallel: 16}
}

// Model is the wrapped embedder's.
func (c *Cached) Model() string { return c.inner.Model() }

// Inner returns the wrapped embedder.
func (c *Cached) Inner() Embedder { return c.inner }

// Stats returns the hits and misses so far.
func (c *Cached) Stats() (hits, misses int64) { return c.hits.Load(), c.misses.Load() }

// Key returns where text's vector is cached.
func (c *Cached) Key(text string) string {
	sum := sha256.Sum256([]byte(text))
	h := hex.EncodeToString(sum[:])
	return c.prefix + h[:2] + "/" + h + ".f32"
}

const cacheMagic = "DIV1"

func encodeVector(v []float32) []byte {
	b := make([]byte, 8+4*len(v))
	copy(b, cacheMagic)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(v)))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[8+4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVector(b []byte) ([]float32, bool) {
	if len(b) < 8 || string(b[:4]) != cacheMagic {
		return nil, false
	}
	n := int(binary.LittleEndian.Uint32(b[4:]))
	if n == 0 || len(b) != 8+4*n {
		return nil, false
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[8+4*i:]))
	}
	return v, true
}

// Embed returns the cached vectors and has the model embed the rest (and caches them).
// A context that has ended ends it, hits or not.
func (c *Cached) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(c.Parallel, 1))
	for i, t := range texts {
		g.Go(func() error {
			body, err := c.store.Get(gctx, c.Key(t))
			if errors.Is(err, storage.ErrNotFound) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read embedding cache: %w", err)
			}
			if v, ok := decodeVector(body); ok {
				out[i] = v
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// the texts still missing, each once
	first := map[string]int{}
	var miss []string
	for i, v := range out {
		if v != nil {
			continue
		}
		if _, seen := first[texts[i]]; !seen {
			first[texts[i]] = len(miss)
			miss = append(miss, texts[i])
		}
	}
	c.hits.Add(int64(len(texts) - len(miss)))
	c.misses.Add(int64(len(miss)))
	if len(miss) == 0 {
		return out, nil
	}
	vecs, err := c.inner.Embed(ctx, miss)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(miss) {
		return nil, fmt.Errorf("%s: %d vectors for %d texts", c.inner.Model(), len(vecs), len(miss))
	}
	for i, v := range out {
		if v == nil {
			out[i] = vecs[first[texts[i]]]
		}
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(max(c.Parallel, 1))
	for k, t := range miss {
		g.Go(func() error {
			if err := c.store.Put(gctx, c.Key(t), bytes.NewReader(encodeVector(vecs[k]))); err != nil {
				return fmt.Errorf("write embedding cache: %w", err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
