package main

import (
	"errors"
	"fmt"
	"github.com/docingest/docingest/chunkers"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/labeling"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration file. Keys are snake_case; every key can be set from
// the environment as DOCINGEST_<SECTION>_<KEY> (DOCINGEST_CHUNKING_MAX_SIZE=400), and flags
// win over the environment, which wins over the file, which wins over the defaults.
type Config struct {
	Run       RunConfig       `yaml:"run"`
	Limits    LimitsConfig    `yaml:"limits"`
	Chunking  ChunkingConfig  `yaml:"chunking"`
	Embedding EmbeddingConfig `yaml:"embedding"`
	Labeling  labeling.Config `yaml:"labeling"`
	Worker    WorkerConfig    `yaml:"worker"`
	AWS       AWSConfig       `yaml:"aws"`
	Log       LogConfig       `yaml:"log"`
}

type WorkerConfig struct {
	QueueURL          string   `yaml:"queue_url"`
	MaxInFlight       int      `yaml:"max_in_flight"`
	WaitTime          Duration `yaml:"wait_time"`
	VisibilityTimeout Duration `yaml:"visibility_timeout"`
	Heartbeat         Duration `yaml:"heartbeat"`
	BackoffBase       Duration `yaml:"backoff_base"`
	BackoffMax        Duration `yaml:"backoff_max"`
	DrainTimeout      Duration `yaml:"drain_timeout"`
	MetricsAddr       string   `yaml:"metrics_addr"`
	// Pprof serves /debug/pprof/ beside the metrics: off by default, since profiles and
	// traces are served to anyone who can reach the port.
	Pprof bool `yaml:"pprof"`
}

type AWSConfig struct {
	// Region overrides the SDK's region chain.
	Region string `yaml:"region"`
	// S3Endpoint and SQSEndpoint override the endpoints (AWS_ENDPOINT_URL_S3 and
	// AWS_ENDPOINT_URL_SQS, read by the SDK itself, do the same).
	S3Endpoint  string `yaml:"s3_endpoint"`
	SQSEndpoint string `yaml:"sqs_endpoint"`
	// S3PathStyle selects path-style addressing (most S3-compatible servers need it).
	S3PathStyle bool `yaml:"s3_path_style"`
	// KMSKeyID encrypts outputs with SSE-KMS under this key.
	KMSKeyID string `yaml:"kms_key_id"`
}

type RunConfig struct {
	// Concurrency is how many documents are processed at once.
	Concurrency int `yaml:"concurrency"`
	// MemoryPerDocument is the Go runtime's soft memory limit per document in flight (0:
	// the runtime's default, GOGC only). GOMEMLIMIT, when set, wins.
	MemoryPerDocument ByteSize `yaml:"memory_per_document"`
}

type LimitsConfig struct {
	MaxObjectBytes    ByteSize `yaml:"max_object_bytes"`
	MaxPages          int      `yaml:"max_pages"`
	MaxTextBytes      ByteSize `yaml:"max_text_bytes"`
	DocumentTimeout   Duration `yaml:"document_timeout"`
	PDFTimeoutBase    Duration `yaml:"pdf_timeout_base"`
	PDFTimeoutPerPage Duration `yaml:"pdf_timeout_per_page"`
	// PDFIsolation runs PDF extraction in a child process (killed at the time limit or
	// the memory cap); false runs it in process.
	PDFIsolation bool `yaml:"pdf_isolation"`
	// PDFMemoryBytes caps the resident memory of a PDF child.
	PDFMemoryBytes ByteSize `yaml:"pdf_memory_bytes"`
	// PDFBackend is ledongthuc (the default: github.com/ledongthuc/pdf with docingest's
	// layout reconstruction) or pdfium (PDFium in WebAssembly: Google's reader, but
	// 0.3-0.9 GB per instance and a few seconds to start); PDFiumMemoryBytes caps its child.
	PDFBackend        string   `yaml:"pdf_backend"`
	PDFiumMemoryBytes ByteSize `yaml:"pdfium_memory_bytes"`
	// PDFCgroup gives each PDF child a memory cgroup capped at its memory cap, so the
	// kernel enforces it: auto (where this process may make one: its own memory cgroup,
	// v1 or v2; else its resident memory is polled), off, or the directory of a
	// delegated cgroup (an error at start-up when it cannot be used).
	PDFCgroup string `yaml:"pdf_cgroup"`
}

type ChunkingConfig struct {
	// Strategy is auto (markdown for Markdown documents, recursive for the others),
	// fixed, recursive, sentence, markdown, semantic or hierarchical.
	Strategy string `yaml:"strategy"`
	// Unit is tokens (the embedder's own tokenizer), chars (Unicode code points) or
	// wordpiece (BERT uncased WordPiece pieces, for chunks meant for a BERT-family model).
	Unit    string `yaml:"unit"`
	MaxSize int    `yaml:"max_size"`
	Overlap int    `yaml:"overlap"`
	// Semantic strategy: sentences on each side in the embedded window, and the
	// breakpoint rule (percentile, standard_deviation or interquartile) with its amount
	// (0: the mode's default, 95, 3 or 1.5).
	SemanticBuffer          int     `yaml:"semantic_buffer_size"`
	SemanticThreshold       string  `yaml:"semantic_threshold"`
	SemanticThresholdAmount float64 `yaml:"semantic_threshold_amount"`
	// Hierarchical strategy: the parents' size and overlap (children use max_size and
	// overlap).
	ParentSize    int `yaml:"parent_size"`
	ParentOverlap int `yaml:"parent_overlap"`
	// Overrides pick another strategy (and optionally sizes) for sources under a key
	// prefix; the longest matching prefix wins.
	Overrides []ChunkingOverride `yaml:"overrides"`
}

// ChunkingOverride applies to sources whose key starts with Prefix (the key as it appears
// in the output layout: bucket/key for S3 sources, the relative path for local ones).
type ChunkingOverride struct {
	Prefix   string `yaml:"prefix"`
	Strategy string `yaml:"strategy"`
	MaxSize  int    `yaml:"max_size,omitempty"`
	Overlap  *int   `yaml:"overlap,omitempty"`
}

// sizes returns the override's max size and overlap, inheriting what it leaves out.
func (o ChunkingOverride) sizes(c ChunkingConfig) (int, int) {
	size, overlap := c.MaxSize, c.Overlap
	if o.MaxSize != 0 {
		size = o.MaxSize
		overlap = min(overlap, size-1)
	}
	if o.Overlap != nil {
		overlap = *o.Overlap
	}
	return size, overlap
}

// semantic returns the semantic strategy's settings.
func (c ChunkingConfig) semantic() chunkers.SemanticConfig {
	sc := chunkers.DefaultSemantic()
	sc.Buffer, sc.Threshold = c.SemanticBuffer, c.SemanticThreshold
	sc.Amount = c.SemanticThresholdAmount
	if sc.Amount == 0 {
		sc.Amount = chunkers.DefaultAmount(sc.Threshold)
	}
	return sc
}

type EmbeddingConfig struct {
	// Provider is hashing (the local lexical default), bedrock, sagemaker or onnx.
	Provider string `yaml:"provider"`
	// Dimensions of the hashing embedder's vectors, or of Titan Text Embeddings V2's
	// (256, 512 or 1024).
	Dimensions   int `yaml:"dimensions"`
	CharNgramMin int `yaml:"char_ngram_min"`
	CharNgramMax int `yaml:"char_ngram_max"`
	// BatchSize is how many chunks go to the embedder per call.
	BatchSize int `yaml:"batch_size"`
	// Model is the Bedrock model id (amazon.titan-embed-text-v2:0, cohere.embed-english-v3,
	// cohere.embed-multilingual-v3), or the name of the model a SageMaker endpoint serves.
	Model string `yaml:"model"`
	// Normalize asks Titan for unit vectors; InputType is Cohere's input_type.
	Normalize bool   `yaml:"normalize"`
	InputType string `yaml:"input_type"`
	// Endpoint is the SageMaker endpoint name; Format its request shape (tei or
	// jumpstart); MaxTokens its model's input limit; Tokenizer how chunks are sized for
	// it (wordpiece for BERT-family models, or estimate).
	Endpoint  string `yaml:"endpoint"`
	Format    string `yaml:"format"`
	MaxTokens int    `yaml:"max_tokens"`
	Tokenizer string `yaml:"tokenizer"`
	// Concurrency is how many model requests run at once; MaxAttempts bounds the retries
	// of a throttled or failed request (with exponential back-off up to MaxBackoff).
	Concurrency int      `yaml:"concurrency"`
	MaxAttempts int      `yaml:"max_attempts"`
	MaxBackoff  Duration `yaml:"max_backoff"`
	// ModelDir is an ONNX sentence-transformer folder (model.onnx, tokenizer.json or
	// vocab.txt); OnnxLibrary the onnxruntime shared library.
	ModelDir    string `yaml:"model_dir"`
	OnnxLibrary string `yaml:"onnx_library"`
	// Cache is auto (on for every provider but hashing, which is cheaper than a read),
	// on or off: vectors kept under cache/embeddings/ by model and text hash.
	Cache string `yaml:"cache"`
}

type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// DefaultConfig holds the defaults of ARCHITECTURE.md ("Configuration").
func DefaultConfig() Config {
	return Config{
		Run: RunConfig{Concurrency: 4, MemoryPerDocument: 160 << 20},
		Limits: LimitsConfig{
			MaxObjectBytes:    100 << 20,
			MaxPages:          5000,
			MaxTextBytes:      50 << 20,
			DocumentTimeout:   Duration(120 * time.Second),
			PDFTimeoutBase:    Duration(30 * time.Second),
			PDFTimeoutPerPage: Duration(50 * time.Millisecond),
			PDFIsolation:      true,
			PDFMemoryBytes:    256 << 20,
			PDFBackend:        "ledongthuc",
			PDFiumMemoryBytes: 2 << 30,
			PDFCgroup:         "auto",
		},
		Chunking: ChunkingConfig{Strategy: "auto", Unit: "tokens", MaxSize: 256, Overlap: 32,
			SemanticBuffer: 1, SemanticThreshold: "percentile", ParentSize: 1024, ParentOverlap: 0, Overrides: []ChunkingOverride{}},
		Embedding: EmbeddingConfig{Provider: "hashing", Dimensions: 384, CharNgramMin: 3, CharNgramMax: 5, BatchSize: 64,
			Normalize: true, InputType: "search_document", Format: "tei", MaxTokens: 512, Tokenizer: "estimate",
			Concurrency: 4, MaxAttempts: 10, MaxBackoff: Duration(20 * time.Second), Cache: "auto"},
		Worker: WorkerConfig{
			MaxInFlight: 4, WaitTime: Duration(20 * time.Second), VisibilityTimeout: Duration(5 * time.Minute),
			Heartbeat: Duration(time.Minute), BackoffBase: Duration(10 * time.Second), BackoffMax: Duration(15 * time.Minute),
			DrainTimeout: Duration(2 * time.Minute), MetricsAddr: ":9090",
		},
		Labeling: labeling.DefaultConfig(),
		Log:      LogConfig{Level: "info", Format: "text"},
	}
}

var strategies = []string{"auto", "fixed", "recursive", "sentence", "markdown", "semantic", "hierarchical"}

// Validate rejects bad values up front, naming the field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Run.Concurrency < 1 || c.Run.Concurrency > 1024 {
		bad("run.concurrency", "must be between 1 and 1024, got %d", c.Run.Concurrency)
	}
	if c.Run.MemoryPerDocument < 0 {
		bad("run.memory_per_document", "must not be negative, got %d", c.Run.MemoryPerDocument)
	}
	if c.Limits.MaxObjectBytes < 1 {
		bad("limits.max_object_bytes", "must be positive, got %d", c.Limits.MaxObjectBytes)
	}
	if c.Limits.MaxPages < 1 {
		bad("limits.max_pages", "must be positive, got %d", c.Limits.MaxPages)
	}
	if c.Limits.MaxTextBytes < 1 {
		bad("limits.max_text_bytes", "must be positive, got %d", c.Limits.MaxTextBytes)
	}
	if c.Limits.DocumentTimeout <= 0 {
		bad("limits.document_timeout", "must be positive, got %s", c.Limits.DocumentTimeout)
	}
	if c.Limits.PDFTimeoutBase <= 0 {
		bad("limits.pdf_timeout_base", "must be positive, got %s", c.Limits.PDFTimeoutBase)
	}
	if c.Limits.PDFBackend != "ledongthuc" && c.Limits.PDFBackend != "pdfium" {
		bad("limits.pdf_backend", "must be ledongthuc or pdfium, got %q", c.Limits.PDFBackend)
	}
	if p := c.Limits.PDFCgroup; p != "auto" && p != "off" && !filepath.IsAbs(p) {
		bad("limits.pdf_cgroup", "must be auto, off or an absolute cgroup directory, got %q", p)
	}
	if c.Limits.PDFBackend == "pdfium" && c.Limits.PDFiumMemoryBytes < 512<<20 {
		bad("limits.pdfium_memory_bytes", "must be at least 512MiB (PDFium takes 0.3-0.9 GB), got %d", c.Limits.PDFiumMemoryBytes)
	}
	if c.Limits.PDFIsolation && c.Limits.PDFMemoryBytes < 32<<20 {
		bad("limits.pdf_memory_bytes", "must be at least 32MiB, got %d", c.Limits.PDFMemoryBytes)
	}
	if c.Limits.PDFTimeoutPerPage < 0 {
		bad("limits.pdf_timeout_per_page", "must not be negative, got %s", c.Limits.PDFTimeoutPerPage)
	}
	if !contains(strategies, c.Chunking.Strategy) {
		bad("chunking.strategy", "must be one of %s, got %q", strings.Join(strategies, ", "), c.Chunking.Strategy)
	}
	if c.Chunking.Unit != "tokens" && c.Chunking.Unit != "chars" && c.Chunking.Unit != "wordpiece" {
		bad("chunking.unit", "must be tokens, chars or wordpiece, got %q", c.Chunking.Unit)
	}
	if c.Chunking.MaxSize < 1 {
		bad("chunking.max_size", "must be at least 1, got %d", c.Chunking.MaxSize)
	}
	if c.Chunking.Overlap < 0 || (c.Chunking.MaxSize >= 1 && c.Chunking.Overlap >= c.Chunking.MaxSize) {
		bad("chunking.overlap", "must be at least 0 and below chunking.max_size (%d), got %d", c.Chunking.MaxSize, c.Chunking.Overlap)
	}
	if err := c.Chunking.semantic().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("chunking.semantic_%w", err))
	}
	if c.Chunking.ParentSize <= c.Chunking.MaxSize {
		bad("chunking.parent_size", "must be above chunking.max_size (%d), got %d", c.Chunking.MaxSize, c.Chunking.ParentSize)
	}
	if c.Chunking.ParentOverlap < 0 || c.Chunking.ParentOverlap >= c.Chunking.ParentSize {
		bad("chunking.parent_overlap", "must be at least 0 and below chunking.parent_size (%d), got %d", c.Chunking.ParentSize, c.Chunking.ParentOverlap)
	}
	for i, o := range c.Chunking.Overrides {
		field := fmt.Sprintf("chunking.overrides[%d]", i)
		if o.Prefix == "" {
			bad(field+".prefix", "must not be empty")
		}
		if !contains(strategies, o.Strategy) {
			bad(field+".strategy", "must be one of %s, got %q", strings.Join(strategies, ", "), o.Strategy)
		}
		size, overlap := o.sizes(c.Chunking)
		if size < 1 {
			bad(field+".max_size", "must be at least 1, got %d", size)
		}
		if overlap < 0 || overlap >= size {
			bad(field+".overlap", "must be at least 0 and below its max_size (%d), got %d", size, overlap)
		}
	}
	e := c.Embedding
	switch e.Provider {
	case "hashing":
		if e.Dimensions < 8 || e.Dimensions > 65536 {
			bad("embedding.dimensions", "must be between 8 and 65536, got %d", e.Dimensions)
		}
	case "bedrock":
		if err := (embedders.BedrockConfig{ModelID: e.Model, Dimensions: e.Dimensions, InputType: e.InputType, Concurrency: e.Concurrency}).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("embedding.%w", err))
		}
	case "sagemaker":
		if err := (embedders.SageMakerConfig{Endpoint: e.Endpoint, Format: e.Format, Model: e.Model, Batch: e.BatchSize, Concurrency: e.Concurrency, MaxTokens: e.MaxTokens}).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("embedding.%w", err))
		}
		if e.Tokenizer != "wordpiece" && e.Tokenizer != "estimate" {
			bad("embedding.tokenizer", "must be wordpiece or estimate, got %q", e.Tokenizer)
		}
	case "onnx":
		if e.ModelDir == "" {
			bad("embedding.model_dir", "required for the onnx provider: a folder with model.onnx and tokenizer.json or vocab.txt")
		}
	default:
		bad("embedding.provider", "must be hashing, bedrock, sagemaker or onnx, got %q", e.Provider)
	}
	if e.MaxAttempts < 1 || e.MaxAttempts > 100 {
		bad("embedding.max_attempts", "must be between 1 and 100, got %d", e.MaxAttempts)
	}
	if e.Cache != "auto" && e.Cache != "on" && e.Cache != "off" {
		bad("embedding.cache", "must be auto, on or off, got %q", e.Cache)
	}
	errs = append(errs, c.Labeling.Validate()...)
	if c.Embedding.CharNgramMin < 1 || c.Embedding.CharNgramMax < c.Embedding.CharNgramMin || c.Embedding.CharNgramMax > 16 {
		bad("embedding.char_ngram_min", "need 1 <= char_ngram_min <= char_ngram_max <= 16, got %d and %d", c.Embedding.CharNgramMin, c.Embedding.CharNgramMax)
	}
	if c.Embedding.BatchSize < 1 {
		bad("embedding.batch_size", "must be at least 1, got %d", c.Embedding.BatchSize)
	}
	w := c.Worker
	if w.MaxInFlight < 1 || w.MaxInFlight > 1024 {
		bad("worker.max_in_flight", "must be between 1 and 1024, got %d", w.MaxInFlight)
	}
	if w.WaitTime < 0 || w.WaitTime.D() > 20*time.Second {
		bad("worker.wait_time", "must be between 0 and 20s, got %s", w.WaitTime)
	}
	if w.VisibilityTimeout.D() < time.Second || w.VisibilityTimeout.D() > 12*time.Hour {
		bad("worker.visibility_timeout", "must be between 1s and 12h, got %s", w.VisibilityTimeout)
	}
	if w.Heartbeat <= 0 || w.Heartbeat >= w.VisibilityTimeout {
		bad("worker.heartbeat", "must be positive and below worker.visibility_timeout (%s), got %s", w.VisibilityTimeout, w.Heartbeat)
	}
	if w.BackoffBase <= 0 || w.BackoffMax < w.BackoffBase {
		bad("worker.backoff_base", "need 0 < backoff_base <= backoff_max, got %s and %s", w.BackoffBase, w.BackoffMax)
	}
	if w.DrainTimeout < 0 {
		bad("worker.drain_timeout", "must not be negative, got %s", w.DrainTimeout)
	}
	if !contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// LoadConfig builds the configuration from defaults, the file (path, or DOCINGEST_CONFIG
// when path is empty) and the environment. Unknown keys in the file are errors.
func LoadConfig(path string, environ []string) (Config, error) {
	cfg := DefaultConfig()
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	if path == "" {
		path = env["DOCINGEST_CONFIG"]
	}
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		defer f.Close()
		dec := yaml.NewDecoder(f)
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && err.Error() != "EOF" {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, env); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// applyEnv sets every field named by a DOCINGEST_<SECTION>_<KEY> variable.
func applyEnv(cfg *Config, env map[string]string) error {
	root := reflect.ValueOf(cfg).Elem()
	for i := 0; i < root.NumField(); i++ {
		section := root.Type().Field(i).Tag.Get("yaml")
		sv := root.Field(i)
		for j := 0; j < sv.NumField(); j++ {
			key := sv.Type().Field(j).Tag.Get("yaml")
			name := "DOCINGEST_" + strings.ToUpper(section+"_"+key)
			val, ok := env[name]
			if !ok {
				continue
			}
			if err := yaml.Unmarshal([]byte(val), sv.Field(j).Addr().Interface()); err != nil {
				return fmt.Errorf("%s (%s.%s): %w", name, section, key, err)
			}
		}
	}
	return nil
}

// Duration is a time.Duration written as "120s" in YAML.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (like 30s or 2m)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// ByteSize is a byte count written as 104857600, "100MiB", "50MB" or "64KiB".
type ByteSize int64

func (b ByteSize) MarshalYAML() (any, error) {
	for _, u := range []struct {
		s string
		n int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if int64(b) >= u.n && int64(b)%u.n == 0 {
			return fmt.Sprintf("%d%s", int64(b)/u.n, u.s), nil
		}
	}
	return int64(b), nil
}

func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = ByteSize(v)
	return nil
}

// ParseByteSize reads "123", "10KiB", "5MiB", "1GiB", "10kB", "5MB", "1GB".
func ParseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		s string
		n int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}, {"KB", 1e3}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.s) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.s)), u.n
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a byte size (like 104857600 or 100MiB)", s)
	}
	return v * mult, nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
