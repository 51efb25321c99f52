package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docingest/docingest/labeling"
	"github.com/spf13/cobra"
)

// labelingEnv is what the labeling commands work with.
type labelingEnv struct {
	cfg     Config
	store   labeling.VersionedStore
	backend labeling.Backend
}

// versioned is the output store when it supports conditional writes.
func versioned(s any) (labeling.VersionedStore, error) {
	v, ok := s.(labeling.VersionedStore)
	if !ok {
		return nil, errors.New("this output does not support conditional writes")
	}
	return v, nil
}

func (a *app) labelingEnv(cmd *cobra.Command, out string, needBackend bool) (*labelingEnv, error) {
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, usageErr(fmt.Errorf("invalid configuration:\n%w", err))
	}
	if !cfg.Labeling.Enabled {
		return nil, usageErr(errors.New("labeling.enabled is false: configure labeling (classes) first"))
	}
	loc, err := parseLocation("--out", out)
	if err != nil {
		return nil, err
	}
	if needBackend && cfg.Labeling.ResolvedBackend() == labeling.BackendGroundTruth && !loc.IsS3() {
		return nil, usageErr(errors.New("--out: Ground Truth labeling jobs read their manifest from S3 and write their results there: the output must be an s3:// prefix (or set labeling.backend: local)"))
	}
	var clients *awsClients
	st, err := a.store(cmd.Context(), cfg, loc, &clients)
	if err != nil {
		return nil, err
	}
	env := &labelingEnv{cfg: cfg}
	if env.store, err = versioned(st); err != nil {
		return nil, err
	}
	if needBackend {
		if env.backend, err = a.labelingBackends(cmd.Context(), cfg, env.store, &clients); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// labelingBackends is where labeling jobs run: local jobs always (those under the
// output), and Ground Truth when its workteam and role are configured.
func (a *app) labelingBackends(ctx context.Context, cfg Config, store labeling.VersionedStore, clients **awsClients) (*labeling.Backends, error) {
	b := &labeling.Backends{Local: &labeling.Local{Store: store, Config: cfg.Labeling}, Create: cfg.Labeling.ResolvedBackend()}
	if g := cfg.Labeling.GroundTruth; g.WorkteamARN != "" && g.RoleARN != "" {
		c, err := a.aws(ctx, cfg, clients)
		if err != nil {
			return nil, err
		}
		client, region := c.groundTruth()
		if b.Remote, err = labeling.NewGroundTruth(client, region, cfg.Labeling); err != nil {
			return nil, usageErr(fmt.Errorf("labeling: %w", err))
		}
	}
	return b, nil
}

// labelingFeatures builds the classifier's features as the pipeline does.
func (a *app) labelingFeatures(ctx context.Context, cfg Config, store labeling.VersionedStore) (labeling.Features, error) {
	var clients *awsClients
	em, err := newEmbedding(ctx, cfg, store, func() (*awsClients, error) { return a.aws(ctx, cfg, &clients) })
	if err != nil {
		return labeling.Features{}, err
	}
	defer em.Close()
	return classifierFeatures(cfg, em), nil
}

func (a *app) labelingCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "labeling",
		Short: "Labeling jobs: list, inspect, pending items, submit, collect, simulate, report",
		Long: `Chunks the classifier is unsure of wait under labeling/pending/ in the output; 'submit'
turns them into a labeling job (the worker does it on a timer): a local job, labeled by
people in 'docingest review', or a SageMaker Ground Truth job when labeling.backend (auto:
when ground_truth.workteam_arn and role_arn are set) says so. 'collect' brings ended jobs'
human labels into labeled/human/ and retrains the classifier; 'simulate' shows what a
threshold would cost and how accurate the automatic labels would be; 'report' writes the
review app's Review page as one HTML file.`,
	}
	cmd.AddCommand(a.labelingListCommand(), a.labelingStatusCommand(), a.labelingPendingCommand(), a.labelingSubmitCommand(), a.labelingCollectCommand(), a.labelingSimulateCommand(), a.labelingReportCommand(), a.labelingExportCommand(), a.labelingImportCommand())
	return cmd
}

// labelingFlags are the flags every labeling subcommand has.
type labelingFlags struct {
	out  string
	json bool
}

func (f *labelingFlags) add(c *cobra.Command, out string) {
	c.Flags().StringVar(&f.out, "out", "", out)
	c.Flags().BoolVar(&f.json, "json", false, "one JSON object per line")
	_ = c.MarkFlagRequired("out")
}

const labelingOutHelp = "the output the worker writes to (a folder or s3://bucket/prefix; Ground Truth jobs need s3://; required)"

// printLine writes v as one line of JSON.
func (a *app) printLine(v any) error { return json.NewEncoder(a.stdout).Encode(v) }

func (a *app) labelingListCommand() *cobra.Command {
	var lf labelingFlags
	list := &cobra.Command{
		Use:     "list --out s3://bucket/prefix",
		Short:   "List the labeling jobs this output created: status, labeled / failed / remaining, age",
		Example: "  docingest labeling list --out s3://docs-out/v1\n  docingest labeling list --out s3://docs-out/v1 --json | jq 'select(.status==\"Failed\")'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := a.labelingEnv(cmd, lf.out, true)
			if err != nil {
				return err
			}
			jobs, err := env.backend.Jobs(cmd.Context(), env.cfg.Labeling.JobPrefix)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			if !lf.json {
				fmt.Fprintln(tw, "JOB\tSTATUS\tLABELED\tFAILED\tREMAINING\tAGE")
			}
			for _, j := range jobs {
				if lf.json {
					if err := a.printLine(j); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", j.Name, j.Status, j.Labeled, j.Failed, j.Remaining, time.Since(j.Created).Round(time.Minute))
			}
			return tw.Flush()
		},
	}
	lf.add(list, labelingOutHelp)
	return list
}

func (a *app) labelingStatusCommand() *cobra.Command {
	var lf labelingFlags
	status := &cobra.Command{
		Use:     "status JOB --out s3://bucket/prefix",
		Short:   "Show one labeling job: status, counts, failure reason, output manifest",
		Example: "  docingest labeling status docingest-5c1d2e3f4a5b6c7d --out s3://docs-out/v1",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := a.labelingEnv(cmd, lf.out, true)
			if err != nil {
				return err
			}
			j, err := env.backend.Status(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if lf.json {
				return a.printLine(j)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "job\t%s\nstatus\t%s\nlabeled\t%d (by humans %d)\nfailed\t%d\nremaining\t%d\ncreated\t%s\n",
				j.Name, j.Status, j.Labeled, j.HumanLabeled, j.Failed, j.Remaining, j.Created.Format(time.RFC3339))
			if j.FailureReason != "" {
				fmt.Fprintf(tw, "failure\t%s\n", j.FailureReason)
			}
			if j.OutputURI != "" {
				fmt.Fprintf(tw, "output\t%s\n", j.OutputURI)
			}
			return tw.Flush()
		},
	}
	lf.add(status, labelingOutHelp)
	return status
}

func (a *app) labelingSubmitCommand() *cobra.Command {
	var lf labelingFlags
	var dry bool
	submit := &cobra.Command{
		Use:   "submit --out DST [--dry-run]",
		Short: "Turn pending items into one labeling job, within the budget",
		Long: `submit claims the most useful pending items (within labeling.max_items_per_job and the
daily budget) and creates one labeling job for them: local (labeled in docingest review) or
Ground Truth, as labeling.backend says. --dry-run shows the job it would create and what
Ground Truth bills for it, and writes nothing.`,
		Example: "  docingest labeling submit --out s3://docs-out/v1 --dry-run\n  docingest labeling submit --out s3://docs-out/v1",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := a.labelingEnv(cmd, lf.out, true)
			if err != nil {
				return err
			}
			f, err := a.labelingFeatures(cmd.Context(), env.cfg, env.store)
			if err != nil {
				return err
			}
			d := &labeling.Dispatcher{Config: env.cfg.Labeling, Store: env.store, Backend: env.backend, Features: f, Logger: a.logger(env.cfg), DryRun: dry}
			res, err := d.Submit(cmd.Context())
			if err != nil {
				return err
			}
			cost := labeling.EstimateCost(env.cfg.Labeling, res.Items)
			local := env.cfg.Labeling.ResolvedBackend() == labeling.BackendLocal
			if lf.json {
				return a.printLine(struct {
					labeling.SubmitResult
					Cost labeling.Cost `json:"cost"`
				}{res, cost})
			}
			switch {
			case res.Job == "":
				fmt.Fprintf(a.stdout, "no job %s: %s\n", map[bool]string{true: "would be created", false: "created"}[dry], res.Reason)
				return nil
			case dry:
				fmt.Fprintf(a.stdout, "would create %s with %d items\n", res.Job, res.Items)
			default:
				fmt.Fprintf(a.stdout, "created %s with %d items\n", res.Job, res.Items)
			}
			if local {
				fmt.Fprintf(a.stdout, "a local job: label it in docingest review --out %s (Ground Truth would bill $%.3f for it)\n", lf.out, cost.TotalUSD)
				return nil
			}
			fmt.Fprintf(a.stdout, "%s\n", cost)
			return nil
		},
	}
	lf.add(submit, labelingOutHelp)
	submit.Flags().BoolVar(&dry, "dry-run", false, "show the job that would be created and its cost; write nothing")
	return submit
}

func (a *app) labelingPendingCommand() *cobra.Command {
	var lf labelingFlags
	pending := &cobra.Command{
		Use:     "pending --out DST",
		Short:   "List the items waiting for humans, the most uncertain first",
		Example: "  docingest labeling pending --out s3://docs-out/v1\n  docingest labeling pending --out out --json | jq -r .source | sort | uniq -c",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := a.labelingEnv(cmd, lf.out, false)
			if err != nil {
				return err
			}
			items, err := labeling.PendingItems(cmd.Context(), env.store)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			if !lf.json {
				fmt.Fprintln(tw, "UNCERTAINTY\tMEASURE\tPREDICTED\tSOURCE\tCHUNK\tAUDIT")
			}
			for _, it := range items {
				if lf.json {
					it.Text = "" // redacted text stays in the spool; the listing is for triage
					if err := a.printLine(it); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(tw, "%.3f\t%s\t%s\t%s\t%d\t%t\n", it.Uncertainty, it.Measure, strings.Join(it.Predicted, ","), it.Source, it.Index, it.Audit)
			}
			if lf.json {
				return nil
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "%d items pending\n", len(items))
			return nil
		},
	}
	lf.add(pending, "the output (a folder or s3://bucket/prefix; required)")
	return pending
}

func (a *app) labelingCollectCommand() *cobra.Command {
	var lf labelingFlags
	collect := &cobra.Command{
		Use:   "collect --out s3://bucket/prefix",
		Short: "Bring finished jobs' human labels into the dataset and retrain the classifier",
		Long: `collect reads the output manifest of every completed job not collected yet, writes its
labels to labeled/human/<job>.jsonl (human-annotated: "yes") and labeling/human/, returns
the items of failed or stopped jobs to pending, and retrains the classifier. Workers use
the new classifier from their next start (its version is part of the pipeline
fingerprint, so 'reindex' relabels what it changes).`,
		Example: "  docingest labeling collect --out s3://docs-out/v1",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := a.labelingEnv(cmd, lf.out, true)
			if err != nil {
				return err
			}
			f, err := a.labelingFeatures(cmd.Context(), env.cfg, env.store)
			if err != nil {
				return err
			}
			c := &labeling.Collector{Config: env.cfg.Labeling, Store: env.store, Backend: env.backend, Features: f, Logger: a.logger(env.cfg)}
			results, m, err := c.Collect(cmd.Context())
			if err != nil {
				return err
			}
			for _, r := range results {
				if lf.json {
					if err := a.printLine(r); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(a.stdout, "%s: %s, %d labels, %d failed items", r.Job, r.Status, r.Labels, r.Failed)
				if r.Returned > 0 {
					fmt.Fprintf(a.stdout, ", %d items back to pending", r.Returned)
				}
				fmt.Fprintln(a.stdout)
			}
			if m != nil && !lf.json {
				fmt.Fprintf(a.stdout, "classifier retrained: %s (%d examples)\n", m.Version, m.Examples)
			}
			return nil
		},
	}
	lf.add(collect, labelingOutHelp)
	return collect
}

func (a *app) labelingSimulateCommand() *cobra.Command {
	var lf labelingFlags
	var dataset string
	simulate := &cobra.Command{
		Use:   "simulate --dataset FILE --out DST",
		Short: "For each threshold: share of items sent to humans and accuracy of the automatic labels",
		Long: `simulate applies the output's classifier (the one its configured descriptions and seeds
and the human labels collected so far give: loaded when stored, else trained in memory)
to labeled items and prints, per uncertainty threshold, the share that would go to
humans, the accuracy of the rest with its one-sided 95% Wilson lower bound, and the
classifier's calibration error on them. The row the target accuracy chooses is marked
(chosen), as is the configured threshold. It only reads: nothing is written to the output.

Dataset lines: {"text": ..., "class": name}, {"text": ..., "classes": [...]},
{"source": text, "<attribute>": name} or Ground Truth output-manifest lines.`,
		Example: "  docingest labeling simulate --dataset labeled.jsonl --out s3://docs-out/v1\n  docingest labeling simulate --dataset labeled.jsonl --out out --json | jq 'select(.chosen)'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := a.labelingEnv(cmd, lf.out, false)
			if err != nil {
				return err
			}
			f, err := os.Open(dataset)
			if err != nil {
				return usageErr(fmt.Errorf("--dataset: %w", err))
			}
			defer f.Close()
			items, err := labeling.ReadDataset(f, env.cfg.Labeling)
			if err != nil {
				return usageErr(fmt.Errorf("--dataset %s: %w", dataset, err))
			}
			feat, err := a.labelingFeatures(cmd.Context(), env.cfg, env.store)
			if err != nil {
				return err
			}
			human, err := labeling.LoadHumanLabels(cmd.Context(), env.store)
			if err != nil {
				return err
			}
			m, err := labeling.Classifier(cmd.Context(), env.cfg.Labeling, env.store, feat, human, time.Now, false)
			if err != nil {
				return err
			}
			var ts []float64
			for t := 0.05; t < 0.999; t += 0.05 {
				ts = append(ts, float64(int(t*100+0.5))/100)
			}
			lab := env.cfg.Labeling
			rows := labeling.Simulate(m, items, ts, lab.Threshold)
			ece := labeling.CalibrationError(m, items)
			if lf.json {
				for _, r := range rows {
					if err := a.printLine(struct {
						labeling.SimRow
						CalibrationError float64 `json:"calibration_error"`
						Classifier       string  `json:"classifier"`
					}{r, ece, m.Version}); err != nil {
						return err
					}
				}
				return nil
			}
			fmt.Fprintf(a.stdout, "%d labeled items, classifier %s (%d human labels), measure %s\n", len(items), m.Version, m.Training.Human, m.Measure)
			fmt.Fprintf(a.stdout, "calibration error on these items %.3f (cross-validated on the human labels %.3f, temperature %.2f)\n", ece, m.Training.CalibrationError, m.Temperature)
			if g := m.Gate; g.Open {
				fmt.Fprintf(a.stdout, "target accuracy %.1f%%: threshold %.3f (%d of %d cross-validated human labels right there, lower bound %.1f%%)\n", 100*g.Target, g.Threshold, g.Right, g.Auto, 100*g.LowerBound)
			} else {
				fmt.Fprintf(a.stdout, "target accuracy %.1f%%: nothing is labeled automatically yet: %s\n", 100*g.Target, g.Reason)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "THRESHOLD\tTO HUMANS\tAUTO\tAUTO ACCURACY\tLOWER BOUND\t")
			for _, r := range rows {
				var marks []string
				if r.Chosen {
					marks = append(marks, "chosen")
				}
				if r.Configured {
					marks = append(marks, "configured")
				}
				mark := ""
				if len(marks) > 0 {
					mark = " < " + strings.Join(marks, ", ")
				}
				fmt.Fprintf(tw, "%.3f\t%.1f%%\t%d\t%.1f%%\t%.1f%%\t%s\n", r.Threshold, 100*r.ToHumans, r.Auto, 100*r.AutoAccuracy, 100*r.AutoAccuracyLower, mark)
			}
			return tw.Flush()
		},
	}
	lf.add(simulate, "the output whose classifier is simulated (a folder or s3://bucket/prefix; required)")
	simulate.Flags().StringVar(&dataset, "dataset", "", "labeled items (JSON Lines; required)")
	_ = simulate.MarkFlagRequired("dataset")
	return simulate
}

// startDispatcher runs the labeling dispatcher every dispatch interval until ctx ends.
func (a *app) startDispatcher(ctx context.Context, cfg Config, store any, c *awsClients, features labeling.Features, observe func(labeling.DispatchStatus)) error {
	vs, err := versioned(store)
	if err != nil {
		return err
	}
	backend, err := a.labelingBackends(ctx, cfg, vs, &c)
	if err != nil {
		return err
	}
	logger := a.logger(cfg).With("component", "labeling-dispatcher")
	d := &labeling.Dispatcher{Config: cfg.Labeling, Store: vs, Backend: backend, Features: features, Logger: logger, Observe: observe}
	go d.Run(ctx, time.Duration(cfg.Labeling.DispatchIntervalSeconds)*time.Second)
	return nil
}
