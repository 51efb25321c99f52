package embedders

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/docingest/docingest/document"
)

// fakeVector is what the test servers answer for a text: deterministic, so the test
// can check that each vector went back to its own text.
func fakeVector(text string, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(len(text)%97) + float32(i)/1000
	}
	return v
}

type recorded struct {
	path, target, auth, contentType string
	body                            map[string]any
}

// awsServer answers like the service: the first `throttle` requests get the service's
// throttling error, the rest go to answer.
type awsServer struct {
	t        *testing.T
	throttle int32
	errCode  string
	status   int
	answer   func(body map[string]any) (int, any)
	mu       sync.Mutex
	reqs     []recorded
	calls    atomic.Int32
}

func (s *awsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		s.t.Errorf("request body is not JSON: %q", raw)
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, recorded{path: r.URL.EscapedPath(), auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type"), body: body})
	s.mu.Unlock()
	if s.calls.Add(1) <= s.throttle {
		w.Header().Set("X-Amzn-ErrorType", s.errCode)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		fmt.Fprintf(w, `{"message":"Rate exceeded"}`)
		return
	}
	status, resp := s.answer(body)
	if status != http.StatusOK {
		w.Header().Set("X-Amzn-ErrorType", resp.(string))
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message":"rejected"}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

func bedrockClient(url string) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer:      BedrockRetryer(6, 50*time.Millisecond)(),
	})
}

func TestBedrockTitanThrottledThenServed(t *testing.T) {
	t.Parallel()
	srv := &awsServer{t: t, throttle: 3, status: 429, errCode: "ThrottlingException", answer: func(b map[string]any) (int, any) {
		return 200, map[string]any{"embedding": fakeVector(b["inputText"].(string), int(b["dimensions"].(float64))), "inputTextTokenCount": 3}
	}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	emb, err := NewBedrock(bedrockClient(ts.URL), BedrockConfig{ModelID: "amazon.titan-embed-text-v2:0", Dimensions: 256, Normalize: true, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"one", "three words here", "a somewhat longer text"}
	vecs, err := emb.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("throttling was not ridden out: %v", err)
	}
	for i, v := range vecs {
		if len(v) != 256 || v[0] != fakeVector(texts[i], 256)[0] {
			t.Fatalf("vector %d does not belong to its text", i)
		}
	}
	if n := srv.calls.Load(); n != 6 {
		t.Fatalf("%d requests, want 3 throttled + 3 served", n)
	}
	for _, r := range srv.reqs {
		if r.path != "/model/amazon.titan-embed-text-v2%3A0/invoke" || !strings.HasPrefix(r.auth, "AWS4-HMAC-SHA256 ") || r.contentType != "application/json" {
			t.Fatalf("request %+v", r)
		}
		if r.body["dimensions"] != float64(256) || r.body["normalize"] != true || r.body["inputText"] == "" {
			t.Fatalf("body %v", r.body)
		}
	}
	if emb.Model() != "bedrock:amazon.titan-embed-text-v2:0/d256/norm=true" {
		t.Fatalf("model id %q", emb.Model())
	}
}

func TestBedrockCohereBatches(t *testing.T) {
	t.Parallel()
	srv := &awsServer{t: t, answer: func(b map[string]any) (int, any) {
		var vs [][]float32
		for _, x := range b["texts"].([]any) {
			vs = append(vs, fakeVector(x.(string), 1024))
		}
		return 200, map[string]any{"id": "x", "response_type": "embeddings_floats", "embeddings": vs, "texts": b["texts"]}
	}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	emb, err := NewBedrock(bedrockClient(ts.URL), BedrockConfig{ModelID: "cohere.embed-multilingual-v3", InputType: "search_document", Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, 200)
	for i := range texts {
		texts[i] = strings.Repeat("x", i)
	}
	vecs, err := emb.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs {
		if v[0] != fakeVector(texts[i], 1024)[0] {
			t.Fatalf("vector %d out of place", i)
		}
	}
	if len(srv.reqs) != 3 {
		t.Fatalf("%d requests for 200 texts, want 3 (96 per request)", len(srv.reqs))
	}
	for _, r := range srv.reqs {
		if r.body["input_type"] != "search_document" || r.body["truncate"] != "NONE" || len(r.body["texts"].([]any)) > 96 {
			t.Fatalf("body %v", r.body)
		}
	}
}

func TestBedrockRejectionIsPermanent(t *testing.T) {
	t.Parallel()
	srv := &awsServer{t: t, answer: func(map[string]any) (int, any) { return 400, "ValidationException" }}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	emb, _ := NewBedrock(bedrockClient(ts.URL), BedrockConfig{ModelID: "amazon.titan-embed-text-v2:0", Dimensions: 512, Concurrency: 1})
	_, err := emb.Embed(context.Background(), []string{"x"})
	if _, permanent := document.Classify(err); !permanent || srv.calls.Load() != 1 {
		t.Fatalf("validation error: %v (permanent %v) after %d calls", err, permanent, srv.calls.Load())
	}
	// throttling beyond the retryer's attempts is transient: the document is retried later
	srv2 := &awsServer{t: t, throttle: 100, status: 429, errCode: "ThrottlingException"}
	ts2 := httptest.NewServer(srv2)
	defer ts2.Close()
	emb2, _ := NewBedrock(bedrockClient(ts2.URL), BedrockConfig{ModelID: "amazon.titan-embed-text-v2:0", Dimensions: 512, Concurrency: 1})
	_, err = emb2.Embed(context.Background(), []string{"x"})
	if _, permanent := document.Classify(err); err == nil || permanent || srv2.calls.Load() != 6 {
		t.Fatalf("throttling: %v (permanent %v) after %d calls", err, permanent, srv2.calls.Load())
	}
}

func TestBedrockConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c    BedrockConfig
		want string
	}{
		{BedrockConfig{ModelID: "amazon.titan-embed-text-v2:0", Dimensions: 300, Concurrency: 1}, "dimensions"},
		{BedrockConfig{ModelID: "cohere.embed-english-v3", InputType: "docs", Concurrency: 1}, "input_type"},
		{BedrockConfig{ModelID: "meta.llama3", Concurrency: 1}, "model"},
		{BedrockConfig{ModelID: "amazon.titan-embed-text-v2:0", Dimensions: 256}, "concurrency"},
	} {
		if err := tc.c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v", tc.c, err)
		}
	}
}

func sagemakerClient(url string) *sagemakerruntime.Client {
	return sagemakerruntime.New(sagemakerruntime.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer:      BedrockRetryer(5, 50*time.Millisecond)(),
	})
}

func TestSageMakerFormats(t *testing.T) {
	t.Parallel()
	for _, format := range []string{FormatTEI, FormatJumpStart} {
		srv := &awsServer{t: t, throttle: 2, status: 503, errCode: "ServiceUnavailable", answer: func(b map[string]any) (int, any) {
			key := "inputs"
			if format == FormatJumpStart {
				key = "text_inputs"
				if b["mode"] != "embedding" {
					t.Errorf("jumpstart request without mode: %v", b)
				}
			}
			var vs [][]float32
			for _, x := range b[key].([]any) {
				vs = append(vs, fakeVector(x.(string), 384))
			}
			if format == FormatJumpStart {
				return 200, map[string]any{"embedding": vs}
			}
			return 200, vs
		}}
		ts := httptest.NewServer(srv)
		emb, err := NewSageMaker(sagemakerClient(ts.URL), SageMakerConfig{Endpoint: "minilm-prod", Format: format, Model: "all-MiniLM-L6-v2", Batch: 8, Concurrency: 2, MaxTokens: 512})
		if err != nil {
			t.Fatal(err)
		}
		texts := make([]string, 20)
		for i := range texts {
			texts[i] = strings.Repeat("y", i+1)
		}
		vecs, err := emb.Embed(context.Background(), texts)
		ts.Close()
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		for i, v := range vecs {
			if len(v) != 384 || v[0] != fakeVector(texts[i], 384)[0] {
				t.Fatalf("%s: vector %d out of place", format, i)
			}
		}
		if n := srv.calls.Load(); n != 5 {
			t.Fatalf("%s: %d calls, want 2 unavailable + 3 batches", format, n)
		}
		if p := srv.reqs[0].path; p != "/endpoints/minilm-prod/invocations" {
			t.Fatalf("path %s", p)
		}
	}
}
