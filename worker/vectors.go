package worker

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/docingest/docingest/dataset"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/vectorindex"
)

// VectorIndex receives the embeddings of committed sources (output.vector_index).
type VectorIndex interface {
	Upsert(ctx context.Context, vs []vectorindex.Vector) (skipped []string, err error)
	Delete(ctx context.Context, ids []string) error
}

// storeOpener streams an object of the output: with the store's Open where it has one
// (local folders and S3 do), else from Get.
type storeOpener struct{ Store }

func (s storeOpener) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if o, ok := s.Store.(dataset.Opener); ok {
		return o.Open(ctx, key)
	}
	b, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// syncVectors brings the vector index in line with a state just committed: the chunks it
// describes are upserted (read back from the chunk file, which is what was committed),
// and the vectors of the state before it that this one no longer has are deleted. It
// runs after the head is written (a writer that lost the commit writes nothing) and
// before the state's marker: a failure here leaves the marker missing, so the source is
// done again (by planning, or by the redelivered message), and its message is kept.
func (p *Pipeline) syncVectors(ctx context.Context, st State, head stateHead) error {
	keep := map[string]bool{}
	if st.Status == statusOK {
		docs := []AttachmentState{{Source: st.Key(), Status: statusOK, Chunks: st.Chunks}}
		for _, a := range st.Attachments { // an e-mail's attachments are committed with it
			docs = append(docs, AttachmentState{Source: a.Key(), Status: a.Status, Chunks: a.Chunks})
		}
		for _, d := range docs {
			if d.Status == statusOK && d.Chunks > 0 {
				if err := p.upsertVectors(ctx, d.Source, keep); err != nil {
					return err
				}
			}
		}
	}
	// the version before: the head's, or the one a tombstone says it removed (a removal
	// whose vector update failed is tried again over its own tombstone)
	var prev *RemovedVersion
	if old := head.state; head.found && old.Status == statusOK {
		prev = &RemovedVersion{Pipeline: old.Pipeline, Chunks: old.Chunks, Attachments: old.Attachments}
	} else if head.found && old.Status == statusDeleted {
		prev = old.Removed
	}
	if prev != nil {
		var gone []string
		del := func(key string, chunks int) {
			for i := 0; i < chunks; i++ {
				if id := chunkID(key, i, prev.Pipeline); !keep[id] {
					gone = append(gone, id)
				}
			}
		}
		del(st.Key(), prev.Chunks)
		for _, a := range prev.Attachments {
			if a.Status == statusOK {
				del(a.Key(), a.Chunks)
			}
		}
		if err := p.cfg.Vectors.Delete(ctx, gone); err != nil {
			return err
		}
	}
	return nil
}

// upsertVectors upserts the chunks of one committed document (a source, or one of its
// attachments) and notes their ids in keep.
func (p *Pipeline) upsertVectors(ctx context.Context, key string, keep map[string]bool) error {
	file := layout.Chunks(key)
	if p.cfg.ChunksFormat == ChunksParquet {
		file = layout.ChunksParquet(key)
	}
	batch := make([]vectorindex.Vector, 0, vectorindex.MaxPerPut)
	flush := func() error {
		skipped, err := p.cfg.Vectors.Upsert(ctx, batch)
		if len(skipped) > 0 {
			p.cfg.Logger.Warn("zero vectors left out of the vector index (its cosine metric refuses them)", "source", key, "chunks", skipped)
		}
		batch = batch[:0]
		return err
	}
	err := dataset.EachChunk(ctx, storeOpener{p.out}, file, func(r dataset.ChunkRow) error {
		v := vectorindex.Vector{ID: r.ID, Data: r.Embedding, Source: key, Index: int(r.Index), HeadingPath: r.HeadingPath}
		if r.PageStart != nil {
			v.Page = int(*r.PageStart)
		}
		if r.Label != nil && r.Label.Class != nil {
			v.Label = *r.Label.Class
		}
		keep[r.ID] = true
		if batch = append(batch, v); len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read chunks of %s for the vector index: %w", key, err)
	}
	if len(batch) == 0 {
		return nil
	}
	return flush()
}

// fullyCommitted reports whether st's marker is there: a commit whose vector index update
// failed has a head but no marker.
func (p *Pipeline) fullyCommitted(ctx context.Context, st State) (bool, error) {
	dir := layout.StateDir(st.Key())
	name := layout.StateName(st.Pipeline, changeToken(st.ETag, st.SidecarETag))
	if st.Status == statusDeleted {
		name = layout.TombstoneName(st.Sequencer)
	}
	found := false
	err := p.out.List(ctx, dir, false, func(o storage.ObjectInfo) error {
		if o.Key == dir+name {
			found = true
		}
		return nil
	})
	return found, err
}
