package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// ModelRecord is the body of embeddings.json.
type ModelRecord struct {
	EmbeddingModel string `json:"embedding_model"`
	// Dimensions is known for local models (remote model ids name it).
	Dimensions int `json:"dimensions,omitempty"`
}

// ErrModelMismatch is returned when an output prefix holds another model's vectors.
var ErrModelMismatch = errors.New("embedding model mismatch")

// CheckEmbeddingModel makes sure the output prefix holds vectors of one model only: it
// records the model on first use, accepts the same model, and refuses another one
// unless replace is set (a re-index of everything with the new model), in which case
// the record is rewritten. A dry run checks without writing.
func CheckEmbeddingModel(ctx context.Context, out Store, rec ModelRecord, replace, dryRun bool) error {
	body, err := out.Get(ctx, layout.ModelRecord)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return fmt.Errorf("read %s: %w", layout.ModelRecord, err)
	default:
		var have ModelRecord
		if err := json.Unmarshal(body, &have); err != nil {
			return fmt.Errorf("%s is not a model record: %w", layout.ModelRecord, err)
		}
		if have.EmbeddingModel == rec.EmbeddingModel {
			return nil
		}
		if !replace {
			return fmt.Errorf("%w: the output holds vectors of %q and this configuration embeds with %q; "+
				"vectors of two models cannot be compared, so they are never mixed in one output: "+
				"write to another output, or re-embed everything with the new model (run --force, or reindex --force)",
				ErrModelMismatch, have.EmbeddingModel, rec.EmbeddingModel)
		}
	}
	if dryRun {
		return nil
	}
	b, _ := json.MarshalIndent(rec, "", "  ")
	if err := out.Put(ctx, layout.ModelRecord, bytes.NewReader(append(b, '\n'))); err != nil {
		return fmt.Errorf("write %s: %w", layout.ModelRecord, err)
	}
	return nil
}
