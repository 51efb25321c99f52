package extractors

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/unicode/norm"
	"pgregory.net/rapid"
)

func TestCleaningFunctions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(string) string
		in   string
		want string
	}{
		{"NFC composes", NormalizeUnicode, "cafe\u0301", "caf\u00e9"},
		{"NFC keeps ASCII", NormalizeUnicode, "plain", "plain"},
		{"ligatures", ExpandLigatures, "\ufb01nd the \ufb02ow, e\ufb00ort, o\ufb03ce", "find the flow, effort, office"},
		{"soft hyphens", RemoveSoftHyphens, "hy\u00adphen\u00adated", "hyphenated"},
		{"hyphenation joined", JoinHyphenation, "the exam-\nple shows", "the example shows"},
		{"hyphenation with spaces", JoinHyphenation, "exam- \n  ple", "example"},
		{"capitalised next line kept", JoinHyphenation, "Jean-\nPierre", "Jean-\nPierre"},
		{"dash after digit kept", JoinHyphenation, "pages 10-\nnext", "pages 10-\nnext"},
		{"control dropped", DropControl, "a\x00b\x07c\x1bd\u0085e", "abcde"},
		{"CRLF and CR", DropControl, "one\r\ntwo\rthree", "one\ntwo\nthree"},
		{"replacement and BOM dropped", DropControl, "\ufeffok\ufffd!", "ok!"},
		{"invalid UTF-8 dropped", DropControl, "ok\xff\xfe!", "ok!"},
		{"whitespace folded", FoldWhitespace, "  a \t b\u00a0\u2003c  \n\n\n\n d  ", "a b c\n\nd"},
		{"line structure kept", FoldWhitespace, "line one  \n  line two", "line one\nline two"},
		{"clean joins ASCII hyphenation", Clean, "an exam-\nple  here", "an example here"},
		{"clean drops ASCII controls", Clean, "a\x00b\rc\x7f", "ab\nc"},
		{"clean composes all", Clean, "\ufeff  The \ufb01rst exam-\nple\u00ad\r\n\r\n\r\nnext\x00 para  ", "The first example\n\nnext para"},
	}
	for _, tc := range cases {
		if got := tc.fn(tc.in); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestRemoveRepeatedLines(t *testing.T) {
	t.Parallel()
	pages := [][]string{
		{"ACME Manual", "Intro text", "1"},
		{"ACME Manual", "More text", "2"},
		{"ACME Manual", "", "Even more", "Page 3"},
		{"ACME Manual", "Closing words", "4"},
	}
	got := RemoveRepeatedLines(pages)
	want := [][]string{{"Intro text"}, {"More text"}, {"", "Even more", "Page 3"}, {"Closing words"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatal(diff)
	}
	// page numbers of different widths are one running head
	var many [][]string
	for i := 1; i <= 120; i++ {
		many = append(many, []string{"Manual " + strconv.Itoa(i), "body " + strings.Repeat("y", i)})
	}
	for i, p := range RemoveRepeatedLines(many) {
		if len(p) != 1 || !strings.HasPrefix(p[0], "body") {
			t.Fatalf("page %d kept %v", i+1, p)
		}
	}
	// numbered front matter (i, ii, ...) on a twentieth of the pages is a running head; an
	// unnumbered line on as few pages is not
	var book [][]string
	for i := 1; i <= 40; i++ {
		head := "Guide " + strconv.Itoa(i) + " / 40"
		if i <= 5 {
			head = "Guide " + []string{"i", "ii", "iii", "iv", "v"}[i-1]
		}
		body := "text " + strings.Repeat("y", i)
		if i <= 5 {
			body = "Contents"
		}
		book = append(book, []string{head, body})
	}
	for i, p := range RemoveRepeatedLines(book) {
		want := "text " + strings.Repeat("y", i+1)
		if i < 5 {
			want = "Contents"
		}
		if len(p) != 1 || p[0] != want {
			t.Fatalf("page %d: %v, want [%s]", i+1, p, want)
		}
	}
	// recto and verso heads: the book's title on even pages, the chapter's on odd ones
	var spread [][]string
	for i := 1; i <= 30; i++ {
		head := "Chapter 4. Networking"
		if i%2 == 0 {
			head = "The Debian Administrator's Handbook"
		}
		spread = append(spread, []string{head, "paragraph " + strings.Repeat("z", i)})
	}
	for i, p := range RemoveRepeatedLines(spread) {
		if len(p) != 1 || !strings.HasPrefix(p[0], "paragraph") {
			t.Fatalf("page %d kept %v", i+1, p)
		}
	}
	short := [][]string{{"Title", "a"}, {"Title", "b"}}
	if diff := cmp.Diff(short, RemoveRepeatedLines(short)); diff != "" {
		t.Fatalf("fewer than three pages must be left alone:\n%s", diff)
	}
}

// The cleaning functions copy runs of characters that stay; they must give what the first
// implementations, which went character by character, gave.
func referenceDropControl(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				continue
			}
			b.WriteByte('\n')
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == utf8.RuneError, r == '\uFEFF', r == '\uFFFE', r == '\uFFFF', r < 0x20, r >= 0x7f && r < 0xa0:
		case r == '\u2028' || r == '\u2029':
			b.WriteByte('\n')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func referenceFoldWhitespace(s string) string {
	var b strings.Builder
	newlines, space := 0, false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\n':
			newlines++
			space = false
		case r == ' ' || r == '\t' || (r >= utf8.RuneSelf && unicode.IsSpace(r)):
			space = true
		default:
			if b.Len() > 0 {
				if newlines > 0 {
					b.WriteString("\n\n"[:min(newlines, 2)])
				} else if space {
					b.WriteByte(' ')
				}
			}
			newlines, space = 0, false
			b.WriteString(s[i-size : i])
		}
	}
	return b.String()
}

// TestCleanScanSafeRunes checks what scanClean takes for a text in NFC: that every
// character of the Basic Multilingual Plane it passes over (all below U+0300 but the C1
// controls, the soft hyphen and the ligatures, which other steps change) is in NFC alone
// and combines with no character before it, as the norm package has it.
func TestCleanScanSafeRunes(t *testing.T) {
	passed := 0
	for r := rune(0x80); r < 0x10000; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		s := string(r)
		got := scanClean(s)
		if got != cleanNone {
			if r < 0x300 && got != cleanAll {
				t.Errorf("scanClean(U+%04X) = %d, want %d", r, got, cleanNone)
			}
			continue
		}
		passed++
		p := norm.NFC.PropertiesString(s)
		// (a character after it may combine with it; one it passes over never does)
		if p.CCC() != 0 || !p.BoundaryBefore() || !norm.NFC.IsNormalString(s) {
			t.Errorf("U+%04X: ccc %d, boundary before %v, NFC %v", r, p.CCC(), p.BoundaryBefore(), norm.NFC.IsNormalString(s))
		}
	}
	if passed < 40000 {
		t.Errorf("scanClean passes over %d characters of the BMP; expected most of them", passed)
	}
	for _, s := range []string{"Ω", "日本", "я", "é"} {
		if got := scanClean(s); got != cleanNone {
			t.Errorf("scanClean(%q) = %d, want %d", s, got, cleanNone)
		}
	}
	for _, s := range []string{"\u0301", "e\u0301", "\u212b", "\u1100\u1161", "\U0001F600"} {
		if got := scanClean(s); got != cleanNFC {
			t.Errorf("scanClean(%q) = %d, want %d (NFC may change it)", s, got, cleanNFC)
		}
	}
	for _, s := range []string{"a\u00adb", "ex-\nample", "ex- \t\nample", "\r", "\u0085", "\ufb01", "\u2028", "\xff", "\ufeff", "日\u0301\x01"} {
		if got := scanClean(s); got != cleanAll {
			t.Errorf("scanClean(%q) = %d, want %d", s, got, cleanAll)
		}
	}
}

func TestCleaningMatchesReference(t *testing.T) {
	alphabet := []rune("ab \t\n\r\v\f\x00\x1f\x7f\u0080\u009f\u00a0\u2028\u2029\u3000\uFEFF\uFFFE\uFFFF\uFFFDé日\uFB01\u0132\u0153\u00ad-\u0301\u212b\u1100\u1161\u02ff\u0340Ωя")
	rapid.Check(t, func(rt *rapid.T) {
		s := rapid.OneOf(rapid.StringOf(rapid.SampledFrom(alphabet)), rapid.String(),
			rapid.Custom(func(t *rapid.T) string { return string(rapid.SliceOf(rapid.Byte()).Draw(t, "bytes")) }),
			// words and gaps, most of them already folded
			rapid.Custom(func(t *rapid.T) string {
				gaps := rapid.SampledFrom([]string{" ", " ", "\n", "\n\n", "", "  ", "\n\n\n", " \n", "\n ", "\t", "\t\n", " \t\n", "\u00a0", "\u3000", "\u2029"})
				var b strings.Builder
				for i, n := 0, rapid.IntRange(0, 8).Draw(t, "words"); i < n; i++ {
					if i > 0 || rapid.IntRange(0, 9).Draw(t, "lead") == 0 {
						b.WriteString(gaps.Draw(t, "gap"))
					}
					b.WriteString(rapid.SampledFrom([]string{"a", "日", "é", "-", "\r", "ex-", "\x7f", "\x01", "e\u0301", "\u212b", "Ω", "\u0301"}).Draw(t, "word"))
				}
				if rapid.IntRange(0, 9).Draw(t, "trail") == 0 {
					b.WriteString(gaps.Draw(t, "gap"))
				}
				return b.String()
			})).Draw(rt, "s")
		if got, want := folded(s), referenceFoldWhitespace(s) == s; got != want {
			rt.Fatalf("folded(%q) = %v, want %v", s, got, want)
		}
		if got, want := Clean(s), FoldWhitespace(JoinHyphenation(NormalizeUnicode(RemoveSoftHyphens(ExpandLigatures(DropControl(s)))))); got != want {
			rt.Fatalf("Clean(%q) = %q, the steps one by one give %q", s, got, want)
		}
		if got, want := DropControl(s), referenceDropControl(s); got != want {
			rt.Fatalf("DropControl(%q) = %q, want %q", s, got, want)
		}
		if got, want := FoldWhitespace(s), referenceFoldWhitespace(s); got != want {
			rt.Fatalf("FoldWhitespace(%q) = %q, want %q", s, got, want)
		}
		var b textBuffer
		b.WriteString("x")
		ref := referenceFoldWhitespace(s)
		want := "x"
		if ref != "" {
			want += "\n\n" + ref
		}
		if wrote := foldInto(&b, "\n\n", s); b.String() != want || wrote != (ref != "") {
			rt.Fatalf("foldInto(%q) wrote %q (%v), want %q", s, b.String()[1:], wrote, want[1:])
		}
		if got, want := ExpandLigatures(s), ligatures.Replace(s); got != want {
			rt.Fatalf("ExpandLigatures(%q) = %q, want %q", s, got, want)
		}
	})
}
