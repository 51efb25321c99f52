package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/docingest/docingest/labeling"
	"github.com/docingest/docingest/review"
	"github.com/spf13/cobra"
)

// reviewServer is the review app over the output out, and the configuration it read.
func (a *app) reviewServer(cmd *cobra.Command, out string) (*review.Server, *labelingEnv, error) {
	ctx := cmd.Context()
	env, err := a.labelingEnv(cmd, out, true)
	if err != nil {
		return nil, nil, err
	}
	f, err := a.labelingFeatures(ctx, env.cfg, env.store)
	if err != nil {
		return nil, nil, err
	}
	cfg, logger := env.cfg, a.logger(env.cfg)
	backends, ok := env.backend.(*labeling.Backends)
	if !ok {
		return nil, nil, errors.New("review: the labeling backends were not built")
	}
	backends.Local.LeaseTTL = time.Duration(cfg.Review.LeaseSeconds) * time.Second
	s := &review.Server{
		Labeling: cfg.Labeling, Review: cfg.Review, Store: env.store, Local: backends.Local, Backend: backends, Logger: logger,
		Model: func(ctx context.Context, human map[string]labeling.HumanLabel) (*labeling.Model, error) {
			return labeling.Classifier(ctx, cfg.Labeling, env.store, f, human, time.Now, true)
		},
		Submit: func(ctx context.Context, auditItems int) (labeling.SubmitResult, error) {
			d := &labeling.Dispatcher{Config: cfg.Labeling, Store: env.store, Backend: backends, Features: f, Logger: logger, AuditItems: auditItems}
			return d.Submit(ctx)
		},
		Collect: func(ctx context.Context) ([]labeling.CollectResult, *labeling.Model, error) {
			c := &labeling.Collector{Config: cfg.Labeling, Store: env.store, Backend: backends, Features: f, Logger: logger}
			return c.Collect(ctx)
		},
	}
	if err := s.Init(); err != nil {
		return nil, nil, usageErr(fmt.Errorf("review: %w", err))
	}
	return s, env, nil
}

func (a *app) reviewCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "review --out DST [--listen 127.0.0.1:8080]",
		Short: "Serve the labeling web app: label items, review jobs and the classifier, audit automatic labels",
		Long: `review serves a web app over an output (a folder or s3://bucket/prefix):

  Label   one item of an open local job at a time, keyboard first (digits pick a class,
          Enter confirms, s skips, u undoes); each item collects labeling.workers_per_object
          answers from different reviewers, consolidated by majority.
  Review  every job (local and Ground Truth) with progress, reviewers, disagreement and
          cost; labels per class, uncertainty, the threshold trade-off, classifier versions;
          buttons to create a job from the pending items and to collect ended jobs.
  Audit   the measured accuracy of automatic labels (95% Wilson interval) and a button to
          have people check a random sample of them.

It listens on 127.0.0.1:8080 by default (review.listen, --listen). On any other address
reviewers sign in with a token (review.token or DOCINGEST_REVIEW_TOKEN; one is made up and
printed when neither is set), unless review.user_header names a header a trusted reverse
proxy sets to the signed-in user. Answers record their reviewer.`,
		Example: "  docingest review --out out\n  DOCINGEST_REVIEW_TOKEN=... docingest review --out s3://docs-out/v1 --listen 0.0.0.0:8080",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, env, err := a.reviewServer(cmd, out)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", env.cfg.Review.Listen)
			if err != nil {
				return usageErr(fmt.Errorf("review.listen: %w", err))
			}
			fmt.Fprintf(a.stderr, "docingest review: serving %s on http://%s/\n", env.store.URI(""), ln.Addr())
			if t := s.Token(); t != "" && env.cfg.Review.Token == "" {
				fmt.Fprintf(a.stderr, "sign-in token (set review.token or DOCINGEST_REVIEW_TOKEN to choose one): %s\n", t)
			}
			srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			select {
			case err := <-done:
				return err
			case <-cmd.Context().Done():
				ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 10*time.Second)
				defer cancel()
				return srv.Shutdown(ctx)
			}
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the output (a folder or s3://bucket/prefix; required)")
	cmd.Flags().String("listen", "", "address to serve on (review.listen; default 127.0.0.1:8080)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func (a *app) labelingReportCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:     "report --out DST > report.html",
		Short:   "Write the Review page as one self-contained HTML file, to share",
		Long:    "report writes what docingest review's Review page shows (jobs, labels per class, uncertainty, the threshold trade-off, classifier versions, the audit of automatic labels) as one HTML file with its style and SVG charts inline and no script.",
		Example: "  docingest labeling report --out s3://docs-out/v1 > report.html",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, _, err := a.reviewServer(cmd, out)
			if err != nil {
				return err
			}
			return s.WriteReport(cmd.Context(), a.stdout)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the output (a folder or s3://bucket/prefix; required)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func (a *app) labelingExportCommand() *cobra.Command {
	var out, format, to, labelConfig string
	var pending bool
	cmd := &cobra.Command{
		Use:   "export --format label-studio --out DST [--pending] [--to FILE] [--label-config FILE]",
		Short: "Export the items of open local jobs as Label Studio tasks",
		Long: `export prints the items of open local jobs (with --pending, the items waiting for a job
too) as one Label Studio task array (JSON): the redacted text, the item's id and job in the
task's data, and the classifier's guess as a prediction whose score is its uncertainty.
--label-config writes the matching labeling config (a Text tag and a Choices tag of the
classes). Label the tasks in Label Studio, export its JSON, and read it back with
'docingest labeling import'.`,
		Example: "  docingest labeling export --format label-studio --out out --to tasks.json --label-config config.xml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "label-studio" {
				return usageErr(fmt.Errorf("--format: only label-studio is supported, got %q", format))
			}
			env, err := a.labelingEnv(cmd, out, true)
			if err != nil {
				return err
			}
			b := env.backend.(*labeling.Backends)
			tasks, err := labeling.ExportLabelStudio(cmd.Context(), env.store, b.Local, env.cfg.Labeling.JobPrefix, pending)
			if err != nil {
				return err
			}
			if tasks == nil {
				tasks = []labeling.LSTask{}
			}
			body, err := json.MarshalIndent(tasks, "", "  ")
			if err != nil {
				return err
			}
			body = append(body, '\n')
			if labelConfig != "" {
				if err := os.WriteFile(labelConfig, []byte(labeling.LabelStudioConfig(env.cfg.Labeling)), 0o644); err != nil {
					return usageErr(fmt.Errorf("--label-config: %w", err))
				}
			}
			if to != "" {
				if err := os.WriteFile(to, body, 0o644); err != nil {
					return usageErr(fmt.Errorf("--to: %w", err))
				}
				fmt.Fprintf(a.stderr, "%d tasks written to %s\n", len(tasks), to)
				return nil
			}
			_, err = a.stdout.Write(body)
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the output (a folder or s3://bucket/prefix; required)")
	cmd.Flags().StringVar(&format, "format", "label-studio", "label-studio")
	cmd.Flags().BoolVar(&pending, "pending", false, "export the pending items too (answers to them get a local job on import)")
	cmd.Flags().StringVar(&to, "to", "", "write the tasks to FILE instead of standard output")
	cmd.Flags().StringVar(&labelConfig, "label-config", "", "write the Label Studio labeling config (XML) to FILE")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func (a *app) labelingImportCommand() *cobra.Command {
	var out, format string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import --format label-studio FILE --out DST",
		Short: "Read a Label Studio JSON export into local jobs' answers",
		Long: `import reads Label Studio's JSON export of tasks docingest exported: every annotation is
one reviewer's answer (completed_by names the reviewer), a cancelled (skipped) one is a
skip, several annotators of a task are several answers. Answers to items exported while
pending first get a local job of their own. 'labeling collect' then brings them in like
any other answers. Importing the same file twice changes nothing. Tasks that are not
docingest's and answers outside the configured classes are reported (exit 1); the rest is
imported.`,
		Example: "  docingest labeling import --format label-studio export.json --out out && docingest labeling collect --out out",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "label-studio" {
				return usageErr(fmt.Errorf("--format: only label-studio is supported, got %q", format))
			}
			env, err := a.labelingEnv(cmd, out, true)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return usageErr(err)
			}
			defer f.Close()
			b := env.backend.(*labeling.Backends)
			feat, err := a.labelingFeatures(cmd.Context(), env.cfg, env.store)
			if err != nil {
				return err
			}
			submit := func(ctx context.Context, items []string) (labeling.SubmitResult, error) {
				local := &labeling.Backends{Local: b.Local, Create: labeling.BackendLocal}
				d := &labeling.Dispatcher{Config: env.cfg.Labeling, Store: env.store, Backend: local, Features: feat, Logger: a.logger(env.cfg), Items: items}
				return d.Submit(ctx)
			}
			res, err := labeling.ImportLabelStudio(cmd.Context(), f, b.Local, submit, 1<<30)
			if err != nil {
				return usageErr(fmt.Errorf("%s: %w", args[0], err))
			}
			if asJSON {
				if err := a.printLine(res); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(a.stdout, "%d tasks: %d answers, %d skipped, %d without a choice", res.Tasks, res.Answers, res.Skipped, res.Unlabeled)
				if len(res.NewJobs) > 0 {
					fmt.Fprintf(a.stdout, "; new local job %s for items exported while pending", strings.Join(res.NewJobs, ", "))
				}
				fmt.Fprintln(a.stdout)
				for _, p := range res.Problems {
					fmt.Fprintln(a.stderr, p)
				}
			}
			if len(res.Problems) > 0 {
				return fmt.Errorf("%d problems in %s (the rest was imported)", len(res.Problems), args[0])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the output (a folder or s3://bucket/prefix; required)")
	cmd.Flags().StringVar(&format, "format", "label-studio", "label-studio")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as one JSON object")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
