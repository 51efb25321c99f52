package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
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
	// Listing, when set, replaces the listing of Source for planning: it calls fn for
	// every object ("bucket/key" like a listing of Source), in any order (an S3 Inventory
	// report). ListingTime is when it was taken: a source whose state was written after it
	// is left to the event path (the report may show an older version), and so is a
	// state written after it whose source the report lacks (uploaded since: no orphan).
	Listing     func(ctx context.Context, fn func(storage.ObjectInfo) error) error
	ListingTime time.Time
	// Range, when set, limits the pass to the source keys in it: one shard's part (see
	// ShardRange). The source and state/ are listed only over that part.
	Range *KeyRange
	// ListFanout lists that many sub-ranges of the range at once (each of the source and
	// of state/), cut at the recorded split points; 0 or 1 lists it in one go.
	ListFanout int
	// TempDir holds the sorted runs of the plan ("" for the system's temporary folder);
	// SortMemory bounds the memory each of the plan's two sorts holds (default 32 MiB).
	TempDir    string
	SortMemory int
	// Enqueue, when set, hands the sources to process to the worker fleet (up to 10 per
	// call) instead of processing them here; EnqueueConcurrency calls run at once
	// (default 8). Must be safe for concurrent use.
	Enqueue            func(ctx context.Context, objs []storage.ObjectInfo) error
	EnqueueConcurrency int
	// Checkpoint, when set with Enqueue, names this reindex's checkpoint under
	// reindex/checkpoints/: the plan position up to which everything was sent. A reindex
	// with the same options that finds an unfinished checkpoint younger than a day skips
	// what it already sent. Restart ignores the checkpoint.
	Checkpoint string
	Restart    bool
	// OnPlan, when set, is called during planning with each source and what the plan does
	// with it (orphans included), in plan order.
	OnPlan func(key string, action ReindexAction)
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
	// Resumed counts the sources a checkpoint showed already sent (not sent again).
	Resumed int
	// FailedBy counts the failed sources by reason (attachments included).
	FailedBy map[string]int
	// Attachments counts the documents read from the processed sources' attachments,
	// AttachmentsFailed those that failed (their chunks are in Chunks).
	Attachments, AttachmentsFailed int
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

func (p *Pipeline) classify(o Object, names []string, force bool) ReindexAction {
	want := layout.TokenDigest(changeToken(o.ETag, o.SidecarETag))
	var same, other bool
	for _, n := range names {
		fp, digest, ok := layout.StateNameParts(n)
		switch {
		case strings.HasPrefix(n, layout.TombstonePrefix):
		case ok && p.current(fp) && digest == want:
			if force {
				return ReindexForced
			}
			return ReindexUnchanged
		case ok && p.current(fp):
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
