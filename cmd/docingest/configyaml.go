package main

import (
	"io"

	"go.yaml.in/yaml/v3"
)

// configDocs documents every key; `config print` writes it above the key.
var configDocs = map[string]string{
	"run":                         "docingest run",
	"run.concurrency":             "documents processed at once (memory is about this many times the per-document caps)",
	"run.memory_per_document":     "soft memory limit of the Go runtime per document in flight (0: no limit; GOMEMLIMIT wins)",
	"limits":                      "per-document caps: a document over one is recorded in failed/ and the run goes on",
	"limits.max_object_bytes":     "largest source object read (bytes, or 100MiB)",
	"limits.max_pages":            "most pages of a paged document (PDF)",
	"limits.max_text_bytes":       "most cleaned text extracted from one document",
	"limits.document_timeout":     "time limit for extracting one document (other than PDF)",
	"limits.pdf_timeout_base":     "time limit for a PDF: this much ...",
	"limits.pdf_timeout_per_page": "... plus this much per page",
	"limits.pdf_isolation":        "extract PDFs in a child process, killed at the time limit or the memory cap (false: in process, where a hang cannot be stopped)",
	"limits.pdf_memory_bytes":     "resident memory cap of a PDF child",
	"chunking":                    "how text is cut into chunks",
	"chunking.strategy":           "fixed | recursive | sentence | markdown",
	"chunking.unit":               "tokens (of the embedder's tokenizer) | chars (Unicode code points)",
	"chunking.max_size":           "largest chunk, in units; no chunk is ever larger",
	"chunking.overlap":            "units repeated from the end of one chunk at the start of the next (whole sentences for sentence and markdown)",
	"embedding":                   "how chunks are embedded",
	"embedding.provider":          "hashing: signed feature hashing of words and character n-grams, local and deterministic (lexical, not a neural model)",
	"embedding.dimensions":        "vector size",
	"embedding.char_ngram_min":    "shortest character n-gram hashed from each word",
	"embedding.char_ngram_max":    "longest character n-gram hashed from each word",
	"embedding.batch_size":        "chunks per embedder call",
	"worker":                      "docingest worker: the SQS consumer",
	"worker.queue_url":            "SQS queue of S3 event notifications (or --queue-url)",
	"worker.max_in_flight":        "messages processed at once; a slot is taken before each ReceiveMessage",
	"worker.wait_time":            "long-poll time of ReceiveMessage (at most 20s)",
	"worker.visibility_timeout":   "visibility set on receive and renewed by the heartbeat while a document is processed",
	"worker.heartbeat":            "how often the visibility of a message in progress is renewed (below visibility_timeout)",
	"worker.backoff_base":         "visibility after a first transient failure; doubles per receive",
	"worker.backoff_max":          "largest back-off visibility",
	"worker.drain_timeout":        "on SIGTERM, how long messages in flight may finish before they are cancelled (and redelivered)",
	"worker.metrics_addr":         "address of /metrics, /healthz and /readyz (empty: off)",
	"aws":                         "AWS clients: credentials and region come from the SDK's default chain",
	"aws.region":                  "region (default: the SDK's chain, AWS_REGION)",
	"aws.s3_endpoint":             "S3 endpoint for S3-compatible servers (AWS_ENDPOINT_URL_S3 works too)",
	"aws.sqs_endpoint":            "SQS endpoint (AWS_ENDPOINT_URL_SQS works too)",
	"aws.s3_path_style":           "path-style S3 addressing, needed by most S3-compatible servers",
	"aws.kms_key_id":              "SSE-KMS key for outputs written to S3 (empty: bucket default)",
	"log":                         "logs go to standard error",
	"log.level":                   "debug | info | warn | error",
	"log.format":                  "text | json",
}

// writeConfigYAML writes cfg as YAML with every key documented.
func writeConfigYAML(w io.Writer, cfg Config) error {
	var root yaml.Node
	if err := root.Encode(cfg); err != nil {
		return err
	}
	annotate(&root, "")
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return err
	}
	return enc.Close()
}

func annotate(n *yaml.Node, prefix string) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		path := key.Value
		if prefix != "" {
			path = prefix + "." + key.Value
		}
		if doc, ok := configDocs[path]; ok {
			key.HeadComment = doc
		}
		annotate(val, path)
	}
}
