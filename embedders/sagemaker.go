package embedders

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"golang.org/x/sync/errgroup"
)

// EndpointInvoker is the one call the SageMaker embedder makes.
type EndpointInvoker interface {
	InvokeEndpoint(ctx context.Context, in *sagemakerruntime.InvokeEndpointInput, opts ...func(*sagemakerruntime.Options)) (*sagemakerruntime.InvokeEndpointOutput, error)
}

// Request and response shapes of the common embedding containers.
const (
	// FormatTEI is Hugging Face text-embeddings-inference: {"inputs": [...]} → [[...], ...].
	FormatTEI = "tei"
	// FormatJumpStart is the SageMaker JumpStart text-embedding containers:
	// {"text_inputs": [...], "mode": "embedding"} → {"embedding": [[...], ...]}.
	FormatJumpStart = "jumpstart"
)

// SageMakerConfig selects a real-time endpoint.
type SageMakerConfig struct {
	Endpoint string
	// Format is tei or jumpstart.
	Format string
	// Model names what the endpoint serves, for the embedding_model of each chunk (the
	// endpoint name alone does not change when its model does).
	Model string
	// Batch is how many texts go in one request; Concurrency how many requests run at once.
	Batch       int
	Concurrency int
	// MaxTokens is the model's input limit in its own tokens (512 for BERT-family models).
	MaxTokens int
}

// Validate names the bad field.
func (c SageMakerConfig) Validate() error {
	switch {
	case c.Endpoint == "":
		return fmt.Errorf("endpoint: required")
	case c.Format != FormatTEI && c.Format != FormatJumpStart:
		return fmt.Errorf("format: must be %s or %s, got %q", FormatTEI, FormatJumpStart, c.Format)
	case c.Model == "":
		return fmt.Errorf("model: name the model the endpoint serves (it goes into every chunk record)")
	case c.Batch < 1 || c.Batch > 1024:
		return fmt.Errorf("batch_size: must be between 1 and 1024, got %d", c.Batch)
	case c.Concurrency < 1 || c.Concurrency > 256:
		return fmt.Errorf("concurrency: must be between 1 and 256, got %d", c.Concurrency)
	case c.MaxTokens < 8:
		return fmt.Errorf("max_tokens: must be at least 8, got %d", c.MaxTokens)
	}
	return nil
}

// SageMaker embeds through a SageMaker real-time endpoint's InvokeEndpoint.
type SageMaker struct {
	cfg    SageMakerConfig
	client EndpointInvoker
}

// NewSageMaker checks the configuration and returns the embedder.
func NewSageMaker(client EndpointInvoker, cfg SageMakerConfig) (*SageMaker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &SageMaker{cfg: cfg, client: client}, nil
}

// Model names the served model and the request shape.
func (s *SageMaker) Model() string { return fmt.Sprintf("sagemaker:%s/%s", s.cfg.Model, s.cfg.Format) }

// MaxTokens is the model's input limit.
func (s *SageMaker) MaxTokens() int { return s.cfg.MaxTokens }

func (s *SageMaker) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for at := 0; at < len(texts); at += s.cfg.Batch {
		part := texts[at:min(len(texts), at+s.cfg.Batch)]
		g.Go(func() error {
			vs, err := s.call(gctx, part)
			copy(out[at:], vs)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	dim := -1
	for i, v := range out {
		if dim >= 0 && len(v) != dim || len(v) == 0 {
			return nil, fmt.Errorf("sagemaker %s: vector %d has %d dimensions, the others %d", s.cfg.Endpoint, i, len(v), dim)
		}
		dim = len(v)
	}
	return out, nil
}

func (s *SageMaker) call(ctx context.Context, texts []string) ([][]float32, error) {
	var req any = map[string]any{"inputs": texts}
	if s.cfg.Format == FormatJumpStart {
		req = map[string]any{"text_inputs": texts, "mode": "embedding"}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	res, err := s.client.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
		EndpointName: aws.String(s.cfg.Endpoint),
		Body:         body,
		ContentType:  aws.String("application/json"),
		Accept:       aws.String("application/json"),
	})
	if err != nil {
		return nil, classifyAWS("sagemaker InvokeEndpoint "+s.cfg.Endpoint, err)
	}
	var vecs [][]float32
	dec := json.NewDecoder(bytes.NewReader(res.Body))
	if s.cfg.Format == FormatJumpStart {
		var r struct {
			Embedding [][]float32 `json:"embedding"`
		}
		err = dec.Decode(&r)
		vecs = r.Embedding
	} else {
		err = dec.Decode(&vecs)
	}
	if err != nil {
		return nil, fmt.Errorf("sagemaker %s: unexpected response for format %s: %w", s.cfg.Endpoint, s.cfg.Format, err)
	}
	if len(vecs) != len(texts) {
		return nil, fmt.Errorf("sagemaker %s: %d embeddings for %d texts", s.cfg.Endpoint, len(vecs), len(texts))
	}
	return vecs, nil
}
