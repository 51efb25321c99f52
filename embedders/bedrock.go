package embedders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go"
	"github.com/docingest/docingest/document"
	"golang.org/x/sync/errgroup"
)

// BedrockInvoker is the one call the Bedrock embedder makes.
type BedrockInvoker interface {
	InvokeModel(ctx context.Context, in *bedrockruntime.InvokeModelInput, opts ...func(*bedrockruntime.Options)) (*bedrockruntime.InvokeModelOutput, error)
}

// BedrockConfig selects a Bedrock embedding model.
type BedrockConfig struct {
	// ModelID: amazon.titan-embed-text-v2:0, or a Cohere Embed model
	// (cohere.embed-english-v3, cohere.embed-multilingual-v3).
	ModelID string
	// Dimensions for Titan Text Embeddings V2: 256, 512 or 1024.
	Dimensions int
	// Normalize asks Titan for unit vectors.
	Normalize bool
	// InputType for Cohere: search_document (what chunks are), search_query,
	// classification or clustering.
	InputType string
	// Concurrency is how many requests run at once for one Embed call.
	Concurrency int
}

// Model families the embedder knows the request and response shapes of.
const (
	familyTitan  = "titan"
	familyCohere = "cohere"
)

func bedrockFamily(id string) string {
	// inference profiles prefix the model id with a region group ("us.", "eu.")
	switch {
	case strings.Contains(id, "amazon.titan-embed-text-v2"):
		return familyTitan
	case strings.Contains(id, "cohere.embed-"):
		return familyCohere
	}
	return ""
}

// cohereMaxTexts is the most texts Cohere Embed takes per request.
const cohereMaxTexts = 96

// Validate names the bad field.
func (c BedrockConfig) Validate() error {
	switch bedrockFamily(c.ModelID) {
	case familyTitan:
		if c.Dimensions != 256 && c.Dimensions != 512 && c.Dimensions != 1024 {
			return fmt.Errorf("dimensions: Titan Text Embeddings V2 takes 256, 512 or 1024, got %d", c.Dimensions)
		}
	case familyCohere:
		switch c.InputType {
		case "search_document", "search_query", "classification", "clustering":
		default:
			return fmt.Errorf("input_type: must be search_document, search_query, classification or clustering, got %q", c.InputType)
		}
	default:
		return fmt.Errorf("model: %q is not a supported Bedrock embedding model (amazon.titan-embed-text-v2:0, cohere.embed-english-v3, cohere.embed-multilingual-v3)", c.ModelID)
	}
	if c.Concurrency < 1 || c.Concurrency > 256 {
		return fmt.Errorf("concurrency: must be between 1 and 256, got %d", c.Concurrency)
	}
	return nil
}

// Bedrock embeds through Bedrock's InvokeModel. Titan takes one text per request, so a
// batch becomes Concurrency requests at a time; Cohere takes up to 96 per request.
// Throttling and other transient errors are retried by the client's retryer (see
// BedrockRetryer); what is left is returned as a transient error, except a request the
// model rejects, which is permanent.
type Bedrock struct {
	cfg    BedrockConfig
	client BedrockInvoker
	family string
}

// NewBedrock checks the configuration and returns the embedder.
func NewBedrock(client BedrockInvoker, cfg BedrockConfig) (*Bedrock, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Bedrock{cfg: cfg, client: client, family: bedrockFamily(cfg.ModelID)}, nil
}

// Model names the model and every setting that changes its vectors, dimension included.
func (b *Bedrock) Model() string {
	if b.family == familyTitan {
		return fmt.Sprintf("bedrock:%s/d%d/norm=%t", b.cfg.ModelID, b.cfg.Dimensions, b.cfg.Normalize)
	}
	return fmt.Sprintf("bedrock:%s/%s", b.cfg.ModelID, b.cfg.InputType)
}

// Dimensions is the length of the model's vectors: Titan's configured dimension, 1024 for
// Cohere Embed v3.
func (b *Bedrock) Dimensions() int {
	if b.family == familyTitan {
		return b.cfg.Dimensions
	}
	return 1024
}

// MaxTokens is the longest input the model takes, in its own tokens.
func (b *Bedrock) MaxTokens() int {
	if b.family == familyTitan {
		return 8192
	}
	return 512
}

// BedrockRetryer is the retry policy for Bedrock clients: the SDK's standard retryer
// (throttling, 5xx and network errors, exponential back-off with jitter) with more
// attempts and a longer ceiling, because Bedrock throttles per account and model, and a
// model that is still loading is worth waiting for.
func BedrockRetryer(maxAttempts int, maxBackoff time.Duration) func() aws.Retryer {
	return func() aws.Retryer {
		r := retry.AddWithErrorCodes(retry.NewStandard(), "ModelNotReadyException", "ServiceUnavailableException")
		r = retry.AddWithMaxAttempts(r, maxAttempts)
		return retry.AddWithMaxBackoffDelay(r, maxBackoff)
	}
}

func (b *Bedrock) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.cfg.Concurrency)
	switch b.family {
	case familyTitan:
		for i, t := range texts {
			g.Go(func() error {
				v, err := b.titan(gctx, t)
				out[i] = v
				return err
			})
		}
	case familyCohere:
		for at := 0; at < len(texts); at += cohereMaxTexts {
			part := texts[at:min(len(texts), at+cohereMaxTexts)]
			g.Go(func() error {
				vs, err := b.cohere(gctx, part)
				copy(out[at:], vs)
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (b *Bedrock) invoke(ctx context.Context, body any, resp any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	res, err := b.client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
		ModelId:     aws.String(b.cfg.ModelID),
		Body:        payload,
		ContentType: aws.String("application/json"),
		Accept:      aws.String("application/json"),
	})
	if err != nil {
		return classifyAWS("bedrock InvokeModel "+b.cfg.ModelID, err)
	}
	if err := json.Unmarshal(res.Body, resp); err != nil {
		return fmt.Errorf("bedrock %s: unexpected response: %w", b.cfg.ModelID, err)
	}
	return nil
}

func (b *Bedrock) titan(ctx context.Context, text string) ([]float32, error) {
	var resp struct {
		Embedding []float32 `json:"embedding"`
	}
	req := map[string]any{"inputText": text, "dimensions": b.cfg.Dimensions, "normalize": b.cfg.Normalize}
	if err := b.invoke(ctx, req, &resp); err != nil {
		return nil, err
	}
	if len(resp.Embedding) != b.cfg.Dimensions {
		return nil, fmt.Errorf("bedrock %s: %d dimensions returned, %d asked", b.cfg.ModelID, len(resp.Embedding), b.cfg.Dimensions)
	}
	return resp.Embedding, nil
}

func (b *Bedrock) cohere(ctx context.Context, texts []string) ([][]float32, error) {
	var resp struct {
		ResponseType string          `json:"response_type"`
		Embeddings   json.RawMessage `json:"embeddings"`
	}
	req := map[string]any{"texts": texts, "input_type": b.cfg.InputType, "truncate": "NONE"}
	if err := b.invoke(ctx, req, &resp); err != nil {
		return nil, err
	}
	var vecs [][]float32
	switch resp.ResponseType {
	case "embeddings_by_type":
		var byType struct {
			Float [][]float32 `json:"float"`
		}
		if err := json.Unmarshal(resp.Embeddings, &byType); err != nil {
			return nil, fmt.Errorf("bedrock %s: unexpected embeddings: %w", b.cfg.ModelID, err)
		}
		vecs = byType.Float
	default:
		if err := json.Unmarshal(resp.Embeddings, &vecs); err != nil {
			return nil, fmt.Errorf("bedrock %s: unexpected embeddings: %w", b.cfg.ModelID, err)
		}
	}
	if len(vecs) != len(texts) {
		return nil, fmt.Errorf("bedrock %s: %d embeddings for %d texts", b.cfg.ModelID, len(vecs), len(texts))
	}
	return vecs, nil
}

// classifyAWS marks errors no retry can fix (the service rejected the request itself)
// as permanent; everything else (throttling left after the retryer's attempts, 5xx,
// network, credentials) stays transient, so the document is tried again later.
func classifyAWS(op string, err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ValidationException":
			return document.Permanent(document.ReasonInternal, fmt.Errorf("%s: the model rejected the input: %w", op, err))
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}
