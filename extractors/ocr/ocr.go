// Package ocr reads text from images and from PDFs without a text layer with Tesseract
// (Debian's tesseract-ocr), run as a child process per page under the PDF child's caps
// (extractors/pdfchild: its memory cgroup or polled resident memory, the document's time
// limit, an output cap), with OMP_THREAD_LIMIT=1 and up to Concurrency pages at once. PDF
// pages are rendered by poppler's pdftoppm (Debian's poppler-utils), also as a child.
// Tesseract's word confidences are kept: the document records, for each paragraph it
// read, the mean confidence of its words (document.OCRSpan), and every chunk gets the
// mean over its words (ocr_confidence).
package ocr

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig of JPEG
	_ "image/png"  // DecodeConfig of PNG
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/extractors/pdfchild"
	"github.com/docingest/docingest/internal/units"
	_ "golang.org/x/image/tiff" // DecodeConfig of TIFF
	_ "golang.org/x/image/webp" // DecodeConfig of WebP
	"golang.org/x/sync/errgroup"
)

// MaxImagePixels is the largest image read (width × height): a page of A3 at 300 DPI is
// 17 million; a decompression bomb declares billions in a few bytes, and is refused from
// its header before any decoder runs.
const MaxImagePixels = 64_000_000

// Tools are the programs OCR needs, found on PATH.
type Tools struct {
	Tesseract, PDFToPPM, PDFInfo, PDFImages string
	// Version is Tesseract's ("5.3.0"); Langs the languages whose data is installed;
	// DataDigest a digest of the language data files used (their names and sizes), so
	// that a new model changes the pipeline fingerprint.
	Version    string
	Langs      []string
	DataDigest string
}

// Find looks the programs up and asks Tesseract what it has.
func Find() Tools {
	var t Tools
	t.Tesseract, _ = exec.LookPath("tesseract")
	t.PDFToPPM, _ = exec.LookPath("pdftoppm")
	t.PDFInfo, _ = exec.LookPath("pdfinfo")
	t.PDFImages, _ = exec.LookPath("pdfimages")
	if t.Tesseract == "" {
		return t
	}
	if out, err := exec.Command(t.Tesseract, "--version").CombinedOutput(); err == nil {
		first, _, _ := strings.Cut(string(out), "\n")
		t.Version = strings.TrimSpace(strings.TrimPrefix(first, "tesseract"))
	}
	out, _ := exec.Command(t.Tesseract, "--list-langs").CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := ""
	if len(lines) > 0 {
		if i, j := strings.Index(lines[0], `"`), strings.LastIndex(lines[0], `"`); i >= 0 && j > i {
			dir = lines[0][i+1 : j]
		}
		for _, l := range lines[1:] {
			if l = strings.TrimSpace(l); l != "" {
				t.Langs = append(t.Langs, l)
			}
		}
	}
	h := sha256.New()
	for _, l := range t.Langs {
		if fi, err := os.Stat(filepath.Join(dir, l+".traineddata")); err == nil {
			fmt.Fprintf(h, "%s:%d\n", l, fi.Size())
		}
	}
	t.DataDigest = hex.EncodeToString(h.Sum(nil)[:8])
	return t
}

// Config is the ocr section of the configuration file.
type Config struct {
	Enabled     string         `yaml:"enabled" doc:"auto: OCR when tesseract is installed | on: required (refuse to start without it) | off: scans fail as no_text_layer"`
	Languages   []string       `yaml:"languages" doc:"Tesseract languages (their data installed: Debian's tesseract-ocr-<lang>)"`
	DPI         int            `yaml:"dpi" doc:"resolution PDF pages are rendered at for OCR"`
	Concurrency int            `yaml:"concurrency" doc:"pages read at once within one document (each a tesseract child with one thread)"`
	PageTimeout units.Duration `yaml:"page_timeout" doc:"time allowed per page of OCR (a scan gets limits.document_timeout plus this much per page)"`
}

// DefaultConfig is OCR on where Tesseract is, in English, at 300 DPI, two pages at once.
func DefaultConfig() Config {
	return Config{Enabled: "auto", Languages: []string{"eng"}, DPI: 300, Concurrency: 2, PageTimeout: units.Duration(60 * time.Second)}
}

// Validate names every bad field by its path in the configuration file.
func (c Config) Validate() []error {
	var errs []error
	switch c.Enabled {
	case "auto", "on", "off":
	default:
		errs = append(errs, fmt.Errorf("ocr.enabled: %q is not auto, on or off", c.Enabled))
	}
	if len(c.Languages) == 0 {
		errs = append(errs, errors.New("ocr.languages: name at least one (eng)"))
	}
	for _, l := range c.Languages {
		if l == "" || strings.ContainsAny(l, "+/ \\") {
			errs = append(errs, fmt.Errorf("ocr.languages: %q is not a Tesseract language name", l))
		}
	}
	if c.DPI < 72 || c.DPI > 1200 {
		errs = append(errs, fmt.Errorf("ocr.dpi: %d is not between 72 and 1200", c.DPI))
	}
	if c.PageTimeout <= 0 {
		errs = append(errs, fmt.Errorf("ocr.page_timeout: must be positive, got %s", c.PageTimeout))
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		errs = append(errs, fmt.Errorf("ocr.concurrency: %d is not between 1 and 64", c.Concurrency))
	}
	return errs
}

// Engine reads pages.
type Engine struct {
	Tools       Tools
	Languages   []string
	DPI         int
	Concurrency int
	Limits      extractors.Limits
	// Child holds the caps every child runs under (MaxRSS, Cgroup, Logger).
	Child pdfchild.Extractor
}

// New checks the configuration against the tools: the engine, or nil with the reason OCR
// is off.
func New(c Config, t Tools, lim extractors.Limits, child pdfchild.Extractor) (*Engine, string, error) {
	if c.Enabled == "off" {
		return nil, "ocr.enabled is off", nil
	}
	missing := ""
	switch {
	case t.Tesseract == "":
		missing = "tesseract is not installed (Debian package tesseract-ocr)"
	case t.PDFToPPM == "" || t.PDFInfo == "" || t.PDFImages == "":
		missing = "pdftoppm, pdfinfo and pdfimages are not installed (Debian package poppler-utils)"
	}
	for _, l := range c.Languages {
		if missing == "" && !contains(t.Langs, l) {
			missing = fmt.Sprintf("Tesseract has no data for the language %q (Debian package tesseract-ocr-%s)", l, l)
		}
	}
	if missing != "" {
		if c.Enabled == "on" {
			return nil, "", fmt.Errorf("ocr.enabled is on, but %s", missing)
		}
		return nil, missing, nil
	}
	return &Engine{Tools: t, Languages: c.Languages, DPI: c.DPI, Concurrency: c.Concurrency, Limits: lim, Child: child}, "", nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Fingerprint is everything about OCR that changes outputs.
func (e *Engine) Fingerprint() string {
	if e == nil {
		return "off"
	}
	return fmt.Sprintf("tesseract %s langs %s data %s dpi %d renderer pdftoppm; pages of text PDFs under %d letters with an image", e.Tools.Version, strings.Join(e.Languages, "+"), e.Tools.DataDigest, e.DPI, MinPageLetters)
}

// run runs one child under the caps, with stdin as its input, and returns its output.
func (e *Engine) run(ctx context.Context, format string, stdin []byte, maxOut int64, name string, args ...string) ([]byte, error) {
	child := e.Child
	child.Format = format
	child.MaxOutput = maxOut
	child.Command = func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
		return cmd
	}
	var out []byte
	child.Parse = func(b []byte) (document.Document, error) {
		out = bytes.Clone(b)
		return document.Document{}, nil
	}
	_, err := child.Extract(ctx, stdin)
	return out, err
}

// Paragraph is one paragraph Tesseract read: its text and its words' mean confidence
// (0 to 1).
type Paragraph struct {
	Text       string
	Confidence float64
	Words      int
}

// Image reads one page image (PNG, JPEG, TIFF, WebP, or the PNG pdftoppm rendered).
func (e *Engine) Image(ctx context.Context, img []byte, format string) ([]Paragraph, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		return nil, document.Permanentf(document.ReasonCorrupt, "%s: not a readable image: %w", format, err)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > MaxImagePixels || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, document.Permanentf(document.ReasonTooLarge, "%s: an image of %d×%d pixels, over the cap of %d", format, cfg.Width, cfg.Height, MaxImagePixels)
	}
	args := []string{"stdin", "stdout", "-l", strings.Join(e.Languages, "+"), "--psm", "3"}
	if format == "pdf" {
		args = append(args, "--dpi", strconv.Itoa(e.DPI))
	}
	args = append(args, "tsv")
	out, err := e.run(ctx, format, img, int64(e.Limits.MaxTextBytes)*8+1<<20, e.Tools.Tesseract, args...)
	if err != nil {
		return nil, err
	}
	return parseTSV(out), nil
}

// parseTSV groups Tesseract's words (level 5 rows) into paragraphs by block and
// paragraph number, lines joined by spaces.
func parseTSV(out []byte) []Paragraph {
	var paras []Paragraph
	var cur *Paragraph
	var sum float64
	key := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 12 || f[0] != "5" {
			continue
		}
		word := strings.TrimSpace(f[11])
		conf, err := strconv.ParseFloat(f[10], 64)
		if word == "" || err != nil || conf < 0 {
			continue
		}
		if k := f[2] + "." + f[3]; k != key || cur == nil {
			if cur != nil {
				cur.Confidence = sum / float64(cur.Words) / 100
			}
			paras = append(paras, Paragraph{})
			cur, key, sum = &paras[len(paras)-1], k, 0
		}
		if cur.Words > 0 {
			cur.Text += " "
		}
		cur.Text += word
		cur.Words++
		sum += conf
	}
	if cur != nil && cur.Words > 0 {
		cur.Confidence = sum / float64(cur.Words) / 100
	}
	return paras
}

// ImageExtractor reads image files (PNG, JPEG, TIFF, WebP) as one page of text.
type ImageExtractor struct {
	Engine *Engine
	Format string
	// Off says why OCR is off when Engine is nil.
	Off string
}

func (x ImageExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	if x.Engine == nil {
		return document.Document{}, document.Permanentf(document.ReasonUnsupported, "%s: an image is read only by OCR, which is off: %s", x.Format, x.Off)
	}
	paras, err := x.Engine.Image(ctx, data, x.Format)
	if err != nil {
		return document.Document{}, err
	}
	return extractors.OCRDocument(ctx, x.Format, x.Engine.Limits, [][]extractors.OCRParagraph{toParas(paras)})
}

func toParas(ps []Paragraph) []extractors.OCRParagraph {
	out := make([]extractors.OCRParagraph, len(ps))
	for i, p := range ps {
		out[i] = extractors.OCRParagraph{Text: p.Text, Confidence: p.Confidence, Words: p.Words}
	}
	return out
}

// PDF reads every page of a PDF with OCR.
func (e *Engine) PDF(ctx context.Context, data []byte) (document.Document, error) {
	var doc document.Document
	err := withFile(data, func(path string) error {
		info, err := e.run(ctx, "pdf", nil, 1<<20, e.Tools.PDFInfo, path)
		if err != nil {
			return err
		}
		n := 0
		for _, l := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(l, "Pages:"); ok {
				n, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		if n < 1 {
			return document.Permanentf(document.ReasonCorrupt, "pdf: pdfinfo found no pages")
		}
		if e.Limits.MaxPages > 0 && n > e.Limits.MaxPages {
			return document.Permanentf(document.ReasonTooManyPages, "pdf: %d pages, over the page cap of %d", n, e.Limits.MaxPages)
		}
		pages := make([]int, n)
		for i := range pages {
			pages[i] = i + 1
		}
		results, err := e.readPages(ctx, path, pages)
		if err != nil {
			return err
		}
		doc, err = extractors.OCRDocument(ctx, "pdf", e.Limits, results)
		return err
	})
	return doc, err
}

// MinPageLetters is how few letters a page of a PDF with a text layer may hold and
// still be read by OCR (when it shows an image): a scanned page inside a text document
// has none, or only a stamped page number.
const MinPageLetters = 16

// FillPages reads with OCR the pages of a PDF that has a text layer whose text holds
// fewer than MinPageLetters letters and that show at least one image (as the extractor
// saw, doc.PageImages, or else as pdfimages -list tells): scanned pages inside a text
// document. Their text is added to the end of the page's own (extractors.SpliceOCR). A
// document without such pages is returned as it is, and no child runs (pdfimages only,
// when the extractor could not tell which pages paint images).
func (e *Engine) FillPages(ctx context.Context, data []byte, doc document.Document) (document.Document, error) {
	var sparse []int
	for i := range doc.Pages {
		end := len(doc.Text)
		if i+1 < len(doc.Pages) {
			end = doc.Pages[i+1]
		}
		if letters(doc.Text[doc.Pages[i]:end]) < MinPageLetters {
			sparse = append(sparse, i+1)
		}
	}
	known := len(doc.PageImages) == len(doc.Pages)
	if known {
		// the extractor saw which pages paint an image: no pdfimages
		shown := sparse[:0]
		for _, n := range sparse {
			if doc.PageImages[n-1] {
				shown = append(shown, n)
			}
		}
		sparse = shown
	}
	if len(sparse) == 0 {
		return doc, nil
	}
	out := doc
	err := withFile(data, func(path string) error {
		pages := sparse
		if !known {
			// pdfimages reads every page of its range: one call per run of nearby
			// candidates, not one from the first to the last (a manual with a blank page
			// near each end had all its pages read)
			shown := map[int]bool{}
			for _, r := range pageRanges(sparse, rangeGap) {
				list, err := e.run(ctx, "pdf", nil, 64<<20, e.Tools.PDFImages, "-list", "-f", strconv.Itoa(r[0]), "-l", strconv.Itoa(r[1]), path)
				if err != nil {
					return err
				}
				for n := range imagePages(list) {
					shown[n] = true
				}
			}
			pages = nil
			for _, n := range sparse {
				if shown[n] {
					pages = append(pages, n)
				}
			}
			if len(pages) == 0 {
				return nil
			}
		}
		results, err := e.readPages(ctx, path, pages)
		if err != nil {
			return err
		}
		ocr, err := extractors.OCRDocument(ctx, "pdf", e.Limits, results)
		if reason, _ := document.Classify(err); err != nil && reason == document.ReasonNoTextLayer {
			return nil // the images hold no text
		}
		if err != nil {
			return err
		}
		out, err = extractors.SpliceOCR(doc, ocr, pages, e.Limits)
		return err
	})
	return out, err
}

// rangeGap is how many pages between two candidates pdfimages reads rather than start
// again: a start costs about as much as reading a few pages.
const rangeGap = 4

// pageRanges groups sorted page numbers into [first, last] ranges, merging neighbours at
// most gap pages apart.
func pageRanges(pages []int, gap int) [][2]int {
	var out [][2]int
	for _, p := range pages {
		if n := len(out); n > 0 && p-out[n-1][1] <= gap+1 {
			out[n-1][1] = p
			continue
		}
		out = append(out, [2]int{p, p})
	}
	return out
}

// letters counts the letters of s.
func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

// imagePages reads pdfimages -list: the pages that show an image.
func imagePages(list []byte) map[int]bool {
	out := map[int]bool{}
	for _, l := range strings.Split(string(list), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		if n, err := strconv.Atoi(f[0]); err == nil && (f[2] == "image" || f[2] == "mask" || f[2] == "stencil") {
			out[n] = true
		}
	}
	return out
}

// withFile writes data to a temporary file for the poppler tools, which read files.
func withFile(data []byte, fn func(path string) error) error {
	tmp, err := os.CreateTemp("", "docingest-ocr-*.pdf")
	if err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("pdf: %w", werr)
	}
	return fn(tmp.Name())
}

// readPages renders the given pages (1-based, ascending) and reads them, Concurrency at
// once, after checking every page's size against the pixel cap: a page can be 200
// inches wide, and is refused before pdftoppm allocates it.
func (e *Engine) readPages(ctx context.Context, path string, pages []int) ([][]extractors.OCRParagraph, error) {
	first, last := pages[0], pages[len(pages)-1]
	want := make(map[int]bool, len(pages))
	for _, n := range pages {
		want[n] = true
	}
	sizes, err := e.run(ctx, "pdf", nil, int64(last-first+1)*128+1<<20, e.Tools.PDFInfo, "-f", strconv.Itoa(first), "-l", strconv.Itoa(last), path)
	if err != nil {
		return nil, err
	}
	for _, l := range strings.Split(string(sizes), "\n") {
		var n int
		var w, h float64
		if _, err := fmt.Sscanf(strings.Join(strings.Fields(l), " "), "Page %d size: %g x %g pts", &n, &w, &h); err != nil || !want[n] {
			continue
		}
		if px := (w * float64(e.DPI) / 72) * (h * float64(e.DPI) / 72); px > MaxImagePixels {
			return nil, document.Permanentf(document.ReasonTooLarge, "pdf: page %d (%.0f × %.0f pt) would render to %.0f pixels at %d DPI, over the cap of %d", n, w, h, px, e.DPI, MaxImagePixels)
		}
	}
	results := make([][]extractors.OCRParagraph, len(pages))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, e.Concurrency))
	for i, page := range pages {
		g.Go(func() error {
			n := strconv.Itoa(page)
			png, err := e.run(gctx, "pdf", nil, MaxImagePixels*3/2+1<<20, e.Tools.PDFToPPM,
				"-r", strconv.Itoa(e.DPI), "-png", "-gray", "-f", n, "-l", n, "-singlefile", path)
			if err != nil {
				return err
			}
			paras, err := e.Image(gctx, png, "pdf")
			if err != nil {
				return err
			}
			results[i] = toParas(paras)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return results, nil
}
