package pdfchild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/extractors/extractortest"
	"github.com/docingest/docingest/internal/testenv"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/internal/cgroup"
	"github.com/docingest/docingest/internal/pdftest"
)

// TestMain lets the test binary serve as the PDF child: Extractor runs it again with
// DOCINGEST_TEST_PDF_CHILD=1, as docingest runs itself with extract-pdf.
func TestMain(m *testing.M) {
	if os.Getenv("DOCINGEST_TEST_PDF_CHILD") == "1" {
		lim := extractors.Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}
		if v := os.Getenv("DOCINGEST_TEST_PDF_LIMITS"); v != "" { // "pages,text bytes"
			fmt.Sscanf(v, "%d,%d", &lim.MaxPages, &lim.MaxTextBytes)
		}
		if err := Serve(os.Stdin, os.Stdout, lim, 100<<20, os.Getenv("DOCINGEST_TEST_PDF_BACKEND")); err != nil {
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func isolated(maxRSS int64) Extractor {
	return Extractor{
		Command: func(ctx context.Context) *exec.Cmd {
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "DOCINGEST_TEST_PDF_CHILD=1")
			return cmd
		},
		MaxRSS:    maxRSS,
		MaxOutput: 64 << 20,
	}
}

// TestIsolatedPDFConformance: the PDF extractor run in a child passes the same suite as
// in process (its caps passed to the child as docingest passes them).
func TestIsolatedPDFConformance(t *testing.T) {
	t.Parallel()
	c := extractortest.Case{
		Format: extractors.FormatPDF,
		Sample: pdftest.TextPDF("%PDF-1.4", []string{"Hello PDF world.", "Second line here."}, []string{"Page two text."}),
		Want:   []string{"Hello PDF world.\nSecond line here.", "Page two text."},
		Pages:  2,
		// a child per input: fewer than the 50 the in-process run tries
		Garbage: 10,
	}
	c.New = func(maxPages, maxText int) extractortest.Extractor {
		ex := isolated(0)
		cmd := ex.Command
		ex.Command = func(ctx context.Context) *exec.Cmd {
			c := cmd(ctx)
			c.Env = append(c.Env, fmt.Sprintf("DOCINGEST_TEST_PDF_LIMITS=%d,%d", maxPages, maxText))
			return c
		}
		return ex
	}
	extractortest.Run(t, c)
}

func extractSafely(t testing.TB, ex extractortest.Extractor, data []byte, what string) (document.Document, error) {
	t.Helper()
	return extractortest.ExtractSafely(t, ex, data, what)
}

func wantPermanent(t testing.TB, err error, what string, reasons ...document.Reason) {
	t.Helper()
	extractortest.WantPermanent(t, err, what, reasons...)
}

func TestIsolatedPDF(t *testing.T) {
	t.Parallel()
	ex := isolated(0)
	doc, err := extractSafely(t, ex, pdftest.TextPDF("%PDF-1.4", []string{"Hello from the child."}, []string{"Second page."}), "text")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != "Hello from the child.\n\nSecond page." || len(doc.Pages) != 2 || doc.Format != "pdf" {
		t.Fatalf("doc %+v", doc)
	}
	for name, tc := range map[string]struct {
		data []byte
		want document.Reason
	}{
		"encrypted":        {pdftest.EncryptedPDF(), document.ReasonEncrypted},
		"encrypted aes":    {pdftest.EncryptedAESPDF(), document.ReasonEncrypted},
		"image only":       {pdftest.ImageOnlyPDF(), document.ReasonNoTextLayer},
		"cyclic page tree": {pdftest.CyclicPageTreePDF(), document.ReasonCorrupt},
		"garbage":          {[]byte("%PDF-1.4 this is not a pdf"), document.ReasonCorrupt},
	} {
		_, err := extractSafely(t, ex, tc.data, name)
		wantPermanent(t, err, name, tc.want)
	}
}

// The hang that cannot be stopped in process: the child is killed at the deadline, the
// caller gets the deadline error (the Pipeline records it as a timeout) and goes on.
func TestIsolatedPDFHangIsKilled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := isolated(0).Extract(ctx, pdftest.SelfPrevXrefPDF())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the deadline", err)
	}
	// the child would hang forever: returning soon after the deadline is the point (the
	// bound is loose because the PDFium tests load this machine at the same time)
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("returned after %s", d)
	}
}

func TestIsolatedPDFMemoryCap(t *testing.T) {
	t.Parallel()
	// 200 MiB of text operators: far more runs than fit in 64 MiB.
	_, err := isolated(64<<20).Extract(context.Background(), pdftest.BombPDF(200<<20))
	wantPermanent(t, err, "memory", document.ReasonMemory)
	if !strings.Contains(err.Error(), "64 MiB") {
		t.Errorf("the error does not name the cap: %v", err)
	}
}

// With a memory cgroup the kernel enforces the cap: the bomb's child is ended by the OOM
// killer inside its group, the error says so, and a normal file's peak is measured
// there. Needs a memory cgroup this process may write (see internal/cgroup).
func TestIsolatedPDFCgroup(t *testing.T) {
	t.Parallel()
	parent, err := cgroup.Find("")
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("a memory cgroup this process may write (%v)", err))
	}
	var peaks []int64
	var mu sync.Mutex
	ex := isolated(64 << 20)
	ex.Cgroup = parent
	ex.Observe = func(peak int64, byCgroup bool) {
		mu.Lock()
		defer mu.Unlock()
		if !byCgroup {
			t.Error("peak not measured by the cgroup")
		}
		peaks = append(peaks, peak)
	}
	doc, err := ex.Extract(context.Background(), pdftest.TextPDF("%PDF-1.4", []string{"In a cgroup."}))
	if err != nil || doc.Text != "In a cgroup." {
		t.Fatalf("doc %q, err %v", doc.Text, err)
	}
	_, err = ex.Extract(context.Background(), pdftest.BombPDF(200<<20))
	wantPermanent(t, err, "memory", document.ReasonMemory)
	if !strings.Contains(err.Error(), "64 MiB") || !strings.Contains(err.Error(), "OOM killer in its cgroup") {
		t.Errorf("the error does not name the cap and the cgroup: %v", err)
	}
	// the kernel charges in batches: a peak may pass the limit by a few pages
	if len(peaks) != 2 || peaks[0] <= 0 || peaks[0] >= 64<<20 || peaks[1] > 65<<20 || peaks[1] < 32<<20 {
		t.Errorf("peaks %v: want the small file's under the cap and the bomb's near it", peaks)
	}
	entries, _ := os.ReadDir(parent.Dir())
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "docingest-pdf-"+strconv.Itoa(os.Getpid())+"-") {
			t.Errorf("group %s left behind", e.Name())
		}
	}
}

// TestPDFiumIsolatedHostile runs the PDFium backend in the child process on files that
// hang or exhaust the default backend: each ends as a result or a clear failure within the
// time limit, and the test process survives.
func TestPDFiumIsolatedHostile(t *testing.T) {
	t.Parallel()
	ex := Extractor{
		Command: func(ctx context.Context) *exec.Cmd {
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "DOCINGEST_TEST_PDF_CHILD=1", "DOCINGEST_TEST_PDF_BACKEND="+extractors.BackendPDFium)
			return cmd
		},
		MaxRSS:    1 << 30,
		MaxOutput: 64 << 20,
	}
	for name, data := range map[string][]byte{
		"self-referencing xref": pdftest.SelfPrevXrefPDF(),
		"decompression bomb":    pdftest.BombPDF(200 << 20),
		"deep page tree":        pdftest.DeepPageTreePDF(100000),
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		start := time.Now()
		doc, err := ex.Extract(ctx, data)
		cancel()
		if err != nil {
			if _, permanent := document.Classify(err); !permanent {
				t.Fatalf("%s: not a clear failure: %v", name, err)
			}
		}
		t.Logf("%s: %d bytes of text, err %v, %s", name, len(doc.Text), err, time.Since(start).Round(time.Millisecond))
	}
}

// The output cap holds when the output is copied with io.Copy, as exec copies a child's
// standard output (an embedded bytes.Buffer's ReadFrom once bypassed it).
func TestCappedBufferThroughCopy(t *testing.T) {
	for _, n := range []int{64, 65} {
		c := &cappedBuffer{max: 64}
		_, err := io.Copy(c, strings.NewReader(strings.Repeat("x", n)))
		if over := n > 64; c.over != over || (err != nil) != over || (!over && len(c.Bytes()) != n) {
			t.Errorf("%d bytes into a cap of 64: over %v, err %v, kept %d", n, c.over, err, len(c.Bytes()))
		}
	}
}
