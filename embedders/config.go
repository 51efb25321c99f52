package embedders

import (
	"fmt"
	"time"

	"github.com/docingest/docingest/internal/units"
)

// Providers are the embedders the embedding section can name.
const (
	ProviderHashing   = "hashing"
	ProviderBedrock   = "bedrock"
	ProviderSageMaker = "sagemaker"
	ProviderONNX      = "onnx"
)

// Config is the embedding section of the configuration file: which embedder, with its
// settings, and whether vectors are cached.
type Config struct {
	Provider     string         `yaml:"provider" doc:"hashing (local: signed feature hashing of words and character n-grams, deterministic, lexical rather than neural) | bedrock | sagemaker | onnx"`
	Dimensions   int            `yaml:"dimensions" doc:"vector size (hashing; Titan Text Embeddings V2: 256, 512 or 1024)"`
	CharNgramMin int            `yaml:"char_ngram_min" doc:"hashing: shortest character n-gram hashed from each word"`
	CharNgramMax int            `yaml:"char_ngram_max" doc:"hashing: longest character n-gram hashed from each word"`
	BatchSize    int            `yaml:"batch_size" doc:"chunks per embedder call"`
	Model        string         `yaml:"model" doc:"bedrock: model id (amazon.titan-embed-text-v2:0, cohere.embed-english-v3, cohere.embed-multilingual-v3); sagemaker: the model's name, recorded with the vectors"`
	Normalize    bool           `yaml:"normalize" doc:"bedrock Titan: ask for unit vectors"`
	InputType    string         `yaml:"input_type" doc:"bedrock Cohere: input_type (search_document, search_query, classification, clustering)"`
	Endpoint     string         `yaml:"endpoint" doc:"sagemaker: endpoint name"`
	Format       string         `yaml:"format" doc:"sagemaker: request shape, tei | jumpstart"`
	MaxTokens    int            `yaml:"max_tokens" doc:"sagemaker: the model's input limit in tokens (chunks larger are refused at start-up)"`
	Tokenizer    string         `yaml:"tokenizer" doc:"sagemaker: how chunks are sized for the model, wordpiece (BERT family) | estimate"`
	Concurrency  int            `yaml:"concurrency" doc:"model requests at once (bedrock, sagemaker)"`
	MaxAttempts  int            `yaml:"max_attempts" doc:"attempts of a throttled or failed model request, with exponential back-off"`
	MaxBackoff   units.Duration `yaml:"max_backoff" doc:"longest wait between attempts"`
	ModelDir     string         `yaml:"model_dir" doc:"onnx: sentence-transformer folder (model.onnx, tokenizer.json or vocab.txt)"`
	OnnxLibrary  string         `yaml:"onnx_library" doc:"onnx: path of the onnxruntime shared library"`
	Cache        string         `yaml:"cache" doc:"auto (on for every provider but hashing, which is cheaper than a read) | on | off: vectors kept under cache/embeddings/ by model and text hash"`
}

// DefaultConfig is the local hashing embedder, with the settings the others would use.
func DefaultConfig() Config {
	return Config{Provider: ProviderHashing, Dimensions: 384, CharNgramMin: 3, CharNgramMax: 5, BatchSize: 64,
		Normalize: true, InputType: "search_document", Format: "tei", MaxTokens: 512, Tokenizer: "estimate",
		Concurrency: 4, MaxAttempts: 10, MaxBackoff: units.Duration(20 * time.Second), Cache: "auto"}
}

// Cached reports whether vectors are cached under the output.
func (c Config) Cached() bool {
	return c.Cache == "on" || c.Cache == "auto" && c.Provider != ProviderHashing
}

// Bedrock returns the Bedrock embedder's settings.
func (c Config) Bedrock() BedrockConfig {
	return BedrockConfig{ModelID: c.Model, Dimensions: c.Dimensions, Normalize: c.Normalize, InputType: c.InputType, Concurrency: c.Concurrency}
}

// SageMaker returns the SageMaker endpoint embedder's settings.
func (c Config) SageMaker() SageMakerConfig {
	return SageMakerConfig{Endpoint: c.Endpoint, Format: c.Format, Model: c.Model, Batch: c.BatchSize, Concurrency: c.Concurrency, MaxTokens: c.MaxTokens}
}

// Validate names every bad field by its path in the configuration file.
func (c Config) Validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("embedding.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch c.Provider {
	case ProviderHashing:
		if c.Dimensions < 8 || c.Dimensions > 65536 {
			bad("dimensions", "must be between 8 and 65536, got %d", c.Dimensions)
		}
	case ProviderBedrock:
		if err := c.Bedrock().Validate(); err != nil {
			errs = append(errs, fmt.Errorf("embedding.%w", err))
		}
	case ProviderSageMaker:
		if err := c.SageMaker().Validate(); err != nil {
			errs = append(errs, fmt.Errorf("embedding.%w", err))
		}
		if c.Tokenizer != "wordpiece" && c.Tokenizer != "estimate" {
			bad("tokenizer", "must be wordpiece or estimate, got %q", c.Tokenizer)
		}
	case ProviderONNX:
		if c.ModelDir == "" {
			bad("model_dir", "required for the onnx provider: a folder with model.onnx and tokenizer.json or vocab.txt")
		}
	default:
		bad("provider", "must be hashing, bedrock, sagemaker or onnx, got %q", c.Provider)
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 100 {
		bad("max_attempts", "must be between 1 and 100, got %d", c.MaxAttempts)
	}
	if c.Cache != "auto" && c.Cache != "on" && c.Cache != "off" {
		bad("cache", "must be auto, on or off, got %q", c.Cache)
	}
	if c.CharNgramMin < 1 || c.CharNgramMax < c.CharNgramMin || c.CharNgramMax > 16 {
		bad("char_ngram_min", "need 1 <= char_ngram_min <= char_ngram_max <= 16, got %d and %d", c.CharNgramMin, c.CharNgramMax)
	}
	if c.BatchSize < 1 {
		bad("batch_size", "must be at least 1, got %d", c.BatchSize)
	}
	return errs
}
