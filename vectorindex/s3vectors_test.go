package vectorindex_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3vectors"

	"github.com/docingest/docingest/vectorindex"
	"github.com/docingest/docingest/vectorindex/vectorstest"
)

func client(url string) *s3vectors.Client {
	return s3vectors.New(s3vectors.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
}

func vec(i, dims int) []float32 {
	v := make([]float32, dims)
	v[i%dims] = 1
	v[(i+1)%dims] = float32(i%7) / 7
	return v
}

func TestUpsertBatchesAtTheLimits(t *testing.T) {
	srv := vectorstest.New("vb", 8)
	defer srv.Close()
	x := vectorindex.New(client(srv.URL), vectorindex.Location{Bucket: "vb", Index: "i"}, 0)
	ctx := context.Background()
	for _, n := range []int{vectorindex.MaxPerPut, vectorindex.MaxPerPut + 1} {
		srv.Requests["PutVectors"] = 0
		var vs []vectorindex.Vector
		for i := 0; i < n; i++ {
			vs = append(vs, vectorindex.Vector{ID: fmt.Sprintf("n%d-%d", n, i), Data: vec(i, 8), Source: "a.txt", Index: i})
		}
		if _, err := x.Upsert(ctx, vs); err != nil {
			t.Fatalf("%d vectors: %v", n, err)
		}
		if want := (n + vectorindex.MaxPerPut - 1) / vectorindex.MaxPerPut; srv.Requests["PutVectors"] != want {
			t.Errorf("%d vectors: %d PutVectors calls, want %d", n, srv.Requests["PutVectors"], want)
		}
	}
	if got := len(srv.Index("i")); got != 2*vectorindex.MaxPerPut+1 {
		t.Fatalf("index holds %d vectors", got)
	}
	var keys []string
	for k := range srv.Index("i") {
		keys = append(keys, k)
	}
	srv.Requests["DeleteVectors"] = 0
	if err := x.Delete(ctx, keys); err != nil {
		t.Fatal(err)
	}
	if srv.Requests["DeleteVectors"] != 3 || len(srv.Index("i")) != 0 {
		t.Fatalf("%d DeleteVectors calls, %d left", srv.Requests["DeleteVectors"], len(srv.Index("i")))
	}
}

func TestUpsertSplitsLargePayloads(t *testing.T) {
	srv := vectorstest.New("vb", vectorindex.MaxDimensions)
	defer srv.Close()
	x := vectorindex.New(client(srv.URL), vectorindex.Location{Bucket: "vb", Index: "i"}, 0)
	var vs []vectorindex.Vector
	for i := 0; i < vectorindex.MaxPerPut; i++ {
		v := make([]float32, vectorindex.MaxDimensions)
		for j := range v {
			v[j] = -0.123456789 / float32(j+1) // long JSON numbers: 500 of them are over 20 MiB
		}
		vs = append(vs, vectorindex.Vector{ID: fmt.Sprint(i), Data: v})
	}
	if _, err := x.Upsert(context.Background(), vs); err != nil {
		t.Fatal(err) // the server refuses a payload over 20 MiB
	}
	if srv.Requests["PutVectors"] < 2 || len(srv.Index("i")) != vectorindex.MaxPerPut {
		t.Fatalf("%d calls, %d vectors", srv.Requests["PutVectors"], len(srv.Index("i")))
	}
	_, err := x.Upsert(context.Background(), []vectorindex.Vector{{ID: "big", Data: make([]float32, vectorindex.MaxDimensions+1)}})
	if err == nil || !strings.Contains(err.Error(), "1 to 4096") {
		t.Fatalf("4,097 dimensions: %v", err)
	}
}

func TestMetadataStaysWithinTwoKB(t *testing.T) {
	srv := vectorstest.New("vb", 8)
	defer srv.Close()
	x := vectorindex.New(client(srv.URL), vectorindex.Location{Bucket: "vb", Index: "i"}, 0)
	title := strings.Repeat("é", 300) // 600 bytes
	long := vectorindex.Vector{ID: "long", Data: vec(1, 8), Source: "docs/" + strings.Repeat("x", 1000) + ".txt", Index: 3, Page: 7,
		HeadingPath: []string{title, title, title, title}, Label: "field"}
	one := vectorindex.Vector{ID: "one", Data: vec(2, 8), Source: "a.txt", HeadingPath: []string{strings.Repeat("t", 5000)}}
	zero := vectorindex.Vector{ID: "zero", Data: make([]float32, 8), Source: "a.txt"}
	skipped, err := x.Upsert(context.Background(), []vectorindex.Vector{long, one, zero})
	if err != nil {
		t.Fatal(err) // the server refuses filterable metadata over 2 KB
	}
	if fmt.Sprint(skipped) != "[zero]" {
		t.Errorf("skipped %v, want the zero vector", skipped)
	}
	idx := srv.Index("i")
	m := idx["long"].Metadata
	b, _ := json.Marshal(m)
	if len(b) > vectorindex.MaxFilterableMetadata || m["label"] != "field" || m["page"] != 7.0 || m["chunk_index"] != 3.0 {
		t.Fatalf("metadata (%d bytes): %v", len(b), m)
	}
	if hp := m["heading_path"].([]any); len(hp) == 0 || len(hp) == 4 || hp[0] != title {
		t.Errorf("heading path kept %d titles; want the first ones that fit", len(hp))
	}
	if hp := idx["one"].Metadata["heading_path"].([]any); len(hp[0].(string)) >= 2048 {
		t.Errorf("a 5,000-byte title was not cut")
	}
	// the server's own check, exactly at the limit and one past it
	for _, n := range []int{0, 1} {
		m := map[string]any{"source": ""}
		b, _ := json.Marshal(m)
		m["source"] = strings.Repeat("s", vectorindex.MaxFilterableMetadata-len(b)+n)
		b, _ = json.Marshal(m)
		body := fmt.Sprintf(`{"vectorBucketName":"vb","indexName":"i","vectors":[{"key":"k","data":{"float32":[1,0,0,0,0,0,0,0]},"metadata":%s}]}`, b)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/PutVectors", strings.NewReader(body))
		req.Header.Set("Authorization", "test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := []int{200, 400}[n]; resp.StatusCode != want {
			t.Errorf("%d bytes of metadata: HTTP %d, want %d", len(b), resp.StatusCode, want)
		}
	}
}

func TestWritesKeepToTheRate(t *testing.T) {
	srv := vectorstest.New("vb", 8)
	defer srv.Close()
	x := vectorindex.New(client(srv.URL), vectorindex.Location{Bucket: "vb", Index: "i"}, 1000)
	var vs []vectorindex.Vector
	for i := 0; i < 1500; i++ {
		vs = append(vs, vectorindex.Vector{ID: fmt.Sprint(i), Data: vec(i, 8)})
	}
	// 1,500 vectors at 1,000 a second with a burst of 500 need at least one second of
	// waiting; a context that ends sooner stops the writer at the limiter.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := x.Upsert(ctx, vs); err == nil {
		t.Fatal("1,500 vectors written within 200 ms at 1,000 a second")
	}
	if n := len(srv.Index("i")); n != vectorindex.MaxPerPut {
		t.Fatalf("%d vectors written before the limiter held the writer, want the first batch of 500", n)
	}
}

func TestParseLocation(t *testing.T) {
	if l, err := vectorindex.ParseLocation("s3vectors://vb/idx"); err != nil || l.Bucket != "vb" || l.Index != "idx" {
		t.Fatalf("%+v %v", l, err)
	}
	for _, bad := range []string{"s3://vb/idx", "s3vectors://vb", "s3vectors://vb/a/b", "s3vectors:///idx"} {
		if _, err := vectorindex.ParseLocation(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
