package worker

import (
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
	} {
		if got := SourcePath(in); got != want {
			t.Errorf("SourcePath(%q) = %q, want %q", in, got, want)
		}
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
