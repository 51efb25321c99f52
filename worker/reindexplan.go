package worker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/docingest/docingest/internal/extsort"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
	"golang.org/x/sync/errgroup"
)

// Planning a reindex in constant memory.
//
// The source listing comes in key order (S3's UTF-8 binary order; local listings and
// inventories in no promised order), and state/ lists in the order of the escaped source
// paths, which is not the same: escaping moves characters (":" becomes "%3A"), and a source
// "a" and a folder "a/" interleave their state files. So both listings go through an
// external sort (internal/extsort) keyed by the source path, and the plan is a merge of the
// two sorted streams: memory is the two sorts' buffers, whatever the number of keys; the
// rest spills to TempDir. What to do is written to a temporary plan file in the same
// order, which the execution reads back; that order is also what a checkpoint records.

// defaultSortMemory is what each of the plan's two sorts holds before spilling.
const defaultSortMemory = 32 << 20

// defaultEnqueueConcurrency is how many SendMessageBatch calls a reindex makes at once.
const defaultEnqueueConcurrency = 8

// checkpointEvery is how often a reindex that enqueues records its position.
const checkpointEvery = 2 * time.Second

// checkpointMaxAge is how old an unfinished checkpoint may be and still be resumed: older
// ones describe a pass whose sources may have changed since, so it starts over.
const checkpointMaxAge = 24 * time.Hour

// KeyRange is a part of the source key space: the keys that sort after After and not
// after UpTo ("" leaves that side open).
type KeyRange struct {
	After string `json:"after,omitempty"`
	UpTo  string `json:"up_to,omitempty"`
	// st, when set, is the range's part of state/ (see stateBounds); otherwise it is
	// derived from After and UpTo alone.
	st *stateRange
}

// Contains reports whether key falls in the range (a nil range holds every key).
func (r *KeyRange) Contains(key string) bool {
	return r == nil || (r.After == "" || key > r.After) && (r.UpTo == "" || key <= r.UpTo)
}

func (r *KeyRange) String() string {
	if r == nil {
		return "all keys"
	}
	return fmt.Sprintf("(%q, %q]", r.After, r.UpTo)
}

// stateRange is the part of state/ a key range owns: the source paths after
// SourcePath(After) and up to SourcePath(UpTo). The two ranges differ for keys whose
// escaping moves them across a bound; those few are looked up one by one (see Reindex).
// Escaping is not monotonic either (a.txt < a.txt/x, but a.txt/x escapes to a%2Etxt/x,
// which sorts first), so ranges cut at several keys take their state bounds from
// stateBounds, which keeps them in order: the parts of state/ then never overlap.
type stateRange struct {
	lo, hi       string
	hasLo, hasHi bool
}

func (r *KeyRange) states() stateRange {
	var s stateRange
	if r == nil {
		return s
	}
	if r.st != nil {
		return *r.st
	}
	if r.After != "" {
		s.lo, s.hasLo = layout.SourcePath(r.After), true
	}
	if r.UpTo != "" {
		s.hi, s.hasHi = layout.SourcePath(r.UpTo), true
	}
	return s
}

func (s stateRange) contains(sp string) bool {
	return (!s.hasLo || sp > s.lo) && (!s.hasHi || sp <= s.hi)
}

// stateBounds turns the bounds of consecutive key ranges (open at both ends, in order)
// into the bounds of their parts of state/: each the largest escaped path of the bounds so
// far, and never outside the enclosing part [lo, hi]. Every range computes the same.
func stateBounds(keys []string, outer stateRange) []stateRange {
	out := make([]stateRange, len(keys)+1)
	prev := stateRange{lo: outer.lo, hasLo: outer.hasLo}
	for j, k := range keys {
		b := layout.SourcePath(k)
		if prev.hasLo && b < prev.lo {
			b = prev.lo // keep the bounds in order
		}
		if outer.hasHi && b > outer.hi {
			b = outer.hi
		}
		out[j] = stateRange{lo: prev.lo, hasLo: prev.hasLo, hi: b, hasHi: true}
		prev = stateRange{lo: b, hasLo: true}
	}
	out[len(keys)] = stateRange{lo: prev.lo, hasLo: prev.hasLo, hi: outer.hi, hasHi: outer.hasHi}
	return out
}

// boundaryGroup reports whether the state files of source path sp sort past the upper
// bound's own (state/<sp>/...), though sp is below the bound: sp is a prefix of the bound
// followed by "/" (a folder of it: state/a/x.json comes after state/a/b/...) or by a
// character below "/" (state/a/x.json comes after state/a.txt/...). These few are read
// with a listing of their own folder each.
func (s stateRange) boundaryGroup(sp string) bool {
	return s.hasHi && len(sp) < len(s.hi) && strings.HasPrefix(s.hi, sp) && s.hi[len(sp)] <= '/'
}

// boundaryGroups lists the source paths for which boundaryGroup holds.
func (s stateRange) boundaryGroups() []string {
	var out []string
	for j := 1; s.hasHi && j < len(s.hi); j++ {
		if s.hi[j] <= '/' {
			out = append(out, s.hi[:j])
		}
	}
	return out
}

// afterLister is implemented by stores that can start a listing after a key (storage.S3,
// storage.S3Buckets); others are listed from the prefix and filtered.
type afterLister interface {
	ListAfter(ctx context.Context, prefix, startAfter string, fn func(storage.ObjectInfo) error) error
}

var errStopListing = errors.New("listing reached the end of its range")

// listRange lists prefix recursively, calling fn for keys after `after`, until stop says a
// key is past the range (for sorted listings; unsorted ones are listed whole).
func listRange(ctx context.Context, l interface {
	List(ctx context.Context, prefix string, recursive bool, fn func(storage.ObjectInfo) error) error
}, prefix, after string, stop func(key string) bool, fn func(storage.ObjectInfo) error) (cut bool, err error) {
	each := func(o storage.ObjectInfo) error {
		if after != "" && o.Key <= after {
			return nil
		}
		if stop != nil && stop(o.Key) {
			return errStopListing
		}
		return fn(o)
	}
	if al, ok := l.(afterLister); ok && after != "" {
		err = al.ListAfter(ctx, prefix, after, each)
	} else if _, sorted := l.(afterLister); sorted {
		err = l.List(ctx, prefix, true, each)
	} else {
		// not promised to be in order: no early stop, filter instead
		err = l.List(ctx, prefix, true, func(o storage.ObjectInfo) error {
			if (after != "" && o.Key <= after) || (stop != nil && stop(o.Key)) {
				return nil
			}
			return fn(o)
		})
	}
	if errors.Is(err, errStopListing) {
		return true, nil
	}
	return false, err
}

// Reindex brings the outputs under the store in line with the source: it lists the
// source and the state (two listings, never a request per object), processes what is new,
// changed or made by another pipeline, skips what is unchanged, and deletes the outputs of
// sources that no longer exist. Each source's outputs live under its own path, so
// removing one source never touches another with identical content.
//
// Memory is bounded whatever the number of sources (see the comment at the top of this
// file). It is resumable: every processed source commits its state, so an interrupted
// reindex run again skips what it finished; one that enqueues keeps a checkpoint
// (opts.Checkpoint) so that it does not send again what it sent.
func (p *Pipeline) Reindex(ctx context.Context, opts ReindexOptions) (ReindexSummary, error) {
	start := time.Now()
	sum := ReindexSummary{Planned: map[ReindexAction]ReindexCount{}}
	plan, err := p.planReindex(ctx, opts, &sum)
	if err != nil {
		return sum, err
	}
	defer plan.close()
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
		countAttachments(r, &sum.Attachments, &sum.AttachmentsFailed, &sum.Chunks, &sum.FailedBy)
		sum.Bytes += r.Bytes
		sum.Labels.Add(r.Labels)
		if opts.OnDone != nil {
			opts.OnDone(o, a, r, err)
		}
	}
	// Orphans first: their outputs are deleted here in both modes.
	orphans, err := plan.orphans.reader()
	if err != nil {
		return sum, err
	}
	for {
		rec, err := orphans.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, err
		}
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		src := rec.key
		// The object may have come back since the listing: RemoveGone looks again and
		// leaves it alone then. No sequencer: only real events order a source.
		removed, err := p.RemoveGone(ctx, opts.Source, src, "")
		action := ReindexOrphan
		if err == nil && !removed {
			action = ReindexUnchanged
		}
		done(ObjectAt(src), action, Result{}, err)
	}
	todo, err := plan.todo.reader()
	if err != nil {
		return sum, err
	}
	if opts.Enqueue != nil {
		err := p.enqueuePlan(ctx, opts, todo, &sum, &mu, done)
		sum.Elapsed = time.Since(start)
		return sum, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, opts.Concurrency))
	for {
		rec, err := todo.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			g.Wait()
			return sum, err
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			res, err := p.Process(gctx, opts.Source, rec.obj, 1)
			if err != nil && gctx.Err() != nil {
				return gctx.Err()
			}
			done(rec.obj, rec.action, res, err)
			return nil
		})
	}
	err = g.Wait()
	if err == nil {
		err = ctx.Err()
	}
	sum.Elapsed = time.Since(start)
	return sum, err
}

// reindexPlan is a plan on disk: the sources to process or enqueue, and the orphans to
// remove, each in source-path order.
type reindexPlan struct {
	todo, orphans *spool
}

func (p *reindexPlan) close() {
	p.todo.close()
	p.orphans.close()
}

// planReindex lists, sorts and merges, filling sum.Planned and writing the plan.
func (p *Pipeline) planReindex(ctx context.Context, opts ReindexOptions, sum *ReindexSummary) (*reindexPlan, error) {
	mem := opts.SortMemory
	if mem <= 0 {
		mem = defaultSortMemory
	}
	sources := &lockedSorter{s: extsort.New(opts.TempDir, mem)}
	states := &lockedSorter{s: extsort.New(opts.TempDir, mem)}
	srange := opts.Range.states()
	// The listings fan out over sub-ranges of the range (from the recorded split points)
	// when there are any and the source is listed, not read from an inventory: S3 answers
	// one page at a time, so one listing is bound by round trips, not by the CPU.
	parts := []*KeyRange{opts.Range}
	if opts.ListFanout > 1 && opts.Listing == nil {
		keys, err := p.readSplits(ctx, opts.Prefix)
		if err != nil {
			return nil, err
		}
		parts = subRanges(opts.Range, keys, opts.ListFanout)
	}
	samplers := make([]*splitSampler, len(parts))
	lg, lctx := errgroup.WithContext(ctx)
	lg.SetLimit(2 * max(1, opts.ListFanout))
	for i, part := range parts {
		samplers[i] = newSplitSampler()
		lg.Go(func() error { return p.listStateRange(lctx, opts.Prefix, part.states(), states) })
		lg.Go(func() error { return p.listSourceRange(lctx, opts, part, mem, samplers[i], sources) })
	}
	if err := lg.Wait(); err != nil {
		return nil, err
	}
	splits := mergeSamplers(samplers)
	plan := &reindexPlan{todo: newSpool(opts.TempDir), orphans: newSpool(opts.TempDir)}
	ok := false
	defer func() {
		if !ok {
			plan.close()
		}
	}()
	if err := p.mergePlan(ctx, opts, srange, sources.s, states.s, plan, sum); err != nil {
		return nil, err
	}
	if opts.Range == nil && !opts.DryRun && splits.sorted && splits.n > 0 {
		if err := p.writeSplits(ctx, opts.Prefix, splits); err != nil {
			return nil, err
		}
	}
	ok = true
	return plan, nil
}

// lockedSorter lets the listings of several sub-ranges feed one sort.
type lockedSorter struct {
	mu sync.Mutex
	s  *extsort.Sorter
}

func (l *lockedSorter) Add(rec []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Add(rec)
}

// listStateRange lists the part of state/ a key range owns into the sort.
func (p *Pipeline) listStateRange(ctx context.Context, prefix string, srange stateRange, states *lockedSorter) error {
	statePrefix := stateFolder(prefix)
	after := ""
	if srange.hasLo {
		after = layout.StateRoot + srange.lo
	}
	var stop func(string) bool
	if srange.hasHi {
		// every state file of the bound sorts before this; those of source paths between
		// the bound and it (state/a-2/ between state/a and state/a/) belong to the next
		// range and are skipped
		end := layout.StateRoot + srange.hi + "/"
		stop = func(key string) bool { return key > end && !strings.HasPrefix(key, end) }
	}
	var rec []byte
	add := func(o storage.ObjectInfo) error {
		rest := strings.TrimPrefix(o.Key, layout.StateRoot)
		i := strings.LastIndexByte(rest, '/')
		if i < 0 || !isMarker(rest[i+1:]) {
			return nil
		}
		sp := rest[:i]
		if !srange.contains(sp) || srange.boundaryGroup(sp) {
			return nil
		}
		rec = encodeState(rec[:0], sp, rest[i+1:], o.Modified)
		return states.Add(rec)
	}
	if _, err := listRange(ctx, p.out, statePrefix, after, stop, add); err != nil {
		return fmt.Errorf("list state: %w", err)
	}
	for _, anc := range srange.boundaryGroups() {
		if !srange.contains(anc) || !strings.HasPrefix(layout.StateRoot+anc+"/", statePrefix) {
			continue
		}
		err := p.eachStateName(ctx, anc, func(name string, mod time.Time) error {
			return states.Add(encodeState(rec[:0], anc, name, mod))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// listSourceRange lists the sources of a key range (or reads opts.Listing) into the sort,
// through the sidecar join.
func (p *Pipeline) listSourceRange(ctx context.Context, opts ReindexOptions, r *KeyRange, mem int, splits *splitSampler, sources *lockedSorter) error {
	var rec []byte
	join := newSidecarJoin(ctx, opts.Source, func(o Object) error {
		if !hasSuffix(o.Key, opts.Suffixes) || !r.Contains(o.Key) {
			return nil
		}
		splits.add(o.Key)
		rec = encodeSource(rec[:0], layout.SourcePath(o.Key), o)
		return sources.Add(rec)
	})
	if opts.Listing != nil {
		return p.sortedListing(ctx, opts, mem, join)
	}
	var stop func(string) bool
	after := ""
	if r != nil {
		after = r.After
		if up := r.UpTo; up != "" {
			// sidecars past the bound are asked for directly (flushCut)
			stop = func(key string) bool { return key > up }
		}
	}
	cut, err := listRange(ctx, opts.Source, opts.Prefix, after, stop, join.add)
	if err != nil {
		return err
	}
	if cut {
		return join.flushCut()
	}
	return join.flush()
}

// subRanges divides r at up to n-1 of the split keys that fall inside it.
func subRanges(r *KeyRange, keys []string, n int) []*KeyRange {
	var inside []string
	for _, k := range keys {
		if r.Contains(k) && (r == nil || k != r.UpTo) {
			inside = append(inside, k)
		}
	}
	if n < 2 || len(inside) < n {
		return []*KeyRange{r}
	}
	bounds := make([]string, 0, n-1)
	for j := 1; j < n; j++ {
		if b := inside[j*len(inside)/n]; len(bounds) == 0 || b > bounds[len(bounds)-1] {
			bounds = append(bounds, b)
		}
	}
	sts := stateBounds(bounds, r.states())
	lo, up := "", ""
	if r != nil {
		lo, up = r.After, r.UpTo
	}
	out := make([]*KeyRange, len(bounds)+1)
	for j := range out {
		kr := &KeyRange{After: lo, UpTo: up, st: &sts[j]}
		if j > 0 {
			kr.After = bounds[j-1]
		}
		if j < len(bounds) {
			kr.UpTo = bounds[j]
		}
		out[j] = kr
	}
	return out
}

// stateFolder is the state/ folder that holds the states of every source under prefix:
// the folder of the prefix, escaped as a folder is.
func stateFolder(prefix string) string {
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return layout.StateRoot
	}
	sp := layout.SourcePath(prefix[:i] + "/x")
	if !strings.HasSuffix(sp, "/x") {
		return layout.StateRoot // a path long enough to be hashed: no folder to narrow to
	}
	return layout.StateRoot + sp[:len(sp)-1]
}

// mergePlan walks the two sorted streams side by side: a source with its state group, a
// source without one (new, or a misfit whose state lies outside this range's part of
// state/, looked up on its own), a state group without a source (an orphan candidate).
func (p *Pipeline) mergePlan(ctx context.Context, opts ReindexOptions, srange stateRange, sources, states *extsort.Sorter, plan *reindexPlan, sum *ReindexSummary) error {
	si, err := sources.Sort()
	if err != nil {
		return err
	}
	defer si.Close()
	sti, err := states.Sort()
	if err != nil {
		return err
	}
	defer sti.Close()
	groups := &groupIter{it: sti}
	var cur sourceRec
	haveS := si.Next()
	if haveS {
		cur = decodeSource(si.Record())
	}
	haveG := groups.next()
	var rec []byte
	for n := 0; haveS || haveG; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		switch {
		case haveS && (!haveG || cur.sp <= groups.sp):
			var names []string
			var newest time.Time
			if haveG && cur.sp == groups.sp {
				names, newest = groups.names, groups.newest
			} else if !srange.contains(cur.sp) {
				// a misfit: its key is in this range, its escaped path is not
				err := p.eachStateName(ctx, cur.sp, func(name string, mod time.Time) error {
					names = append(names, name)
					if mod.After(newest) {
						newest = mod
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			action := p.classify(cur.obj, names, opts.Force)
			if action != ReindexUnchanged && !opts.ListingTime.IsZero() && newest.After(opts.ListingTime) {
				// processed since the inventory was taken: the report's version is older
				// than what the state shows, and the event path has the newer one
				action = ReindexUnchanged
			}
			if opts.OnPlan != nil {
				opts.OnPlan(cur.obj.Key, action)
			}
			c := sum.Planned[action]
			c.Sources++
			c.Bytes += cur.obj.Size
			sum.Planned[action] = c
			if action != ReindexUnchanged {
				rec = encodeSource(rec[:0], cur.sp, cur.obj)
				if err := plan.todo.add(action, rec); err != nil {
					return err
				}
			}
			if haveG && cur.sp == groups.sp {
				haveG = groups.next()
			}
			if haveS = si.Next(); haveS {
				cur = decodeSource(si.Record())
			}
		default:
			// Sources in the state that the listing did not return. The state listing is
			// by folder, so a candidate is an orphan only when its recorded key falls
			// under the prefix and suffixes of this reindex (one GET per candidate, never
			// per source). One whose key lies in another shard's range is a misfit: if its
			// source is gone, only this shard sees it, so it is this shard's orphan; if not,
			// the other shard plans it.
			// From an inventory, a state written after the report was taken may belong to
			// an object uploaded since: not an orphan (the event path has it).
			if !allTombstones(groups.names) && (opts.ListingTime.IsZero() || !groups.newest.After(opts.ListingTime)) {
				key, err := p.sourceOfPath(ctx, groups.sp)
				if err != nil {
					return err
				}
				mine := strings.HasPrefix(key, opts.Prefix) && hasSuffix(key, opts.Suffixes)
				if mine && (!opts.Range.Contains(key) || opts.Listing != nil) {
					// (from an inventory, look again: it may be out of date)
					exists, err := sourceExists(ctx, opts.Source, key)
					if err != nil {
						return err
					}
					mine = !exists
				}
				if mine {
					if opts.OnPlan != nil {
						opts.OnPlan(key, ReindexOrphan)
					}
					rec = encodeSource(rec[:0], groups.sp, ObjectAt(key))
					if err := plan.orphans.add(ReindexOrphan, rec); err != nil {
						return err
					}
					c := sum.Planned[ReindexOrphan]
					c.Sources++
					sum.Planned[ReindexOrphan] = c
				}
			}
			haveG = groups.next()
		}
	}
	if err := si.Err(); err != nil {
		return err
	}
	return sti.Err()
}

// groupIter reads the sorted state records (source path, 0, marker name) a source path at
// a time.
type groupIter struct {
	it        *extsort.Iter
	peeked    bool // it holds a record not yet taken into a group
	exhausted bool
	sp        string
	names     []string
	newest    time.Time // the newest marker's modification time
}

func (g *groupIter) next() bool {
	g.names, g.newest = g.names[:0], time.Time{}
	if !g.peeked {
		if g.exhausted || !g.it.Next() {
			g.exhausted = true
			return false
		}
	}
	sp, name, mod := decodeState(g.it.Record())
	g.sp = sp
	for {
		g.names = append(g.names, name)
		if mod.After(g.newest) {
			g.newest = mod
		}
		if !g.it.Next() {
			g.peeked, g.exhausted = false, true
			return true
		}
		sp, name, mod = decodeState(g.it.Record())
		if sp != g.sp {
			g.peeked = true
			return true
		}
	}
}

// encodeState appends a state sort record: source path, 0, marker name, 0, modification
// time (neither a path nor a name holds a 0 byte).
func encodeState(b []byte, sp, name string, mod time.Time) []byte {
	b = append(append(append(append(b, sp...), 0), name...), 0)
	var ns int64
	if !mod.IsZero() {
		ns = mod.UnixNano()
	}
	return binary.AppendVarint(b, ns)
}

func decodeState(b []byte) (sp, name string, mod time.Time) {
	s, rest, _ := bytes.Cut(b, []byte{0})
	n, rest, _ := bytes.Cut(rest, []byte{0})
	if ns, k := binary.Varint(rest); k > 0 && ns != 0 {
		mod = time.Unix(0, ns)
	}
	return string(s), string(n), mod
}

// eachStateName lists the markers of one source path (a misfit's, or one beside a bound).
func (p *Pipeline) eachStateName(ctx context.Context, sp string, fn func(name string, mod time.Time) error) error {
	err := p.out.List(ctx, layout.StateRoot+sp+"/", false, func(o storage.ObjectInfo) error {
		if name := o.Key[strings.LastIndexByte(o.Key, '/')+1:]; isMarker(name) {
			return fn(name, o.Modified)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list state: %w", err)
	}
	return nil
}

// sortedListing feeds the sidecar join from opts.Listing (an inventory, in no promised
// order): the objects under the prefix and in the range are sorted by key on disk first,
// since the join needs each source before its sidecar.
func (p *Pipeline) sortedListing(ctx context.Context, opts ReindexOptions, mem int, join *sidecarJoin) error {
	keys := extsort.New(opts.TempDir, mem)
	var rec []byte
	err := opts.Listing(ctx, func(o storage.ObjectInfo) error {
		if !strings.HasPrefix(o.Key, opts.Prefix) || !opts.Range.Contains(o.Key) && !(IsSidecar(o.Key) && opts.Range.Contains(SidecarSource(o.Key))) {
			return nil
		}
		if strings.IndexByte(o.Key, 0) >= 0 {
			return fmt.Errorf("listing: key %q holds a NUL byte", o.Key)
		}
		rec = encodeSource(rec[:0], o.Key, Object{ObjectInfo: o})
		return keys.Add(rec)
	})
	if err != nil {
		return err
	}
	it, err := keys.Sort()
	if err != nil {
		return err
	}
	defer it.Close()
	var prev string
	for it.Next() {
		r := decodeSource(it.Record())
		if r.obj.Key == prev {
			continue // listed twice (a report may repeat a key across files)
		}
		prev = r.obj.Key
		if err := join.add(r.obj.ObjectInfo); err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	return join.flush()
}

// sourceRec is one listed source: its escaped path (the sort key) and what the listing said.
type sourceRec struct {
	sp  string
	obj Object
}

// encodeSource appends a sort record: the source path, a 0 byte (never in a path: control
// characters are escaped), then the object's fields.
func encodeSource(b []byte, sp string, o Object) []byte {
	b = append(append(b, sp...), 0)
	for _, f := range []string{o.Key, o.ETag, o.SidecarETag, o.VersionID} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.AppendVarint(b, o.Size)
	var mod int64
	if !o.Modified.IsZero() {
		mod = o.Modified.UnixNano()
	}
	return binary.AppendVarint(b, mod)
}

func decodeSource(b []byte) sourceRec {
	sp, rest, _ := bytes.Cut(b, []byte{0})
	r := sourceRec{sp: string(sp)}
	field := func() string {
		n, k := binary.Uvarint(rest)
		v := string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
		return v
	}
	r.obj.Key, r.obj.ETag, r.obj.SidecarETag, r.obj.VersionID = field(), field(), field(), field()
	size, k := binary.Varint(rest)
	rest = rest[k:]
	mod, _ := binary.Varint(rest)
	r.obj.Size = size
	if mod != 0 {
		r.obj.Modified = time.Unix(0, mod).UTC()
	}
	return r
}

// planActions numbers the actions in a plan file.
var planActions = [...]ReindexAction{ReindexNew, ReindexChanged, ReindexStale, ReindexForced, ReindexUnchanged, ReindexOrphan}

// spool is a plan file: records written in order and read back once, in an unlinked
// temporary file (created at the first record).
type spool struct {
	dir string
	f   *os.File
	w   *bufio.Writer
	n   int
}

func newSpool(dir string) *spool { return &spool{dir: dir} }

func (s *spool) add(action ReindexAction, rec []byte) error {
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, "docingest-plan-*")
		if err != nil {
			return fmt.Errorf("reindex plan: %w", err)
		}
		os.Remove(f.Name())
		s.f, s.w = f, bufio.NewWriterSize(f, 256<<10)
	}
	a := 0
	for i, x := range planActions {
		if x == action {
			a = i
		}
	}
	s.w.Write(binary.AppendUvarint(nil, uint64(len(rec)+1)))
	s.w.WriteByte(byte(a))
	_, err := s.w.Write(rec)
	s.n++
	return err
}

func (s *spool) reader() (*spoolReader, error) {
	if s.f == nil {
		return &spoolReader{}, nil
	}
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("reindex plan: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("reindex plan: %w", err)
	}
	return &spoolReader{r: bufio.NewReaderSize(s.f, 256<<10)}, nil
}

func (s *spool) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

type spoolReader struct {
	r   *bufio.Reader
	buf []byte
}

// planRec is one line of a plan.
type planRec struct {
	action ReindexAction
	sp     string
	key    string
	obj    Object
}

func (r *spoolReader) next() (planRec, error) {
	if r.r == nil {
		return planRec{}, io.EOF
	}
	n, err := binary.ReadUvarint(r.r)
	if err != nil {
		if err == io.EOF {
			return planRec{}, io.EOF
		}
		return planRec{}, fmt.Errorf("reindex plan: %w", err)
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		return planRec{}, fmt.Errorf("reindex plan: %w", err)
	}
	s := decodeSource(r.buf[1:])
	return planRec{action: planActions[r.buf[0]], sp: s.sp, key: s.obj.Key, obj: s.obj}, nil
}

// maxSplitKeys is about how many keys a reindex records as split points for shards.
const maxSplitKeys = 1024

// splitSampler keeps every stride-th key of a sorted listing, doubling the stride when it
// holds twice maxSplitKeys: evenly spaced keys in bounded memory.
type splitSampler struct {
	keys   []string
	stride int64
	n      int64
	last   string
	sorted bool
}

func newSplitSampler() *splitSampler { return &splitSampler{stride: 1, sorted: true} }

func (s *splitSampler) add(key string) {
	if s.n > 0 && key < s.last {
		s.sorted = false
	}
	s.last = key
	if s.n%s.stride == 0 {
		s.keys = append(s.keys, key)
		if len(s.keys) > 2*maxSplitKeys {
			for i := range (len(s.keys) + 1) / 2 {
				s.keys[i] = s.keys[2*i]
			}
			s.keys = s.keys[:(len(s.keys)+1)/2]
			s.stride *= 2
		}
	}
	s.n++
}

// mergeSamplers joins the samples of consecutive sub-ranges: each kept key stands for
// stride keys of its part, so the joined sample takes the keys at even steps of that
// weight.
func mergeSamplers(parts []*splitSampler) *splitSampler {
	if len(parts) == 1 {
		return parts[0]
	}
	out := newSplitSampler()
	var total int64
	for _, sm := range parts {
		total += sm.n
		out.sorted = out.sorted && sm.sorted
	}
	out.n = total
	step := max(1, total/maxSplitKeys)
	var seen, next int64
	for _, sm := range parts {
		for _, k := range sm.keys {
			if seen >= next {
				out.keys = append(out.keys, k)
				next += step
			}
			seen += sm.stride
		}
	}
	return out
}

// reindexSplits is reindex/splits.json: evenly spaced keys of the last whole (unsharded)
// reindex of a prefix, from which shards take their ranges.
type reindexSplits struct {
	Prefix  string    `json:"prefix"`
	Sources int64     `json:"sources"`
	Keys    []string  `json:"keys"`
	Written time.Time `json:"written"`
}

func (p *Pipeline) writeSplits(ctx context.Context, prefix string, s *splitSampler) error {
	b, err := json.Marshal(reindexSplits{Prefix: prefix, Sources: s.n, Keys: s.keys, Written: time.Now().UTC()})
	if err != nil {
		return err
	}
	if err := p.out.Put(ctx, layout.ReindexSplits, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("record split points: %w", err)
	}
	return nil
}

// ShardRange is the key range of shard i of n (0-based) of a reindex of prefix. The bounds
// are the split points the last whole reindex of the same prefix recorded
// (reindex/splits.json), so that the shards hold about as many sources each; without
// them (fromSplits false) the key space is divided evenly by the first character after
// the prefix, which is balanced only for evenly spread names. Every shard of a run
// computes the same ranges from the same file, and the ranges cover every key once.
func (p *Pipeline) ShardRange(ctx context.Context, prefix string, i, n int) (r *KeyRange, fromSplits bool, err error) {
	if n < 1 || i < 0 || i >= n {
		return nil, false, fmt.Errorf("shard %d/%d: want 0 <= i < n", i, n)
	}
	if n == 1 {
		return nil, false, nil
	}
	bounds := make([]string, n+1) // bounds[0] and bounds[n] stay open
	keys, err := p.readSplits(ctx, prefix)
	if err != nil {
		return nil, false, err
	}
	if len(keys) >= n {
		for k := 1; k < n; k++ {
			bounds[k] = keys[k*len(keys)/n]
		}
		for k := 1; k < n; k++ {
			if bounds[k] <= bounds[k-1] && k > 1 {
				return nil, false, fmt.Errorf("%s: split points out of order", layout.ReindexSplits)
			}
		}
		fromSplits = true
	} else {
		const lo, hi = 0x20, 0x7f
		for k := 1; k < n; k++ {
			bounds[k] = prefix + string(rune(lo+k*(hi-lo)/n))
		}
	}
	st := stateBounds(bounds[1:n], stateRange{})[i]
	return &KeyRange{After: bounds[i], UpTo: bounds[i+1], st: &st}, fromSplits, nil
}

// readSplits returns the split points recorded for prefix (none when there are none, or
// they are of another prefix).
func (p *Pipeline) readSplits(ctx context.Context, prefix string) ([]string, error) {
	body, err := p.out.Get(ctx, layout.ReindexSplits)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read split points: %w", err)
	}
	var sp reindexSplits
	if err := json.Unmarshal(body, &sp); err != nil {
		return nil, fmt.Errorf("%s: %w", layout.ReindexSplits, err)
	}
	if sp.Prefix != prefix {
		return nil, nil
	}
	return sp.Keys, nil
}

// reindexCheckpoint is reindex/checkpoints/<name>.json: how far a reindex that enqueues
// got, in plan order (source paths), so that a restarted one does not send again what it
// sent.
type reindexCheckpoint struct {
	Options string    `json:"options"`
	After   string    `json:"after"`
	Sent    int       `json:"sent"`
	Updated time.Time `json:"updated"`
	Done    bool      `json:"done"`
}

// optionsDigest identifies a pass: two reindexes with the same digest plan the same
// sources in the same order.
func (p *Pipeline) optionsDigest(opts ReindexOptions) string {
	b, _ := json.Marshal(map[string]any{"prefix": opts.Prefix, "suffixes": opts.Suffixes, "range": opts.Range,
		"force": opts.Force, "pipeline": p.cfg.Fingerprint})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// frontier tracks batches sent out of order and the plan position before which every
// batch was sent.
type frontier struct {
	mu      sync.Mutex
	next    int
	pending map[int]frontierBatch
	cp      reindexCheckpoint
	written time.Time
	dirty   bool
}

type frontierBatch struct {
	lastSP string
	n      int
}

func (f *frontier) complete(seq int, b frontierBatch) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending[seq] = b
	for {
		b, ok := f.pending[f.next]
		if !ok {
			return
		}
		delete(f.pending, f.next)
		f.next++
		f.cp.After, f.cp.Sent, f.dirty = b.lastSP, f.cp.Sent+b.n, true
	}
}

func (p *Pipeline) writeCheckpoint(ctx context.Context, name string, cp reindexCheckpoint) error {
	cp.Updated = time.Now().UTC()
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	if err := p.out.Put(ctx, layout.ReindexCheckpoint(name), bytes.NewReader(b)); err != nil {
		return fmt.Errorf("reindex checkpoint: %w", err)
	}
	return nil
}

// readCheckpoint returns where a previous run of the same pass stopped ("" to start over).
func (p *Pipeline) readCheckpoint(ctx context.Context, opts ReindexOptions) (reindexCheckpoint, error) {
	fresh := reindexCheckpoint{Options: p.optionsDigest(opts)}
	if opts.Restart {
		return fresh, nil
	}
	body, err := p.out.Get(ctx, layout.ReindexCheckpoint(opts.Checkpoint))
	if errors.Is(err, storage.ErrNotFound) {
		return fresh, nil
	}
	if err != nil {
		return fresh, fmt.Errorf("reindex checkpoint: %w", err)
	}
	var cp reindexCheckpoint
	if json.Unmarshal(body, &cp) != nil || cp.Options != fresh.Options || cp.Done || time.Since(cp.Updated) > checkpointMaxAge {
		return fresh, nil
	}
	return cp, nil
}

// enqueuePlan sends the plan's sources to the queue, EnqueueConcurrency batches at once,
// recording the checkpoint as the contiguous part of the plan that was sent advances.
func (p *Pipeline) enqueuePlan(ctx context.Context, opts ReindexOptions, todo *spoolReader, sum *ReindexSummary, mu *sync.Mutex, done func(Object, ReindexAction, Result, error)) error {
	f := &frontier{pending: map[int]frontierBatch{}, written: time.Now()}
	if opts.Checkpoint != "" {
		cp, err := p.readCheckpoint(ctx, opts)
		if err != nil {
			return err
		}
		f.cp = cp
	}
	resumeAfter := f.cp.After
	save := func(ctx context.Context, force bool) error {
		if opts.Checkpoint == "" {
			return nil
		}
		f.mu.Lock()
		if !force && (!f.dirty || time.Since(f.written) < checkpointEvery) {
			f.mu.Unlock()
			return nil
		}
		cp := f.cp
		f.dirty, f.written = false, time.Now()
		f.mu.Unlock()
		return p.writeCheckpoint(ctx, opts.Checkpoint, cp)
	}
	type batch struct {
		seq  int
		recs []planRec
	}
	batches := make(chan batch)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(batches)
		var cur []planRec
		seq := 0
		send := func() error {
			select {
			case batches <- batch{seq, cur}:
				seq++
				cur = nil
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		for {
			rec, err := todo.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if resumeAfter != "" && rec.sp <= resumeAfter {
				mu.Lock()
				sum.Resumed++
				mu.Unlock()
				continue
			}
			if cur = append(cur, rec); len(cur) == 10 {
				if err := send(); err != nil {
					return err
				}
			}
		}
		if len(cur) > 0 {
			return send()
		}
		return nil
	})
	for range max(1, cmpOr(opts.EnqueueConcurrency, defaultEnqueueConcurrency)) {
		g.Go(func() error {
			for b := range batches {
				objs := make([]storage.ObjectInfo, len(b.recs))
				for k, r := range b.recs {
					objs[k] = r.obj.ObjectInfo
				}
				err := opts.Enqueue(gctx, objs)
				for _, r := range b.recs {
					done(r.obj, r.action, Result{}, err)
				}
				if err != nil {
					return fmt.Errorf("enqueue: %w", err)
				}
				f.complete(b.seq, frontierBatch{lastSP: b.recs[len(b.recs)-1].sp, n: len(b.recs)})
				if err := save(gctx, false); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := g.Wait()
	if opts.Checkpoint != "" {
		// Record where this run got to even when it was stopped (a SIGTERM cancels ctx).
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		f.mu.Lock()
		f.cp.Done = err == nil
		f.mu.Unlock()
		if serr := save(wctx, true); serr != nil && err == nil {
			err = serr
		}
	}
	return err
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
