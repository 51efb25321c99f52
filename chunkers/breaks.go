package chunkers

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// findBreak picks where a chunk that holds new text from pos on, and may reach lim, ends:
// at the last paragraph break ("\n\n") before lim, else the last line break, else the last
// sentence end, else the last space, else lim itself (a unit boundary). The returned end
// is trimmed of white space and always lies in (pos, lim]. text[pos] is not white space.
func findBreak(text string, pos, lim, to int) int {
	if para, line := lastNewlines(text, pos, lim, to); para > pos {
		return para
	} else if line > pos {
		return line
	}
	if e := lastSentenceEnd(text, pos, lim, to); e > pos {
		return e
	}
	if e := lastSep(text, pos, lim, to, " "); e > pos {
		return e
	}
	return lim
}

// lastNewlines finds, in one backward pass, the last paragraph break and the last line
// break that start in (pos, lim], and returns the trimmed ends of the text before each
// (or -1).
func lastNewlines(text string, pos, lim, to int) (para, line int) {
	para, line = -1, -1
	hi := min(lim+1, to)
	for hi > pos+1 {
		i := strings.LastIndexByte(text[pos+1:hi], '\n')
		if i < 0 {
			break
		}
		i += pos + 1
		if line < 0 {
			line = trimSpaceRight(text, pos, i)
		}
		if i+1 < to && text[i+1] == '\n' && i+1 <= lim+1 {
			return trimSpaceRight(text, pos, i), line
		}
		if i > pos+1 && text[i-1] == '\n' {
			return trimSpaceRight(text, pos, i-1), line
		}
		hi = i
	}
	return para, line
}

// lastSep finds the last occurrence of sep that starts in (pos, lim] and returns the end
// of the text before it, trimmed; or -1.
func lastSep(text string, pos, lim, to int, sep string) int {
	hi := min(lim+len(sep), to)
	if hi <= pos+1 {
		return -1
	}
	i := lastIndex(text[pos+1:hi], sep)
	if i < 0 {
		return -1
	}
	return trimSpaceRight(text, pos, pos+1+i)
}

// lastIndex is strings.LastIndex for the separators used here, scanning bytes backwards
// with LastIndexByte (which is vectorised) instead of hashing.
func lastIndex(s, sep string) int {
	if len(sep) == 1 {
		return strings.LastIndexByte(s, sep[0])
	}
	c, end := sep[0], len(s)-len(sep)+1
	for end > 0 {
		i := strings.LastIndexByte(s[:end], c)
		if i < 0 {
			return -1
		}
		if s[i:i+len(sep)] == sep {
			return i
		}
		end = i
	}
	return -1
}

// lastSentenceEnd returns the offset just after the last sentence-ending punctuation in
// (pos, lim] that is followed by white space or the end of the text; or -1.
func lastSentenceEnd(text string, pos, lim, to int) int {
	for i := lim - 1; i > pos; i-- {
		c := text[i]
		switch {
		case c == '.' || c == '!' || c == '?':
			if i+1 == to || (i+1 < to && isSpaceByte(text[i+1])) {
				return i + 1
			}
		case c >= utf8.RuneSelf && utf8.RuneStart(c):
			r, size := utf8.DecodeRuneInString(text[i:])
			if isCJKTerminator(r) && i+size <= lim {
				return i + size
			}
		}
	}
	return -1
}

func isCJKTerminator(r rune) bool {
	return r == '。' || r == '！' || r == '？' || r == '｡' || r == '؟' || r == '۔'
}

// sentenceSpans splits text[from:to] into sentences: trimmed, non-empty spans in order. A
// sentence ends at terminal punctuation (with closing quotes or brackets) followed by white
// space, unless the word is a common abbreviation or an initial; at CJK full stops; at a
// blank line; and before a line that starts a list item.
func sentenceSpans(text string, from, to int) [][2]int {
	var out [][2]int
	start := skipSpace(text, from, to)
	emit := func(end int) {
		end = trimSpaceRight(text, start, end)
		if end > start {
			out = append(out, [2]int{start, end})
		}
		start = skipSpace(text, end, to)
	}
	for i := start; i < to; {
		if i < start {
			i = start
			continue
		}
		c := text[i]
		switch {
		case c == '\n':
			j := i + 1
			if j < to && text[j] == '\n' {
				emit(i)
				i = max(start, j+1)
				continue
			}
			if j < to && startsListItem(text[j:min(to, j+8)]) {
				emit(i)
				i = max(start, j)
				continue
			}
			i++
		case c == '.' || c == '!' || c == '?':
			j := i + 1
			for j < to && strings.IndexByte(`"')]»”’`, text[j]) >= 0 {
				j++
			}
			if j < to && text[j] >= utf8.RuneSelf {
				// closing quotes outside ASCII
				r, size := utf8.DecodeRuneInString(text[j:to])
				if r == '”' || r == '’' || r == '»' {
					j += size
				}
			}
			if (j == to || isSpaceByte(text[j])) && !(c == '.' && isAbbreviation(text[start:i])) {
				emit(j)
				i = max(start, j)
				continue
			}
			i = j
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(text[i:to])
			i += size
			if isCJKTerminator(r) {
				emit(i)
				i = max(start, i)
			}
		default:
			i++
		}
	}
	if start < to {
		emit(to)
	}
	return out
}

func startsListItem(s string) bool {
	if len(s) >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && s[1] == ' ' {
		return true
	}
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n > 0 && n+1 < len(s) && (s[n] == '.' || s[n] == ')') && s[n+1] == ' '
}

var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "prof": true, "sr": true, "jr": true,
	"st": true, "vs": true, "etc": true, "e.g": true, "i.e": true, "cf": true, "al": true,
	"fig": true, "no": true, "vol": true, "p": true, "pp": true, "inc": true, "ltd": true,
	"co": true, "approx": true, "ca": true, "ch": true, "sec": true, "eq": true,
}

// isAbbreviation reports whether the sentence so far ends in a word that a period does
// not end a sentence after: a known abbreviation or a single-letter initial.
func isAbbreviation(before string) bool {
	i := strings.LastIndexFunc(before, unicode.IsSpace)
	word := before[i+1:]
	word = strings.TrimLeft(word, `"'([`)
	if word == "" {
		return false
	}
	if utf8.RuneCountInString(word) == 1 {
		r, _ := utf8.DecodeRuneInString(word)
		return unicode.IsUpper(r)
	}
	return abbreviations[strings.ToLower(word)]
}
