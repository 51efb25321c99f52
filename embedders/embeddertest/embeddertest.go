// Package embeddertest is the conformance suite of the embedders (go-cloud's drivertest):
// hashing, the cache, Bedrock, SageMaker and ONNX all pass it, so the pipeline may rely
// on what they share: one vector per text in order, of one dimension, the same vector
// for the same text in any batch, nothing for nothing, and an end when the context ends.
package embeddertest

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// Embedder is an embedder under test.
type Embedder interface {
	Model() string
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Options describe the embedder under test.
type Options struct {
	// Dimensions is the vector length the embedder must return.
	Dimensions int
	// Tolerance is how far a text's vector embedded in another batch may differ, per
	// component (0: bit for bit). Models that pad a batch to its longest text differ in
	// the last bits.
	Tolerance float64
}

// texts are a batch with what documents hold: accents, CJK, emoji, a long line, digits.
var texts = []string{
	"The survey team counted forty-two herons near the old mill.",
	"Élève, naïve façade: résumé of the coöperative's rôle.",
	"東京の天気は晴れです。",
	"Release 2.4.1 fixes CVE-2024-12345 🎉",
	strings.Repeat("long sentence about compost and rain ", 40),
	"a",
}

// Run runs the suite on emb.
func Run(t *testing.T, emb Embedder, opts Options) {
	t.Run("Model", func(t *testing.T) {
		if m := emb.Model(); m == "" || m != emb.Model() {
			t.Errorf("model %q: must name the model, the same every time", m)
		}
	})
	t.Run("EmptyInput", func(t *testing.T) {
		vs, err := emb.Embed(context.Background(), nil)
		if err != nil || len(vs) != 0 {
			t.Errorf("no texts: %d vectors, %v; want none and no error", len(vs), err)
		}
	})
	t.Run("OneVectorPerText", func(t *testing.T) {
		vs := embed(t, emb, texts)
		for i, v := range vs {
			if len(v) != opts.Dimensions {
				t.Errorf("text %d: %d dimensions, want %d", i, len(v), opts.Dimensions)
			}
			zero := true
			for _, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					t.Fatalf("text %d: vector holds %v", i, x)
				}
				zero = zero && x == 0
			}
			if zero {
				t.Errorf("text %d: a zero vector", i)
			}
		}
	})
	t.Run("Deterministic", func(t *testing.T) {
		a, b := embed(t, emb, texts), embed(t, emb, texts)
		for i := range a {
			if d := maxDiff(a[i], b[i]); d != 0 {
				t.Errorf("text %d: two calls differ by %g", i, d)
			}
		}
	})
	t.Run("BatchIndependent", func(t *testing.T) {
		batch := embed(t, emb, texts)
		rev := make([]string, len(texts))
		for i, s := range texts {
			rev[len(texts)-1-i] = s
		}
		reversed := embed(t, emb, rev)
		for i := range texts {
			alone := embed(t, emb, texts[i:i+1])[0]
			if d := maxDiff(alone, batch[i]); d > opts.Tolerance {
				t.Errorf("text %d: alone and in a batch differ by %g (tolerance %g)", i, d, opts.Tolerance)
			}
			if d := maxDiff(reversed[len(texts)-1-i], batch[i]); d > opts.Tolerance {
				t.Errorf("text %d: its vector depends on its place in the batch (%g)", i, d)
			}
		}
		if maxDiff(batch[0], batch[1]) == 0 {
			t.Error("two different texts got the same vector")
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		many := make([]string, 256)
		for i := range many {
			many[i] = texts[i%len(texts)]
		}
		done := make(chan error, 1)
		go func() {
			_, err := emb.Embed(ctx, many)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("embedding under a cancelled context: %v, want context.Canceled", err)
			}
		case <-time.After(time.Minute): // a guard against a hang, not a speed target
			t.Fatal("embedding under a cancelled context did not return")
		}
	})
}

func embed(t *testing.T, emb Embedder, in []string) [][]float32 {
	t.Helper()
	vs, err := emb.Embed(context.Background(), in)
	if err != nil {
		t.Fatalf("embed: %v", err)
	}
	if len(vs) != len(in) {
		t.Fatalf("%d vectors for %d texts", len(vs), len(in))
	}
	return vs
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}
