package chunkers

import (
	"fmt"

	"github.com/docingest/docingest/document"
	"unicode"
	"unicode/utf8"
)

// Sizer measures text in a chunker's unit. Implementations must be additive at the
// boundaries they return: Count(s[:Advance(s, n)]) == min(n, Count(s)).
type Sizer interface {
	// Name names the unit, as recorded in each chunk ("chars", "words", a tokenizer id).
	Name() string
	// Count returns the number of units in s.
	Count(s string) int
	// Advance returns the byte offset just after the first n units of s, or len(s).
	Advance(s string, n int) int
	// Back returns the byte offset at which the last n units of s begin, or 0.
	Back(s string, n int) int
}

// Config sizes the chunks of every strategy.
type Config struct {
	// Max is the largest chunk, in the sizer's units.
	Max int
	// Overlap is how much of the previous chunk the next one repeats, in the same units.
	Overlap int
}

// Validate names the bad field.
func (c Config) Validate() error {
	switch {
	case c.Max < 1:
		return fmt.Errorf("max_size: must be at least 1, got %d", c.Max)
	case c.Overlap < 0:
		return fmt.Errorf("overlap: must not be negative, got %d", c.Overlap)
	case c.Overlap >= c.Max:
		return fmt.Errorf("overlap: must be below max_size (%d), got %d", c.Max, c.Overlap)
	}
	return nil
}

// CharSizer counts Unicode code points.
type CharSizer struct{}

func (CharSizer) Name() string { return "chars" }

func (CharSizer) Count(s string) int { return utf8.RuneCountInString(s) }

func (CharSizer) Advance(s string, n int) int {
	i := 0
	for n > 0 && i < len(s) {
		if s[i] < utf8.RuneSelf {
			// ASCII run: each byte is one rune.
			end := min(len(s), i+n)
			j := i
			for j+8 <= end && asciiWord(s[j:j+8]) {
				j += 8
			}
			for j < end && s[j] < utf8.RuneSelf {
				j++
			}
			n -= j - i
			i = j
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n--
	}
	return i
}

func asciiWord(s string) bool {
	w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	return w&0x8080808080808080 == 0
}

func (CharSizer) Back(s string, n int) int {
	i := len(s)
	for n > 0 && i > 0 {
		if s[i-1] < utf8.RuneSelf {
			k := min(n, i)
			j := i
			for j > i-k && s[j-1] < utf8.RuneSelf {
				j--
			}
			n -= i - j
			i = j
			continue
		}
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
		n--
	}
	return i
}

// skipSpace returns the first offset at or after i (below end) that is not white space.
func skipSpace(s string, i, end int) int {
	for i < end {
		c := s[i]
		if c < utf8.RuneSelf {
			if c != ' ' && c != '\n' && c != '\t' && c != '\r' && c != '\f' && c != '\v' {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:end])
		if !unicode.IsSpace(r) {
			return i
		}
		i += size
	}
	return end
}

// trimSpaceRight returns the smallest end (not below lo) such that s[end:hi] is white space.
func trimSpaceRight(s string, lo, hi int) int {
	for hi > lo {
		c := s[hi-1]
		if c < utf8.RuneSelf {
			if c != ' ' && c != '\n' && c != '\t' && c != '\r' && c != '\f' && c != '\v' {
				return hi
			}
			hi--
			continue
		}
		r, size := utf8.DecodeLastRuneInString(s[lo:hi])
		if !unicode.IsSpace(r) {
			return hi
		}
		hi -= size
	}
	return lo
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'
}

func newSpan(sz Sizer, text string, start, end int) document.Span {
	return document.Span{Start: start, End: end, Tokens: sz.Count(text[start:end]), Parent: -1}
}
