package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
	"github.com/spf13/cobra"
)

type runFlags struct {
	out         string
	force       bool
	dryRun      bool
	concurrency int
	json        bool
}

func (a *app) runCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run SRC --out DST",
		Short: "Process every document under a folder or an S3 prefix",
		Long: `run reads every file under SRC, extracts and cleans its text, chunks it, embeds every
chunk and writes text/, chunks/, failed/ and state/ under DST. SRC and DST are each a
local folder or an S3 prefix (s3://bucket/prefix/, with the usual AWS credentials and
region). A second run skips what is unchanged (same content, same configuration);
--force redoes everything. --json prints the summary as one JSON object for scripts.

The exit status is 0 when every document succeeded, 1 when any failed (see
'docingest failed list'), 2 for bad arguments or configuration.`,
		Example: `  docingest run testdata/docs --out out
  docingest run ./papers --out ./papers-out --concurrency 8
  docingest run ./papers --out ./papers-out --dry-run
  docingest run s3://uploads/reports/ --out s3://docs-out/v1 --json
  DOCINGEST_CHUNKING_STRATEGY=sentence docingest run ./papers --out ./out --force`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runBatch(cmd, args[0], f, false)
		},
	}
	addRunFlags(cmd, &f)
	return cmd
}

func addRunFlags(cmd *cobra.Command, f *runFlags) {
	cmd.Flags().StringVar(&f.out, "out", "", "output folder or s3://bucket/prefix (required)")
	cmd.Flags().BoolVar(&f.force, "force", false, "reprocess every document, changed or not")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "say what would be done, change nothing")
	cmd.Flags().IntVar(&f.concurrency, "concurrency", 0, "documents processed at once (default: run.concurrency)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the summary as one JSON object on standard output, for scripts")
	_ = cmd.MarkFlagRequired("out")
}

// parseLocation reads SRC or --out; a bad one is a usage error naming what.
func parseLocation(what, loc string) (storage.Location, error) {
	l, err := storage.ParseLocation(loc)
	if err != nil {
		return l, usageErr(fmt.Errorf("%s: %w", what, err))
	}
	return l, nil
}

// store opens a location as an output store.
func (a *app) store(ctx context.Context, cfg Config, l storage.Location, clients **awsClients) (worker.Store, error) {
	if !l.IsS3() {
		return storage.NewLocal(l.Dir)
	}
	c, err := a.aws(ctx, cfg, clients)
	if err != nil {
		return nil, err
	}
	return storage.NewS3(c.s3(), l.Bucket, l.Prefix, storage.S3Options{KMSKeyID: cfg.AWS.KMSKeyID}), nil
}

// probe checks that an S3 location can be read before any work starts: without
// credentials, with a wrong bucket or without access, the command stops with exit 2
// instead of reporting every document as failed. It tells whether anything is there.
func probe(ctx context.Context, what string, l storage.Location, st storage.Lister, prefix string) (bool, error) {
	found, err := storage.Probe(ctx, st, prefix)
	if err != nil {
		return false, usageErr(fmt.Errorf("%s %s cannot be read: %w", what, l, err))
	}
	return found, nil
}

// aws builds the AWS clients once, on first need.
func (a *app) aws(ctx context.Context, cfg Config, clients **awsClients) (*awsClients, error) {
	if *clients == nil {
		c, err := loadAWS(ctx, cfg.AWS, a.logger(cfg))
		if err != nil {
			return nil, err
		}
		*clients = c
	}
	return *clients, nil
}

// batchJob is what run, failed retry and reindex share: the configuration with the
// flags applied, the source, the output store and the pipeline wired for them.
type batchJob struct {
	cfg     Config
	src     worker.Source
	prefix  string // listing prefix of src ("bucket/prefix" for S3)
	out     worker.Store
	clients *awsClients
	p       *worker.Pipeline
	em      *embedding
}

// openBatch loads and checks the configuration, opens SRC and DST (a folder or an S3
// prefix each) and builds the pipeline. A local SRC must be a folder that does not lie
// inside a local DST; a local DST inside SRC is left out of SRC's listings.
func (a *app) openBatch(cmd *cobra.Command, srcArg string, f runFlags) (*batchJob, error) {
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, usageErr(fmt.Errorf("invalid configuration:\n%w", err))
	}
	ctx := cmd.Context()
	srcLoc, err := parseLocation("SRC", srcArg)
	if err != nil {
		return nil, err
	}
	outLoc, err := parseLocation("--out", f.out)
	if err != nil {
		return nil, err
	}
	j := &batchJob{cfg: cfg}
	if srcLoc.IsS3() {
		c, err := a.aws(ctx, cfg, &j.clients)
		if err != nil {
			return nil, err
		}
		j.src = storage.NewS3Buckets(c.s3())
		j.prefix = srcLoc.Bucket + "/" + srcLoc.Prefix
		if _, err := probe(ctx, "SRC", srcLoc, j.src, j.prefix); err != nil {
			return nil, err
		}
	} else {
		if st, err := os.Stat(srcLoc.Dir); err != nil || !st.IsDir() {
			return nil, usageErr(fmt.Errorf("SRC %q is not a folder", srcArg))
		}
		local, err := storage.NewLocal(srcLoc.Dir)
		if err != nil {
			return nil, usageErr(err)
		}
		if !outLoc.IsS3() {
			if rel, err := filepath.Rel(outLoc.Dir, srcLoc.Dir); err == nil && !strings.HasPrefix(rel, "..") {
				return nil, usageErr(fmt.Errorf("SRC %q lies inside the output folder %q", srcArg, f.out))
			}
			local.Exclude(outLoc.Dir)
		}
		j.src = local
	}
	out, err := a.store(ctx, cfg, outLoc, &j.clients)
	if err != nil {
		return nil, err
	}
	if outLoc.IsS3() {
		if _, err := probe(ctx, "--out", outLoc, out, ""); err != nil {
			return nil, err
		}
	}
	j.out = out
	pcfg, em, err := buildPipelineConfig(ctx, cfg, a.logger(cfg), out, func() (*awsClients, error) { return a.aws(ctx, cfg, &j.clients) })
	if err != nil {
		return nil, usageErr(err)
	}
	j.em = em
	if err := worker.CheckEmbeddingModel(ctx, out, worker.ModelRecord{EmbeddingModel: em.emb.Model(), Dimensions: em.dims}, f.force, f.dryRun); err != nil {
		em.Close()
		return nil, usageErr(err)
	}
	if srcLoc.IsS3() {
		pcfg.SourceURI = func(key string) string { return "s3://" + key }
	} else {
		pcfg.NoETag = true // a local change token is size and mtime, not an ETag; records carry the sha256
	}
	if j.p, err = worker.NewPipeline(pcfg, out); err != nil {
		return nil, err
	}
	return j, nil
}

func (a *app) runBatch(cmd *cobra.Command, srcArg string, f runFlags, retry bool) error {
	j, err := a.openBatch(cmd, srcArg, f)
	if err != nil {
		return err
	}
	ctx, cfg, src, prefix, p := cmd.Context(), j.cfg, j.src, j.prefix, j.p
	defer j.em.Close()
	if retry {
		found, err := storage.Probe(ctx, j.out, layout.FailedRoot)
		if err != nil {
			return &exitError{code: exitFailures, err: err}
		}
		if !found {
			fmt.Fprintf(a.stderr, "nothing failed: %s holds no failure records\n", f.out)
			return a.printJSON(f, batchReport(worker.Summary{}, f.dryRun))
		}
	}
	var progress *progress
	if !f.dryRun {
		var total int64
		if isTerminal(a.stderr) {
			// Count first, so the bar has a total and an ETA: a listing is cheap next to processing.
			_ = src.List(ctx, prefix, true, func(o storage.ObjectInfo) error {
				total += o.Size
				return nil
			})
		}
		progress = a.startProgress("processing", total)
	}
	opts := worker.BatchOptions{
		InFlight:    memoryBudget(int64(cfg.Run.MemoryPerDocument), a.environ),
		Source:      src,
		Prefix:      prefix,
		Concurrency: cfg.Run.Concurrency,
		Force:       f.force,
		DryRun:      f.dryRun,
		RetryFailed: retry,
		OnDone: func(o worker.Outcome) {
			if f.dryRun {
				if o.Action == worker.ActionProcess && !f.json {
					fmt.Fprintf(a.stdout, "would process %s (%d bytes)\n", o.Object.Key, o.Object.Size)
				}
				return
			}
			progress.add(o.Object.Size, o.Result.Failure != nil || o.Err != nil)
			switch {
			case o.Result.Failure != nil:
				progress.log(fmt.Sprintf("failed: %s: %s: %s", o.Object.Key, o.Result.Failure.Reason, o.Result.Failure.Error))
			case o.Err != nil:
				progress.log(fmt.Sprintf("failed: %s: %v", o.Object.Key, o.Err))
			}
		},
	}
	sum, err := p.RunBatch(ctx, opts)
	if progress != nil {
		progress.finish()
	}
	fmt.Fprintln(a.stderr, summaryLine(sum, f.dryRun))
	if c := j.em.cache; c != nil && !f.dryRun {
		fmt.Fprintln(a.stderr, cacheLine(c))
	}
	if jerr := a.printJSON(f, batchReport(sum, f.dryRun)); jerr != nil {
		return jerr
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return &exitError{code: exitFailures, err: errors.New("interrupted: finished documents are kept, the rest will be processed by the next run")}
		}
		return &exitError{code: exitFailures, err: err}
	}
	if n := sum.Failed + sum.AttachmentsFailed; n > 0 {
		return &exitError{code: exitFailures, err: fmt.Errorf("%d documents failed: see 'docingest failed list --out %s'", n, f.out)}
	}
	return nil
}

// report is the --json summary of run, failed retry and reindex: one object on standard
// output for scripts. Bytes are bytes; MB elsewhere means 10^6 bytes.
type report struct {
	DryRun    bool `json:"dry_run"`
	Documents int  `json:"documents"`
	// Processed counts the documents processed successfully (failures are not in it).
	Processed      int            `json:"processed"`
	Unchanged      int            `json:"unchanged"`
	Failed         int            `json:"failed"`
	FailedByReason map[string]int `json:"failed_by_reason"`
	// Attachments counts the documents read from attachments (an e-mail's files),
	// AttachmentsFailed those that failed (in failed_by_reason too).
	Attachments       int                `json:"attachments"`
	AttachmentsFailed int                `json:"attachments_failed"`
	Chunks            int                `json:"chunks"`
	InputBytes        int64              `json:"input_bytes"`
	Seconds           float64            `json:"seconds"`
	Labels            worker.LabelCounts `json:"labels"`
	// StageSeconds is the time documents spent in each stage, summed over documents.
	StageSeconds map[string]float64 `json:"stage_seconds,omitempty"`
	// PlannedBytes is what was, or in a dry run would be, processed.
	PlannedBytes int64 `json:"planned_bytes"`
	// Reindex only.
	Enqueued *int `json:"enqueued,omitempty"`
	Removed  *int `json:"removed,omitempty"`
}

func batchReport(s worker.Summary, dry bool) report {
	r := report{DryRun: dry, Documents: s.Listed, Processed: s.Processed - s.Failed, Unchanged: s.Skipped, Failed: s.Failed,
		FailedByReason: s.FailedBy, Attachments: s.Attachments, AttachmentsFailed: s.AttachmentsFailed, Chunks: s.Chunks, InputBytes: s.Bytes, Seconds: s.Elapsed.Seconds(), Labels: s.Labels, PlannedBytes: s.PlannedBytes}
	if st := s.Stages; st != (worker.StageTimes{}) {
		r.StageSeconds = map[string]float64{"fetch": st.Fetch.Seconds(), "extract": st.Extract.Seconds(), "chunk": st.Chunk.Seconds(),
			"embed": st.Embed.Seconds(), "encode": st.Encode.Seconds(), "write": st.Write.Seconds()}
	}
	if dry {
		r.Processed = 0
	}
	return r
}

// printJSON writes r to standard output when --json was given.
func (a *app) printJSON(f runFlags, r report) error {
	if !f.json {
		return nil
	}
	if r.FailedByReason == nil {
		r.FailedByReason = map[string]int{}
	}
	return json.NewEncoder(a.stdout).Encode(r)
}

// memoryBudget keeps the Go runtime's soft memory limit at a fixed base plus perDoc for
// every document in flight, so that the garbage collector holds the heap near what the
// documents being processed need instead of letting it double (GOGC's default), and the
// budget follows the actual concurrency. It does nothing when perDoc is 0 or GOMEMLIMIT is
// set.
func memoryBudget(perDoc int64, environ []string) func(int) {
	if perDoc <= 0 {
		return nil
	}
	for _, kv := range environ {
		if strings.HasPrefix(kv, "GOMEMLIMIT=") {
			return nil
		}
	}
	const base = 64 << 20
	var mu sync.Mutex
	inFlight := 0
	debug.SetMemoryLimit(base + perDoc)
	return func(delta int) {
		mu.Lock()
		defer mu.Unlock()
		inFlight += delta
		debug.SetMemoryLimit(base + perDoc*int64(max(1, inFlight)))
	}
}

func summaryLine(s worker.Summary, dry bool) string {
	mb := float64(s.Bytes) / 1e6
	rate := 0.0
	if secs := s.Elapsed.Seconds(); secs > 0 {
		rate = mb / secs
	}
	if dry {
		return fmt.Sprintf("dry run: %d documents: %d to process (%.1f MB), %d unchanged",
			s.Listed, s.Processed, float64(s.PlannedBytes)/1e6, s.Skipped)
	}
	atts := ""
	if s.Attachments > 0 {
		atts = fmt.Sprintf(", %d attachments (%d failed)", s.Attachments, s.AttachmentsFailed)
	}
	return fmt.Sprintf("%d documents: %d processed, %d unchanged, %d failed%s; %d chunks%s; %.1f MB in %s (%.1f MB/s)",
		s.Listed, s.Processed-s.Failed, s.Skipped, s.Failed, atts, s.Chunks, labelsPart(s.Labels), mb, s.Elapsed.Round(time.Millisecond), rate)
}

// labelsPart is ", labeled: 408 auto, 2 pending" when chunks were labeled, else "".
func labelsPart(c worker.LabelCounts) string {
	if c == (worker.LabelCounts{}) {
		return ""
	}
	s := fmt.Sprintf(", labeled: %d auto, %d pending", c.Auto, c.Pending)
	if c.Human > 0 {
		s += fmt.Sprintf(", %d human", c.Human)
	}
	return s
}

// cacheLine reports the embedding cache's hit rate for the run summary.
func cacheLine(c *embedders.Cached) string {
	hits, misses := c.Stats()
	if hits+misses == 0 {
		return "embedding cache: no lookups"
	}
	return fmt.Sprintf("embedding cache: %.1f%% hits (%d of %d chunks; %d embedded by the model)", 100*float64(hits)/float64(hits+misses), hits, hits+misses, misses)
}
