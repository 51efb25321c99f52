package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// cliProcess runs docingest (this test binary, see TestMain) in a process of its own
// with env added to the environment.
func cliProcess(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "DOCINGEST_TEST_AS_CLI=1"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}

// titanServer answers InvokeModel like Bedrock does for Titan Text Embeddings V2.
func titanServer(t *testing.T, calls *atomic.Int64) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.EscapedPath() != "/model/amazon.titan-embed-text-v2%3A0/invoke" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		var req struct {
			InputText  string `json:"inputText"`
			Dimensions int    `json:"dimensions"`
		}
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &req)
		calls.Add(1)
		v := make([]float64, req.Dimensions)
		for i := range v {
			v[i] = float64(len(req.InputText)%13+i) / 1000
		}
		json.NewEncoder(w).Encode(map[string]any{"embedding": v, "inputTextTokenCount": len(req.InputText) / 4})
	}))
}

// TestBedrockRunCacheAndModelGuard: a second --force run over unchanged inputs makes no
// model calls (100% cache hits), and an output written with one model refuses another.
func TestBedrockRunCacheAndModelGuard(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv := titanServer(t, &calls)
	defer srv.Close()
	env := []string{"AWS_ENDPOINT_URL_BEDROCK_RUNTIME=" + srv.URL, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"DOCINGEST_EMBEDDING_PROVIDER=bedrock", "DOCINGEST_EMBEDDING_MODEL=amazon.titan-embed-text-v2:0", "DOCINGEST_EMBEDDING_DIMENSIONS=256"}
	out := filepath.Join(t.TempDir(), "out")
	code, log := cliProcess(t, env, "run", "../../testdata/docs", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, log)
	}
	first := calls.Load()
	if first == 0 || !strings.Contains(log, "embedding cache: 0.0% hits") {
		t.Fatalf("%d model calls; log:\n%s", first, log)
	}
	code, log = cliProcess(t, env, "run", "../../testdata/docs", "--out", out, "--force")
	if code != 0 {
		t.Fatalf("forced run: exit %d:\n%s", code, log)
	}
	if calls.Load() != first || !strings.Contains(log, "embedding cache: 100.0% hits") {
		t.Fatalf("forced run made %d model calls; log:\n%s", calls.Load()-first, log)
	}
	chunks, _ := os.ReadFile(filepath.Join(out, "chunks", "notes.txt.jsonl"))
	var rec struct {
		Model     string    `json:"embedding_model"`
		Tokenizer string    `json:"tokenizer"`
		Embedding []float32 `json:"embedding"`
	}
	json.Unmarshal(bytes.SplitN(chunks, []byte("\n"), 2)[0], &rec)
	if rec.Model != "bedrock:amazon.titan-embed-text-v2:0/d256/norm=true" || len(rec.Embedding) != 256 || rec.Tokenizer != "estimate:chars" {
		t.Fatalf("record: model %q, %d dims, tokenizer %q", rec.Model, len(rec.Embedding), rec.Tokenizer)
	}
	// the default hashing model into the same output is refused, unless re-embedding all
	code, stderr := cliProcess(t, nil, "run", "../../testdata/docs", "--out", out)
	if code == 0 || !strings.Contains(stderr, "holds vectors of \"bedrock:amazon.titan-embed-text-v2:0/d256/norm=true\"") {
		t.Fatalf("another model accepted: exit %d\n%s", code, stderr)
	}
	if code, log := cliProcess(t, nil, "run", "../../testdata/docs", "--out", out, "--force"); code != 0 {
		t.Fatalf("re-embedding with --force: exit %d\n%s", code, log)
	}
	record, _ := os.ReadFile(filepath.Join(out, "embeddings.json"))
	if !strings.Contains(string(record), "docingest-hashing-v4") {
		t.Fatalf("model record after re-embedding: %s", record)
	}
}

func TestEmbeddingConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"DOCINGEST_EMBEDDING_PROVIDER=openai"}, "embedding.provider"},
		{[]string{"DOCINGEST_EMBEDDING_PROVIDER=bedrock", "DOCINGEST_EMBEDDING_MODEL=amazon.titan-embed-text-v2:0", "DOCINGEST_EMBEDDING_DIMENSIONS=300"}, "embedding.dimensions"},
		{[]string{"DOCINGEST_EMBEDDING_PROVIDER=sagemaker", "DOCINGEST_EMBEDDING_MODEL=m"}, "embedding.endpoint"},
		{[]string{"DOCINGEST_EMBEDDING_PROVIDER=onnx"}, "embedding.model_dir"},
		{[]string{"DOCINGEST_EMBEDDING_CACHE=maybe"}, "embedding.cache"},
	} {
		code, _, stderr := cli(t, tc.env, "run", t.TempDir(), "--out", t.TempDir())
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %s", tc.env, code, stderr)
		}
	}
	// a chunk size over the model's limit is refused before anything runs
	dir := t.TempDir()
	code, log := cliProcess(t, []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y", "DOCINGEST_EMBEDDING_PROVIDER=bedrock",
		"DOCINGEST_EMBEDDING_MODEL=cohere.embed-english-v3", "DOCINGEST_CHUNKING_MAX_SIZE=600"}, "run", dir, "--out", filepath.Join(dir, "o"))
	if code == 0 || !strings.Contains(log, fmt.Sprintf("over the model's input limit of %d tokens", 512)) {
		t.Fatalf("exit %d: %s", code, log)
	}
}
