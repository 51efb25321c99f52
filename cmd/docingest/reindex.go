package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docingest/docingest/inventory"
	"github.com/docingest/docingest/queue/sqsqueue"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
	"github.com/spf13/cobra"
)

func (a *app) reindexCommand() *cobra.Command {
	var f runFlags
	var enqueue, shard, tmp, inv string
	var suffixes []string
	var restart bool
	var enqueueConcurrency, listParallel int
	cmd := &cobra.Command{
		Use:   "reindex SRC --out DST",
		Short: "Bring the outputs under DST in line with SRC (changed, new, removed sources, new pipeline)",
		Long: `reindex lists SRC and the state under DST (two listings, no request per object) and
processes the sources that are new, changed, or whose outputs were made by another
pipeline (a chunking or embedding change), skips the unchanged ones, and deletes the
outputs of sources that no longer exist. With --enqueue it sends one synthetic S3 event per
source to the queue instead, so the worker fleet does the work. Interrupted and run again,
it does not redo what it finished; with --enqueue it keeps a checkpoint under
DST/reindex/checkpoints/ and does not send again what it sent (--restart ignores it).

Planning takes bounded memory whatever the number of sources: both listings are sorted
on disk (--tmp, default the system's temporary folder) and merged. --shard i/n plans
only the i-th of n key ranges (0-based, like an Indexed Job's JOB_COMPLETION_INDEX), so n
machines divide the listing and the work; the ranges come from split points that every
whole (unsharded) reindex records under DST/reindex/splits.json.

--inventory s3://bucket/path/manifest.json plans from an S3 Inventory report of SRC's
bucket (CSV or Parquet; ORC cannot be read) instead of listing SRC, as AWS advises for
large buckets. Objects uploaded after the report are left to the event path, and a state
written after it is never taken for an orphan.`,
		Example: `  docingest reindex s3://uploads/reports/ --out s3://docs-out/v1 --dry-run
  docingest reindex s3://uploads/ --out s3://docs-out/v1 --enqueue https://sqs.eu-west-1.amazonaws.com/111122223333/uploads
  docingest reindex ./papers --out ./papers-out --suffix .pdf --force
  docingest reindex s3://uploads/ --out s3://docs-out/v1 --inventory s3://inventories/uploads/all/2026-11-30T01-00Z/manifest.json --dry-run
  docingest reindex s3://uploads/ --out s3://docs-out/v1 --shard 2/8 --enqueue https://sqs.eu-west-1.amazonaws.com/111122223333/uploads`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.reindex(cmd, args[0], f, reindexFlags{enqueue: enqueue, suffixes: suffixes, shard: shard, tmp: tmp, inventory: inv, restart: restart, enqueueConcurrency: enqueueConcurrency, listParallel: listParallel})
		},
	}
	addRunFlags(cmd, &f)
	cmd.Flags().StringVar(&enqueue, "enqueue", "", "SQS queue URL: enqueue the work for the workers instead of doing it here (S3 sources only)")
	cmd.Flags().StringSliceVar(&suffixes, "suffix", nil, "only keys ending in this (repeatable: --suffix .pdf --suffix .docx)")
	cmd.Flags().StringVar(&shard, "shard", "", "plan only shard i of n (i/n, 0-based), for n machines or an Indexed Job")
	cmd.Flags().StringVar(&inv, "inventory", "", "plan from this S3 Inventory report (s3://bucket/path/manifest.json) instead of listing SRC")
	cmd.Flags().StringVar(&tmp, "tmp", "", "folder for the plan's sort runs (default: the system's temporary folder)")
	cmd.Flags().BoolVar(&restart, "restart", false, "with --enqueue: ignore the checkpoint of an unfinished run and send everything")
	cmd.Flags().IntVar(&enqueueConcurrency, "enqueue-concurrency", 8, "with --enqueue: SendMessageBatch calls at once")
	cmd.Flags().IntVar(&listParallel, "list-parallel", 8, "list this many parts of the key range at once, cut at the recorded split points (1: one listing)")
	return cmd
}

type reindexFlags struct {
	enqueue, shard, tmp, inventory   string
	suffixes                         []string
	restart                          bool
	enqueueConcurrency, listParallel int
}

// parseShard reads --shard i/n.
func parseShard(s string) (i, n int, err error) {
	if s == "" {
		return 0, 1, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n || n > 10000 {
		return 0, 0, fmt.Errorf("--shard %q: want i/n with 0 <= i < n <= 10000", s)
	}
	return i, n, nil
}

func (a *app) reindex(cmd *cobra.Command, srcArg string, f runFlags, rf reindexFlags) error {
	enqueue, suffixes := rf.enqueue, rf.suffixes
	shardI, shardN, err := parseShard(rf.shard)
	if err != nil {
		return usageErr(err)
	}
	if rf.enqueueConcurrency < 1 || rf.listParallel < 1 {
		return usageErr(errors.New("--enqueue-concurrency and --list-parallel must be at least 1"))
	}
	if rf.inventory != "" && (!strings.HasPrefix(srcArg, "s3://") || !strings.HasPrefix(rf.inventory, "s3://") || !strings.HasSuffix(rf.inventory, "/manifest.json")) {
		return usageErr(errors.New("--inventory needs an s3:// SRC and the s3:// address of a report's manifest.json"))
	}
	if enqueue != "" && !strings.HasPrefix(srcArg, "s3://") {
		return usageErr(errors.New("--enqueue needs an s3:// SRC: workers read sources from S3"))
	}
	j, err := a.openBatch(cmd, srcArg, f)
	if err != nil {
		return err
	}
	ctx, cfg, src, prefix, p := cmd.Context(), j.cfg, j.src, j.prefix, j.p
	opts := worker.ReindexOptions{Source: src, Prefix: prefix, Suffixes: suffixes, Concurrency: cfg.Run.Concurrency, Force: f.force, DryRun: f.dryRun,
		TempDir: rf.tmp, Restart: rf.restart, EnqueueConcurrency: rf.enqueueConcurrency, ListFanout: rf.listParallel, Checkpoint: "all"}
	if rf.inventory != "" {
		buckets, ok := src.(*storage.S3Buckets)
		if !ok {
			return usageErr(errors.New("--inventory needs an s3:// SRC"))
		}
		m, err := inventory.ReadManifest(ctx, buckets, strings.TrimPrefix(rf.inventory, "s3://"))
		if err != nil {
			return err
		}
		if bucket, _, _ := strings.Cut(prefix, "/"); m.SourceBucket != bucket {
			return usageErr(fmt.Errorf("--inventory: the report is of bucket %q, SRC is in %q", m.SourceBucket, bucket))
		}
		created, _ := m.Created()
		a.logger(cfg).Info("planning from an S3 Inventory report", "manifest", rf.inventory, "format", m.FileFormat, "files", len(m.Files), "taken", created)
		opts.ListingTime = created
		opts.Listing = func(ctx context.Context, fn func(storage.ObjectInfo) error) error {
			return m.Each(ctx, buckets, rf.tmp, func(o inventory.Object) error { return fn(o.Info()) })
		}
	}
	if shardN > 1 {
		r, fromSplits, err := p.ShardRange(ctx, prefix, shardI, shardN)
		if err != nil {
			return err
		}
		if !fromSplits {
			a.logger(cfg).Warn("no split points recorded for this prefix: shards divide the key space by its first character, which is balanced only for evenly spread names; a whole (unsharded) reindex records them",
				"prefix", prefix)
		}
		a.logger(cfg).Info("reindex shard", "shard", rf.shard, "range", r.String())
		opts.Range, opts.Checkpoint = r, fmt.Sprintf("%d-of-%d", shardI, shardN)
	}
	if enqueue != "" {
		c, err := a.aws(ctx, cfg, &j.clients)
		if err != nil {
			return err
		}
		q := sqsqueue.New(c.sqs(), enqueue)
		opts.Enqueue = func(ctx context.Context, objs []storage.ObjectInfo) error {
			events := make([]sqsqueue.Object, len(objs))
			for i, o := range objs {
				bucket, key, _ := strings.Cut(o.Key, "/")
				events[i] = sqsqueue.Object{Bucket: bucket, Key: key, ETag: o.ETag, Size: o.Size}
			}
			return q.SendCreated(ctx, events)
		}
	}
	var progress *progress
	opts.OnPlanned = func(s worker.ReindexSummary) {
		fmt.Fprintln(a.stderr, planLine(s, f.dryRun))
		if !f.dryRun {
			progress = a.startProgress("reindexing", s.ToDo().Bytes)
		}
	}
	opts.OnDone = func(o worker.Object, action worker.ReindexAction, res worker.Result, err error) {
		failed := err != nil || res.Failure != nil
		if progress != nil && action != worker.ReindexOrphan && action != worker.ReindexUnchanged {
			progress.add(o.Size, failed)
		}
		switch {
		case err != nil:
			progress.log(fmt.Sprintf("failed: %s: %v", o.Key, err))
		case res.Failure != nil:
			progress.log(fmt.Sprintf("failed: %s: %s: %s", o.Key, res.Failure.Reason, res.Failure.Error))
		}
	}
	sum, err := p.Reindex(ctx, opts)
	if progress != nil {
		progress.finish()
	}
	if !f.dryRun {
		resumed := ""
		if sum.Resumed > 0 {
			resumed = fmt.Sprintf(" (%d sent before, by the run this one resumed)", sum.Resumed)
		}
		atts := ""
		if sum.Attachments > 0 {
			atts = fmt.Sprintf(", %d attachments (%d failed)", sum.Attachments, sum.AttachmentsFailed)
		}
		fmt.Fprintf(a.stderr, "reindex: %d processed, %d enqueued%s, %d removed, %d failed%s; %d chunks%s in %s\n",
			sum.Processed, sum.Enqueued, resumed, sum.Removed, sum.Failed, atts, sum.Chunks, labelsPart(sum.Labels), sum.Elapsed.Round(time.Millisecond))
	}
	if jerr := a.printJSON(f, reindexReport(sum, f.dryRun)); jerr != nil {
		return jerr
	}
	if err != nil {
		return &exitError{code: exitFailures, err: err}
	}
	if sum.Failed > 0 {
		return &exitError{code: exitFailures, err: fmt.Errorf("%d sources failed", sum.Failed)}
	}
	if sum.AttachmentsFailed > 0 {
		return &exitError{code: exitFailures, err: fmt.Errorf("%d attachments failed: see 'docingest failed list --out %s'", sum.AttachmentsFailed, f.out)}
	}
	return nil
}

func reindexReport(s worker.ReindexSummary, dry bool) report {
	r := report{DryRun: dry, Processed: s.Processed, Unchanged: s.Planned[worker.ReindexUnchanged].Sources, Failed: s.Failed,
		FailedByReason: s.FailedBy, Attachments: s.Attachments, AttachmentsFailed: s.AttachmentsFailed, Chunks: s.Chunks, InputBytes: s.Bytes, Seconds: s.Elapsed.Seconds(), Labels: s.Labels,
		PlannedBytes: s.ToDo().Bytes, Enqueued: &s.Enqueued, Removed: &s.Removed}
	for a, c := range s.Planned {
		if a != worker.ReindexOrphan {
			r.Documents += c.Sources
		}
	}
	return r
}

func planLine(s worker.ReindexSummary, dry bool) string {
	var parts []string
	for _, a := range []worker.ReindexAction{worker.ReindexNew, worker.ReindexChanged, worker.ReindexStale, worker.ReindexForced, worker.ReindexUnchanged, worker.ReindexOrphan} {
		c := s.Planned[a]
		if a == worker.ReindexOrphan {
			parts = append(parts, fmt.Sprintf("%s (removed) %d", a, c.Sources))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d (%.1f MB)", a, c.Sources, float64(c.Bytes)/1e6))
	}
	head := "plan"
	if dry {
		head = "dry run"
	}
	return head + ": " + strings.Join(parts, ", ")
}
