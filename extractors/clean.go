package extractors

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Clean applies every cleaning step, in the order that keeps them independent: line ends
// and control characters first, then ligatures and soft hyphens, Unicode NFC, end-of-line
// hyphenation, and finally whitespace folding. Newlines survive (single ones separate
// lines, double ones blocks) so that chunkers can split on them.
func Clean(s string) string { return FoldWhitespace(beforeFold(s)) }

// beforeFold runs Clean's steps before folding white space. One scan (scanClean) tells
// which of them can change s: most text needs none of them, or only NFC; the steps each
// look through the whole text, a dozen passes in all (five for the ligatures alone).
func beforeFold(s string) string {
	switch scanClean(s) {
	case cleanNone:
		return s
	case cleanNFC:
		return NormalizeUnicode(s)
	}
	s = DropControl(s)
	s = ExpandLigatures(s)
	s = RemoveSoftHyphens(s)
	s = NormalizeUnicode(s)
	return JoinHyphenation(s)
}

// What scanClean found the steps before folding may change.
const (
	cleanNone = iota // nothing: the text is left as it is
	cleanNFC         // at most its normalization form (NFC)
	cleanAll         // possibly anything
)

// cleanASCII marks the ASCII bytes no step before folding changes or looks at: the
// printable ones but '-' (which may end a line in a broken word), '\n' and '\t'.
var cleanASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '-'
	}
	t['\n'], t['\t'] = true, true
	return t
}()

// scanClean tells which of the steps before folding may change s. They change nothing
// unless s has: a control character, an undecodable byte, U+FFFD, a byte-order mark or
// U+FFFE/U+FFFF, or a line or paragraph separator (DropControl); a ligature
// (ExpandLigatures); a soft hyphen (RemoveSoftHyphens); a hyphen followed by a line break,
// spaces or tabs allowed between (JoinHyphenation); or, for NFC, a character from U+0300
// on that is not nfcSafe. Every character below U+0300 is (TestCleanScanSafeRunes checks
// this against the norm package); so are most others of the Basic Multilingual Plane.
func scanClean(s string) int {
	need := cleanNone
	var safe *[1024]uint64 // nfcSafe's table, once a character needs it
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if cleanASCII[c] {
				continue
			}
			if c != '-' {
				return cleanAll // a control character
			}
			j := i
			for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
				j++
			}
			if j < len(s) && s[j] == '\n' {
				return cleanAll
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r < 0x300:
			if r < 0xa0 || r == 0xad || r == 0x132 || r == 0x133 || r == 0x152 || r == 0x153 {
				return cleanAll // a C1 control, a soft hyphen, a ligature
			}
		case r == utf8.RuneError || r == 0xfeff || r == 0xfffe || r == 0xffff ||
			r == 0x2028 || r == 0x2029 || r >= 0xfb00 && r <= 0xfb06:
			return cleanAll
		case need == cleanNFC:
		case r >= 0x10000:
			need = cleanNFC
		default:
			if safe == nil {
				safe = nfcSafe()
			}
			if safe[r>>6]&(1<<(r&63)) == 0 {
				need = cleanNFC
			}
		}
	}
	return need
}

// nfcSafe marks the characters of the Basic Multilingual Plane that are in NFC whatever
// surrounds them: a text of these characters alone is in NFC. Such a character has
// canonical combining class 0, no decomposition, and does not combine with the character
// before it (NFC_Quick_Check=Yes); the norm package tells. Checking a character against
// this table instead of through norm.NFC.IsNormalString took the text extractor from
// 140 to 150-190 MB/s on text in many scripts (BenchmarkExtractTextCorpus on the bench
// corpus's 133 files, three runs each).
// It is built on first use, in about 4 ms.
var nfcSafe = sync.OnceValue(func() *[1024]uint64 {
	var t [1024]uint64
	var buf [utf8.UTFMax]byte
	for r := rune(0); r < 0x10000; r++ {
		if utf8.ValidRune(r) {
			n := utf8.EncodeRune(buf[:], r)
			if norm.NFC.Properties(buf[:n]).BoundaryBefore() && norm.NFC.IsNormal(buf[:n]) {
				t[r>>6] |= 1 << (r & 63)
			}
		}
	}
	return &t
})

// NormalizeUnicode returns s in Unicode Normalization Form C.
func NormalizeUnicode(s string) string {
	if isASCII(s) || norm.NFC.IsNormalString(s) {
		return s
	}
	return norm.NFC.String(s)
}

var ligatures = strings.NewReplacer(
	"\uFB00", "ff", "\uFB01", "fi", "\uFB02", "fl", "\uFB03", "ffi", "\uFB04", "ffl",
	"\uFB05", "st", "\uFB06", "st", "\u0132", "IJ", "\u0133", "ij", "\u0152", "OE", "\u0153", "oe",
)

// ExpandLigatures replaces typographic ligature code points (U+FB00–U+FB06 and the Latin
// IJ/OE ligatures) with their letters, as PDF producers often emit them.
func ExpandLigatures(s string) string {
	// U+FB00–U+FB06 start with EF AC; U+0132/0133 are C4 B2/B3, U+0152/0153 C5 92/93
	if !strings.Contains(s, "\xEF\xAC") && !strings.Contains(s, "\xC4\xB2") && !strings.Contains(s, "\xC4\xB3") &&
		!strings.Contains(s, "\xC5\x92") && !strings.Contains(s, "\xC5\x93") {
		return s
	}
	return ligatures.Replace(s)
}

// RemoveSoftHyphens drops U+00AD SOFT HYPHEN, which marks a possible break, not a character.
func RemoveSoftHyphens(s string) string {
	if !strings.Contains(s, "\u00ad") {
		return s
	}
	return strings.ReplaceAll(s, "\u00ad", "")
}

// JoinHyphenation joins words broken across lines: "exam-\nple" becomes "example" when a
// letter precedes the hyphen and a lower-case letter starts the next line. Spaces around
// the line break are tolerated.
func JoinHyphenation(s string) string {
	if !strings.Contains(s, "-\n") && !strings.Contains(s, "- \n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j >= len(s) || s[j] != '\n' {
			continue
		}
		k := j + 1
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[k:])
		if !unicode.IsLetter(before) || !unicode.IsLower(after) {
			continue
		}
		b.WriteString(s[last:i])
		last = k
		i = k - 1
	}
	b.WriteString(s[last:])
	return b.String()
}

// DropControl normalises line ends to '\n' and removes control and format characters that
// carry no text: C0/C1 controls other than '\n' and '\t', U+FFFD (undecodable input),
// byte-order marks and noncharacters. Invalid UTF-8 bytes are dropped too.
func DropControl(s string) string {
	// Runs of characters that stay are copied whole; only what is dropped or replaced is
	// looked at one by one, and nothing is copied until something is.
	var b strings.Builder
	changed := false
	cut := func(i int) {
		if !changed {
			changed = true
			b.Grow(len(s))
		}
		b.WriteString(s[:i])
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' {
			i++
			continue
		}
		if c < utf8.RuneSelf { // a control character: \r becomes \n (\r\n one \n), the rest go
			cut(i)
			if c == '\r' && (i+1 == len(s) || s[i+1] != '\n') {
				b.WriteByte('\n')
			}
			i++
			s, i = s[i:], 0
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError, r == '\uFEFF', r == '\uFFFE', r == '\uFFFF', r >= 0x7f && r < 0xa0:
			cut(i)
			s, i = s[i+size:], 0
			continue
		case r == '\u2028' || r == '\u2029':
			cut(i)
			b.WriteByte('\n')
			s, i = s[i+size:], 0
			continue
		}
		i += size
	}
	if !changed {
		return s
	}
	b.WriteString(s)
	return b.String()
}

// FoldWhitespace folds every run of horizontal white space (spaces, tabs, no-break and
// other Unicode spaces) into one space, trims each line, and folds runs of blank lines
// into one blank line. The result has no leading or trailing white space.
func FoldWhitespace(s string) string {
	if folded(s) {
		return s // most paragraphs: nothing to fold, nothing to copy
	}
	var b textBuffer
	b.Grow(len(s))
	foldInto(&b, "", s)
	return b.String()
}

// foldInto writes sep and FoldWhitespace(s) to b, and reports whether it wrote them:
// nothing is written when s is only white space. It makes one pass over s: text between
// the runs of white space that change is copied in one piece, with no string in between,
// and a lone space or newline between other characters, which stays, is passed over
// without a call.
func foldInto(b *textBuffer, sep, s string) bool {
	i, _ := spaceRun(s, 0) // leading white space goes
	if i == len(s) {
		return false
	}
	b.WriteString(sep)
	seg := i // where the piece not yet copied starts
	for i < len(s) {
		c := s[i]
		if !spaceLead[c] {
			i++
			continue
		}
		if (c == ' ' || c == '\n') && i+1 < len(s) && !spaceLead[s[i+1]] {
			i += 2 // alone, after a character that stays and before another
			continue
		}
		j, newlines := spaceRun(s, i)
		if j == i { // a lead byte of a character that is not white space
			i++
			continue
		}
		if j == len(s) { // trailing white space goes
			b.WriteString(s[seg:i])
			return true
		}
		sep := " "
		if newlines > 0 {
			sep = "\n\n"[:min(newlines, 2)]
		}
		if s[i:j] != sep {
			b.WriteString(s[seg:i])
			b.WriteString(sep)
			seg = j
		}
		i = j
	}
	b.WriteString(s[seg:])
	return true
}

// isSpaceAt reports whether s[i:] starts with white space as FoldWhitespace counts it
// (' ', '\t', '\n' and Unicode spaces; not '\r', '\v' or '\f'), and its size.
func isSpaceAt(s string, i int) (bool, int) {
	switch c := s[i]; c {
	case ' ', '\t', '\n':
		return true, 1
	case 0xC2, 0xE1, 0xE2, 0xE3: // the lead bytes of every non-ASCII space
		r, size := utf8.DecodeRuneInString(s[i:])
		return unicode.IsSpace(r), size
	}
	return false, 1
}

// spaceRun returns the end of the run of white space at i (i when there is none) and the
// newlines in it.
func spaceRun(s string, i int) (end, newlines int) {
	for i < len(s) {
		sp, size := isSpaceAt(s, i)
		if !sp {
			break
		}
		if s[i] == '\n' {
			newlines++
		}
		i += size
	}
	return i, newlines
}

// spaceLead marks the bytes white space can start with: ' ', '\t', '\n' and the lead
// bytes of every non-ASCII space.
var spaceLead = [256]bool{' ': true, '\t': true, '\n': true, 0xC2: true, 0xE1: true, 0xE2: true, 0xE3: true}

// folded reports whether FoldWhitespace(s) == s: no white space at either end, none but
// single spaces, single newlines and blank lines ("\n\n") between the other characters.
func folded(s string) bool {
	n := len(s)
	if n == 0 {
		return true
	}
	for i := 0; i < n; i++ {
		if !spaceLead[s[i]] {
			continue
		}
		switch c := s[i]; c {
		case ' ':
			if i == 0 || i == n-1 || s[i-1] == '\n' {
				return false
			}
			if next := s[i+1]; next == ' ' || next == '\n' || next == '\t' {
				return false
			}
		case '\n':
			if i == 0 || i == n-1 {
				return false
			}
			if next := s[i+1]; next == ' ' || next == '\t' {
				return false
			} else if next == '\n' {
				if i+2 == n {
					return false
				}
				if after := s[i+2]; after == '\n' || after == ' ' || after == '\t' {
					return false
				}
				i++
			}
		case '\t':
			return false
		case 0xC2, 0xE1, 0xE2, 0xE3: // the lead bytes of every non-ASCII space
			if r, _ := utf8.DecodeRuneInString(s[i:]); unicode.IsSpace(r) {
				return false
			}
		}
	}
	return true
}

// RemoveRepeatedLines removes running heads and footers: lines among the first or last
// two lines of a page that recur, with numbers ignored ("Page 3" matches "Page 14"), on at
// least 60% of the pages (and at least three); lines that carry a page number need only a
// twentieth of the pages (and at least three). pages holds each page's lines; the result
// has the same shape. Documents with fewer than three pages are returned unchanged.
func RemoveRepeatedLines(pages [][]string) [][]string {
	const edge = 2
	if len(pages) < 3 {
		return pages
	}
	counts := map[string]int{}
	parity := [2]map[string]int{{}, {}}
	for p, lines := range pages {
		seen := map[string]bool{}
		for _, i := range edgeLines(lines, edge) {
			k := repeatKey(lines[i])
			if k != "" && !seen[k] {
				seen[k] = true
				counts[k]++
				parity[p%2][k]++
			}
		}
	}
	sideThreshold := [2]int{max(3, ((len(pages)+1)/2*6+9)/10), max(3, (len(pages)/2*6+9)/10)}
	// Edge lines with a page number in them are page furniture when they recur on at
	// least 3 pages and a twentieth of them (front matter numbered i, ii, ... is short);
	// other edge lines need 60% of the pages.
	threshold := max(3, (len(pages)*6+9)/10)
	numbered := max(3, (len(pages)+19)/20)
	out := make([][]string, len(pages))
	for p, lines := range pages {
		drop := map[int]bool{}
		for _, i := range edgeLines(lines, edge) {
			k := repeatKey(lines[i])
			if k == "" {
				continue
			}
			if counts[k] >= threshold || (strings.Contains(k, "#") && counts[k] >= numbered) ||
				parity[0][k] >= sideThreshold[0] || parity[1][k] >= sideThreshold[1] {
				drop[i] = true
			}
		}
		if len(drop) == 0 {
			out[p] = lines
			continue
		}
		kept := make([]string, 0, len(lines))
		for i, l := range lines {
			if !drop[i] {
				kept = append(kept, l)
			}
		}
		out[p] = kept
	}
	return out
}

// edgeLines returns the indexes of the first and last n non-blank lines.
func edgeLines(lines []string, n int) []int {
	var idx []int
	for i := 0; i < len(lines) && len(idx) < n; i++ {
		if strings.TrimSpace(lines[i]) != "" {
			idx = append(idx, i)
		}
	}
	head := len(idx)
	for i := len(lines) - 1; i >= 0 && len(idx) < head+n; i-- {
		if strings.TrimSpace(lines[i]) == "" {
			continue
		}
		dup := false
		for _, j := range idx[:head] {
			dup = dup || j == i
		}
		if !dup {
			idx = append(idx, i)
		}
	}
	return idx
}

// repeatKey maps a line to the form compared across pages: trimmed, numbers (any number of
// digits) and roman page numerals ignored, spaces folded.
func repeatKey(line string) string {
	var b strings.Builder
	for _, f := range strings.Fields(line) {
		if isRoman(f) {
			f = "#"
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		digits := false
		for _, r := range f {
			if unicode.IsDigit(r) {
				if !digits { // a run of digits is one '#': page 7 and page 112 match
					b.WriteByte('#')
				}
				digits = true
				continue
			}
			digits = false
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isRoman(s string) bool {
	if s == "" || len(s) > 8 {
		return false
	}
	for _, r := range strings.ToLower(s) {
		if !strings.ContainsRune("ivxlc", r) {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
