package worker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/docingest/docingest/chunkers"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
)

// A message from an S3 bucket's event notification, as SQS delivers it (EventBridge and
// SNS envelopes parse to the same events).
func ExampleParseMessage() {
	body := `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",
		"s3":{"bucket":{"name":"uploads"},"object":{"key":"reports/q3+summary.pdf","size":5120,"sequencer":"0062E99A88DC407460"}}}]}`
	m, err := worker.ParseMessage(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ev := range m.Events {
		fmt.Printf("%s s3://%s/%s (%d bytes)\n", ev.Kind, ev.Bucket, ev.Key, ev.Size)
	}
	// Output:
	// created s3://uploads/reports/q3 summary.pdf (5120 bytes)
}

// A Pipeline over a local folder: one text file in, its text, chunks (with
// embeddings) and state out.
func ExamplePipeline() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "in"), 0o755)
	os.WriteFile(filepath.Join(dir, "in", "herons.txt"), []byte("The survey team counted forty-two herons near the old mill.\n\nRain swelled the river overnight."), 0o644)
	src, _ := storage.NewLocal(filepath.Join(dir, "in"))
	out, _ := storage.NewLocal(filepath.Join(dir, "out"))

	emb, _ := embedders.NewHashing(embedders.DefaultHashing())
	lim := extractors.Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}
	chunker := chunkers.Recursive{Config: chunkers.Config{Max: 8, Overlap: 0}, Sizer: emb.Tokenizer()}
	p, err := worker.NewPipeline(worker.PipelineConfig{
		Detect: extractors.Detect, DetectNotPDF: extractors.DetectNotPDF,
		Extractors:  map[string]worker.Extractor{extractors.FormatText: extractors.TextExtractor{Limits: lim}},
		ChunkerFor:  func(string, string) worker.Chunker { return chunker },
		Tokenizer:   "words",
		Embedder:    emb,
		EmbedBatch:  16,
		Fingerprint: "example",
		NoETag:      true,
		Limits:      worker.Limits{MaxObjectBytes: 1 << 20, DocumentTimeout: 30 * time.Second},
	}, out)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := p.Process(context.Background(), src, worker.ObjectAt("herons.txt"), 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d bytes, %d chunks, failed: %t\n", res.Bytes, res.Chunks, res.Failure != nil)
	out.List(context.Background(), "", true, func(o storage.ObjectInfo) error {
		if filepath.Dir(o.Key) != "state/herons.txt" { // state files are named by fingerprint and version
			fmt.Println(o.Key)
		}
		return nil
	})
	// Output:
	// 94 bytes, 3 chunks, failed: false
	// chunks/herons.txt.jsonl
	// text/herons.txt.txt
}
