package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
	"github.com/spf13/cobra"
)

// outputExists says, with exit 2, that an output folder or prefix does not exist or holds
// nothing: a mistyped --out must not read as "no failures" or "no jobs".
func outputExists(ctx context.Context, what string, loc storage.Location, st storage.Lister) error {
	if !loc.IsS3() {
		if fi, err := os.Stat(loc.Dir); err != nil || !fi.IsDir() {
			return usageErr(fmt.Errorf("%s %s does not exist", what, loc))
		}
		return nil
	}
	found, err := probe(ctx, what, loc, st, "")
	if err != nil {
		return err
	}
	if !found {
		return usageErr(fmt.Errorf("%s %s does not exist (nothing is stored under it)", what, loc))
	}
	return nil
}

func (a *app) failedCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "failed",
		Short: "List and retry documents that failed",
	}
	cmd.AddCommand(a.failedListCommand(), a.failedRetryCommand())
	return cmd
}

func (a *app) failedListCommand() *cobra.Command {
	var out string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list --out DST",
		Short: "List the failure records under an output folder",
		Example: `  docingest failed list --out out
  docingest failed list --out out --json | jq -r .reason | sort | uniq -c`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig(cmd)
			if err != nil {
				return err
			}
			loc, err := parseLocation("--out", out)
			if err != nil {
				return err
			}
			var clients *awsClients
			store, err := a.store(cmd.Context(), cfg, loc, &clients)
			if err != nil {
				return err
			}
			if err := outputExists(cmd.Context(), "--out", loc, store); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			if !asJSON {
				fmt.Fprintln(tw, "SOURCE\tREASON\tPERMANENT\tATTEMPTS\tERROR")
			}
			n := 0
			err = worker.ListFailures(cmd.Context(), store, func(key string, rec worker.FailureRecord) error {
				n++
				if asJSON {
					b, err := json.Marshal(rec)
					if err != nil {
						return err
					}
					_, err = fmt.Fprintln(a.stdout, string(b))
					return err
				}
				src := rec.Source
				if rec.SourceBytes != nil {
					src = strconv.Quote(rec.Key()) // not UTF-8: shown escaped, byte for byte
				}
				if src == "" {
					src = "message " + rec.MessageID
				}
				msg := strings.ReplaceAll(rec.Error, "\n", " ")
				_, err := fmt.Fprintf(tw, "%s\t%s\t%t\t%d\t%s\n", src, rec.Reason, rec.Permanent, rec.Attempts, msg)
				return err
			})
			if err != nil {
				return &exitError{code: exitFailures, err: err}
			}
			if !asJSON {
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "%d failure records\n", n)
			}
			return nil
		},
	}
	list.Flags().StringVar(&out, "out", "", "output folder or s3://bucket/prefix (required)")
	list.Flags().BoolVar(&asJSON, "json", false, "one JSON failure record per line")
	_ = list.MarkFlagRequired("out")
	return list
}

func (a *app) failedRetryCommand() *cobra.Command {
	var f runFlags
	retry := &cobra.Command{
		Use:   "retry SRC --out DST",
		Short: "Process again every document of SRC that has a failure record under DST",
		Long: `retry re-runs the documents that failed, whether or not they changed (a plain run skips an
unchanged failed document). Use it after raising a cap or upgrading docingest.`,
		Example: `  DOCINGEST_LIMITS_DOCUMENT_TIMEOUT=10m docingest failed retry ./papers --out ./out`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runBatch(cmd, args[0], f, true)
		},
	}
	addRunFlags(retry, &f)
	return retry
}
