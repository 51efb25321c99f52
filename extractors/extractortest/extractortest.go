// Package extractortest is the conformance suite of the extractors (go-cloud's
// drivertest): every format's extractor, and the PDF extractor in all its forms (in
// process, PDFium, the isolated child), pass the same checks: the sample's text,
// headings and pages; a clear permanent error for empty, truncated and damaged input,
// never a panic; the text cap with its reason; a cancelled context honoured.
package extractortest

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/docingest/docingest/document"
)

// MaxHeadingTitle is extractors.MaxHeadingTitle (a test there keeps the two equal; this
// package does not import extractors, so that its own tests can use the suite).
const MaxHeadingTitle = 256

// Extractor is an extractor under test.
type Extractor interface {
	Extract(ctx context.Context, data []byte) (document.Document, error)
}

// Case is one extractor with a sample document and what it must give.
type Case struct {
	Format string
	// New returns the extractor with caps on pages and on the cleaned text's bytes.
	New    func(maxPages, maxTextBytes int) Extractor
	Sample []byte
	// Want are substrings of the sample's cleaned text.
	Want []string
	// Headings are the sample's heading titles in order (nil: not checked).
	Headings []string
	// Pages is the sample's page count (0: not a paged format).
	Pages int
	// Garbage is how many random and damaged inputs are tried (0: 50).
	Garbage int
}

// Run runs the suite on c.
func Run(t *testing.T, c Case) {
	t.Helper()
	ex := c.New(100, 1<<20)
	doc, err := ExtractSafely(t, ex, c.Sample, "sample")
	if err != nil {
		t.Fatalf("sample: %v", err)
	}
	CheckDocument(t, doc)
	if doc.Format != c.Format {
		t.Errorf("format %q, want %q", doc.Format, c.Format)
	}
	for _, w := range c.Want {
		if !strings.Contains(doc.Text, w) {
			t.Errorf("text lacks %q:\n%s", w, doc.Text)
		}
	}
	if c.Headings != nil {
		var got []string
		for _, h := range doc.Headings {
			got = append(got, h.Title)
		}
		if strings.Join(got, "\n") != strings.Join(c.Headings, "\n") {
			t.Errorf("headings %q, want %q", got, c.Headings)
		}
	}
	if len(doc.Pages) != c.Pages {
		t.Errorf("%d pages, want %d", len(doc.Pages), c.Pages)
	}

	// Deterministic: the same bytes give the same document.
	again, err := ExtractSafely(t, ex, c.Sample, "sample again")
	if err != nil || again.Text != doc.Text || len(again.Headings) != len(doc.Headings) || len(again.Pages) != len(doc.Pages) {
		t.Errorf("a second extraction of the sample differs (%v)", err)
	}

	// Empty input: a clear permanent error.
	_, err = ExtractSafely(t, ex, nil, "empty")
	WantPermanent(t, err, "empty", document.ReasonEmpty, document.ReasonCorrupt)

	// Truncated input: never a panic; an error or whatever text survived.
	for _, cut := range []int{1, len(c.Sample) / 3, len(c.Sample) / 2, len(c.Sample) - 1} {
		doc, err := ExtractSafely(t, ex, c.Sample[:cut], "truncated")
		if err == nil {
			CheckDocument(t, doc)
		} else {
			WantPermanent(t, err, "truncated")
		}
	}

	// Garbage and damaged copies: never a panic, never a transient error.
	n := c.Garbage
	if n == 0 {
		n = 50
	}
	rng := rand.New(rand.NewPCG(1, uint64(len(c.Format))))
	for i := 0; i < n; i++ {
		g := make([]byte, rng.IntN(4096))
		for j := range g {
			g[j] = byte(rng.Uint32())
		}
		if i%2 == 0 && len(c.Sample) > 16 {
			g = bytes.Clone(c.Sample)
			for k := 0; k < 8; k++ {
				g[rng.IntN(len(g))] = byte(rng.Uint32())
			}
		}
		doc, err := ExtractSafely(t, ex, g, "garbage")
		if err == nil {
			CheckDocument(t, doc)
		} else if _, permanent := document.Classify(err); !permanent {
			t.Fatalf("garbage: transient error %v", err)
		}
	}

	// Text cap: honoured, with its reason.
	_, err = ExtractSafely(t, c.New(100, 10), c.Sample, "capped")
	WantPermanent(t, err, "text cap", document.ReasonTooLarge)

	// Cancellation: an expired context is reported, not ignored (or the input fails on
	// its own first).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ex.Extract(ctx, c.Sample); err != nil && !errors.Is(err, context.Canceled) {
		if _, permanent := document.Classify(err); !permanent {
			t.Errorf("cancelled: %v", err)
		}
	}
}

// CheckDocument verifies what every successful extraction promises: valid UTF-8 without
// CR, U+FFFD or NUL, trimmed, headings at their offsets with capped titles, pages in
// order.
func CheckDocument(t testing.TB, doc document.Document) {
	t.Helper()
	if !utf8.ValidString(doc.Text) {
		t.Error("text is not valid UTF-8")
	}
	if strings.ContainsAny(doc.Text, "\r\ufffd\x00") {
		t.Error("text holds CR, U+FFFD or NUL")
	}
	if doc.Text != strings.TrimSpace(doc.Text) {
		t.Error("text has leading or trailing white space")
	}
	for _, h := range doc.Headings {
		if h.Offset < 0 || h.Offset >= len(doc.Text) {
			t.Errorf("heading %q: offset %d out of range", h.Title, h.Offset)
			continue
		}
		if len(h.Title) > MaxHeadingTitle {
			t.Errorf("heading title of %d bytes, over MaxHeadingTitle", len(h.Title))
		}
		title := strings.TrimSuffix(h.Title, "…") // a title cut to MaxHeadingTitle starts the heading's text
		if !strings.Contains(doc.Text[h.Offset:min(len(doc.Text), h.Offset+len(title)+8)], title) {
			t.Errorf("heading %q is not at its offset %d: %q", h.Title, h.Offset, doc.Text[h.Offset:min(len(doc.Text), h.Offset+40)])
		}
	}
	for i := 1; i < len(doc.Pages); i++ {
		if doc.Pages[i] < doc.Pages[i-1] || doc.Pages[i] > len(doc.Text) {
			t.Errorf("page starts out of order: %v", doc.Pages)
		}
	}
}

// ExtractSafely runs an extractor, turning a panic into a test failure with the input
// named, under a generous deadline (a guard against hangs, not a speed target: under
// -race on a loaded 2-core machine a 256 MiB bomb takes over 20 s to reach its cap).
func ExtractSafely(t testing.TB, ex Extractor, data []byte, what string) (doc document.Document, err error) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("%s: panic: %v", what, v)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return ex.Extract(ctx, data)
}

// WantPermanent fails unless err is permanent and, when reasons are given, of one of them.
func WantPermanent(t testing.TB, err error, what string, reasons ...document.Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	reason, permanent := document.Classify(err)
	if !permanent {
		t.Fatalf("%s: error is not permanent: %v", what, err)
	}
	if len(reasons) == 0 {
		return
	}
	for _, r := range reasons {
		if r == reason {
			return
		}
	}
	t.Fatalf("%s: reason %s (%v), want one of %v", what, reason, err, reasons)
}

// Fuzz checks that an extractor, on any bytes, returns within its deadline with a
// document that keeps the contract or a permanent error, and never panics.
func Fuzz(f *testing.F, ex Extractor, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		type result struct {
			doc document.Document
			err error
		}
		done := make(chan result, 1)
		go func() {
			doc, err := ex.Extract(ctx, data)
			done <- result{doc, err}
		}()
		select {
		case r := <-done:
			if r.err != nil {
				if _, permanent := document.Classify(r.err); !permanent && ctx.Err() == nil {
					t.Fatalf("transient error on bad input: %v", r.err)
				}
				return
			}
			CheckDocument(t, r.doc)
		case <-time.After(20 * time.Second):
			t.Fatalf("extraction of %d bytes did not return (hang)", len(data))
		}
	})
}

// SeedFiles reads the files under dir matching the patterns (under 64 KiB each), as fuzz
// seeds.
func SeedFiles(dir string, patterns ...string) [][]byte {
	var out [][]byte
	for _, p := range patterns {
		files, _ := filepath.Glob(filepath.Join(dir, p))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil && len(b) < 64<<10 {
				out = append(out, b)
			}
		}
	}
	return out
}
