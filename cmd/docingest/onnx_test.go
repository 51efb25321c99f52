//go:build onnx

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunWithONNXModel runs the whole pipeline with the generated tiny BERT model: chunks
// sized by the model's own WordPiece vocabulary, vectors of its size, cached.
func TestRunWithONNXModel(t *testing.T) {
	t.Parallel()
	lib := os.Getenv("DOCINGEST_TEST_ONNXRUNTIME_LIB")
	if lib == "" {
		lib, _ = filepath.Abs("../../tools/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1")
	}
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("onnxruntime library missing (%s): scripts/test installs it", lib)
	}
	dir, _ := filepath.Abs("../../embedders/testdata/onnx")
	env := []string{"DOCINGEST_EMBEDDING_PROVIDER=onnx", "DOCINGEST_EMBEDDING_MODEL_DIR=" + dir, "DOCINGEST_EMBEDDING_ONNX_LIBRARY=" + lib,
		"DOCINGEST_CHUNKING_MAX_SIZE=100", "DOCINGEST_CHUNKING_OVERLAP=10"}
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := cli(t, env, "run", "../../testdata/docs", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	chunks, _ := os.ReadFile(filepath.Join(out, "chunks", "guide.md.jsonl"))
	for _, line := range bytes.Split(bytes.TrimSpace(chunks), []byte("\n")) {
		var rec struct {
			Model     string    `json:"embedding_model"`
			Tokenizer string    `json:"tokenizer"`
			Tokens    int       `json:"tokens"`
			Embedding []float32 `json:"embedding"`
		}
		json.Unmarshal(line, &rec)
		if rec.Tokenizer != "wordpiece:onnx" || len(rec.Embedding) != 32 || rec.Tokens > 100 || !strings.HasPrefix(rec.Model, "onnx:onnx@") {
			t.Fatalf("record: tokenizer %q, %d dims, %d tokens, model %q", rec.Tokenizer, len(rec.Embedding), rec.Tokens, rec.Model)
		}
	}
	code, _, stderr = cli(t, env, "run", "../../testdata/docs", "--out", out, "--force")
	if code != 0 || !strings.Contains(stderr, "embedding cache: 100.0% hits") {
		t.Fatalf("forced rerun: exit %d: %s", code, stderr)
	}
}
