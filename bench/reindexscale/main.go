// Command reindexscale measures planning a reindex at millions of keys (bench/reindex-scale.sh
// runs it). It serves a synthetic bucket of N sources and the state/ of an output that
// already processed them all (so the plan is the whole cost) from an in-process S3
// listing server that generates the keys on the fly (gofakes3 is too slow at this size),
// and reaches it through aws-sdk-go-v2 as the product does.
//
//	reindexscale -n 1000000 -mode bare            # a bare read of both listings
//	reindexscale -n 1000000 -mode plan            # a whole dry-run plan (records split points to -splits)
//	reindexscale -n 1000000 -mode plan -shard 2/4 # one shard, from the split points in -splits
//
// Each run prints one JSON line: keys, wall and CPU seconds, peak RSS.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docingest/docingest/chunkers"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
)

const fingerprint = "fp-bench"

// keyspace generates a sorted sequence of keys by index.
type keyspace struct {
	n   int
	key func(i int) string
	// etag and size of key i
	etag func(i int) string
}

func sourceKey(i int) string { return fmt.Sprintf("corpus/d%05d/doc%08d.txt", i/1000, i) }
func sourceETag(i int) string {
	return fmt.Sprintf("%016x%016x", uint64(i)*0x9E3779B97F4A7C15, uint64(i))
}

// stateKeys are an output's state files for every source: a marker and head.json each.
func stateKeys(n int) keyspace {
	names := func(i int) [2]string {
		m := layout.StateName(fingerprint, sourceETag(i))
		if m < layout.HeadName {
			return [2]string{m, layout.HeadName}
		}
		return [2]string{layout.HeadName, m}
	}
	return keyspace{n: 2 * n, key: func(j int) string {
		return "v1/" + layout.StateDir("src/"+sourceKey(j/2)) + names(j / 2)[j%2]
	}, etag: func(j int) string { return sourceETag(j) }}
}

// server answers ListObjectsV2 over the generated buckets, and GET/PUT/HEAD of other
// objects from memory.
type server struct {
	latency time.Duration // added to every listing page, as a round trip to S3 would
	buckets map[string]keyspace
	mu      sync.Mutex
	objects map[string][]byte
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && key == "" && q.Get("list-type") == "2":
		time.Sleep(s.latency)
		s.list(w, bucket, q)
	case r.Method == http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.objects[bucket+"/"+key] = b
		s.mu.Unlock()
		w.Header().Set("ETag", `"`+strconv.Itoa(len(b))+`"`)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		s.mu.Lock()
		b, ok := s.objects[bucket+"/"+key]
		s.mu.Unlock()
		if !ok {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			if r.Method == http.MethodGet {
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>none</Message><Key>%s</Key></Error>`, key)
			}
			return
		}
		w.Header().Set("ETag", `"`+strconv.Itoa(len(b))+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		if r.Method == http.MethodGet {
			w.Write(b)
		}
	default:
		http.Error(w, "not implemented", http.StatusNotImplemented)
	}
}

// first is the first index whose key is >= k.
func (ks keyspace) first(k string) int {
	return sort.Search(ks.n, func(i int) bool { return ks.key(i) >= k })
}

func (s *server) list(w http.ResponseWriter, bucket string, q map[string][]string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	ks, ok := s.buckets[bucket]
	if !ok {
		http.Error(w, "no such bucket", http.StatusNotFound)
		return
	}
	prefix, delim := get("prefix"), get("delimiter")
	after := max(get("start-after"), get("continuation-token"))
	maxKeys := 1000
	if m, err := strconv.Atoi(get("max-keys")); err == nil && m > 0 && m < maxKeys {
		maxKeys = m
	}
	i := ks.first(prefix)
	if after != "" {
		if delim != "" && strings.HasSuffix(after, delim) {
			// after a common prefix: past everything under it
			i = max(i, ks.first(after[:len(after)-1]+string(rune(after[len(after)-1]+1))))
		} else {
			i = max(i, ks.first(after+"\x00"))
		}
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	fmt.Fprintf(&b, "<Name>%s</Name><Prefix>%s</Prefix><MaxKeys>%d</MaxKeys>", bucket, prefix, maxKeys)
	count, last := 0, ""
	truncated := false
	for i < ks.n {
		k := ks.key(i)
		if !strings.HasPrefix(k, prefix) {
			break
		}
		if count == maxKeys {
			truncated = true
			break
		}
		if delim != "" {
			if j := strings.Index(k[len(prefix):], delim); j >= 0 {
				cp := k[:len(prefix)+j+len(delim)]
				fmt.Fprintf(&b, "<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>", cp)
				count, last = count+1, cp
				i = ks.first(cp[:len(cp)-1] + string(rune(cp[len(cp)-1]+1)))
				continue
			}
		}
		fmt.Fprintf(&b, `<Contents><Key>%s</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified><ETag>"%s"</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>`,
			k, ks.etag(i), 1000+i%5000)
		count, last = count+1, k
		i++
	}
	fmt.Fprintf(&b, "<KeyCount>%d</KeyCount><IsTruncated>%v</IsTruncated>", count, truncated)
	if truncated {
		fmt.Fprintf(&b, "<NextContinuationToken>%s</NextContinuationToken>", last)
	}
	b.WriteString("</ListBucketResult>")
	w.Header().Set("Content-Type", "application/xml")
	w.Write(b.Bytes())
}

type result struct {
	Mode       string  `json:"mode"`
	Fanout     int     `json:"fanout"`
	LatencyMS  float64 `json:"latency_ms"`
	Shard      string  `json:"shard,omitempty"`
	Keys       int     `json:"keys"`
	Listed     int     `json:"listed"`
	Planned    int     `json:"planned"`
	Wall       float64 `json:"wall_seconds"`
	CPU        float64 `json:"cpu_seconds"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	SortMiB    int     `json:"sort_mib"`
}

func main() {
	n := flag.Int("n", 1000000, "sources")
	mode := flag.String("mode", "plan", "bare | plan")
	shard := flag.String("shard", "", "i/n: plan one shard")
	splits := flag.String("splits", "", "file the whole plan writes its split points to, and shards read them from")
	sortMiB := flag.Int("sort-mib", 32, "memory each of the plan's sorts holds")
	latency := flag.Duration("latency", 0, "delay of every listing page (S3's round trip)")
	fanout := flag.Int("fanout", 1, "parts of the range listed at once (reindex --list-parallel)")
	flag.Parse()
	srv := &server{latency: *latency, buckets: map[string]keyspace{
		"src": {n: *n, key: sourceKey, etag: sourceETag},
		"out": stateKeys(*n),
	}, objects: map[string][]byte{}}
	if (*shard != "" || *fanout > 1) && *splits != "" {
		b, err := os.ReadFile(*splits)
		if err != nil {
			log.Fatal(err)
		}
		srv.objects["out/v1/"+layout.ReindexSplits] = b
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(ts.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("bench", "bench", ""),
	})
	ctx := context.Background()
	src := storage.NewS3Buckets(client)
	out := storage.NewS3(client, "out", "v1", storage.S3Options{})
	res := result{Mode: *mode, Shard: *shard, Keys: *n, SortMiB: *sortMiB, Fanout: *fanout, LatencyMS: float64(*latency) / 1e6}
	start, cpu0 := time.Now(), cpuSeconds()
	switch *mode {
	case "bare":
		// Both listings the plan reads, through the same client, one after the other.
		count := func(o storage.ObjectInfo) error { res.Listed++; return nil }
		if err := src.List(ctx, "src/corpus/", true, count); err != nil {
			log.Fatal(err)
		}
		if err := out.List(ctx, "state/src/corpus/", true, count); err != nil {
			log.Fatal(err)
		}
	case "plan":
		emb, _ := embedders.NewHashing(embedders.DefaultHashing())
		chunker := chunkers.Recursive{Config: chunkers.Config{Max: 64}, Sizer: emb.Tokenizer()}
		p, err := worker.NewPipeline(worker.PipelineConfig{
			Detect: extractors.Detect, DetectNotPDF: extractors.DetectNotPDF,
			Extractors:  map[string]worker.Extractor{extractors.FormatText: extractors.TextExtractor{Limits: extractors.Limits{MaxPages: 10, MaxTextBytes: 1 << 20}}},
			ChunkerFor:  func(string, string) worker.Chunker { return chunker },
			Tokenizer:   "words",
			Embedder:    emb,
			EmbedBatch:  16,
			Fingerprint: fingerprint,
			Limits:      worker.Limits{MaxObjectBytes: 1 << 20, DocumentTimeout: time.Minute},
		}, out)
		if err != nil {
			log.Fatal(err)
		}
		opts := worker.ReindexOptions{Source: src, Prefix: "src/corpus/", SortMemory: *sortMiB << 20, ListFanout: *fanout,
			OnPlan: func(string, worker.ReindexAction) { res.Planned++ }}
		if *shard != "" {
			a, b, _ := strings.Cut(*shard, "/")
			i, _ := strconv.Atoi(a)
			k, _ := strconv.Atoi(b)
			r, fromSplits, err := p.ShardRange(ctx, opts.Prefix, i, k)
			if err != nil || !fromSplits {
				log.Fatalf("shard range: %v (from split points: %v)", err, fromSplits)
			}
			opts.Range, opts.DryRun = r, true
		}
		// The whole plan runs for real: every source is unchanged, so it does no work but
		// records the split points the shards use.
		sum, err := p.Reindex(ctx, opts)
		if err != nil {
			log.Fatal(err)
		}
		if sum.ToDo().Sources != 0 || sum.Planned[worker.ReindexOrphan].Sources != 0 {
			log.Fatalf("a plan of unchanged sources planned work: %v", sum.Planned)
		}
		if *shard == "" && *fanout <= 1 && *splits != "" {
			srv.mu.Lock()
			b := srv.objects["out/v1/"+layout.ReindexSplits]
			srv.mu.Unlock()
			if err := os.WriteFile(*splits, b, 0o644); err != nil {
				log.Fatal(err)
			}
		}
	default:
		log.Fatalf("-mode %q", *mode)
	}
	res.Wall, res.CPU = time.Since(start).Seconds(), cpuSeconds()-cpu0
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	res.PeakRSSMiB = float64(ru.Maxrss) / 1024
	runtime.KeepAlive(srv)
	json.NewEncoder(os.Stdout).Encode(res)
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
