// Command docingest turns documents into cleaned text, chunks and embeddings.
//
//	docingest run SRC --out DST      process a folder (the embedded default)
//	docingest failed list --out DST  show failure records
//	docingest config print           show the effective configuration
//
// Run `docingest --help` for every command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docingest/docingest/internal/cgroup"
	"github.com/docingest/docingest/internal/configfile"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// exitError carries an exit status through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Exit statuses.
const (
	exitFailures = 1 // some documents failed, or the run could not finish
	exitUsage    = 2 // bad flags, arguments or configuration
)

func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

func main() {
	// A PDF child on cgroup v1 joins its memory cgroup before it allocates anything.
	if err := cgroup.JoinFromEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "docingest: join memory cgroup:", err)
		os.Exit(exitUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}

// execute runs the command line and returns the exit status.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	app := &app{stdout: stdout, stderr: stderr, environ: environ}
	root := app.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "docingest:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "docingest:", err)
	return exitUsage
}

// app holds what every command shares.
type app struct {
	stdout, stderr io.Writer
	environ        []string
	configPath     string
	// tick, when set, drives the progress lines of a run whose standard error is not a
	// terminal (tests set it; the default is a ticker of progressEvery).
	tick <-chan time.Time
	// printed, when set, is sent a value after each progress line (tests wait on it
	// before changing what the next line will say).
	printed chan<- struct{}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "docingest",
		Short: "Turn documents into clean text, chunks and embeddings",
		Long: `docingest extracts and cleans the text of PDF, HTML, Markdown, plain text, DOCX, CSV and
JSON documents, chunks it, embeds every chunk and writes the results under an output
folder: text/, chunks/ (JSON Lines with embeddings), failed/ and state/.`,
		Example: `  # process a folder with the defaults (local hashing embedder, no AWS account)
  docingest run testdata/docs --out out

  # show what failed, then try those documents again
  docingest failed list --out out
  docingest failed retry testdata/docs --out out`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(suggestFlag)
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "configuration file (YAML); default $DOCINGEST_CONFIG")
	root.AddCommand(a.runCommand(), a.workerCommand(), a.reindexCommand(), a.failedCommand(), a.labelingCommand(), a.reviewCommand(), a.exportCommand(), a.queryCommand(), a.configCommand(), a.versionCommand(), a.extractPDFCommand())
	return root
}

// suggestFlag adds the nearest flag to an unknown-flag error ("unknown flag: --output
// (did you mean --out?)"); flag errors are usage errors.
func suggestFlag(c *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return usageErr(err)
	}
	var known []string
	c.Flags().VisitAll(func(f *pflag.Flag) { known = append(known, f.Name) })
	c.InheritedFlags().VisitAll(func(f *pflag.Flag) { known = append(known, f.Name) })
	best, ok := configfile.Nearest(name, known)
	if !ok {
		for _, k := range known {
			if len(k) >= 3 && (strings.HasPrefix(name, k) || strings.HasPrefix(k, name)) {
				best, ok = k, true
				break
			}
		}
	}
	if ok {
		return usageErr(fmt.Errorf("%w (did you mean --%s?)", err, best))
	}
	return usageErr(err)
}

// loadConfig reads the configuration (defaults, file, environment) and lays the command's
// flags over it: overlayFlags is the one place a flag sets a configuration key. Errors are
// usage errors.
func (a *app) loadConfig(cmd *cobra.Command) (Config, error) {
	cfg, err := LoadConfig(a.configPath, a.environ)
	if err != nil {
		return cfg, usageErr(err)
	}
	if err := overlayFlags(cmd, &cfg); err != nil {
		return cfg, usageErr(err)
	}
	return cfg, nil
}

// overlayFlags sets the configuration keys that have flags, from the flags given on the
// command line (a flag wins over the file and the environment).
func overlayFlags(cmd *cobra.Command, cfg *Config) error {
	keys := map[string]any{
		"concurrency":   &cfg.Run.Concurrency,
		"queue-url":     &cfg.Worker.QueueURL,
		"max-in-flight": &cfg.Worker.MaxInFlight,
		"log-format":    &cfg.Log.Format,
		"listen":        &cfg.Review.Listen,
	}
	for name, dst := range keys {
		f := cmd.Flags().Lookup(name)
		if f == nil || !f.Changed {
			continue
		}
		switch d := dst.(type) {
		case *int:
			n, err := strconv.Atoi(f.Value.String())
			if err != nil {
				return fmt.Errorf("--%s: %w", name, err)
			}
			*d = n
		case *string:
			*d = f.Value.String()
		}
	}
	return nil
}

func (a *app) logger(cfg Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindDuration {
			a.Value = slog.StringValue(a.Value.Duration().String()) // "1.5s", not 1500000000
		}
		return a
	}}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(a.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(a.stderr, opts))
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Example: "  docingest version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(a.stdout, "docingest %s (pipeline %s)\n", buildVersion(), pipelineVersion)
			return nil
		},
	}
}

// version is stamped at link time by release builds (-ldflags "-X main.version=v1.2.3",
// see deploy/Dockerfile); it is the only package-level variable, and only the linker sets it.
var version string

// buildVersion is the stamped version, else the module version stamped by the Go toolchain (a tag, or a pseudo-version
// of the commit), or "devel" for a build from a work tree without VCS information.
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" || info.Main.Version == "(devel)" {
		if ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" {
					return "devel+" + s.Value[:min(12, len(s.Value))]
				}
			}
		}
		return "devel"
	}
	return info.Main.Version
}

func (a *app) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration (defaults, file and environment merged) as YAML",
		Example: `  docingest config print > docingest.yaml
  DOCINGEST_CHUNKING_MAX_SIZE=400 docingest config print --config docingest.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig(cmd)
			if err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return usageErr(fmt.Errorf("invalid configuration:\n%w", err))
			}
			if cfg.Review.Token != "" {
				cfg.Review.Token = "(set)" // a secret is never printed
			}
			return configfile.Encode(a.stdout, cfg)
		},
	})
	return cmd
}
