package worker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// Names that could never be processed (issue 14, section 6): each one is processed or
// gets a permanent, clearly worded failure record, and a second run has nothing to retry.
func TestHostileLocalNames(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "hostname"), []byte("a machine's name"), 0o644)
	src := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	long := strings.Repeat("n", 251) + ".txt" // 255 bytes: its sidecar's name cannot exist
	latin1 := "caf\xe9.txt"                   // not UTF-8
	write("a", "a file named a, beside a folder named a.txt")
	write("a.txt/b", "a file in a folder named a.txt")
	write("...", "a file named three dots")
	write(`back\slash.txt`, "a backslash in a name")
	write(long, "a name of 255 bytes")
	write(latin1, "a name in Latin-1")
	os.Symlink(filepath.Join(outside, "hostname"), filepath.Join(src, "link.txt"))
	outDir := t.TempDir()
	out, srcStore := newLocal(t, outDir), newLocal(t, src)
	p := newPipeline(t, testConfig(t, "fp"), out)
	first := run(t, p, srcStore, BatchOptions{})
	if first.Listed != 7 || first.Processed != 7 || first.Failed != 1 {
		t.Fatalf("first run %+v", first)
	}
	r := failureOf(t, outDir, "link.txt")
	if r == nil || !r.Permanent || r.Reason != "unsupported" || !strings.Contains(r.Error, "outside the folder") {
		t.Fatalf("link out of the folder: %+v", r)
	}
	if text, err := os.ReadFile(filepath.Join(outDir, "text", "link.txt.txt")); err == nil {
		t.Fatalf("the link's target was read: %q", text)
	}
	for _, name := range []string{"a", "a.txt/b", "...", `back\slash.txt`, long, latin1} {
		if _, err := out.Get(context.Background(), layout.Text(name)); err != nil {
			t.Errorf("%q: no text: %v", name, err)
		}
	}
	// nothing to redo, nothing retried
	if again := run(t, p, srcStore, BatchOptions{}); again.Processed != 0 || again.Skipped != 7 {
		t.Fatalf("second run %+v", again)
	}
	// the Latin-1 name survives a failure record byte for byte: `failed retry` finds it
	os.WriteFile(filepath.Join(src, latin1), []byte{0x89, 'P', 'N', 'G', 0, 0}, 0o644)
	if s := run(t, p, srcStore, BatchOptions{}); s.Failed != 1 || s.Processed != 1 {
		t.Fatalf("run with a broken Latin-1 file %+v", s)
	}
	if r := failureOf(t, outDir, latin1); r == nil || r.Key() != latin1 {
		t.Fatalf("failure record of %q: %+v", latin1, r)
	}
	if s := run(t, p, srcStore, BatchOptions{RetryFailed: true}); s.Processed != 2 {
		t.Fatalf("retry %+v", s)
	}
	// and a reindex removes it once when it is gone, not on every run
	os.Remove(filepath.Join(src, latin1))
	for i, want := range []int{1, 0} {
		sum, err := p.Reindex(context.Background(), ReindexOptions{Source: srcStore, Concurrency: 1})
		if err != nil || sum.Removed != want {
			t.Fatalf("reindex %d: removed %d, want %d (%v)", i, sum.Removed, want, err)
		}
	}
	if _, err := out.Get(context.Background(), layout.Chunks(latin1)); err == nil {
		t.Fatal("the chunks of a removed Latin-1 source stay")
	}
	_ = storage.ErrNotFound
}
