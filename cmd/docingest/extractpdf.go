package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/docingest/docingest/extractors/pdfchild"

	"github.com/docingest/docingest/extractors"
	"github.com/spf13/cobra"
)

// extractPDFCommand is the child side of PDF isolation (limits.pdf_isolation): one PDF on
// standard input, the extracted document as JSON on standard output. Hidden: docingest
// runs it itself.
func (a *app) extractPDFCommand() *cobra.Command {
	var lim extractors.Limits
	var maxInput, memLimit int64
	var backend string
	cmd := &cobra.Command{
		Use:    "extract-pdf",
		Short:  "Extract one PDF from standard input (the PDF child process)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if memLimit > 0 {
				debug.SetMemoryLimit(memLimit)
			}
			if backend != extractors.BackendLedongthuc && backend != extractors.BackendPDFium {
				return usageErr(fmt.Errorf("--backend: %s or %s, got %q", extractors.BackendLedongthuc, extractors.BackendPDFium, backend))
			}
			return pdfchild.Serve(os.Stdin, a.stdout, lim, maxInput, backend)
		},
	}
	cmd.Flags().IntVar(&lim.MaxPages, "max-pages", 5000, "page cap")
	cmd.Flags().IntVar(&lim.MaxTextBytes, "max-text-bytes", 50<<20, "text cap")
	cmd.Flags().Int64Var(&maxInput, "max-input-bytes", 100<<20, "input cap")
	cmd.Flags().Int64Var(&memLimit, "memory-limit", 0, "Go soft memory limit in bytes")
	cmd.Flags().StringVar(&backend, "backend", extractors.BackendLedongthuc, "ledongthuc or pdfium")
	return cmd
}
