package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
	"golang.org/x/sync/errgroup"
)

// BatchOptions drive one pass of the Pipeline over every object of a source.
type BatchOptions struct {
	Source Source
	// Prefix limits the pass to keys under it.
	Prefix string
	// Concurrency is how many documents are in flight at once.
	Concurrency int
	// Force reprocesses every object, changed or not.
	Force bool
	// DryRun plans and reports without reading content or writing anything.
	DryRun bool
	// RetryFailed processes only the sources that have a failure record.
	RetryFailed bool
	// InFlight, if set, is called with +1 when a document starts processing and -1 when
	// it ends (from several goroutines at once), e.g. to size a memory budget.
	InFlight func(delta int)
	// OnDone, if set, is called after each object, for one object at a time (calls are
	// serialised, so it may write to a terminal or a progress bar without locking).
	OnDone func(Outcome)
}

// Action is what a pass did, or would do, with one object.
type Action string

const (
	ActionProcess Action = "process"
	ActionSkip    Action = "skip"
)

// Outcome reports one object of a pass.
type Outcome struct {
	Object Object
	Action Action
	Result Result
	// Err is a transient error: the object was not processed and will be tried again.
	Err error
}

// Summary totals a pass.
type Summary struct {
	Listed    int
	Processed int
	Skipped   int
	Failed    int
	Chunks    int
	Bytes     int64
	Elapsed   time.Duration
	// PlannedBytes is the size of what was (or, in a dry run, would be) processed.
	PlannedBytes int64
	// FailedBy counts the failed documents by reason (a failure record's reason),
	// attachments included.
	FailedBy map[string]int
	// Attachments counts the documents read from sources' attachments (an e-mail's
	// files; their chunks are in Chunks), AttachmentsFailed those of them that failed.
	Attachments, AttachmentsFailed int
	// Labels counts the chunks labeled, by status.
	Labels LabelCounts
	// Stages adds up the time the documents spent in each stage.
	Stages StageTimes
}

// StageTimes is time spent per pipeline stage, summed over documents (stages of different
// documents overlap, so the sum can exceed the elapsed time).
type StageTimes struct {
	Fetch, Extract, Chunk, Embed, Encode, Write time.Duration
}

// Add adds r's stage times.
func (s *StageTimes) Add(r StageTimes) {
	s.Fetch += r.Fetch
	s.Extract += r.Extract
	s.Chunk += r.Chunk
	s.Embed += r.Embed
	s.Encode += r.Encode
	s.Write += r.Write
}

// failureReason is the reason a failed document is counted under: its failure record's,
// or the classification of the transient error that stopped it.
func failureReason(res Result, err error) string {
	if res.Failure != nil {
		return res.Failure.Reason
	}
	reason, _ := document.Classify(err)
	return string(reason)
}

// countAttachments adds a result's attachment documents to a summary's counts: how many,
// how many failed (by reason too) and their chunks.
func countAttachments(r Result, n, failed, chunks *int, by *map[string]int) {
	for _, a := range r.Attachments {
		*n++
		*chunks += a.Chunks
		if a.Status == statusFailed {
			*failed++
			if *by == nil {
				*by = map[string]int{}
			}
			(*by)[a.Reason]++
		}
	}
}

func countFailure(m *map[string]int, res Result, err error) {
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[failureReason(res, err)]++
}

// Add adds o's counts to c.
func (c *LabelCounts) Add(o LabelCounts) {
	c.Auto += o.Auto
	c.Pending += o.Pending
	c.Human += o.Human
}

// LabelCounts counts labeled chunks by status.
type LabelCounts struct {
	Auto    int `json:"auto"`
	Pending int `json:"pending"`
	Human   int `json:"human"`
}

func (c *LabelCounts) add(s document.LabelStatus) {
	switch s {
	case document.LabelAuto:
		c.Auto++
	case document.LabelPending:
		c.Pending++
	case document.LabelHuman:
		c.Human++
	}
}

// RunBatch runs the Pipeline over every object of opts.Source, skipping those whose state
// shows they were processed from the same content by the same pipeline. Memory does not
// grow with the number of objects: the listing streams and at most Concurrency documents
// are held at once. It returns an error only when the pass itself could not go on
// (listing failed, ctx ended); failed documents are counted in the Summary.
func (p *Pipeline) RunBatch(ctx context.Context, opts BatchOptions) (Summary, error) {
	start := time.Now()
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	var failed map[string]int
	if opts.RetryFailed {
		var err error
		if failed, err = p.failedSources(ctx); err != nil {
			return Summary{}, err
		}
	}
	var (
		mu     sync.Mutex
		sum    Summary
		doneMu sync.Mutex // serialises OnDone
	)
	report := func(o Outcome) {
		mu.Lock()
		switch {
		case o.Action == ActionSkip:
			sum.Skipped++
		case o.Err != nil || o.Result.Failure != nil:
			sum.Failed++
			sum.Processed++
			countFailure(&sum.FailedBy, o.Result, o.Err)
		default:
			sum.Processed++
		}
		sum.Chunks += o.Result.Chunks
		countAttachments(o.Result, &sum.Attachments, &sum.AttachmentsFailed, &sum.Chunks, &sum.FailedBy)
		sum.Bytes += o.Result.Bytes
		sum.Labels.Add(o.Result.Labels)
		sum.Stages.Add(o.Result.StageTimes)
		mu.Unlock()
		if opts.OnDone != nil {
			doneMu.Lock()
			opts.OnDone(o)
			doneMu.Unlock()
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	join := newSidecarJoin(ctx, opts.Source, func(obj Object) error {
		mu.Lock()
		sum.Listed++
		mu.Unlock()
		attempts := 1
		if opts.RetryFailed {
			n, ok := failed[obj.Key]
			if !ok {
				return nil
			}
			attempts = n + 1
		}
		g.Go(func() error {
			action, err := p.plan(gctx, opts, obj)
			if err != nil {
				report(Outcome{Object: obj, Action: ActionProcess, Err: err})
				return nil
			}
			if action == ActionProcess {
				mu.Lock()
				sum.PlannedBytes += obj.Size
				mu.Unlock()
			}
			if action == ActionSkip || opts.DryRun {
				report(Outcome{Object: obj, Action: action})
				return nil
			}
			if opts.InFlight != nil {
				opts.InFlight(1)
			}
			res, err := p.Process(gctx, opts.Source, obj, attempts)
			if opts.InFlight != nil {
				opts.InFlight(-1)
			}
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				p.cfg.Logger.Error("document not processed; it will be retried", "source", obj.Key, "error", err)
				if rerr := p.RecordTransient(gctx, obj.Key, attempts, err); rerr != nil {
					p.cfg.Logger.Error("could not record the failure", "source", obj.Key, "error", rerr)
				}
			}
			report(Outcome{Object: obj, Action: ActionProcess, Result: res, Err: err})
			return nil
		})
		return nil
	})
	listErr := opts.Source.List(gctx, opts.Prefix, true, join.add)
	if listErr == nil {
		listErr = join.flush()
	}
	werr := g.Wait()
	sum.Elapsed = time.Since(start)
	if listErr != nil {
		return sum, listErr
	}
	if werr != nil {
		return sum, werr
	}
	return sum, ctx.Err()
}

// plan decides whether obj needs processing, from the names of its state files: one named
// for this pipeline and this change token means nothing changed. When only the token
// changed (a touched file, a copied object), the content hash decides, and an unchanged
// source gets its state renamed instead of being processed again.
func (p *Pipeline) plan(ctx context.Context, opts BatchOptions, obj Object) (Action, error) {
	if opts.Force || opts.RetryFailed {
		return ActionProcess, nil
	}
	dir := layout.StateDir(obj.Key)
	want := layout.TokenDigest(changeToken(obj.ETag, obj.SidecarETag))
	var samePipeline []string
	found := false
	err := p.out.List(ctx, dir, false, func(o storage.ObjectInfo) error {
		name := o.Key[len(dir):]
		fp, digest, ok := layout.StateNameParts(name)
		switch {
		case !isMarker(name) || !ok || !p.current(fp):
		case digest == want:
			found = true
		default:
			samePipeline = append(samePipeline, o.Key)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read state of %s: %w", obj.Key, err)
	}
	if found {
		return ActionSkip, nil
	}
	if len(samePipeline) == 0 || opts.DryRun {
		return ActionProcess, nil
	}
	head, err := p.readHead(ctx, obj.Key)
	if err != nil {
		return "", err
	}
	st := head.state
	if !head.found || st.SHA256 == "" || st.Status == statusDeleted || !p.current(st.Pipeline) {
		return ActionProcess, nil // unreadable or other state: redo the source
	}
	if st.SidecarETag != obj.SidecarETag {
		return ActionProcess, nil // the metadata changed
	}
	sum, err := hashSource(ctx, opts.Source, obj.Key)
	if err != nil {
		return "", err
	}
	if sum != st.SHA256 {
		return ActionProcess, nil
	}
	st.ETag, st.VersionID, st.Size = obj.ETag, obj.VersionID, obj.Size
	if err := p.putState(ctx, st, head); errors.Is(err, errConflict) {
		return ActionProcess, nil // another writer got there first: do it again as it is now
	} else if err != nil {
		return "", err
	}
	return ActionSkip, nil
}

func hashSource(ctx context.Context, src Source, key string) (string, error) {
	rc, err := src.Open(ctx, key)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// failedSources maps every source with a failure record to its attempts so far.
func (p *Pipeline) failedSources(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := p.ListFailures(ctx, func(key string, rec FailureRecord) error {
		switch {
		case rec.ParentKey() != "":
			out[rec.ParentKey()] = max(out[rec.ParentKey()], rec.Attempts) // an attachment: its parent is done again
		case rec.Key() != "":
			out[rec.Key()] = max(out[rec.Key()], rec.Attempts)
		}
		return nil
	})
	return out, err
}

// ListFailures calls fn for every failure record under the output prefix.
func (p *Pipeline) ListFailures(ctx context.Context, fn func(key string, rec FailureRecord) error) error {
	return ListFailures(ctx, p.out, fn)
}

// ListFailures calls fn for every failure record in out, in key order.
func ListFailures(ctx context.Context, out Store, fn func(key string, rec FailureRecord) error) error {
	return out.List(ctx, layout.FailedRoot, true, func(o storage.ObjectInfo) error {
		body, err := out.Get(ctx, o.Key)
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return nil // removed since the listing
			}
			return err
		}
		var rec FailureRecord
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&rec); err != nil {
			return fmt.Errorf("failure record %s: %w", o.Key, err)
		}
		return fn(o.Key, rec)
	})
}
