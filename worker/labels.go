package worker

import (
	"context"

	"github.com/docingest/docingest/document"
)

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
	Label(ctx context.Context, chunks []document.LabelInput) ([]document.Label, error)
	Finish(ctx context.Context) error
}
