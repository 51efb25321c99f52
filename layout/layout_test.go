package layout

import (
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscapeSegment(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 150) // 300 bytes
	for _, tc := range []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"résumé 2026.docx", "résumé 2026.docx"},
		{"日本語.txt", "日本語.txt"},
		{"", "%"},
		{".", "%2E"},
		{"..", "%2E%2E"},
		{"a%b", "a%25b"},
		{"a:b*c?", "a%3Ab%2Ac%3F"},
		{"tab\there", "tab%09here"},
		{"nul\x00byte", "nul%00byte"},
		{" lead", "%20lead"},
		{"trail.", "trail%2E"},
		{"bad\xffutf8", "bad%FFutf8"},
		{"back\\slash", "back%5Cslash"},
	} {
		if got := EscapeSegment(tc.in); got != tc.want {
			t.Errorf("EscapeSegment(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	got := EscapeSegment(long)
	if len(got) > maxSegment || !strings.Contains(got, "%~") || !utf8.ValidString(got) || !strings.HasPrefix(got, "éé") {
		t.Errorf("long segment: %q (%d bytes)", got, len(got))
	}
	if EscapeSegment(long+"x") == got {
		t.Error("two long segments that differ only at the end map to the same name")
	}
}

func TestSourcePath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"docs/a.pdf":          "docs/a.pdf",
		"../../etc/passwd":    "%2E%2E/%2E%2E/etc/passwd",
		"/abs/path":           "%/abs/path",
		"bucket/a//b":         "bucket/a/%/b",
		"bucket/dir/./x":      "bucket/dir/%2E/x",
		"bucket/with space /": "bucket/with space%20/%",
		// folders named like outputs never collide with a source's outputs
		"a.txt/b":       "a%2Etxt/b",
		"x/c.jsonl/d":   "x/c%2Ejsonl/d",
		"x/c.json/d":    "x/c%2Ejson/d",
		"a.txt":         "a.txt",
		"...":           "..%2E",
		"dir.../f.txt":  "dir..%2E/f.txt",
		"b/back\\slash": "b/back%5Cslash",
	} {
		if got := SourcePath(in); got != want {
			t.Errorf("SourcePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// A long key keeps a readable head and ends in a hash of the whole key: distinct keys stay
// distinct, and no output key passes S3's 1,024 bytes.
func TestSourcePathLong(t *testing.T) {
	t.Parallel()
	key := "bucket/" + strings.Repeat("abc/", 250) + "doc.txt" // 1,014 bytes, 252 segments
	got := SourcePath(key)
	if len(got) > maxSourcePath || !strings.HasPrefix(got, "bucket/abc/abc/") || !strings.Contains(got, "/%~") {
		t.Fatalf("SourcePath of a %d-byte key: %q (%d bytes)", len(key), got, len(got))
	}
	if SourcePath(key+"x") == got || SourcePath(strings.Replace(key, "abc", "abd", 1)) == got {
		t.Fatal("distinct long keys map to one path")
	}
	at := strings.Repeat("a/", maxSourcePath/2-1) + "zz" // exactly maxSourcePath bytes
	if len(at) != maxSourcePath || SourcePath(at) != at {
		t.Fatalf("a path of exactly %d bytes is kept: %d", maxSourcePath, len(SourcePath(at)))
	}
	if over := at + "z"; strings.Contains(SourcePath(at), "%~") || !strings.Contains(SourcePath(over), "%~") {
		t.Fatal("one byte over the limit is hashed")
	}
	if n := len("chunks/") + 400 + len(got) + len(".jsonl"); n > 1024 {
		t.Fatalf("an output key of %d bytes", n)
	}
}

// checkSegment states the promises of EscapeSegment for any input.
func checkSegment(t *testing.T, in, out string) {
	t.Helper()
	switch {
	case out == "" || out == "." || out == "..":
		t.Fatalf("%q -> %q: empty or dot segment", in, out)
	case len(out) > maxSegment:
		t.Fatalf("%q -> %q: %d bytes", in, out, len(out))
	case strings.ContainsAny(out, "/\\\x00"):
		t.Fatalf("%q -> %q: separator or NUL", in, out)
	case !utf8.ValidString(out):
		t.Fatalf("%q -> %q: invalid UTF-8", in, out)
	}
	for _, r := range out {
		if r < 0x20 || r == 0x7f {
			t.Fatalf("%q -> %q: control character", in, out)
		}
	}
	if segmentSafe(in) && len(in) <= maxSegment && in != "." && in != ".." && in != out {
		t.Fatalf("%q is safe but was changed to %q", in, out)
	}
}

func FuzzEscapeSegment(f *testing.F) {
	for _, s := range []string{"a", "", ".", "..", "a%b", "\x00", strings.Repeat("x", 300), "é\xff", " x."} {
		f.Add(s, s+"y")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		a, b = strings.ReplaceAll(a, "/", "_"), strings.ReplaceAll(b, "/", "_") // one segment each
		ea, eb := EscapeSegment(a), EscapeSegment(b)
		checkSegment(t, a, ea)
		checkSegment(t, b, eb)
		if a != b && ea == eb {
			t.Fatalf("%q and %q both map to %q", a, b, ea)
		}
		if EscapeSegment(a) != ea {
			t.Fatal("not deterministic")
		}
	})
}

// FuzzSourcePath: distinct keys get distinct paths, and no key's outputs sit where another
// key's folder does (a file text/X.txt against a folder text/X.txt/).
func FuzzSourcePath(f *testing.F) {
	for _, s := range []string{"a", "a.txt/b", "b/a.json/c", "a.parquet/b", strings.Repeat("ab/", 300), "x/../y", "é\xff/z"} {
		f.Add(s, s+"/q")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		pa, pb := SourcePath(a), SourcePath(b)
		if len(pa) > maxSourcePath || len(pb) > maxSourcePath {
			t.Fatalf("over %d bytes: %q / %q", maxSourcePath, pa, pb)
		}
		if a != b && pa == pb {
			t.Fatalf("%q and %q both map to %q", a, b, pa)
		}
		for _, suffix := range []string{".txt", ".json", ".jsonl", ".parquet"} {
			if strings.HasPrefix(pb, pa+suffix+"/") || strings.HasPrefix(pa, pb+suffix+"/") {
				t.Fatalf("the outputs of %q and %q collide: %q / %q", a, b, pa, pb)
			}
		}
	})
}

func TestAttachmentKey(t *testing.T) {
	for _, c := range []struct {
		parent, name string
		n            int
		want         string
	}{
		{"inbox/a.eml", "report.pdf", 1, "inbox/a.eml#1-report.pdf"},
		{"inbox/a.eml", "../x/y\\z.pdf", 2, "inbox/a.eml#2-.._x_y_z.pdf"},
		{"a.eml", "  ", 3, "a.eml#3-attachment"},
	} {
		got := AttachmentKey(c.parent, c.n, c.name)
		if got != c.want {
			t.Errorf("AttachmentKey(%q, %d, %q) = %q, want %q", c.parent, c.n, c.name, got, c.want)
		}
		// beside the parent's outputs: the same folder, one segment
		if path.Dir(SourcePath(got)) != path.Dir(SourcePath(c.parent)) {
			t.Errorf("%q leaves its parent's folder: %q", got, SourcePath(got))
		}
	}
}

// A state file's name splits back into the fingerprint and the token's digest it was
// made from; a tombstone, the head and other names do not split.
func TestStateNameParts(t *testing.T) {
	for _, fp := range []string{"da57e4d566712b3d", "fp-plain"} {
		name := StateName(fp, "etag\x00sidecar")
		gotFP, digest, ok := StateNameParts(name)
		if !ok || gotFP != fp || digest != TokenDigest("etag\x00sidecar") {
			t.Errorf("StateNameParts(%q) = %q, %q, %v", name, gotFP, digest, ok)
		}
	}
	for _, name := range []string{TombstoneName("0055AED6DCD90C5B"), HeadName, ".docingest-tmp-40775c2130b4c81e", "-abc.json", "abc.json", "fp-abc.txt"} {
		if fp, digest, ok := StateNameParts(name); ok {
			t.Errorf("StateNameParts(%q) = %q, %q, true; want not a state name", name, fp, digest)
		}
	}
}
