package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// Attachments (an e-mail's files) are documents of their own under the parent source:
// each one whose format the pipeline reads gets its own text/, chunks/ and labels, or its
// own failure record, under layout.AttachmentKey(parent, n, name). They have no state:
// the parent's state lists them (State.Attachments), so they are committed with it,
// done again when it is, removed when it is (or when a new version of it no longer
// carries them), and planning, which compares sources with state/, never sees them, so
// they are never mistaken for orphans. Attachments of attachments are not read (one
// level): they stay named in their parent's metadata.

// attachments reads every attachment of obj whose format is known, one after the other
// (each one's bytes are let go once it is done), and returns what each became. A permanent failure of an attachment is its own failure record; a transient
// one is returned, and the parent is tried again whole.
func (p *Pipeline) attachments(ctx context.Context, obj Object, meta *sourceMeta, parentMeta map[string]string, atts []document.Attachment, attempts int, res *Result) ([]AttachmentState, error) {
	var out []AttachmentState
	for i := range atts {
		a := &atts[i]
		key := layout.AttachmentKey(obj.Key, a.N, a.Name)
		if a.Err == nil {
			if f := p.cfg.Detect(key, a.Data); f == "" || p.cfg.Extractors[f] == nil {
				a.Data = nil
				p.cfg.Logger.Debug("attachment of a format docingest does not read: named in its parent's metadata only", "source", obj.Key, "attachment", key)
				continue
			}
		}
		st, err := p.attachment(ctx, obj, meta, parentMeta, key, a, attempts, res)
		a.Data = nil
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// attachment makes one attachment's outputs, or its failure record.
func (p *Pipeline) attachment(ctx context.Context, obj Object, meta *sourceMeta, parentMeta map[string]string, key string, a *document.Attachment, attempts int, res *Result) (AttachmentState, error) {
	st := AttachmentState{Source: key, SourceBytes: sourceBytes(key)}
	child := Object{ObjectInfo: storage.ObjectInfo{Key: key, ETag: obj.ETag, VersionID: obj.VersionID, Size: int64(len(a.Data))}}
	sum := sha256.Sum256(a.Data)
	// an attachment's records carry its mail's fingerprint (an e-mail's covers every
	// format), so that its chunk ids follow from the mail's state
	cmeta := &sourceMeta{sha256: hex.EncodeToString(sum[:]), etag: meta.etag, sidecarETag: meta.sidecarETag, attrs: meta.attrs, pipeline: p.pipelineOf(meta)}
	chunks, err := 0, a.Err
	if err == nil {
		var cres Result
		chunks, err = p.attachmentOutputs(ctx, obj.Key, child, cmeta, parentMeta, a.Data, &cres)
		res.StageTimes.Add(cres.StageTimes)
		res.Labels.Add(cres.Labels)
	}
	if err != nil {
		reason, permanent := document.Classify(err)
		if !permanent {
			return st, err
		}
		rec := FailureRecord{
			Source: key, SourceBytes: sourceBytes(key), Reason: string(reason), Error: err.Error(), Permanent: true,
			Attempts: attempts, Pipeline: p.pipelineOf(meta), Parent: obj.Key, ParentBytes: sourceBytes(obj.Key),
		}
		body, jerr := json.MarshalIndent(rec, "", "  ")
		if jerr != nil {
			return st, jerr
		}
		if err := p.out.Put(ctx, layout.Failed(key), bytes.NewReader(append(body, '\n'))); err != nil {
			return st, fmt.Errorf("write failure record of %s: %w", key, err)
		}
		if err := p.dropOutputs(ctx, key, false); err != nil {
			return st, err
		}
		st.Status, st.Reason = statusFailed, string(reason)
		return st, nil
	}
	if err := p.out.Delete(ctx, layout.Failed(key)); err != nil {
		return st, fmt.Errorf("remove failure record of %s: %w", key, err)
	}
	st.Status, st.Chunks = statusOK, chunks
	return st, nil
}

// attachmentOutputs extracts, chunks and writes one attachment; its chunks carry the
// parent's metadata (an e-mail's sender, subject, date) and attachment_of, under the
// attachment's own metadata and the parent's sidecar attributes.
func (p *Pipeline) attachmentOutputs(ctx context.Context, parent string, child Object, meta *sourceMeta, parentMeta map[string]string, data []byte, res *Result) (int, error) {
	doc, _, err := p.extract(ctx, child.Key, data, res)
	if err != nil {
		return 0, err
	}
	md := make(map[string]string, len(parentMeta)+len(doc.Metadata)+1)
	maps.Copy(md, parentMeta)
	delete(md, "attachments") // the parent's list; the attachment's own list, if any, follows
	md["attachment_of"] = parent
	maps.Copy(md, doc.Metadata)
	doc.Metadata, doc.Attachments = md, nil
	if doc.Text == "" {
		return 0, document.Permanentf(document.ReasonEmpty, "%s: no text to chunk", child.Key)
	}
	spans, err := p.cfg.ChunkerFor(doc.Format, child.Key).Chunk(ctx, doc)
	if err != nil {
		return 0, fmt.Errorf("chunk %s: %w", child.Key, err)
	}
	if len(spans) == 0 {
		return 0, document.Permanentf(document.ReasonEmpty, "%s: no text to chunk", child.Key)
	}
	if err := p.write(ctx, child, meta, doc, spans, res); err != nil {
		return 0, err
	}
	return len(spans), nil
}

// dropOutputs deletes a document's text, chunk files and labels, and its failure record
// when withFailure is set.
func (p *Pipeline) dropOutputs(ctx context.Context, key string, withFailure bool) error {
	keys := append([]string{layout.Text(key)}, layout.ChunkFiles(key)...)
	if withFailure {
		keys = append(keys, layout.Failed(key))
	}
	for _, k := range keys {
		if err := p.out.Delete(ctx, k); err != nil {
			return fmt.Errorf("remove outputs of %s: %w", key, err)
		}
	}
	if p.cfg.Labeler != nil {
		if err := p.cfg.Labeler.Remove(ctx, key); err != nil {
			return fmt.Errorf("remove labels of %s: %w", key, err)
		}
	}
	return nil
}

// dropAttachments removes every output of the attachments in old that keep does not
// list (all of them when keep is nil).
func (p *Pipeline) dropAttachments(ctx context.Context, old, keep []AttachmentState) error {
	kept := make(map[string]bool, len(keep))
	for _, a := range keep {
		kept[a.Key()] = true
	}
	for _, a := range old {
		if !kept[a.Key()] {
			if err := p.dropOutputs(ctx, a.Key(), true); err != nil {
				return err
			}
		}
	}
	return nil
}
