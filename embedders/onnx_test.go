//go:build onnx

package embedders

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docingest/docingest/embedders/embeddertest"
	"github.com/docingest/docingest/internal/testenv"
)

// onnxLibrary finds the onnxruntime shared library: DOCINGEST_TEST_ONNXRUNTIME_LIB, or the one
// scripts/test installs from npm (onnxruntime-node, installed with --ignore-scripts).
func onnxLibrary(t testing.TB) string {
	if p := os.Getenv("DOCINGEST_TEST_ONNXRUNTIME_LIB"); p != "" {
		return p
	}
	p, _ := filepath.Abs("../tools/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1")
	if _, err := os.Stat(p); err != nil {
		testenv.Missing(t, "the onnxruntime library ("+p+")")
	}
	return p
}

func newTestONNX(t testing.TB, batch int) *ONNX {
	o, err := NewONNX(ONNXConfig{Dir: "testdata/onnx", Library: onnxLibrary(t), Batch: batch, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	return o
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestONNXMatchesReference compares pooled vectors with the numpy forward pass that
// gen_model.py computed without onnxruntime.
func TestONNXMatchesReference(t *testing.T) {
	o := newTestONNX(t, 8)
	var refs []struct {
		IDs    []int32   `json:"ids"`
		Vector []float32 `json:"vector"`
	}
	b, err := os.ReadFile("testdata/onnx/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &refs)
	ids := make([][]int32, len(refs))
	for i, r := range refs {
		ids[i] = r.IDs
	}
	// all at once: sequences of different lengths padded together
	vecs, err := o.embedIDs(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range refs {
		if len(vecs[i]) != 32 {
			t.Fatalf("vector %d has %d dimensions", i, len(vecs[i]))
		}
		if d := maxDiff(vecs[i], r.Vector); d > 1e-4 {
			t.Fatalf("sequence %d (%d ids): differs from the reference by %g", i, len(r.IDs), d)
		}
	}
}

func TestONNXPaddingInvarianceAndDeterminism(t *testing.T) {
	o := newTestONNX(t, 32)
	short := "the first text"
	long := strings.Repeat("a longer text about the same things, ", 8)
	alone, err := o.Embed(context.Background(), []string{short})
	if err != nil {
		t.Fatal(err)
	}
	padded, err := o.Embed(context.Background(), []string{long, short, "x"})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(alone[0], padded[1]); d > 1e-5 {
		t.Fatalf("padding changed the vector by %g", d)
	}
	again, _ := o.Embed(context.Background(), []string{long, short, "x"})
	for i := range again {
		if !slices.Equal(again[i], padded[i]) {
			t.Fatalf("vector %d differs between two runs", i)
		}
	}
	var norm float64
	for _, x := range alone[0] {
		norm += float64(x) * float64(x)
	}
	if math.Abs(norm-1) > 1e-5 {
		t.Fatalf("not unit length: %g", norm)
	}
	if o.Dimensions() != 32 || o.MaxTokens() != 128 || !strings.HasPrefix(o.Model(), "onnx:onnx@") || !strings.HasSuffix(o.Model(), "/d32/mean") {
		t.Fatalf("dims %d max %d model %q", o.Dimensions(), o.MaxTokens(), o.Model())
	}
	if o.Tokenizer().VocabSize() != 3000 || o.Tokenizer().Count("the first time") != 3 {
		t.Fatalf("folder tokenizer: %d pieces", o.Tokenizer().VocabSize())
	}
	// a text over the model's limit is cut, and counted
	if _, err := o.Embed(context.Background(), []string{strings.Repeat("word ", 400)}); err != nil || o.Truncated() != 1 {
		t.Fatalf("long text: %v, truncated %d", err, o.Truncated())
	}
}

func benchEmbedder(b *testing.B, emb interface {
	Embed(context.Context, []string) ([][]float32, error)
}, batch int) {
	texts := benchTexts()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for at := 0; at < len(texts); at += batch {
			if _, err := emb.Embed(context.Background(), texts[at:min(len(texts), at+batch)]); err != nil {
				b.Fatal(err)
			}
		}
		n += len(texts)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "texts/s")
}

func BenchmarkONNXBatch1(b *testing.B)  { benchEmbedder(b, newTestONNX(b, 1), 1) }
func BenchmarkONNXBatch32(b *testing.B) { benchEmbedder(b, newTestONNX(b, 32), 32) }

// BenchmarkONNXBatch32PadToMax is the baseline dynamic padding is measured against:
// every batch padded to the model's 128 positions.
func BenchmarkONNXBatch32PadToMax(b *testing.B) {
	o := newTestONNX(b, 32)
	o.padTo = o.MaxTokens()
	benchEmbedder(b, o, 32)
}

// TestONNXConformance runs the embedder suite on the ONNX embedder (padding to a batch's
// longest text moves the last bits: 1e-5 per component).
func TestONNXConformance(t *testing.T) {
	o := newTestONNX(t, 4)
	embeddertest.Run(t, o, embeddertest.Options{Dimensions: o.Dimensions(), Tolerance: 1e-5})
}
