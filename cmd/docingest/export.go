package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/docingest/docingest/dataset"
)

func (a *app) exportCommand() *cobra.Command {
	var f struct {
		out, to, format string
		partition       bool
		keep            int
		force, json     bool
	}
	cmd := &cobra.Command{
		Use:   "export --out DST --to DST2 [--format parquet|hf]",
		Short: "Compact an output into Parquet datasets: chunks with embeddings, and labels",
		Long: `export reads what the output DST holds now (every current chunk, every automatic and
human label) and writes a snapshot of it to DST2 (a folder or s3://bucket/prefix):

  --format parquet  snapshots/<id>/chunks/part-NNNNN.parquet (the chunk records as typed
                    columns, embedding as a list of float32) and labels/part-NNNNN.parquet
  --format hf       snapshots/<id>/data/<split>-NNNNN-of-NNNNN.parquet and a dataset card
                    (README.md) as Hugging Face datasets expects: the labeled chunks,
                    split 80/10/10 by a hash of the chunk id

Files are zstd-compressed, about 128 MiB each, in row groups of 8,192 rows, with a
_manifest.json listing files, row counts, schema and pipeline fingerprints. The file
latest, written last, names the current snapshot, so a reader never sees half an export;
the snapshots before it are removed but --keep of them. Exporting an output that has not
changed since the last snapshot writes nothing. Readers glob the snapshot, e.g. in DuckDB:

  SELECT * FROM read_parquet('DST2/snapshots/<id>/chunks/**/*.parquet')`,
		Example: "  docingest export --out out --to dataset\n  docingest export --out s3://docs-out/v1 --to s3://lake/docs --format hf",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig(cmd)
			if err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return usageErr(fmt.Errorf("invalid configuration:\n%w", err))
			}
			ctx := cmd.Context()
			outLoc, err := parseLocation("--out", f.out)
			if err != nil {
				return err
			}
			toLoc, err := parseLocation("--to", f.to)
			if err != nil {
				return err
			}
			if outLoc.String() == toLoc.String() {
				return usageErr(errors.New("--to must be another place than --out"))
			}
			var clients *awsClients
			out, err := a.store(ctx, cfg, outLoc, &clients)
			if err != nil {
				return err
			}
			src, ok := out.(dataset.Source)
			if !ok {
				return errors.New("export: the output store cannot stream files")
			}
			if found, err := probe(ctx, "--out", outLoc, out, ""); err != nil {
				return err
			} else if !found {
				return usageErr(fmt.Errorf("--out %s holds nothing to export", f.out))
			}
			to, err := a.store(ctx, cfg, toLoc, &clients)
			if err != nil {
				return err
			}
			progress := a.startProgress("exporting", 0)
			var last int64
			opt := dataset.Options{Format: f.format, Attribute: cfg.Labeling.Attribute, ClassNames: cfg.Labeling.ClassNames(),
				PartitionBySource: f.partition, Keep: f.keep, Force: f.force,
				Progress: func(read int64) { progress.add(read-last, false); last = read }}
			res, err := dataset.Export(ctx, src, to.(dataset.Target), opt)
			progress.finish()
			if err != nil {
				if strings.HasPrefix(err.Error(), "format ") {
					return usageErr(err)
				}
				return &exitError{code: exitFailures, err: fmt.Errorf("export: %w", err)}
			}
			if f.json {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			where := strings.TrimSuffix(f.to, "/") + "/" + res.Prefix
			if res.Unchanged {
				fmt.Fprintf(a.stdout, "unchanged since the last export: %s\n", where)
				return nil
			}
			for _, name := range []string{"chunks", "labels"} {
				if t, ok := res.Manifest.Tables[name]; ok {
					fmt.Fprintf(a.stdout, "%s: %d rows in %d files\n", name, t.Rows, len(t.Files))
				}
			}
			fmt.Fprintf(a.stdout, "snapshot %s written; %s names it", where, dataset.LatestKey)
			if len(res.Removed) > 0 {
				fmt.Fprintf(a.stdout, "; removed %d older snapshots", len(res.Removed))
			}
			fmt.Fprintln(a.stdout)
			return nil
		},
	}
	cmd.Flags().StringVar(&f.out, "out", "", "the output to export (a folder or s3://bucket/prefix)")
	cmd.Flags().StringVar(&f.to, "to", "", "where the dataset goes (a folder or s3://bucket/prefix)")
	cmd.Flags().StringVar(&f.format, "format", dataset.FormatParquet, "parquet (chunks and labels tables) or hf (Hugging Face datasets layout of the labels)")
	cmd.Flags().BoolVar(&f.partition, "partition-by-source", false, "Hive-style chunks/source_prefix=<first folder>/ partitions")
	cmd.Flags().IntVar(&f.keep, "keep", 2, "snapshots kept, the new one included")
	cmd.Flags().BoolVar(&f.force, "force", false, "write a new snapshot even when nothing changed")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the result (the manifest) as JSON")
	_ = cmd.MarkFlagRequired("out")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}
