// Command pdfbench compares docingest's PDF backends with pdftotext on a folder of PDFs,
// in one run: files OK and failed by reason, pages/s, MB/s, peak RSS and the word-set
// overlap of each backend's text with pdftotext's (mean and median). bench/pdf.sh builds
// the corpus and runs it.
//
// The default backend runs as docingest does it, `docingest extract-pdf` children (one
// per file, with the default caps and time limit, through pdfchild.Extractor), so
// its peak memory is per child: its memory cgroup's peak where this process may make
// cgroups, else the kernel's rusage. pdftotext runs one process per file the same way. PDFium starts
// in a few seconds and then serves every file, so it runs in this process with one
// instance, as a long-lived worker would use it; its figure is this process's peak RSS.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/docingest/docingest/extractors/pdf"
	"github.com/docingest/docingest/extractors/pdfchild"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/internal/cgroup"
)

type run struct {
	text    string
	pages   int
	reason  string
	elapsed time.Duration
	rssKB   int64
}

type backendStats struct {
	name     string
	ok       int
	failed   map[string]int
	pages    int
	bytes    int64
	elapsed  time.Duration
	maxRSSKB int64
	overlaps []float64
	files    []string // the file of each overlap
}

func main() {
	dir := flag.String("dir", "", "folder of PDFs")
	bin := flag.String("docingest", "", "docingest binary")
	pdftotext := flag.String("pdftotext", "pdftotext", "pdftotext binary")
	limit := flag.Int("limit", 0, "at most this many files (0: all)")
	skipPDFium := flag.Bool("skip-pdfium", false, "leave the PDFium backend out")
	worst := flag.Int("worst", 10, "list this many files with the lowest overlap per backend")
	flag.Parse()
	var files []string
	filepath.WalkDir(*dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".pdf") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	if *limit > 0 && len(files) > *limit {
		files = files[:*limit]
	}
	var total int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			total += st.Size()
		}
	}
	fmt.Printf("%d PDFs, %.1f MB\n", len(files), float64(total)/1e6)
	// Each child in a memory cgroup of its own, where this process may make one: the
	// cgroup's peak is the child's own (page cache included), where rusage's maxrss
	// starts from what the child shared with this process before exec.
	meter, err := cgroup.Find("")
	if err != nil {
		fmt.Printf("peak memory of children: rusage maxrss, an upper bound (no cgroup: %v)\n", err)
		meter = nil
	} else {
		fmt.Printf("peak memory of children: their memory cgroups' peaks (%s)\n", meter)
	}

	ref := &backendStats{name: "pdftotext", failed: map[string]int{}}
	def := &backendStats{name: "docingest ledongthuc (child per file)", failed: map[string]int{}}
	pdfiumStats := &backendStats{name: "docingest pdfium (in process)", failed: map[string]int{}}
	// Phase 1: the child processes, while this process is small (a child's peak RSS, as the
	// kernel reports it, starts from the memory it shared with its parent before exec).
	refText := make([]string, len(files))
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		r := pdftotextRun(*pdftotext, f, meter)
		add(ref, r, int64(len(data)), "", f)
		refText[i] = r.text
		d := childRun(*bin, data, meter)
		add(def, d, int64(len(data)), r.text, f)
		if (i+1)%25 == 0 {
			fmt.Fprintf(os.Stderr, "children: %d/%d files\n", i+1, len(files))
		}
	}
	// Phase 2: PDFium in this process, one instance for every file.
	backends := []*backendStats{ref, def, pdfiumStats}
	if *skipPDFium {
		backends = backends[:2]
	} else {
		start := time.Now()
		var pd *pdf.PDFium
		pd, err = pdf.NewPDFium(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("pdfium start-up: %s\n", time.Since(start).Round(time.Millisecond))
		lim := extractors.Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}
		for i, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			add(pdfiumStats, pdfiumRun(pd, lim, data), int64(len(data)), refText[i], f)
		}
		pdfiumStats.maxRSSKB = selfPeakKB()
		pd.Close()
	}

	fmt.Printf("\n%-38s %5s %-40s %8s %7s %9s %8s %8s\n", "backend", "ok", "failed (by reason)", "pages/s", "MB/s", "peak RSS", "overlap", "median")
	for _, s := range backends {
		var fails []string
		for r, n := range s.failed {
			fails = append(fails, fmt.Sprintf("%s %d", r, n))
		}
		sort.Strings(fails)
		mean, median := "-", "-"
		if len(s.overlaps) > 0 {
			var sum float64
			for _, o := range s.overlaps {
				sum += o
			}
			sorted := slices.Clone(s.overlaps)
			slices.Sort(sorted)
			mean, median = fmt.Sprintf("%.3f", sum/float64(len(sorted))), fmt.Sprintf("%.3f", sorted[len(sorted)/2])
		}
		fmt.Printf("%-38s %5d %-40s %8.1f %7.2f %7.0fMiB %8s %8s\n", s.name, s.ok, strings.Join(fails, ", "),
			float64(s.pages)/s.elapsed.Seconds(), float64(s.bytes)/1e6/s.elapsed.Seconds(), float64(s.maxRSSKB)/1024, mean, median)
	}
	fmt.Printf("\nratios to pdftotext on the same files:")
	for _, s := range backends[1:] {
		fmt.Printf(" %s %.2fx pages/s;", s.name, rate(s)/rate(ref))
	}
	fmt.Println()
	fmt.Println("overlap: |words(backend) ∩ words(pdftotext)| / |union|, per file that both extracted")
	for _, s := range backends[1:] {
		idx := make([]int, len(s.overlaps))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return s.overlaps[idx[a]] < s.overlaps[idx[b]] })
		fmt.Printf("\nlowest overlap, %s:\n", s.name)
		for _, i := range idx[:min(*worst, len(idx))] {
			fmt.Printf("  %.3f %s\n", s.overlaps[i], s.files[i])
		}
	}
}

func rate(s *backendStats) float64 { return float64(s.pages) / s.elapsed.Seconds() }

func add(s *backendStats, r run, size int64, reference, file string) {
	s.elapsed += r.elapsed
	s.maxRSSKB = max(s.maxRSSKB, r.rssKB)
	if r.reason != "" {
		s.failed[r.reason]++
		return
	}
	s.ok++
	s.pages += r.pages
	s.bytes += size
	if reference != "" && r.text != "" {
		s.overlaps = append(s.overlaps, overlap(r.text, reference))
		s.files = append(s.files, file)
	}
}

func rusageKB(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}

// pdftotextRun runs pdftotext on file, in a measuring cgroup when meter is set.
func pdftotextRun(bin, file string, meter *cgroup.Parent) run {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-enc", "UTF-8", file, "-")
	var out bytes.Buffer
	cmd.Stdout = &out
	var group *cgroup.Group
	if meter != nil {
		g, err := meter.New(0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer g.Close()
		group = g
	}
	start := time.Now()
	var err error
	if group != nil {
		if err = group.Start(cmd); err == nil {
			err = cmd.Wait()
		}
	} else {
		err = cmd.Run()
	}
	r := run{elapsed: time.Since(start)}
	if group != nil {
		r.rssKB = group.Outcome().PeakBytes >> 10
	} else if cmd.ProcessState != nil {
		r.rssKB = rusageKB(cmd.ProcessState)
	}
	if err != nil {
		r.reason = "error"
		if strings.Contains(err.Error(), "exit status 1") {
			r.reason = "encrypted or unreadable"
		}
		return r
	}
	r.text = out.String()
	r.pages = strings.Count(r.text, "\f")
	if strings.TrimSpace(strings.ReplaceAll(r.text, "\f", "")) == "" {
		r.reason, r.text = "no_text_layer", ""
	}
	return r
}

// childRun extracts data as docingest does: an `extract-pdf` child with the default caps
// (256 MiB, GOMEMLIMIT 192 MiB, one thread) and time limit, in its own memory cgroup
// when meter is set.
func childRun(bin string, data []byte, meter *cgroup.Parent) run {
	pages := pdf.PageHint(data)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second+time.Duration(min(pages, 5000))*50*time.Millisecond)
	defer cancel()
	var peak int64
	ex := pdfchild.Extractor{
		Command: func(ctx context.Context) *exec.Cmd {
			cmd := exec.CommandContext(ctx, bin, "extract-pdf", "--memory-limit", fmt.Sprint(192<<20))
			cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
			return cmd
		},
		MaxRSS:    256 << 20,
		MaxOutput: 116 << 20,
		Cgroup:    meter,
		Observe:   func(p int64, _ bool) { peak = p },
	}
	start := time.Now()
	doc, err := ex.Extract(ctx, data)
	r := run{elapsed: time.Since(start), rssKB: peak >> 10}
	if err != nil {
		if ctx.Err() != nil {
			r.reason = "timeout"
		} else {
			reason, _ := document.Classify(err)
			r.reason = string(reason)
		}
		return r
	}
	r.text, r.pages = doc.Text, len(doc.Pages)
	return r
}

func pdfiumRun(p *pdf.PDFium, lim extractors.Limits, data []byte) run {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	doc, err := pdf.PDFiumExtractor{Limits: lim, PDFium: p}.Extract(ctx, data)
	r := run{elapsed: time.Since(start)}
	if err != nil {
		reason, _ := document.Classify(err)
		r.reason = string(reason)
		return r
	}
	r.text, r.pages = doc.Text, len(doc.Pages)
	return r
}

func selfPeakKB() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb
		}
	}
	return 0
}

func words(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		out[w] = true
	}
	return out
}

func overlap(a, b string) float64 {
	wa, wb := words(a), words(b)
	inter := 0
	for w := range wa {
		if wb[w] {
			inter++
		}
	}
	union := len(wa) + len(wb) - inter
	if union == 0 {
		return 1
	}
	return float64(inter) / float64(union)
}
