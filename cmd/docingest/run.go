package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type runFlags struct {
	out         string
	force       bool
	dryRun      bool
	concurrency int
}

func (a *app) runCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run SRC --out DST",
		Short: "Process every document under a folder",
		Long: `run reads every file under SRC, extracts and cleans its text, chunks it, embeds every
chunk and writes text/, chunks/, failed/ and state/ under DST. A second run skips what is
unchanged (same content, same configuration); --force redoes everything.

The exit status is 0 when every document succeeded, 1 when any failed (see
'docingest failed list'), 2 for bad arguments or configuration.`,
		Example: `  docingest run testdata/docs --out out
  docingest run ./papers --out ./papers-out --concurrency 8
  docingest run ./papers --out ./papers-out --dry-run
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
	cmd.Flags().StringVar(&f.out, "out", "", "output folder (required)")
	cmd.Flags().BoolVar(&f.force, "force", false, "reprocess every document, changed or not")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "say what would be done, change nothing")
	cmd.Flags().IntVar(&f.concurrency, "concurrency", 0, "documents processed at once (default: run.concurrency)")
	_ = cmd.MarkFlagRequired("out")
}

// location is a parsed SRC or DST: a local folder or an S3 prefix.
type location struct {
	local  *storage.Local
	bucket string
	prefix string
}

func (l location) isS3() bool { return l.local == nil }

func parseLocation(what, loc string) (location, error) {
	if strings.HasPrefix(loc, "s3://") {
		bucket, prefix, err := storage.ParseS3URI(loc)
		if err != nil {
			return location{}, usageErr(fmt.Errorf("%s: %w", what, err))
		}
		return location{bucket: bucket, prefix: prefix}, nil
	}
	if strings.Contains(loc, "://") {
		return location{}, usageErr(fmt.Errorf("%s %q: a local folder or s3://bucket/prefix", what, loc))
	}
	l, err := storage.NewLocal(loc)
	if err != nil {
		return location{}, usageErr(err)
	}
	return location{local: l}, nil
}

// store opens a location as an output store.
func (a *app) store(ctx context.Context, cfg Config, l location, clients **awsClients) (worker.Store, error) {
	if !l.isS3() {
		return l.local, nil
	}
	c, err := a.aws(ctx, cfg, clients)
	if err != nil {
		return nil, err
	}
	return storage.NewS3(c.s3(), l.bucket, l.prefix, storage.S3Options{KMSKeyID: cfg.AWS.KMSKeyID}), nil
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
	clients *awsClients
	p       *worker.Pipeline
	em      *embedding
}

// openBatch loads and checks the configuration, opens SRC and DST (a folder or an S3
// prefix each) and builds the pipeline. A local SRC must be a folder that does not lie
// inside a local DST; a local DST inside SRC is left out of SRC's listings.
func (a *app) openBatch(cmd *cobra.Command, srcArg string, f runFlags) (*batchJob, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	if cmd.Flags().Changed("concurrency") {
		cfg.Run.Concurrency = f.concurrency
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
	if srcLoc.isS3() {
		c, err := a.aws(ctx, cfg, &j.clients)
		if err != nil {
			return nil, err
		}
		j.src = storage.NewS3Buckets(c.s3())
		j.prefix = srcLoc.bucket + "/" + srcLoc.prefix
	} else {
		if st, err := os.Stat(srcLoc.local.Root()); err != nil || !st.IsDir() {
			return nil, usageErr(fmt.Errorf("SRC %q is not a folder", srcArg))
		}
		if !outLoc.isS3() {
			if rel, err := filepath.Rel(outLoc.local.Root(), srcLoc.local.Root()); err == nil && !strings.HasPrefix(rel, "..") {
				return nil, usageErr(fmt.Errorf("SRC %q lies inside the output folder %q", srcArg, f.out))
			}
			srcLoc.local.Exclude(outLoc.local.Root())
		}
		j.src = srcLoc.local
	}
	out, err := a.store(ctx, cfg, outLoc, &j.clients)
	if err != nil {
		return nil, err
	}
	pcfg, em, err := buildPipelineConfig(ctx, cfg, a.logger(cfg), out, func() (*awsClients, error) { return a.aws(ctx, cfg, &j.clients) })
	if err != nil {
		return nil, usageErr(err)
	}
	j.em = em
	if err := worker.CheckEmbeddingModel(ctx, out, worker.ModelRecord{EmbeddingModel: em.emb.Model(), Dimensions: em.dims}, f.force, f.dryRun); err != nil {
		em.Close()
		return nil, usageErr(err)
	}
	if srcLoc.isS3() {
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
	progress := a.newProgress(ctx, src, prefix, f.dryRun)
	var failedDocs atomic.Int64
	opts := worker.BatchOptions{
		InFlight:    memoryBudget(int64(cfg.Run.MemoryPerDocument), a.environ),
		Source:      src,
		Prefix:      prefix,
		Concurrency: cfg.Run.Concurrency,
		Force:       f.force,
		DryRun:      f.dryRun,
		RetryFailed: retry,
		OnDone: func(o worker.Outcome) {
			progress.add(o.Object.Size)
			switch {
			case f.dryRun && o.Action == worker.ActionProcess:
				fmt.Fprintf(a.stdout, "would process %s (%d bytes)\n", o.Object.Key, o.Object.Size)
			case o.Result.Failure != nil:
				failedDocs.Add(1)
				progress.log(fmt.Sprintf("failed: %s: %s: %s", o.Object.Key, o.Result.Failure.Reason, o.Result.Failure.Error))
			case o.Err != nil:
				failedDocs.Add(1)
				progress.log(fmt.Sprintf("failed: %s: %v", o.Object.Key, o.Err))
			}
		},
	}
	sum, err := p.RunBatch(ctx, opts)
	progress.finish()
	j.em.Close()
	fmt.Fprintln(a.stderr, summaryLine(sum, f.dryRun))
	if c := j.em.cache; c != nil && !f.dryRun {
		fmt.Fprintln(a.stderr, cacheLine(c))
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return &exitError{code: exitFailures, err: errors.New("interrupted: finished documents are kept, the rest will be processed by the next run")}
		}
		return &exitError{code: exitFailures, err: err}
	}
	if sum.Failed > 0 {
		return &exitError{code: exitFailures, err: fmt.Errorf("%d documents failed: see 'docingest failed list --out %s'", sum.Failed, f.out)}
	}
	return nil
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
	return fmt.Sprintf("%d documents: %d processed, %d unchanged, %d failed; %d chunks; %.1f MB in %s (%.1f MB/s)",
		s.Listed, s.Processed-s.Failed, s.Skipped, s.Failed, s.Chunks, mb, s.Elapsed.Round(time.Millisecond), rate)
}

// progress shows a bar on a terminal and nothing otherwise (the summary line and the
// failure lines still go to standard error).
type progress struct {
	bar *progressbar.ProgressBar
	w   io.Writer
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) newProgress(ctx context.Context, src worker.Source, prefix string, dry bool) *progress {
	f, ok := a.stderr.(*os.File)
	if !ok || dry || !term.IsTerminal(int(f.Fd())) {
		return &progress{w: a.stderr}
	}
	// Count first, so the bar has a total and an ETA: a listing is cheap next to processing.
	var total int64
	_ = src.List(ctx, prefix, true, func(o storage.ObjectInfo) error {
		total += o.Size
		return nil
	})
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(f),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription("processing"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionClearOnFinish(),
	)
	return &progress{bar: bar, w: a.stderr}
}

func (p *progress) add(n int64) {
	if p.bar != nil {
		_ = p.bar.Add64(n)
	}
}

func (p *progress) log(line string) {
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// cacheLine reports the embedding cache's hit rate for the run summary.
func cacheLine(c *embedders.Cached) string {
	hits, misses := c.Stats()
	if hits+misses == 0 {
		return "embedding cache: no lookups"
	}
	return fmt.Sprintf("embedding cache: %.1f%% hits (%d of %d chunks; %d embedded by the model)", 100*float64(hits)/float64(hits+misses), hits, hits+misses, misses)
}
