package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
	"golang.org/x/sync/errgroup"
)

// ReindexAction is what a reindex does with one source.
type ReindexAction string

const (
	ReindexNew       ReindexAction = "new"       // no outputs yet
	ReindexChanged   ReindexAction = "changed"   // content changed since its outputs were made
	ReindexStale     ReindexAction = "stale"     // outputs made by another pipeline fingerprint
	ReindexForced    ReindexAction = "forced"    // unchanged, redone because of --force
	ReindexUnchanged ReindexAction = "unchanged" // skipped
	ReindexOrphan    ReindexAction = "orphan"    // outputs whose source no longer exists: deleted
)

// ReindexOptions drive one reindex.
type ReindexOptions struct {
	Source Source
	// Prefix limits the pass ("bucket/prefix" for S3 sources, a folder path for local ones).
	Prefix string
	// Suffixes, when set, keeps only keys ending in one of them (".pdf").
	Suffixes    []string
	Concurrency int
	Force       bool
	DryRun      bool
	// Enqueue, when set, hands the sources to process to the worker fleet (up to 10 per
	// call) instead of processing them here.
	Enqueue func(ctx context.Context, objs []storage.ObjectInfo) error
	// OnPlanned is called once with the plan's totals before any work starts.
	OnPlanned func(ReindexSummary)
	// OnDone is called after each source is processed, enqueued or removed (serialised).
	OnDone func(obj Object, action ReindexAction, res Result, err error)
}

// ReindexCount is a count and a size.
type ReindexCount struct {
	Sources int
	Bytes   int64
}

// ReindexSummary totals a reindex.
type ReindexSummary struct {
	Planned   map[ReindexAction]ReindexCount
	Processed int
	Enqueued  int
	Removed   int
	Failed    int
	// FailedBy counts the failed sources by reason.
	FailedBy map[string]int
	// Chunks, Bytes and Labels total what was processed here (not what was enqueued).
	Chunks  int
	Bytes   int64
	Labels  LabelCounts
	Elapsed time.Duration
}

// ToDo is what the plan will process or enqueue.
func (s ReindexSummary) ToDo() ReindexCount {
	var c ReindexCount
	for _, a := range []ReindexAction{ReindexNew, ReindexChanged, ReindexStale, ReindexForced} {
		c.Sources += s.Planned[a].Sources
		c.Bytes += s.Planned[a].Bytes
	}
	return c
}

// Reindex brings the outputs under the store in line with the source: it lists the
// source and the state (two listings, never a request per object), processes what is new,
// changed or made by another pipeline, skips what is unchanged, and deletes the outputs of
// sources that no longer exist. Each source's outputs live under its own path, so
// removing one source never touches another with identical content.
//
// It is resumable: every processed source commits its state, so an interrupted reindex
// run again skips what it finished. Memory holds both listings (a key and a state name per
// source), which is what lets them run side by side.
func (p *Pipeline) Reindex(ctx context.Context, opts ReindexOptions) (ReindexSummary, error) {
	start := time.Now()
	sum := ReindexSummary{Planned: map[ReindexAction]ReindexCount{}}
	// The two listings are independent: run them side by side, then classify.
	var states map[string][]string
	var objs []Object
	lg, lctx := errgroup.WithContext(ctx)
	lg.Go(func() error {
		var err error
		states, err = p.listStates(lctx, opts.Prefix)
		return err
	})
	lg.Go(func() error {
		join := newSidecarJoin(lctx, opts.Source, func(o Object) error {
			if hasSuffix(o.Key, opts.Suffixes) {
				objs = append(objs, o)
			}
			return nil
		})
		if err := opts.Source.List(lctx, opts.Prefix, true, join.add); err != nil {
			return err
		}
		return join.flush()
	})
	if err := lg.Wait(); err != nil {
		return sum, err
	}
	var todo []plannedSource
	for _, o := range objs {
		sp := layout.SourcePath(o.Key)
		names := states[sp]
		delete(states, sp)
		action := p.classify(o, names, opts.Force)
		c := sum.Planned[action]
		c.Sources++
		c.Bytes += o.Size
		sum.Planned[action] = c
		if action != ReindexUnchanged {
			todo = append(todo, plannedSource{obj: o, action: action})
		}
	}
	objs = nil
	// Sources in the state that the listing did not return. The state listing is by
	// folder, so a candidate is an orphan only when its recorded key falls under the
	// prefix and suffixes of this reindex (one GET per candidate, never per source).
	var orphans []string
	for sp, names := range states {
		if allTombstones(names) {
			continue
		}
		key, err := p.sourceOfPath(ctx, sp)
		if err != nil {
			return sum, err
		}
		if strings.HasPrefix(key, opts.Prefix) && hasSuffix(key, opts.Suffixes) {
			orphans = append(orphans, key)
		}
	}
	c := sum.Planned[ReindexOrphan]
	c.Sources = len(orphans)
	sum.Planned[ReindexOrphan] = c
	if opts.OnPlanned != nil {
		opts.OnPlanned(sum)
	}
	if opts.DryRun {
		sum.Elapsed = time.Since(start)
		return sum, nil
	}
	var mu sync.Mutex
	done := func(o Object, a ReindexAction, r Result, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case a == ReindexUnchanged && err == nil:
			// an orphan whose object came back before its removal: left alone
		case a == ReindexOrphan && err == nil:
			sum.Removed++
		case err != nil || r.Failure != nil:
			sum.Failed++
			countFailure(&sum.FailedBy, r, err)
		case opts.Enqueue != nil:
			sum.Enqueued++
		default:
			sum.Processed++
		}
		sum.Chunks += r.Chunks
		sum.Bytes += r.Bytes
		sum.Labels.Add(r.Labels)
		if opts.OnDone != nil {
			opts.OnDone(o, a, r, err)
		}
	}
	// Orphans first: their outputs are deleted here in both modes.
	for _, src := range orphans {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		// The object may have come back since the listing: RemoveGone looks again and
		// leaves it alone then. No sequencer: only real events order a source.
		removed, err := p.RemoveGone(ctx, opts.Source, src, "")
		action := ReindexOrphan
		if err == nil && !removed {
			action = ReindexUnchanged
		}
		done(ObjectAt(src), action, Result{}, err)
	}
	if opts.Enqueue != nil {
		for i := 0; i < len(todo); i += 10 {
			batch := todo[i:min(len(todo), i+10)]
			objs := make([]storage.ObjectInfo, len(batch))
			for k, b := range batch {
				objs[k] = b.obj.ObjectInfo
			}
			err := opts.Enqueue(ctx, objs)
			for _, b := range batch {
				done(b.obj, b.action, Result{}, err)
			}
			if err != nil {
				sum.Elapsed = time.Since(start)
				return sum, fmt.Errorf("enqueue: %w", err)
			}
		}
		sum.Elapsed = time.Since(start)
		return sum, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, opts.Concurrency))
	for _, b := range todo {
		g.Go(func() error {
			res, err := p.Process(gctx, opts.Source, b.obj, 1)
			if err != nil && gctx.Err() != nil {
				return gctx.Err()
			}
			done(b.obj, b.action, res, err)
			return nil
		})
	}
	err := g.Wait()
	sum.Elapsed = time.Since(start)
	return sum, err
}

type plannedSource struct {
	obj    Object
	action ReindexAction
}

func (p *Pipeline) classify(o Object, names []string, force bool) ReindexAction {
	want := layout.StateName(p.cfg.Fingerprint, changeToken(o.ETag, o.SidecarETag))
	fpPrefix := p.cfg.Fingerprint + "-"
	var same, other bool
	for _, n := range names {
		switch {
		case n == want:
			if force {
				return ReindexForced
			}
			return ReindexUnchanged
		case strings.HasPrefix(n, layout.TombstonePrefix):
		case strings.HasPrefix(n, fpPrefix):
			same = true
		default:
			other = true
		}
	}
	switch {
	case same:
		return ReindexChanged
	case other:
		return ReindexStale
	}
	return ReindexNew
}

func allTombstones(names []string) bool {
	for _, n := range names {
		if !strings.HasPrefix(n, layout.TombstonePrefix) {
			return false
		}
	}
	return true
}

func hasSuffix(key string, suffixes []string) bool {
	if len(suffixes) == 0 {
		return true
	}
	for _, s := range suffixes {
		if strings.HasSuffix(key, s) {
			return true
		}
	}
	return false
}

// listStates lists state/ under the folder of the prefix and groups the file names by
// source path.
func (p *Pipeline) listStates(ctx context.Context, prefix string) (map[string][]string, error) {
	statePrefix := layout.StateRoot
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		statePrefix += layout.SourcePath(prefix[:i]) + "/"
	}
	out := map[string][]string{}
	err := p.out.List(ctx, statePrefix, true, func(o storage.ObjectInfo) error {
		rest := strings.TrimPrefix(o.Key, layout.StateRoot)
		i := strings.LastIndexByte(rest, '/')
		if i < 0 || !isMarker(rest[i+1:]) {
			return nil
		}
		out[rest[:i]] = append(out[rest[:i]], rest[i+1:])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list state: %w", err)
	}
	return out, nil
}

// sourceOfPath reads the source key of an output path from its state (needed only for
// orphans, whose key cannot be listed from the source any more).
func (p *Pipeline) sourceOfPath(ctx context.Context, sp string) (string, error) {
	var key string
	err := p.out.List(ctx, layout.StateRoot+sp+"/", false, func(o storage.ObjectInfo) error {
		if name := o.Key[strings.LastIndexByte(o.Key, '/')+1:]; key != "" || strings.HasPrefix(name, layout.TombstonePrefix) || !isMarker(name) {
			return nil
		}
		body, err := p.out.Get(ctx, o.Key)
		if err != nil {
			return err
		}
		var st State
		if err := json.Unmarshal(body, &st); err != nil {
			return err
		}
		key = st.Key()
		return nil
	})
	if err == nil && key == "" {
		err = fmt.Errorf("no readable state under %s", sp)
	}
	return key, err
}
