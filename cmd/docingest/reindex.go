package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docingest/docingest/queue/sqsqueue"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
	"github.com/spf13/cobra"
)

func (a *app) reindexCommand() *cobra.Command {
	var f runFlags
	var enqueue string
	var suffixes []string
	cmd := &cobra.Command{
		Use:   "reindex SRC --out DST",
		Short: "Bring the outputs under DST in line with SRC (changed, new, removed sources, new pipeline)",
		Long: `reindex lists SRC and the state under DST (two listings, no request per object) and
processes the sources that are new, changed, or whose outputs were made by another
pipeline (a chunking or embedding change), skips the unchanged ones, and deletes the
outputs of sources that no longer exist. With --enqueue it sends one synthetic S3 event per
source to the queue instead, so the worker fleet does the work. Interrupted and run again,
it does not redo what it finished.`,
		Example: `  docingest reindex s3://uploads/reports/ --out s3://docs-out/v1 --dry-run
  docingest reindex s3://uploads/ --out s3://docs-out/v1 --enqueue https://sqs.eu-west-1.amazonaws.com/111122223333/uploads
  docingest reindex ./papers --out ./papers-out --suffix .pdf --force`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.reindex(cmd, args[0], f, enqueue, suffixes)
		},
	}
	addRunFlags(cmd, &f)
	cmd.Flags().StringVar(&enqueue, "enqueue", "", "SQS queue URL: enqueue the work for the workers instead of doing it here (S3 sources only)")
	cmd.Flags().StringSliceVar(&suffixes, "suffix", nil, "only keys ending in this (repeatable: --suffix .pdf --suffix .docx)")
	return cmd
}

func (a *app) reindex(cmd *cobra.Command, srcArg string, f runFlags, enqueue string, suffixes []string) error {
	if enqueue != "" && !strings.HasPrefix(srcArg, "s3://") {
		return usageErr(errors.New("--enqueue needs an s3:// SRC: workers read sources from S3"))
	}
	j, err := a.openBatch(cmd, srcArg, f)
	if err != nil {
		return err
	}
	ctx, cfg, src, prefix, p := cmd.Context(), j.cfg, j.src, j.prefix, j.p
	opts := worker.ReindexOptions{Source: src, Prefix: prefix, Suffixes: suffixes, Concurrency: cfg.Run.Concurrency, Force: f.force, DryRun: f.dryRun}
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
		fmt.Fprintf(a.stderr, "reindex: %d processed, %d enqueued, %d removed, %d failed; %d chunks%s in %s\n",
			sum.Processed, sum.Enqueued, sum.Removed, sum.Failed, sum.Chunks, labelsPart(sum.Labels), sum.Elapsed.Round(time.Millisecond))
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
	return nil
}

func reindexReport(s worker.ReindexSummary, dry bool) report {
	r := report{DryRun: dry, Processed: s.Processed, Unchanged: s.Planned[worker.ReindexUnchanged].Sources, Failed: s.Failed,
		FailedByReason: s.FailedBy, Chunks: s.Chunks, InputBytes: s.Bytes, Seconds: s.Elapsed.Seconds(), Labels: s.Labels,
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
