package embedders

import (
	"crypto/sha256"
	"encoding/binary"
	"net/http/httptest"
	"testing"

	"github.com/docingest/docingest/embedders/embeddertest"
	"github.com/docingest/docingest/storage"
)

// textVector is what the conformance servers answer for a text: its own vector (a hash
// of the whole text), so a vector that went back to another text is seen.
func textVector(text string, dim int) []float32 {
	v := make([]float32, dim)
	sum := sha256.Sum256([]byte(text))
	x := binary.LittleEndian.Uint64(sum[:]) | 1
	for i := range v {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		v[i] = float32(x%2001)/1000 - 1
	}
	return v
}

// TestConformance runs the embedder suite over every embedder but ONNX (see
// onnx_test.go, built with -tags onnx): the remote ones against servers that speak
// their APIs' shapes.
func TestConformance(t *testing.T) {
	t.Parallel()
	h, err := NewHashing(DefaultHashing())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("hashing", func(t *testing.T) { embeddertest.Run(t, h, embeddertest.Options{Dimensions: h.Dimensions()}) })

	t.Run("cached", func(t *testing.T) {
		store, err := storage.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		embeddertest.Run(t, NewCached(h, store), embeddertest.Options{Dimensions: h.Dimensions()})
	})

	titan := httptest.NewServer(&awsServer{t: t, answer: func(b map[string]any) (int, any) {
		return 200, map[string]any{"embedding": textVector(b["inputText"].(string), int(b["dimensions"].(float64))), "inputTextTokenCount": 3}
	}})
	defer titan.Close()
	bt, err := NewBedrock(bedrockClient(titan.URL), BedrockConfig{ModelID: "amazon.titan-embed-text-v2:0", Dimensions: 256, Normalize: true, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("bedrock-titan", func(t *testing.T) { embeddertest.Run(t, bt, embeddertest.Options{Dimensions: bt.Dimensions()}) })

	cohere := httptest.NewServer(&awsServer{t: t, answer: func(b map[string]any) (int, any) {
		var vs [][]float32
		for _, x := range b["texts"].([]any) {
			vs = append(vs, textVector(x.(string), 1024))
		}
		return 200, map[string]any{"id": "x", "response_type": "embeddings_floats", "embeddings": vs, "texts": b["texts"]}
	}})
	defer cohere.Close()
	bc, err := NewBedrock(bedrockClient(cohere.URL), BedrockConfig{ModelID: "cohere.embed-multilingual-v3", InputType: "search_document", Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("bedrock-cohere", func(t *testing.T) { embeddertest.Run(t, bc, embeddertest.Options{Dimensions: bc.Dimensions()}) })

	for _, format := range []string{FormatTEI, FormatJumpStart} {
		srv := httptest.NewServer(&awsServer{t: t, answer: func(b map[string]any) (int, any) {
			key := map[string]string{FormatTEI: "inputs", FormatJumpStart: "text_inputs"}[format]
			var vs [][]float32
			for _, x := range b[key].([]any) {
				vs = append(vs, textVector(x.(string), 384))
			}
			if format == FormatJumpStart {
				return 200, map[string]any{"embedding": vs}
			}
			return 200, vs
		}})
		defer srv.Close()
		sm, err := NewSageMaker(sagemakerClient(srv.URL), SageMakerConfig{Endpoint: "minilm", Format: format, Model: "all-MiniLM-L6-v2", Batch: 4, Concurrency: 2, MaxTokens: 512})
		if err != nil {
			t.Fatal(err)
		}
		t.Run("sagemaker-"+format, func(t *testing.T) { embeddertest.Run(t, sm, embeddertest.Options{Dimensions: 384}) })
	}
}
