package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/docingest/docingest/chunkers"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/extractors/ocr"
	"github.com/docingest/docingest/internal/configfile"
	"github.com/docingest/docingest/labeling"
	"github.com/docingest/docingest/review"
	"github.com/docingest/docingest/vectorindex"
	"github.com/docingest/docingest/worker"
)

// Config is the whole configuration file. Each section belongs to the package that reads
// it (its keys, defaults, documentation and Validate live there); only the aws and log
// sections, which this command reads itself, are declared here. Keys are snake_case; every
// key can be set from the environment as DOCINGEST_<PATH> with "." as "_"
// (DOCINGEST_CHUNKING_MAX_SIZE=400, DOCINGEST_LABELING_GROUND_TRUTH_ROLE_ARN=...), and
// flags win over the environment, which wins over the file, which wins over the defaults.
type Config struct {
	Run       worker.RunConfig  `yaml:"run" doc:"docingest run and reindex"`
	Limits    extractors.Config `yaml:"limits" doc:"per-document caps: a document over one is recorded in failed/ and the run goes on"`
	OCR       ocr.Config        `yaml:"ocr" doc:"reading scanned PDFs and images with Tesseract (run as children under the PDF child's caps)"`
	Chunking  chunkers.Settings `yaml:"chunking" doc:"how text is cut into chunks"`
	Embedding embedders.Config  `yaml:"embedding" doc:"how chunks are embedded"`
	Labeling  labeling.Config   `yaml:"labeling" doc:"classification of chunks; uncertain ones, and an audit sample, go to people: local jobs labeled in docingest review, or SageMaker Ground Truth"`
	Review    review.Config     `yaml:"review" doc:"docingest review: the labeling web app"`
	Worker    worker.Config     `yaml:"worker" doc:"docingest worker: the SQS consumer"`
	Output    OutputConfig      `yaml:"output" doc:"where outputs go besides the output prefix"`
	AWS       AWSConfig         `yaml:"aws" doc:"AWS clients: credentials and region come from the SDK's default chain"`
	Log       LogConfig         `yaml:"log" doc:"logs go to standard error"`
}

// AWSConfig is how AWS clients are built.
type AWSConfig struct {
	Region      string `yaml:"region" doc:"region (default: the SDK's chain, AWS_REGION)"`
	S3Endpoint  string `yaml:"s3_endpoint" doc:"S3 endpoint for S3-compatible servers (AWS_ENDPOINT_URL_S3 works too)"`
	SQSEndpoint string `yaml:"sqs_endpoint" doc:"SQS endpoint (AWS_ENDPOINT_URL_SQS works too; default for the worker: the queue URL's own host when it is not an AWS one)"`
	S3PathStyle bool   `yaml:"s3_path_style" doc:"path-style S3 addressing, needed by most S3-compatible servers"`
	KMSKeyID    string `yaml:"kms_key_id" doc:"SSE-KMS key for outputs written to S3 (empty: bucket default)"`
}

// OutputConfig is the output section: a vector index the embeddings also go to.
type OutputConfig struct {
	ChunksFormat string `yaml:"chunks_format" doc:"jsonl | parquet: the format of each source's chunk file, chunks/<source>.jsonl or .parquet (zstd; a third of the size with 384-dimension vectors)"`
	VectorIndex  string `yaml:"vector_index" doc:"s3vectors://<vector bucket>/<index>: every committed chunk's embedding is upserted there, removed and re-chunked sources' vectors deleted (empty: none)"`
	// VectorWritesPerSecond is this process's share of the index's write quota.
	VectorWritesPerSecond int `yaml:"vector_writes_per_second" doc:"vectors this process writes (upserts plus deletes) per second at most: an index takes 2,500 in all, so with several workers give each its share (0: 2,500)"`
}

// LogConfig is where and how logs are written.
type LogConfig struct {
	Level  string `yaml:"level" doc:"debug | info | warn | error"`
	Format string `yaml:"format" doc:"text | json (default: text for the commands, json for the worker)"`
}

// DefaultConfig holds the defaults of ARCHITECTURE.md ("Configuration").
func DefaultConfig() Config {
	return Config{
		Run:       worker.DefaultRunConfig(),
		Limits:    extractors.DefaultConfig(),
		OCR:       ocr.DefaultConfig(),
		Chunking:  chunkers.DefaultSettings(),
		Embedding: embedders.DefaultConfig(),
		Labeling:  labeling.DefaultConfig(),
		Review:    review.DefaultConfig(),
		Worker:    worker.DefaultConfig(),
		Output:    OutputConfig{ChunksFormat: worker.ChunksJSONL},
		Log:       LogConfig{Level: "info"},
	}
}

// Validate rejects bad values up front, naming every bad field.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, c.Run.Validate()...)
	errs = append(errs, c.Limits.Validate()...)
	errs = append(errs, c.OCR.Validate()...)
	errs = append(errs, c.Chunking.Validate()...)
	errs = append(errs, c.Embedding.Validate()...)
	errs = append(errs, c.Labeling.Validate()...)
	errs = append(errs, c.Review.Validate()...)
	errs = append(errs, c.Worker.Validate()...)
	if c.Output.ChunksFormat != worker.ChunksJSONL && c.Output.ChunksFormat != worker.ChunksParquet {
		errs = append(errs, fmt.Errorf("output.chunks_format: must be jsonl or parquet, got %q", c.Output.ChunksFormat))
	}
	if c.Output.VectorIndex != "" {
		if _, err := vectorindex.ParseLocation(c.Output.VectorIndex); err != nil {
			errs = append(errs, fmt.Errorf("output.vector_index: %w", err))
		}
	}
	if c.Output.VectorWritesPerSecond < 0 || c.Output.VectorWritesPerSecond > vectorindex.VectorsPerSecond {
		errs = append(errs, fmt.Errorf("output.vector_writes_per_second: must be between 0 and %d, got %d", vectorindex.VectorsPerSecond, c.Output.VectorWritesPerSecond))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		errs = append(errs, fmt.Errorf("log.level: must be debug, info, warn or error, got %q", c.Log.Level))
	}
	if c.Log.Format != "" && c.Log.Format != "text" && c.Log.Format != "json" {
		errs = append(errs, fmt.Errorf("log.format: must be text or json, got %q", c.Log.Format))
	}
	return errors.Join(errs...)
}

// envPrefix starts every configuration variable.
const envPrefix = "DOCINGEST_"

// ignoredEnv reports DOCINGEST_ variables that are not configuration keys: the file's
// path, the test harness's DOCINGEST_TEST_*, and what a parent passes to its PDF child.
func ignoredEnv(name string) bool {
	return name == "DOCINGEST_CONFIG" || strings.HasPrefix(name, "DOCINGEST_TEST_") || name == "DOCINGEST_CGROUP_PROCS"
}

// LoadConfig builds the configuration from defaults, the file (path, or DOCINGEST_CONFIG
// when path is empty) and the environment. Unknown keys and unknown DOCINGEST_ variables
// are errors.
func LoadConfig(path string, environ []string) (Config, error) {
	cfg := DefaultConfig()
	if path == "" {
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, "DOCINGEST_CONFIG="); ok {
				path = v
			}
		}
	}
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		defer f.Close()
		if err := configfile.Decode(f, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s:\n%w", path, err)
		}
	}
	if err := configfile.ApplyEnv(&cfg, envPrefix, environ, ignoredEnv); err != nil {
		return cfg, fmt.Errorf("environment:\n%w", err)
	}
	return cfg, nil
}
