package storage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docingest/docingest/document"

	"github.com/google/go-cmp/cmp"
)

func TestLocalRefusesKeysOutsideRoot(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	l, _ := NewLocal(filepath.Join(parent, "root"))
	for _, k := range []string{"../x", "a/../../x", "/etc/passwd", "", "a//b", "./a", "a/.", "nul\x00"} {
		if err := l.Put(context.Background(), k, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) accepted", k)
		}
	}
	// On Unix a backslash is part of a name, and "..." is a name: both stay inside the root.
	for _, k := range []string{`a\..\..\x`, "...", "...x/y", "..a"} {
		if err := l.Put(context.Background(), k, strings.NewReader("x")); err != nil {
			t.Errorf("Put(%q): %v", k, err)
		}
		if b, err := l.Get(context.Background(), k); err != nil || string(b) != "x" {
			t.Errorf("Get(%q): %q %v", k, b, err)
		}
	}
	if entries, _ := os.ReadDir(parent); len(entries) > 1 {
		t.Fatalf("written outside the root: %v", entries)
	}
}

// A symbolic link is followed inside the folder and refused, permanently and by name,
// when it leads out of it (before, /etc/hostname ended up in text/).
func TestLocalSymlinksStayInside(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644)
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "real.txt"), []byte("inside"), 0o644)
	os.Symlink("real.txt", filepath.Join(root, "inside.txt"))
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(root, "escape.txt"))
	os.Symlink(outside, filepath.Join(root, "dir"))
	l, _ := NewLocal(root)
	ctx := context.Background()
	if rc, err := l.Open(ctx, "inside.txt"); err != nil {
		t.Fatalf("a link inside the folder: %v", err)
	} else {
		rc.Close()
	}
	for _, k := range []string{"escape.txt", "dir/secret.txt"} {
		_, err := l.Open(ctx, k)
		if reason, permanent := document.Classify(err); !permanent || reason != document.ReasonUnsupported || !strings.Contains(err.Error(), "outside the folder") {
			t.Errorf("Open(%q): %v", k, err)
		}
	}
}

func TestLocalExclude(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	l, _ := NewLocal(root)
	ctx := context.Background()
	l.Put(ctx, "doc.txt", strings.NewReader("x"))
	l.Put(ctx, "out/text/doc.txt.txt", strings.NewReader("x"))
	l.Exclude(filepath.Join(root, "out"))
	var keys []string
	l.List(ctx, "", true, func(o ObjectInfo) error { keys = append(keys, o.Key); return nil })
	if diff := cmp.Diff([]string{"doc.txt"}, keys); diff != "" {
		t.Fatal(diff)
	}
}

func TestLocalPutFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	l, _ := NewLocal(root)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Put(ctx, "a/x.txt", strings.NewReader("body")); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	entries, _ := os.ReadDir(filepath.Join(root, "a"))
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestLocalListSkipsDanglingLinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	os.Symlink(filepath.Join(dir, "gone.js"), filepath.Join(dir, "b.js"))
	os.Symlink(filepath.Join(dir, "a.txt"), filepath.Join(dir, "c.txt"))
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := l.List(context.Background(), "", true, func(o ObjectInfo) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatalf("a dangling link stops the listing: %v", err)
	}
	if strings.Join(keys, ",") != "a.txt,c.txt" {
		t.Fatalf("keys %v", keys)
	}
}
