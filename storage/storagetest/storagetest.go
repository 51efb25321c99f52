// Package storagetest is the conformance suite of the output stores (go-cloud's
// drivertest): storage.Local, and storage.S3 on every S3 server the tests run (gofakes3,
// versitygw) pass the same checks, so the worker may rely on what they share.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"testing"

	"github.com/docingest/docingest/storage"
)

// Store is a store under test.
type Store interface {
	List(ctx context.Context, prefix string, recursive bool, fn func(storage.ObjectInfo) error) error
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, r io.Reader) error
	Delete(ctx context.Context, key string) error
}

// Conditional is a store with conditional writes (the state ledger's commits).
type Conditional interface {
	GetVersion(ctx context.Context, key string) ([]byte, string, error)
	PutIf(ctx context.Context, key string, body []byte, ifMatch string) error
}

// Options describe what the store under test must do beyond the common contract.
type Options struct {
	// BigObject is the size of the largest object written (e.g. past S3's multipart
	// threshold); 0 means 1 MiB.
	BigObject int
	// Conditional requires PutIf and GetVersion to work; when false a store that has them
	// may answer storage.ErrNoConditionalWrites instead, and nothing else.
	Conditional bool
}

// Run runs the suite; newStore returns an empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) Store, opts Options) {
	if opts.BigObject == 0 {
		opts.BigObject = 1 << 20
	}
	t.Run("PutGet", func(t *testing.T) { putGet(t, newStore(t), opts) })
	t.Run("List", func(t *testing.T) { list(t, newStore(t)) })
	t.Run("Delete", func(t *testing.T) { deleteKeys(t, newStore(t)) })
	t.Run("ETagFollowsContent", func(t *testing.T) { etagFollowsContent(t, newStore(t)) })
	t.Run("FailedPutLeavesNothing", func(t *testing.T) { failedPutLeavesNothing(t, newStore(t)) })
	t.Run("ListStops", func(t *testing.T) { listStops(t, newStore(t)) })
	t.Run("Probe", func(t *testing.T) { probe(t, newStore(t)) })
	t.Run("Conditional", func(t *testing.T) { conditional(t, newStore(t), opts) })
}

// keys a store must take as they are: spaces, plus signs, accents, deep folders.
var oddKeys = []string{"text/a.txt", "text/dir/b c+d é.txt", "text/dir/sub/x%41.txt"}

func put(t *testing.T, s Store, key string, body []byte) {
	t.Helper()
	// a reader that is not seekable, as the pipeline's streamed outputs are
	if err := s.Put(context.Background(), key, io.MultiReader(bytes.NewReader(body))); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func listKeys(t *testing.T, s Store, prefix string, recursive bool) map[string]storage.ObjectInfo {
	t.Helper()
	got := map[string]storage.ObjectInfo{}
	var order []string
	if err := s.List(context.Background(), prefix, recursive, func(o storage.ObjectInfo) error {
		if _, dup := got[o.Key]; dup {
			t.Errorf("%s listed twice", o.Key)
		}
		got[o.Key] = o
		order = append(order, o.Key)
		return nil
	}); err != nil {
		t.Fatalf("list %q: %v", prefix, err)
	}
	if !recursive && !sort.StringsAreSorted(order) {
		t.Errorf("list %q is not in key order: %v", prefix, order)
	}
	return got
}

func putGet(t *testing.T, s Store, opts Options) {
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), opts.BigObject/16)
	objects := map[string][]byte{"chunks/big.jsonl": big, "empty.txt": {}}
	for i, k := range oddKeys {
		objects[k] = []byte(fmt.Sprintf("body %d of %s", i, k))
	}
	for k, v := range objects {
		put(t, s, k, v)
	}
	for k, v := range objects {
		got, err := s.Get(ctx, k)
		if err != nil || !bytes.Equal(got, v) {
			t.Errorf("get %s: %d bytes (want %d), %v", k, len(got), len(v), err)
		}
	}
	if _, err := s.Get(ctx, "text/never-written"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("get of a missing key: %v, want ErrNotFound", err)
	}
	// overwrite
	put(t, s, "text/a.txt", []byte("second"))
	if got, _ := s.Get(ctx, "text/a.txt"); string(got) != "second" {
		t.Errorf("after overwrite: %q", got)
	}
}

func list(t *testing.T, s Store) {
	for _, k := range append([]string{"other/z.txt", "textual.txt"}, oddKeys...) {
		put(t, s, k, []byte("contents of "+k))
	}
	rec := listKeys(t, s, "text/", true)
	if len(rec) != len(oddKeys) {
		t.Errorf("recursive list of text/: %v, want %v", keysOf(rec), oddKeys)
	}
	for _, k := range oddKeys {
		o, ok := rec[k]
		if !ok {
			t.Errorf("%s not listed", k)
			continue
		}
		if o.ETag == "" || o.Size != int64(len("contents of "+k)) {
			t.Errorf("%s: etag %q, size %d", k, o.ETag, o.Size)
		}
	}
	if flat := listKeys(t, s, "text/", false); len(flat) != 1 || flat["text/a.txt"].Key == "" {
		t.Errorf("list of text/ without recursion: %v, want [text/a.txt]", keysOf(flat))
	}
	if got := listKeys(t, s, "missing/", true); len(got) != 0 {
		t.Errorf("missing prefix listed %v", keysOf(got))
	}
	if all := listKeys(t, s, "", true); len(all) != len(oddKeys)+2 {
		t.Errorf("list of everything: %v", keysOf(all))
	}
}

func keysOf(m map[string]storage.ObjectInfo) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func deleteKeys(t *testing.T, s Store) {
	ctx := context.Background()
	put(t, s, "text/a.txt", []byte("a"))
	put(t, s, "text/b.txt", []byte("b"))
	if err := s.Delete(ctx, "text/a.txt"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "text/a.txt"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	if _, err := s.Get(ctx, "text/a.txt"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if got := listKeys(t, s, "text/", true); len(got) != 1 {
		t.Errorf("after delete: %v", keysOf(got))
	}
}

func etagFollowsContent(t *testing.T, s Store) {
	put(t, s, "k.txt", []byte("one"))
	first := listKeys(t, s, "", true)["k.txt"].ETag
	put(t, s, "k.txt", []byte("two, longer"))
	second := listKeys(t, s, "", true)["k.txt"]
	if first == "" || second.ETag == first || second.Size != int64(len("two, longer")) {
		t.Errorf("etag %q then %q (size %d): a changed object must list a changed etag", first, second.ETag, second.Size)
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("source broke")
	}
	n := min(len(p), f.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	f.n -= n
	return n, nil
}

func failedPutLeavesNothing(t *testing.T, s Store) {
	err := s.Put(context.Background(), "half.txt", &failingReader{n: 1000})
	if err == nil {
		t.Fatal("a put whose reader failed succeeded")
	}
	if got := listKeys(t, s, "", true); len(got) != 0 {
		t.Errorf("a failed put left %v", keysOf(got))
	}
}

func listStops(t *testing.T, s Store) {
	for i := 0; i < 3; i++ {
		put(t, s, fmt.Sprintf("d/%d.txt", i), []byte("x"))
	}
	stop := errors.New("enough")
	n := 0
	err := s.List(context.Background(), "d/", true, func(storage.ObjectInfo) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("list after fn's error: %v after %d calls; want fn's error after 1", err, n)
	}
}

func probe(t *testing.T, s Store) {
	ctx := context.Background()
	if found, err := storage.Probe(ctx, s, ""); err != nil || found {
		t.Errorf("probe of an empty store: %v, %v", found, err)
	}
	put(t, s, "x/y.txt", []byte("y"))
	if found, err := storage.Probe(ctx, s, ""); err != nil || !found {
		t.Errorf("probe of a store with a key: %v, %v", found, err)
	}
}

func conditional(t *testing.T, s Store, opts Options) {
	c, ok := s.(Conditional)
	if !ok {
		if opts.Conditional {
			t.Fatal("the store has no PutIf/GetVersion")
		}
		return
	}
	ctx := context.Background()
	err := c.PutIf(ctx, "state/k", []byte("v1"), "")
	if !opts.Conditional && errors.Is(err, storage.ErrNoConditionalWrites) {
		return // this server cannot: the worker falls back, and says so
	}
	if err != nil {
		t.Fatalf("create-if-absent: %v", err)
	}
	if err := c.PutIf(ctx, "state/k", []byte("v1 again"), ""); !errors.Is(err, storage.ErrPrecondition) {
		t.Errorf("create-if-absent over an existing key: %v, want ErrPrecondition", err)
	}
	body, tag, err := c.GetVersion(ctx, "state/k")
	if err != nil || string(body) != "v1" || tag == "" {
		t.Fatalf("get version: %q %q %v", body, tag, err)
	}
	if err := c.PutIf(ctx, "state/k", []byte("v2"), tag); err != nil {
		t.Fatalf("replace-if-unchanged: %v", err)
	}
	if err := c.PutIf(ctx, "state/k", []byte("v3"), tag); !errors.Is(err, storage.ErrPrecondition) {
		t.Errorf("replace with a stale version: %v, want ErrPrecondition", err)
	}
	if got, _ := s.Get(ctx, "state/k"); string(got) != "v2" {
		t.Errorf("after the race: %q, want v2", got)
	}
	if _, _, err := c.GetVersion(ctx, "state/missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("get version of a missing key: %v", err)
	}
}
