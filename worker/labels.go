package worker

import "context"

// LabelInput is a chunk as the labeler sees it.
type LabelInput struct {
	ID    string
	Index int
	Text  string
	// Before and After are up to LabelContext bytes of the document's text either side of
	// the chunk: context for redaction, so that a number cut by a chunk boundary is still
	// recognised (invariant 5). They are never sent anywhere themselves.
	Before, After string
	Embedding     []float32
}

// LabelContext is how much text either side of a chunk the labeler sees for redaction.
const LabelContext = 64

// ChunkLabel is the label field of a chunk record (ARCHITECTURE.md, "Chunk record").
type ChunkLabel struct {
	Class       string             `json:"class,omitempty"`
	Classes     []string           `json:"classes,omitempty"`
	Confidence  float64            `json:"confidence"`
	Map         map[string]float64 `json:"confidence_map,omitempty"`
	Uncertainty float64            `json:"uncertainty"`
	Measure     string             `json:"measure"`
	// Status is auto (confident: in labeled/auto/), pending (sent to the labeling spool)
	// or human (a person labeled this text).
	Status     string `json:"status"`
	Classifier string `json:"classifier"`
}

// Labeler classifies the chunks of documents. Begin starts one document; its session is
// fed the chunks batch by batch and finished before the document's state is written, so
// the labeled dataset and the labeling spool are durable before the queue message goes.
type Labeler interface {
	Begin(source string) LabelSession
	// Remove deletes what a source contributed (its auto labels and pending items).
	Remove(ctx context.Context, source string) error
	// Version names the classifier; it is part of the pipeline fingerprint.
	Version() string
}

// LabelSession labels one document.
type LabelSession interface {
	Label(ctx context.Context, chunks []LabelInput) ([]ChunkLabel, error)
	Finish(ctx context.Context) error
}
