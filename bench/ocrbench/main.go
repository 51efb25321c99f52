// Command ocrbench measures docingest's OCR (bench/ocr.sh runs it): it takes pages of real
// text PDFs, renders each to an image at -dpi with pdftoppm and wraps the images into an
// image-only PDF (JPEG pages, as a scanner makes them), then
//   - reads that PDF with docingest's OCR engine (extractors/ocr: pdftoppm and Tesseract
//     as children, -concurrency pages at once), and
//   - does the same work bare: pdftoppm and tesseract called directly on the same pages,
//     one after another per page, the same number of pages at once;
//
// and scores each page's words against the original PDF's text layer (pdftotext), as
// bench/pdf.sh does. It prints the median and worst word overlap, and both wall times.
//
// It then does the same for mixed PDFs (the same pages, every other one scanned, joined
// by pdfunite): the text layer is read in process and only the scanned pages by OCR
// (Engine.FillPages); scored on the scanned pages, timed against the bare calls on
// those pages only. Last, every hostile image of internal/hostile (decompression bombs,
// truncated files, a blank image at the pixel cap) is read, and its outcome, time and
// the children's peak memory printed: each must be a failure record of its reason.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/extractors/ocr"
	"github.com/docingest/docingest/extractors/pdf"
	"github.com/docingest/docingest/extractors/pdfchild"
	"github.com/docingest/docingest/internal/hostile"
	"github.com/docingest/docingest/internal/pdftest"
	"golang.org/x/sync/errgroup"
)

func main() {
	dpi := flag.Int("dpi", 300, "render resolution")
	perPDF := flag.Int("pages", 4, "pages taken from each PDF (from its middle: text, not covers)")
	conc := flag.Int("concurrency", 2, "pages at once, on both sides")
	mixed := flag.Bool("mixed", true, "also measure mixed PDFs (every other page scanned)")
	hostileImages := flag.Bool("hostile", true, "also read the hostile images of internal/hostile")
	flag.Parse()
	tools := ocr.Find()
	cfg := ocr.DefaultConfig()
	cfg.DPI, cfg.Concurrency = *dpi, *conc
	eng, off, err := ocr.New(cfg, tools, extractors.Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}, pdfchild.Extractor{MaxRSS: 1 << 30})
	if err != nil || eng == nil {
		log.Fatalf("OCR is not available: %v %s", err, off)
	}
	tmp, _ := os.MkdirTemp("", "ocrbench")
	defer os.RemoveAll(tmp)
	var overlaps []float64
	var oursTotal, bareTotal time.Duration
	pagesTotal := 0
	for _, pdf := range flag.Args() {
		n := pageCount(pdf)
		if n < 1 {
			continue
		}
		first := max(1, n/2-*perPDF/2)
		var pngs [][]byte
		var refs []string
		for p := first; p < first+*perPDF && p <= n; p++ {
			pngs = append(pngs, run("pdftoppm", "-r", strconv.Itoa(*dpi), "-png", "-gray", "-f", strconv.Itoa(p), "-l", strconv.Itoa(p), "-singlefile", pdf))
			refs = append(refs, string(run("pdftotext", "-f", strconv.Itoa(p), "-l", strconv.Itoa(p), pdf, "-")))
		}
		scan := filepath.Join(tmp, "scan.pdf")
		pdfBytes, err := pdftest.ScanPDF(pngs, *dpi)
		if err != nil {
			log.Fatal(err)
		}
		os.WriteFile(scan, pdfBytes, 0o644)
		data, _ := os.ReadFile(scan)
		// docingest
		start := time.Now()
		doc, err := eng.PDF(context.Background(), data)
		ours := time.Since(start)
		if err != nil {
			log.Printf("%s: %v", pdf, err)
			continue
		}
		// bare: the same renders and reads, called directly
		pages := make([]int, len(pngs))
		for i := range pages {
			pages[i] = i + 1
		}
		bare := bareOCR(scan, pages, *dpi, *conc)
		oursTotal, bareTotal = oursTotal+ours, bareTotal+bare
		for i, ref := range refs {
			end := len(doc.Text)
			if i+1 < len(doc.Pages) {
				end = doc.Pages[i+1]
			}
			if i < len(doc.Pages) {
				overlaps = append(overlaps, overlap(ref, doc.Text[doc.Pages[i]:end]))
			}
		}
		pagesTotal += len(pngs)
		fmt.Fprintf(os.Stderr, "%-40s %d pages  docingest %.1fs  bare %.1fs\n", filepath.Base(pdf), len(pngs), ours.Seconds(), bare.Seconds())
	}
	sort.Float64s(overlaps)
	if len(overlaps) == 0 {
		log.Fatal("no pages read")
	}
	fmt.Printf("%d pages at %d DPI from %d PDFs: word overlap with the text layer median %.3f, worst %.3f; docingest %.1fs, bare pdftoppm+tesseract %.1fs (%.2fx), %.2f pages/s\n",
		pagesTotal, *dpi, len(flag.Args()), overlaps[len(overlaps)/2], overlaps[0], oursTotal.Seconds(), bareTotal.Seconds(), oursTotal.Seconds()/bareTotal.Seconds(), float64(pagesTotal)/oursTotal.Seconds())
	if *mixed {
		mixedPDFs(eng, flag.Args(), tmp, *perPDF, *dpi, *conc)
	}
	if *hostileImages {
		hostileCases(eng)
	}
}

// mixedPDFs reads PDFs whose odd pages are kept and even pages scanned.
func mixedPDFs(eng *ocr.Engine, pdfs []string, tmp string, perPDF, dpi, conc int) {
	var scanned, kept []float64
	var oursTotal, bareTotal time.Duration
	pages := 0
	for _, path := range pdfs {
		n := pageCount(path)
		if n < 2 {
			continue
		}
		first := max(1, n/2-perPDF/2)
		last := min(n, first+perPDF-1)
		scan := map[int]bool{}
		for p := first + 1; p <= last; p += 2 {
			scan[p] = true
		}
		data, err := pdftest.MixedPDF(path, first, last, scan)
		if err != nil {
			log.Fatal(err)
		}
		file := filepath.Join(tmp, "mixed.pdf")
		os.WriteFile(file, data, 0o644)
		base, err := pdf.Extractor{Limits: eng.Limits}.Extract(context.Background(), data)
		if err != nil {
			log.Printf("%s: the mixed PDF's text layer: %v", filepath.Base(path), err)
			continue
		}
		start := time.Now()
		doc, err := eng.FillPages(context.Background(), data, base)
		ours := time.Since(start)
		if err != nil {
			log.Printf("%s: %v", filepath.Base(path), err)
			continue
		}
		var inFile []int // the scanned pages' numbers in the mixed file
		for p := range scan {
			inFile = append(inFile, p-first+1)
		}
		bare := bareOCR(file, inFile, dpi, conc)
		oursTotal, bareTotal = oursTotal+ours, bareTotal+bare
		for p := first; p <= last && p-first < len(doc.Pages); p++ {
			i := p - first
			end := len(doc.Text)
			if i+1 < len(doc.Pages) {
				end = doc.Pages[i+1]
			}
			o := overlap(string(run("pdftotext", "-f", strconv.Itoa(p), "-l", strconv.Itoa(p), path, "-")), doc.Text[doc.Pages[i]:end])
			if scan[p] {
				scanned = append(scanned, o)
			} else {
				kept = append(kept, o)
			}
		}
		pages += last - first + 1
		fmt.Fprintf(os.Stderr, "%-40s mixed, %d of %d pages scanned  docingest %.1fs  bare %.1fs\n", filepath.Base(path), len(scan), last-first+1, ours.Seconds(), bare.Seconds())
	}
	if len(scanned) == 0 {
		fmt.Println("mixed PDFs: none read")
		return
	}
	sort.Float64s(scanned)
	sort.Float64s(kept)
	fmt.Printf("mixed PDFs, %d pages, %d scanned: scanned pages' word overlap median %.3f, worst %.3f; text pages' median %.3f, worst %.3f; OCR of the scanned pages %.1fs, bare %.1fs (%.2fx)\n",
		pages, len(scanned), scanned[len(scanned)/2], scanned[0], kept[len(kept)/2], kept[0], oursTotal.Seconds(), bareTotal.Seconds(), oursTotal.Seconds()/bareTotal.Seconds())
}

// hostileCases reads every hostile image as the image extractor does, under the
// document's and one page's time limits.
func hostileCases(eng *ocr.Engine) {
	bad := 0
	for _, c := range hostile.ImageCases() {
		var b bytes.Buffer
		if err := c.Write(&b); err != nil {
			log.Fatal(err)
		}
		format := extractors.Detect(c.File, b.Bytes())
		ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
		start := time.Now()
		_, err := ocr.ImageExtractor{Engine: eng, Format: format}.Extract(ctx, b.Bytes())
		took := time.Since(start)
		cancel()
		reason, permanent := document.Classify(err)
		mark := ""
		if err == nil || !permanent || string(reason) != c.Reason {
			mark, bad = " !!", bad+1
		}
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
		fmt.Printf("hostile %-22s %9d bytes  %-14s %6.2fs  children's peak RSS so far %4d MiB%s\n", c.Name, b.Len(), reason, took.Seconds(), ru.Maxrss>>10, mark)
	}
	fmt.Printf("hostile images: %d of %d ended in their failure record\n", len(hostile.ImageCases())-bad, len(hostile.ImageCases()))
}

// bareOCR renders the pages of a PDF file with pdftoppm and reads them with tesseract,
// called directly, conc pages at once: the baseline docingest's OCR is timed against.
func bareOCR(file string, pages []int, dpi, conc int) time.Duration {
	start := time.Now()
	g := errgroup.Group{}
	g.SetLimit(conc)
	for _, p := range pages {
		g.Go(func() error {
			n := strconv.Itoa(p)
			img := run("pdftoppm", "-r", strconv.Itoa(dpi), "-png", "-gray", "-f", n, "-l", n, "-singlefile", file)
			cmd := exec.Command("tesseract", "stdin", "stdout", "-l", "eng", "--dpi", strconv.Itoa(dpi), "tsv")
			cmd.Stdin, cmd.Env = bytes.NewReader(img), append(os.Environ(), "OMP_THREAD_LIMIT=1")
			_, err := cmd.Output()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		log.Fatal(err)
	}
	return time.Since(start)
}

func run(name string, args ...string) []byte {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		log.Fatalf("%s %v: %v", name, args, err)
	}
	return out
}

func pageCount(pdf string) int {
	out, err := exec.Command("pdfinfo", pdf).Output()
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "Pages:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// overlap is the share of the reference's words (over two letters, lower case) that the
// OCR text has: the measure bench/pdf.sh uses against pdftotext.
func overlap(ref, got string) float64 {
	words := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !('a' <= r && r <= 'z' || '0' <= r && r <= '9') }) {
			if len(w) > 2 {
				m[w] = true
			}
		}
		return m
	}
	want, have := words(ref), words(got)
	if len(want) == 0 {
		return 1
	}
	hit := 0
	for w := range want {
		if have[w] {
			hit++
		}
	}
	return float64(hit) / float64(len(want))
}
