package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// The state of a source lives under state/<source>/:
//
//   - head.json, the one object per source that every commit is conditional on: a writer
//     reads it (with its version tag) before it fetches the source and replaces it only if
//     nobody has since (S3's If-Match / If-None-Match, a lock-guarded compare locally). Two
//     workers, a reindex and a late event can race on one source; the loser notices and
//     settles on the source as it is now (invariant 7).
//   - a marker named <fingerprint>-<change token hash>.json, or deleted-<hash>.json after a
//     removal, holding the same record: planning a re-index or a run compares these names
//     from a listing, never bodies. Markers are written after the head and are hints; the
//     head is the truth. State written before heads existed is read through its markers
//     (the newest wins) and gets a head at its next commit: no migration pass is needed.

// errConflict is a commit that lost a race: the head changed since it was read.
var errConflict = errors.New("state changed by another writer")

// maxConflicts is how often one call settles after losing a commit race before it gives
// up with a transient error (and the message is retried).
const maxConflicts = 4

// hintStore is implemented by stores that can write an object without making it durable
// (storage.Local): markers are hints, rebuilt when lost, so they need no fsync.
type hintStore interface {
	PutHint(ctx context.Context, key string, r io.Reader) error
}

// conditionalStore is implemented by stores that can write an object only if it is as it
// was read (storage.Local and storage.S3). Stores without it commit unconditionally.
type conditionalStore interface {
	GetVersion(ctx context.Context, key string) ([]byte, string, error)
	PutIf(ctx context.Context, key string, body []byte, ifMatch string) error
}

// stateHead is a source's state as read before working on it: the version tag a commit is
// conditional on ("" when there is no head yet).
type stateHead struct {
	state State
	found bool
	tag   string
}

func headKey(src string) string { return layout.StateDir(src) + layout.HeadName }

// readHead reads the source's head, or its newest legacy marker when it has no head.
func (p *Pipeline) readHead(ctx context.Context, source string) (stateHead, error) {
	var body []byte
	var h stateHead
	var err error
	if cs, ok := p.out.(conditionalStore); ok {
		body, h.tag, err = cs.GetVersion(ctx, headKey(source))
	} else {
		body, err = p.out.Get(ctx, headKey(source))
	}
	switch {
	case errors.Is(err, storage.ErrNotFound):
		st, found, err := p.legacyState(ctx, source)
		return stateHead{state: st, found: found}, err
	case err != nil:
		return h, fmt.Errorf("read state of %s: %w", source, err)
	}
	if err := json.Unmarshal(body, &h.state); err != nil {
		// An unreadable head is replaced by the next commit (still conditionally).
		return stateHead{tag: h.tag}, nil
	}
	h.found = true
	return h, nil
}

// CurrentState returns the state last committed for a source, or ok false when there is
// none.
func (p *Pipeline) CurrentState(ctx context.Context, source string) (State, bool, error) {
	h, err := p.readHead(ctx, source)
	return h.state, h.found, err
}

// legacyState reads the newest marker of a source that has no head.
func (p *Pipeline) legacyState(ctx context.Context, source string) (State, bool, error) {
	dir := layout.StateDir(source)
	var keys []string
	err := p.out.List(ctx, dir, false, func(o storage.ObjectInfo) error {
		if o.Key != dir+layout.HeadName {
			keys = append(keys, o.Key)
		}
		return nil
	})
	if err != nil {
		return State{}, false, fmt.Errorf("list state of %s: %w", source, err)
	}
	var best State
	found := false
	for _, k := range keys {
		body, err := p.out.Get(ctx, k)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return State{}, false, fmt.Errorf("read state of %s: %w", source, err)
		}
		var st State
		if json.Unmarshal(body, &st) != nil {
			continue
		}
		if !found || best.Processed.Before(st.Processed) {
			best, found = st, true
		}
	}
	return best, found, nil
}

// commit writes the source's state last, after every other output: a state means the
// outputs it describes are complete. It is conditional on head: errConflict when another
// writer committed since head was read.
func (p *Pipeline) commit(ctx context.Context, obj Object, meta *sourceMeta, status, reason string, chunks int, kids []AttachmentState, attempts int, head stateHead) error {
	st := State{
		Schema:      1,
		Source:      obj.Key,
		SourceBytes: sourceBytes(obj.Key),
		ETag:        obj.ETag,
		VersionID:   obj.VersionID,
		Sequencer:   obj.Sequencer,
		SidecarETag: meta.sidecarETag,
		Size:        obj.Size,
		SHA256:      meta.sha256,
		Pipeline:    p.pipelineOf(meta),
		Status:      status,
		Reason:      reason,
		Chunks:      chunks,
		Attempts:    attempts,
		Processed:   p.cfg.Now().UTC(),
		Attachments: kids,
	}
	return p.putState(ctx, st, head)
}

// putState commits st: the head (conditionally), then its marker, then the removal of the
// source's other markers and, on success, of its failure record.
func (p *Pipeline) putState(ctx context.Context, st State, head stateHead) error {
	body, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	body = append(body, '\n')
	dir := layout.StateDir(st.Source)
	if p.cfg.BeforeCommit != nil {
		p.cfg.BeforeCommit(ctx, st.Source)
	}
	if cs, ok := p.out.(conditionalStore); ok {
		if p.pause != nil {
			p.pause("commit", st.Source)
		}
		err := cs.PutIf(ctx, dir+layout.HeadName, body, head.tag)
		if errors.Is(err, storage.ErrNoConditionalWrites) {
			// An S3-compatible server without If-Match: commit as before heads existed,
			// and say once that races between writers are not caught there.
			p.noConditional.Do(func() {
				p.cfg.Logger.Warn("the output store does not implement conditional writes: concurrent writers of one source are not detected", "error", err)
			})
			err = p.out.Put(ctx, dir+layout.HeadName, bytes.NewReader(body))
		}
		if errors.Is(err, storage.ErrPrecondition) {
			return fmt.Errorf("commit %s: %w", st.Source, errConflict)
		}
		if err != nil {
			return fmt.Errorf("write state of %s: %w", st.Source, err)
		}
	} else if err := p.out.Put(ctx, dir+layout.HeadName, bytes.NewReader(body)); err != nil {
		return fmt.Errorf("write state of %s: %w", st.Source, err)
	}
	// The source is committed: finish even if ctx ends now, so a caller never sees a
	// failure for a source whose outputs are complete.
	ctx = context.WithoutCancel(ctx)
	if p.cfg.Vectors != nil {
		if err := p.syncVectors(ctx, st, head); err != nil {
			return fmt.Errorf("update the vector index for %s: %w", st.Source, err)
		}
	}
	name := layout.StateName(st.Pipeline, changeToken(st.ETag, st.SidecarETag))
	if st.Status == statusDeleted {
		name = layout.TombstoneName(st.Sequencer)
	}
	put := p.out.Put
	if hs, ok := p.out.(hintStore); ok {
		put = hs.PutHint // a marker lost in a crash only makes planning do the source again
	}
	if err := put(ctx, dir+name, bytes.NewReader(body)); err != nil {
		return fmt.Errorf("write state marker of %s: %w", st.Source, err)
	}
	var stale []string
	err = p.out.List(ctx, dir, false, func(o storage.ObjectInfo) error {
		if o.Key != dir+name && o.Key != dir+layout.HeadName {
			stale = append(stale, o.Key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list state of %s: %w", st.Source, err)
	}
	for _, k := range stale {
		if err := p.out.Delete(ctx, k); err != nil {
			return fmt.Errorf("remove old state of %s: %w", st.Source, err)
		}
	}
	if st.Status == statusOK {
		if err := p.out.Delete(ctx, layout.Failed(st.Source)); err != nil {
			return fmt.Errorf("remove failure record of %s: %w", st.Source, err)
		}
	}
	return nil
}

// RemoveGone deletes every output of a source whose object is gone from src (text,
// chunks, failure record, labels) and commits a tombstone carrying the removal's
// sequencer ("" when no event named one), so that an older creation event delivered late
// is recognised as stale. When the object exists it removes nothing and reports false: a
// removal event or a reindex's orphan can be older than a re-upload. When a commit races
// the removal, it looks again; if the object is back by then, it processes it (the
// removal may have taken away a newer writer's outputs).
func (p *Pipeline) RemoveGone(ctx context.Context, src Source, source, sequencer string) (bool, error) {
	for try := 0; ; try++ {
		exists, err := sourceExists(ctx, src, source)
		if err != nil {
			return false, err
		}
		if exists {
			if try > 0 {
				_, err := p.Process(ctx, src, Object{ObjectInfo: storage.ObjectInfo{Key: source}, Sequencer: sequencer}, 1)
				return false, err
			}
			return false, nil
		}
		err = p.remove(ctx, source, sequencer)
		if !errors.Is(err, errConflict) {
			return err == nil, err
		}
		if try == maxConflicts {
			return false, fmt.Errorf("%s: %w %d times in a row; will try again", source, errConflict, try+1)
		}
	}
}

// remove deletes the outputs of source and commits its tombstone, conditionally.
func (p *Pipeline) remove(ctx context.Context, source, sequencer string) error {
	head, err := p.readHead(ctx, source)
	if err != nil {
		return err
	}
	if head.found && SequencerLess(sequencer, head.state.Sequencer) {
		sequencer = head.state.Sequencer
	}
	if err := p.dropOutputs(ctx, source, true); err != nil {
		return err
	}
	if head.found {
		if err := p.dropAttachments(ctx, head.state.Attachments, nil); err != nil {
			return err
		}
	}
	tomb := State{
		Schema: 1, Source: source, SourceBytes: sourceBytes(source), Sequencer: sequencer, Pipeline: p.cfg.Fingerprint,
		ETag: "deleted:" + sequencer, Status: statusDeleted, Processed: p.cfg.Now().UTC(),
	}
	if head.found && head.state.Status == statusOK {
		tomb.Removed = &RemovedVersion{Pipeline: head.state.Pipeline, Chunks: head.state.Chunks, Attachments: head.state.Attachments}
	} else if head.found && head.state.Status == statusDeleted {
		tomb.Removed = head.state.Removed // a removal tried again
	}
	return p.putState(ctx, tomb, head)
}

// sourceExists asks src whether the object is there now: a HEAD where the source can
// answer one, else an open.
func sourceExists(ctx context.Context, src Source, key string) (bool, error) {
	var err error
	if st, ok := src.(statter); ok {
		_, err = st.Stat(ctx, key)
	} else {
		var rc io.ReadCloser
		if rc, err = src.Open(ctx, key); err == nil {
			rc.Close()
		}
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("look up %s: %w", key, err)
}

// isMarker reports whether a file name under a source's state folder is a marker (not
// the head).
func isMarker(name string) bool { return name != layout.HeadName && !strings.HasPrefix(name, ".") }
