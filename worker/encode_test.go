package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/internal/ftoa"
	"github.com/docingest/docingest/internal/testenv"
)

// The hand-written encoder must give encoding/json's bytes exactly (with HTML escaping
// off, as records were written before it): outputs of unchanged input stay identical.
func TestChunkEncoderMatchesEncodingJSON(t *testing.T) {
	str := rapid.OneOf(
		rapid.String(),
		rapid.StringOf(rapid.SampledFrom([]rune{'a', '"', '\\', '\n', '\t', '\b', '\f', '\r', 0, 0x1f, 0x7f, '<', '>', '&', '\u2028', '\u2029', 'é', '\uFFFD', '😀'})),
		rapid.Custom(func(t *rapid.T) string { return string(rapid.SliceOf(rapid.Byte()).Draw(t, "bytes")) }),
	)
	float := rapid.OneOf(
		rapid.Float32(),
		rapid.Float32Range(-1, 1),
		rapid.SampledFrom([]float32{0, float32(math.Copysign(0, -1)), 1e-6, 9.999999e-7, 1e-7, 1e21, 9.99999e20, 1e-45, math.MaxFloat32, -math.MaxFloat32, 0.1, 1.0 / 3}),
	)
	rapid.Check(t, func(rt *rapid.T) {
		f := rapid.Float32().Draw(rt, "f")
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			f = 0.5
		}
		ref := SourceRef{URI: str.Draw(rt, "uri"), SHA256: str.Draw(rt, "sha")}
		if rapid.Bool().Draw(rt, "etag") {
			ref.ETag = str.Draw(rt, "etag value")
		}
		if rapid.Bool().Draw(rt, "version") {
			ref.VersionID = str.Draw(rt, "version value")
		}
		var meta map[string]any
		switch rapid.IntRange(0, 2).Draw(rt, "metadata") {
		case 1:
			meta = map[string]any{}
		case 2:
			meta = map[string]any{str.Draw(rt, "k1"): str.Draw(rt, "v1"), "n": float64(f), "list": []any{"<a>", true, nil}}
		}
		rec := ChunkRecord{
			Schema: ChunkSchema, ID: str.Draw(rt, "id"), Source: ref,
			Index: rapid.Int().Draw(rt, "index"), Start: rapid.Int().Draw(rt, "start"), End: rapid.Int().Draw(rt, "end"),
			PageStart: rapid.IntRange(-1, 3).Draw(rt, "page start"), PageEnd: rapid.IntRange(-1, 3).Draw(rt, "page end"),
			Tokens: rapid.Int().Draw(rt, "tokens"), Tokenizer: str.Draw(rt, "tokenizer"), Text: str.Draw(rt, "text"),
			EmbeddingModel: str.Draw(rt, "model"), ParentID: rapid.OneOf(rapid.Just(""), str).Draw(rt, "parent"),
			Metadata: meta, Pipeline: str.Draw(rt, "pipeline"),
		}
		if rapid.Bool().Draw(rt, "headings") {
			rec.HeadingPath = rapid.SliceOf(str).Draw(rt, "heading path")
		}
		if rapid.Bool().Draw(rt, "embedding") {
			rec.Embedding = rapid.SliceOf(float).Draw(rt, "vector")
		}
		if rapid.Bool().Draw(rt, "ocr") {
			c := rapid.OneOf(rapid.Float64Range(0, 1), rapid.SampledFrom([]float64{0, 1, 1e-7, 0.5, 0.9999, 1e-6, 9.99e-7})).Draw(rt, "ocr confidence")
			rec.OCRConfidence = &c
		}
		if rapid.Bool().Draw(rt, "label") {
			rec.Label = &document.Label{Class: str.Draw(rt, "class"), Confidence: float64(f), Status: document.LabelAuto, Classifier: "<v1>"}
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&rec); err != nil {
			rt.Fatal(err)
		}
		ce, err := newChunkEncoder(ref, meta, rec.Tokenizer, rec.EmbeddingModel, rec.Pipeline)
		if err != nil {
			rt.Fatal(err)
		}
		got, err := ce.append([]byte("prefix"), &rec)
		if err != nil {
			rt.Fatal(err)
		}
		if !bytes.Equal(got[len("prefix"):], want.Bytes()) {
			rt.Fatalf("encoded differently:\n got %s\nwant %s", got[len("prefix"):], want.Bytes())
		}
	})
}

func TestChunkEncoderRefusesNaN(t *testing.T) {
	for _, f := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		ce, err := newChunkEncoder(SourceRef{URI: "a"}, nil, "words", "m", "fp")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ce.append(nil, &ChunkRecord{Embedding: []float32{0.5, f}}); err == nil {
			t.Errorf("%v: encoded, want an error (encoding/json refuses it too)", f)
		}
	}
}

func BenchmarkChunkEncoder(b *testing.B) {
	vec := make([]float32, 384)
	for i := range vec { // rounded to four decimals, as the hashing embedder's are
		v := math.Sin(float64(i)) / 20
		vec[i] = float32(math.Copysign(float64(ftoa.Quantize(int(math.Abs(v)*ftoa.Quantum+0.5))), v))
	}
	rec := ChunkRecord{Schema: 1, ID: "0123456789abcdef0123456789abcdef", Source: SourceRef{URI: "docs/a.txt", SHA256: "ab"},
		HeadingPath: []string{"Intro", "Setup"}, Tokens: 200, Tokenizer: "words", Text: string(bytes.Repeat([]byte("some words of text, "), 60)),
		Embedding: vec, EmbeddingModel: "docingest-hashing-v4/d384/c3-5", Pipeline: "fp"}
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(&rec)
		}
	})
	b.Run("chunkEncoder", func(b *testing.B) {
		ce, _ := newChunkEncoder(rec.Source, nil, rec.Tokenizer, rec.EmbeddingModel, rec.Pipeline)
		var line []byte
		for b.Loop() {
			line, _ = ce.append(line[:0], &rec)
		}
	})
}

// slowEmbedder records whether an Embed call is still running.
type slowEmbedder struct {
	running atomic.Int32
	calls   atomic.Int32
}

func (e *slowEmbedder) Model() string { return "slow" }

func (e *slowEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.running.Add(1)
	defer e.running.Add(-1)
	if e.calls.Add(1) > 1 {
		<-ctx.Done() // the batch ahead: runs until the document gives up
		return nil, ctx.Err()
	}
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = []float32{1, 2}
	}
	return out, nil
}

// A document that stops early (here: the output bound, at its first chunk) returns only
// after the embedder working a batch ahead has returned too.
func TestEncodeChunksWaitsForTheEmbedder(t *testing.T) {
	emb := &slowEmbedder{}
	p := &Pipeline{cfg: PipelineConfig{Embedder: emb, EmbedBatch: 1, SourceURI: func(k string) string { return k }, Fingerprint: "fp"}}
	doc := document.Document{Text: "one two three"}
	spans := []document.Span{{Start: 0, End: 3, Parent: -1}, {Start: 4, End: 7, Parent: -1}, {Start: 8, End: 13, Parent: -1}}
	var embed, encode, wait time.Duration
	var counts LabelCounts
	err := p.encodeChunks(context.Background(), failingWriter{}, ObjectAt("a.txt"), &sourceMeta{sha256: "x"}, doc, spans, &embed, &encode, &wait, &counts)
	if err == nil {
		t.Fatal("encoded into a writer that fails")
	}
	if n := emb.running.Load(); n != 0 {
		t.Fatalf("%d Embed calls still running after encodeChunks returned", n)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// BenchmarkAppendJSONString quotes text in chunks of about 850 bytes, by the byte table
// (valid UTF-8) and the checked way (any string, as every string was before): the
// extractor tests' golden texts, or the files DOCINGEST_BENCH_TEXT matches, e.g.
// 'bench/corpus/throughput/files133/*.txt' (made by bench/throughput.sh).
func BenchmarkAppendJSONString(b *testing.B) {
	pattern := "../testdata/golden/*.txt"
	if p := os.Getenv("DOCINGEST_BENCH_TEXT"); p != "" {
		pattern = p
	}
	texts, size := testenv.TextChunks(b, pattern, 850)
	for _, way := range []struct {
		name  string
		quote func([]byte, string) []byte
	}{{"table", appendJSONString}, {"checked", appendJSONStringChecked}} {
		b.Run(way.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			var dst []byte
			for b.Loop() {
				for _, t := range texts {
					dst = way.quote(dst[:0], t)
				}
			}
		})
	}
}
