package extractors

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Clean applies every cleaning step, in the order that keeps them independent: line ends
// and control characters first, then ligatures and soft hyphens, Unicode NFC, end-of-line
// hyphenation, and finally whitespace folding. Newlines survive (single ones separate
// lines, double ones blocks) so that chunkers can split on them.
func Clean(s string) string { return FoldWhitespace(beforeFold(s)) }

// beforeFold runs Clean's steps before folding white space.
func beforeFold(s string) string {
	if plainASCII(s) {
		// nothing for these steps to do (they look for control characters, characters
		// outside ASCII and words broken at line ends)
		return s
	}
	s = DropControl(s)
	s = ExpandLigatures(s)
	s = RemoveSoftHyphens(s)
	s = NormalizeUnicode(s)
	return JoinHyphenation(s)
}

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
	var b strings.Builder
	b.Grow(len(s))
	foldRuns(&b, "", s)
	return b.String()
}

// foldInto writes sep and FoldWhitespace(s) to b, and reports whether it wrote them:
// nothing is written when s is only white space.
func foldInto(b *strings.Builder, sep, s string) bool {
	if folded(s) {
		if s == "" {
			return false
		}
		b.WriteString(sep)
		b.WriteString(s)
		return true
	}
	return foldRuns(b, sep, s)
}

// foldRuns is foldInto for text not folded yet. Text between the runs of white space that
// change is copied in one piece, with no string in between.
func foldRuns(b *strings.Builder, sep, s string) bool {
	seg := -1 // where the piece not yet copied starts (-1 before the first character that stays)
	for i := 0; i < len(s); {
		j, newlines := spaceRun(s, i)
		if j == i { // not white space: on to the next run of it
			if seg < 0 {
				seg = i
				b.WriteString(sep)
			}
			i = nextSpace(s, i)
			continue
		}
		if j == len(s) { // trailing white space goes
			if seg >= 0 {
				b.WriteString(s[seg:i])
			}
			return seg >= 0
		}
		if seg >= 0 { // leading white space goes
			sep := " "
			if newlines > 0 {
				sep = "\n\n"[:min(newlines, 2)]
			}
			if s[i:j] != sep {
				b.WriteString(s[seg:i])
				b.WriteString(sep)
				seg = j
			}
		}
		i = j
	}
	if seg >= 0 {
		b.WriteString(s[seg:])
	}
	return seg >= 0
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

// nextSpace returns where the next white space at or after i starts, or len(s).
func nextSpace(s string, i int) int {
	for i < len(s) {
		if !spaceLead[s[i]] {
			i++
			continue
		}
		sp, size := isSpaceAt(s, i)
		if sp {
			return i
		}
		i += size
	}
	return len(s)
}

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

// plainASCII reports whether s is ASCII with no control characters but '\n' and '\t', and
// no hyphen before a line break: text that only FoldWhitespace can change.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x7f || c < 0x20 && c != '\n' && c != '\t' || c == '-' && i+1 < len(s) && (s[i+1] == '\n' || s[i+1] == ' ' || s[i+1] == '\t') {
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
