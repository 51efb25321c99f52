// Package vectorstest is an Amazon S3 Vectors server for tests: PutVectors, DeleteVectors
// and QueryVectors over the service's REST-JSON protocol (POST /<Operation>, JSON bodies,
// errors named in x-amzn-ErrorType), enforcing its documented limits, so the real SDK
// client can be pointed at it (no emulator exists).
package vectorstest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"

	"github.com/docingest/docingest/vectorindex"
)

// Stored is a vector as the server holds it.
type Stored struct {
	Data     []float32
	Metadata map[string]any
}

// Server holds one vector bucket's indexes.
type Server struct {
	*httptest.Server
	// Bucket is the vector bucket's name; Dimensions every index's.
	Bucket     string
	Dimensions int
	mu         sync.Mutex
	indexes    map[string]map[string]Stored
	// ThrottleNext makes the next n write requests fail with TooManyRequestsException
	// (HTTP 429), as the service answers over its write quota.
	ThrottleNext int
	// FailWrites makes every write fail with a server error while set.
	FailWrites bool
	// Requests counts requests by operation; Throttled the 429s sent.
	Requests  map[string]int
	Throttled int
}

// New starts a server for bucket whose indexes (created on first use) hold vectors of
// dims dimensions.
func New(bucket string, dims int) *Server {
	s := &Server{Bucket: bucket, Dimensions: dims, indexes: map[string]map[string]Stored{}, Requests: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Index returns a copy of an index's vectors by key.
func (s *Server) Index(name string) map[string]Stored {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Stored{}
	for k, v := range s.indexes[name] {
		out[k] = v
	}
	return out
}

// SetFailWrites turns failing writes on or off.
func (s *Server) SetFailWrites(v bool) {
	s.mu.Lock()
	s.FailWrites = v
	s.mu.Unlock()
}

type apiError struct {
	status int
	code   string
	msg    string
}

func fail(w http.ResponseWriter, e apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": e.msg})
}

func invalid(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationException", fmt.Sprintf(format, args...)}
}

type vectorData struct {
	Float32 []float32 `json:"float32"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Authorization") == "" {
		fail(w, apiError{http.StatusForbidden, "AccessDeniedException", "unsigned or not a POST"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, vectorindex.MaxPayloadBytes+1))
	if err != nil || len(body) > vectorindex.MaxPayloadBytes {
		fail(w, *invalid("request payload over 20 MiB"))
		return
	}
	op := r.URL.Path[1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Requests[op]++
	var in struct {
		VectorBucketName string `json:"vectorBucketName"`
		IndexName        string `json:"indexName"`
		Vectors          []struct {
			Key      string         `json:"key"`
			Data     vectorData     `json:"data"`
			Metadata map[string]any `json:"metadata"`
		} `json:"vectors"`
		Keys        []string   `json:"keys"`
		QueryVector vectorData `json:"queryVector"`
		TopK        int        `json:"topK"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		fail(w, *invalid("body: %v", err))
		return
	}
	if in.VectorBucketName != s.Bucket {
		fail(w, apiError{http.StatusNotFound, "NotFoundException", "no vector bucket " + in.VectorBucketName})
		return
	}
	if op == "PutVectors" || op == "DeleteVectors" {
		if s.FailWrites {
			fail(w, apiError{http.StatusInternalServerError, "InternalServerException", "injected failure"})
			return
		}
		if s.ThrottleNext > 0 {
			s.ThrottleNext--
			s.Throttled++
			fail(w, apiError{http.StatusTooManyRequests, "TooManyRequestsException", "write quota exceeded"})
			return
		}
	}
	idx := s.indexes[in.IndexName]
	if idx == nil {
		idx = map[string]Stored{}
		s.indexes[in.IndexName] = idx
	}
	var out any = map[string]any{}
	var e *apiError
	switch op {
	case "PutVectors":
		e = s.put(idx, in.Vectors)
	case "DeleteVectors":
		if len(in.Keys) == 0 || len(in.Keys) > vectorindex.MaxPerDelete {
			e = invalid("keys: %d, want 1 to %d", len(in.Keys), vectorindex.MaxPerDelete)
			break
		}
		for _, k := range in.Keys {
			delete(idx, k)
		}
	case "QueryVectors":
		out, e = s.query(idx, in.QueryVector.Float32, in.TopK)
	default:
		e = &apiError{http.StatusNotFound, "UnknownOperationException", op}
	}
	if e != nil {
		fail(w, *e)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) put(idx map[string]Stored, vs []struct {
	Key      string         `json:"key"`
	Data     vectorData     `json:"data"`
	Metadata map[string]any `json:"metadata"`
}) *apiError {
	if len(vs) == 0 || len(vs) > vectorindex.MaxPerPut {
		return invalid("vectors: %d, want 1 to %d", len(vs), vectorindex.MaxPerPut)
	}
	for _, v := range vs {
		if v.Key == "" || len(v.Key) > vectorindex.MaxKeyLength {
			return invalid("key of %d characters", len(v.Key))
		}
		if len(v.Data.Float32) != s.Dimensions {
			return invalid("vector %s: %d dimensions, the index has %d", v.Key, len(v.Data.Float32), s.Dimensions)
		}
		zero := true
		for _, f := range v.Data.Float32 {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return invalid("vector %s: not a finite value", v.Key)
			}
			zero = zero && f == 0
		}
		if zero {
			return invalid("vector %s: zero vectors are not allowed with the cosine metric", v.Key)
		}
		if len(v.Metadata) > vectorindex.MaxMetadataKeys {
			return invalid("vector %s: %d metadata keys", v.Key, len(v.Metadata))
		}
		if b, _ := json.Marshal(v.Metadata); len(b) > vectorindex.MaxFilterableMetadata {
			return invalid("vector %s: %d bytes of filterable metadata, over 2 KB", v.Key, len(b))
		}
	}
	for _, v := range vs {
		idx[v.Key] = Stored{Data: v.Data.Float32, Metadata: v.Metadata}
	}
	return nil
}

func (s *Server) query(idx map[string]Stored, q []float32, k int) (any, *apiError) {
	if k < 1 || k > vectorindex.MaxTopK {
		return nil, invalid("topK %d, want 1 to %d", k, vectorindex.MaxTopK)
	}
	if len(q) != s.Dimensions {
		return nil, invalid("query vector: %d dimensions, the index has %d", len(q), s.Dimensions)
	}
	type hit struct {
		Key      string         `json:"key"`
		Distance float32        `json:"distance"`
		Metadata map[string]any `json:"metadata"`
	}
	var hits []hit
	for key, v := range idx {
		hits = append(hits, hit{key, float32(1 - cosine(q, v.Data)), v.Metadata})
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Distance != hits[j].Distance {
			return hits[i].Distance < hits[j].Distance
		}
		return hits[i].Key < hits[j].Key
	})
	return map[string]any{"vectors": hits[:min(k, len(hits))], "distanceMetric": "cosine"}, nil
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}
