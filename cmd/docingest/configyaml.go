package main

import (
	"io"

	"go.yaml.in/yaml/v3"
)

// configDocs documents every key; `config print` writes it above the key.
var configDocs = map[string]string{
	"run":                                             "docingest run",
	"run.concurrency":                                 "documents processed at once (memory is about this many times the per-document caps)",
	"run.memory_per_document":                         "soft memory limit of the Go runtime per document in flight (0: no limit; GOMEMLIMIT wins)",
	"limits":                                          "per-document caps: a document over one is recorded in failed/ and the run goes on",
	"limits.max_object_bytes":                         "largest source object read (bytes, or 100MiB)",
	"limits.max_pages":                                "most pages of a paged document (PDF)",
	"limits.max_text_bytes":                           "most cleaned text extracted from one document",
	"limits.document_timeout":                         "time limit for extracting one document (other than PDF)",
	"limits.pdf_timeout_base":                         "time limit for a PDF: this much ...",
	"limits.pdf_timeout_per_page":                     "... plus this much per page",
	"limits.pdf_isolation":                            "extract PDFs in a child process, killed at the time limit or the memory cap (false: in process, where a hang cannot be stopped)",
	"limits.pdf_memory_bytes":                         "memory cap of a PDF child (it also runs under a soft Go limit of 3/4 of it)",
	"limits.pdf_backend":                              "ledongthuc (github.com/ledongthuc/pdf with docingest's layout reconstruction) | pdfium (PDFium in WebAssembly: Google's reader, 0.3-0.9 GB per child, a few seconds to start)",
	"limits.pdfium_memory_bytes":                      "memory cap of a PDF child with pdf_backend: pdfium",
	"limits.pdf_cgroup":                               "auto: each PDF child in a memory cgroup capped at its memory cap, where this process may make one (else its resident memory is polled) | off | the directory of a delegated cgroup",
	"chunking":                                        "how text is cut into chunks",
	"chunking.strategy":                               "auto (markdown for Markdown, recursive for the rest) | fixed | recursive | sentence | markdown | semantic | hierarchical",
	"chunking.unit":                                   "tokens (of the embedder's tokenizer) | chars (Unicode code points) | wordpiece (BERT uncased pieces)",
	"chunking.max_size":                               "largest chunk, in units; no chunk is ever larger",
	"chunking.overlap":                                "units repeated from the end of one chunk at the start of the next (whole sentences for sentence and markdown)",
	"chunking.semantic_buffer_size":                   "semantic: sentences on each side of a sentence in its embedded window",
	"chunking.semantic_threshold":                     "semantic: breakpoint rule, percentile | standard_deviation | interquartile",
	"chunking.semantic_threshold_amount":              "semantic: the rule's amount (0: 95, 3 or 1.5)",
	"chunking.parent_size":                            "hierarchical: size of the parents (children use max_size and overlap)",
	"chunking.parent_overlap":                         "hierarchical: overlap of the parents",
	"chunking.overrides":                              "another strategy (and optionally max_size, overlap) for sources under a key prefix: [{prefix, strategy, max_size, overlap}]; the longest prefix wins",
	"embedding":                                       "how chunks are embedded",
	"embedding.provider":                              "hashing: signed feature hashing of words and character n-grams, local and deterministic (lexical, not a neural model)",
	"embedding.dimensions":                            "vector size",
	"embedding.char_ngram_min":                        "shortest character n-gram hashed from each word",
	"embedding.char_ngram_max":                        "longest character n-gram hashed from each word",
	"embedding.batch_size":                            "chunks per embedder call",
	"embedding.model":                                 "bedrock: model id (amazon.titan-embed-text-v2:0, cohere.embed-english-v3, cohere.embed-multilingual-v3); sagemaker: the model's name, recorded with the vectors",
	"embedding.normalize":                             "bedrock Titan: ask for unit vectors",
	"embedding.input_type":                            "bedrock Cohere: input_type (search_document, search_query, classification, clustering)",
	"embedding.endpoint":                              "sagemaker: endpoint name",
	"embedding.format":                                "sagemaker: request shape, tei | jumpstart",
	"embedding.max_tokens":                            "sagemaker: the model's input limit in tokens (chunks larger are refused at start-up)",
	"embedding.tokenizer":                             "sagemaker: how chunks are sized for the model, wordpiece (BERT family) | estimate",
	"embedding.concurrency":                           "model requests at once (bedrock, sagemaker)",
	"embedding.max_attempts":                          "attempts of a throttled or failed model request",
	"embedding.max_backoff":                           "longest wait between attempts",
	"embedding.model_dir":                             "onnx: sentence-transformer folder (model.onnx, tokenizer.json or vocab.txt)",
	"embedding.onnx_library":                          "onnx: path of the onnxruntime shared library",
	"embedding.cache":                                 "auto (on for every provider but hashing) | on | off: vectors kept under cache/embeddings/ by model and text hash",
	"labeling":                                        "classification of chunks; uncertain ones, and an audit sample, go to SageMaker Ground Truth labeling jobs",
	"labeling.enabled":                                "classify chunks and label the dataset",
	"labeling.attribute":                              "label attribute name in the Ground Truth manifests",
	"labeling.multi_label":                            "a chunk may have several classes",
	"labeling.classes":                                "[{name, description, examples}]: the description and examples train the first classifier",
	"labeling.measure":                                "uncertainty measure, least_confidence | margin | entropy",
	"labeling.target_accuracy":                        "accuracy automatic labels must show (one-sided 95% Wilson lower bound on cross-validated human labels) before any chunk is labeled automatically",
	"labeling.threshold":                              "0: the uncertainty threshold comes from target_accuracy; set, it can only make that stricter",
	"labeling.min_labels_per_class":                   "human labels every class needs before any automatic label",
	"labeling.audit_share":                            "share of every job drawn at random from chunks labeled (or about to be labeled) automatically, to measure their accuracy",
	"labeling.audit_sample_rate":                      "share of automatically labeled chunks kept in the spool as candidates for the audit",
	"labeling.max_items_per_job":                      "largest labeling job",
	"labeling.max_items_per_day":                      "items sent to humans per UTC day",
	"labeling.near_duplicate_similarity":              "cosine similarity above which two items of a job count as one",
	"labeling.keep_labeled_data":                      "keep human labels when their source is deleted",
	"labeling.redact":                                 "personal data replaced before a chunk is shown to labelers",
	"labeling.redact.emails":                          "email addresses",
	"labeling.redact.phones":                          "phone numbers",
	"labeling.redact.cards":                           "payment card numbers (Luhn-checked)",
	"labeling.redact.ibans":                           "IBANs (mod-97 checked)",
	"labeling.redact.ssns":                            "US social security numbers",
	"labeling.redact.ips":                             "IPv4 and IPv6 addresses",
	"labeling.ground_truth":                           "how labeling jobs run",
	"labeling.ground_truth.job_prefix":                "start of every job name",
	"labeling.ground_truth.workteam_arn":              "private or vendor workteam (or the public one)",
	"labeling.ground_truth.role_arn":                  "execution role Ground Truth assumes (reads the manifest, writes the output)",
	"labeling.ground_truth.task_price_usd":            "price per task for the public workforce (ignored for private workteams)",
	"labeling.ground_truth.free_of_pii":               "your declaration that labelers' text holds no personal data (required by the public workforce; redaction cannot find names)",
	"labeling.ground_truth.workers_per_object":        "workers who label each item",
	"labeling.ground_truth.task_time_limit_seconds":   "time a worker has for one task",
	"labeling.ground_truth.task_availability_seconds": "time a task stays available to workers",
	"labeling.ground_truth.max_concurrent_tasks":      "tasks offered at once",
	"labeling.ground_truth.max_runtime_seconds":       "longest a job runs",
	"labeling.ground_truth.task_title":                "title workers see",
	"labeling.ground_truth.task_description":          "description workers see",
	"labeling.ground_truth.task_keywords":             "keywords workers can search",
	"labeling.ground_truth.dispatch_interval_seconds": "how often the worker sends pending items as a job",
	"labeling.ground_truth.kms_key_id":                "KMS key for the job's output",
	"worker":                                          "docingest worker: the SQS consumer",
	"worker.queue_url":                                "SQS queue of S3 event notifications (or --queue-url)",
	"worker.max_in_flight":                            "messages processed at once; a slot is taken before each ReceiveMessage",
	"worker.wait_time":                                "long-poll time of ReceiveMessage (at most 20s)",
	"worker.visibility_timeout":                       "visibility set on receive and renewed by the heartbeat while a document is processed",
	"worker.heartbeat":                                "how often the visibility of a message in progress is renewed (below visibility_timeout)",
	"worker.backoff_base":                             "visibility after a first transient failure; doubles per receive",
	"worker.backoff_max":                              "largest back-off visibility",
	"worker.drain_timeout":                            "on SIGTERM, how long messages in flight may finish before they are cancelled (and redelivered)",
	"worker.metrics_addr":                             "address of /metrics, /healthz and /readyz (empty: off)",
	"worker.pprof":                                    "also serve /debug/pprof/ on metrics_addr (unauthenticated: only where the port is private)",
	"aws":                                             "AWS clients: credentials and region come from the SDK's default chain",
	"aws.region":                                      "region (default: the SDK's chain, AWS_REGION)",
	"aws.s3_endpoint":                                 "S3 endpoint for S3-compatible servers (AWS_ENDPOINT_URL_S3 works too)",
	"aws.sqs_endpoint":                                "SQS endpoint (AWS_ENDPOINT_URL_SQS works too)",
	"aws.s3_path_style":                               "path-style S3 addressing, needed by most S3-compatible servers",
	"aws.kms_key_id":                                  "SSE-KMS key for outputs written to S3 (empty: bucket default)",
	"log":                                             "logs go to standard error",
	"log.level":                                       "debug | info | warn | error",
	"log.format":                                      "text | json",
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
