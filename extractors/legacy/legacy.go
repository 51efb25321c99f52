// Package legacy reads the binary Office formats of before 2007 (Word .doc, Excel .xls,
// PowerPoint .ppt) through the converters of Debian's catdoc package (catdoc, xls2csv,
// catppt), each run as a child process under the PDF child's time limit and memory cap
// (extractors/pdfchild). When a converter is not installed, its format fails as
// unsupported with a record that names the missing tool.
package legacy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/extractors/pdfchild"
)

// Tools are the converters found on PATH ("" when missing).
type Tools struct {
	Catdoc, XLS2CSV, Catppt string
	// Version is catdoc's version ("0.95"), which the three share.
	Version string
}

// Find looks the converters up on PATH.
func Find() Tools {
	var t Tools
	t.Catdoc, _ = exec.LookPath("catdoc")
	t.XLS2CSV, _ = exec.LookPath("xls2csv")
	t.Catppt, _ = exec.LookPath("catppt")
	if t.Catdoc != "" {
		out, _ := exec.Command(t.Catdoc, "-V").CombinedOutput()
		t.Version = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "Catdoc Version"))
	}
	return t
}

// Fingerprint says which converters are present, and their version: outputs of legacy
// files depend on it.
func (t Tools) Fingerprint() string {
	return fmt.Sprintf("catdoc=%v xls2csv=%v catppt=%v version=%s", t.Catdoc != "", t.XLS2CSV != "", t.Catppt != "", t.Version)
}

// Extractor reads one legacy format.
type Extractor struct {
	Format string // extractors.FormatDOC, FormatXLS or FormatPPT
	Tool   string // the converter's path, "" when not installed
	Limits extractors.Limits
	// Child holds the caps every converter runs under (MaxRSS, Cgroup, Logger); its
	// Command, Format and Parse are set per call.
	Child pdfchild.Extractor
	// TempDir holds the input while the converter reads it ("" for the system's).
	TempDir string
}

// tools names each format's converter, as the failure record says.
var tools = map[string]string{extractors.FormatDOC: "catdoc", extractors.FormatXLS: "xls2csv", extractors.FormatPPT: "catppt"}

// For returns the extractor of format with the converter of t.
func For(format string, t Tools, lim extractors.Limits, child pdfchild.Extractor) Extractor {
	tool := map[string]string{extractors.FormatDOC: t.Catdoc, extractors.FormatXLS: t.XLS2CSV, extractors.FormatPPT: t.Catppt}[format]
	return Extractor{Format: format, Tool: tool, Limits: lim, Child: child}
}

func (e Extractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	if e.Tool == "" {
		return document.Document{}, document.Permanentf(document.ReasonUnsupported,
			"%s: legacy Office files are read with %s, which is not installed (Debian package catdoc)", e.Format, tools[e.Format])
	}
	// The converters read files, not standard input.
	f, err := os.CreateTemp(e.TempDir, "docingest-legacy-*."+e.Format)
	if err != nil {
		return document.Document{}, fmt.Errorf("%s: %w", e.Format, err)
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return document.Document{}, fmt.Errorf("%s: %w", e.Format, werr)
	}
	child := e.Child
	child.Format = e.Format
	var args []string
	switch e.Format {
	case extractors.FormatDOC:
		args = []string{"-w", "-d", "utf-8", f.Name()} // -w: a paragraph per line
	case extractors.FormatXLS:
		args = []string{"-d", "utf-8", "-q", "2", f.Name()} // sheets end in a form feed
	case extractors.FormatPPT:
		args = []string{"-d", "utf-8", f.Name()}
	}
	child.Command = func(ctx context.Context) *exec.Cmd { return exec.CommandContext(ctx, e.Tool, args...) }
	if child.MaxOutput == 0 {
		child.MaxOutput = int64(e.Limits.MaxTextBytes)*2 + 1<<20
	}
	child.Parse = func(out []byte) (document.Document, error) { return e.parse(ctx, out) }
	return child.Extract(ctx, nil)
}

// parse turns a converter's output into the document: text with a paragraph per line
// (pages at form feeds) for Word and PowerPoint, and for Excel one CSV per sheet, each a
// section "Sheet N" read as the CSV extractor reads a file.
func (e Extractor) parse(ctx context.Context, out []byte) (document.Document, error) {
	if e.Format != extractors.FormatXLS {
		// a blank line between paragraphs, as the text extractor expects
		text := bytes.ReplaceAll(bytes.ReplaceAll(out, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\n\n"))
		doc, err := extractors.TextExtractor{Limits: e.Limits}.Extract(ctx, text)
		if err == nil {
			doc.Format = e.Format
		}
		return retag(doc, err, e.Format)
	}
	var sections []extractors.Section
	for i, sheet := range bytes.Split(out, []byte("\f")) {
		if len(bytes.TrimSpace(sheet)) == 0 {
			continue
		}
		doc, err := extractors.CSVExtractor{Limits: e.Limits}.Extract(ctx, sheet)
		if reason, _ := document.Classify(err); err != nil && reason == document.ReasonEmpty {
			// a sheet of one row: only a header, which the CSV extractor leaves out
			doc, err = extractors.TextExtractor{Limits: e.Limits}.Extract(ctx, bytes.ReplaceAll(sheet, []byte(`"`), nil))
			if reason, _ := document.Classify(err); err != nil && reason == document.ReasonEmpty {
				continue
			}
		}
		if err != nil {
			return retag(doc, err, e.Format)
		}
		sections = append(sections, extractors.Section{Heading: fmt.Sprintf("Sheet %d", i+1), Doc: doc})
	}
	return extractors.JoinSections(ctx, e.Format, e.Limits, sections)
}

// retag keeps a failure's reason but names the legacy format in it.
func retag(doc document.Document, err error, format string) (document.Document, error) {
	if err == nil {
		return doc, nil
	}
	reason, permanent := document.Classify(err)
	if !permanent {
		return doc, err
	}
	return doc, document.Permanentf(reason, "%s: %w", format, err)
}
