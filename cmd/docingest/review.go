package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/docingest/docingest/labeling"
	"github.com/docingest/docingest/review"
	"github.com/spf13/cobra"
)

// reviewServer is the review app over the output of env.
func (a *app) reviewServer(ctx context.Context, env *labelingEnv) (*review.Server, error) {
	f, err := a.labelingFeatures(ctx, env.cfg, env.store)
	if err != nil {
		return nil, err
	}
	cfg, logger := env.cfg, a.logger(env.cfg)
	backends, ok := env.backend.(*labeling.Backends)
	if !ok {
		return nil, errors.New("review: the labeling backends were not built")
	}
	backends.Local.LeaseTTL = time.Duration(cfg.Review.LeaseSeconds) * time.Second
	s := &review.Server{
		Labeling: cfg.Labeling, Review: cfg.Review, Store: env.store, Local: backends.Local, Backend: backends, Logger: logger,
		Model: func(ctx context.Context) (*labeling.Model, error) {
			human, err := labeling.LoadHumanLabels(ctx, env.store)
			if err != nil {
				return nil, err
			}
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
		return nil, usageErr(fmt.Errorf("review: %w", err))
	}
	return s, nil
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
			env, err := a.labelingEnv(cmd, out, true)
			if err != nil {
				return err
			}
			s, err := a.reviewServer(cmd.Context(), env)
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
			env, err := a.labelingEnv(cmd, out, true)
			if err != nil {
				return err
			}
			s, err := a.reviewServer(cmd.Context(), env)
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
