package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/layout"
)

// fail records a document's failure: failed/<source>.json, removal of outputs an earlier
// success left, and the state (so that an unchanged input is not retried on every run).
// Transient errors (I/O, cancellation) are returned, not recorded, so the caller retries.
func (p *Pipeline) fail(ctx context.Context, obj Object, res Result, meta *sourceMeta, attempts int, cause error, head stateHead) (Result, error) {
	reason, permanent := document.Classify(cause)
	if !permanent {
		return res, cause
	}
	rec := &FailureRecord{
		Source:      obj.Key,
		SourceBytes: sourceBytes(obj.Key),
		Reason:      string(reason),
		Error:       cause.Error(),
		Permanent:   true,
		Attempts:    attempts,
		Pipeline:    p.pipelineOf(meta),
	}
	res.Failure = rec
	body, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return res, err
	}
	if err := p.out.Put(ctx, layout.Failed(obj.Key), bytes.NewReader(append(body, '\n'))); err != nil {
		return res, fmt.Errorf("write failure record of %s: %w", obj.Key, err)
	}
	if err := p.dropOutputs(ctx, obj.Key, false); err != nil {
		return res, err
	}
	if head.found {
		if err := p.dropAttachments(ctx, head.state.Attachments, nil); err != nil {
			return res, err
		}
	}
	if meta == nil {
		meta = &sourceMeta{etag: obj.ETag}
	}
	if err := p.commit(ctx, obj, meta, statusFailed, string(reason), 0, nil, attempts, head); err != nil {
		return res, err
	}
	return res, nil
}

// RecordTransient writes a failure record for an error that is not the input's fault (so
// `failed list` shows it), without state: the next run tries the source again.
func (p *Pipeline) RecordTransient(ctx context.Context, key string, attempts int, cause error) error {
	reason, _ := document.Classify(cause)
	rec := FailureRecord{Source: key, SourceBytes: sourceBytes(key), Reason: string(reason), Error: cause.Error(), Attempts: attempts, Pipeline: p.cfg.Fingerprint}
	body, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return p.out.Put(ctx, layout.Failed(key), bytes.NewReader(append(body, '\n')))
}

// RecordMessageFailure writes failed/_messages/<id>.json for a queue message that names
// no source (its body could not be parsed).
func (p *Pipeline) RecordMessageFailure(ctx context.Context, messageID string, cause error) error {
	rec := FailureRecord{MessageID: messageID, Reason: string(document.ReasonMalformedEvent), Error: cause.Error(), Permanent: true, Attempts: 1, Pipeline: p.cfg.Fingerprint}
	body, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return p.out.Put(ctx, layout.MessageFailure(messageID), bytes.NewReader(append(body, '\n')))
}
