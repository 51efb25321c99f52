package chunkers

import (
	"fmt"
	"math/bits"

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

// countingSizer is implemented by sizers whose Advance may stop short of n units when the
// next unit cannot be cut out alone (WordPiece: one character that expands to several
// pieces); AdvanceCount also says how many units the prefix holds.
type countingSizer interface {
	AdvanceCount(s string, n int) (int, int)
}

// advance is Advance with the number of units the prefix holds.
func advance(sz Sizer, s string, n int) (off, units int) {
	if c, ok := sz.(countingSizer); ok {
		return c.AdvanceCount(s, n)
	}
	off = sz.Advance(s, n)
	if off < len(s) {
		return off, n
	}
	return off, -1 // the whole string: the caller counts it
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

// CharSizer counts Unicode code points. A unit is a byte that does not continue a UTF-8
// sequence (a lead byte, an ASCII byte, or a stray byte of invalid input) together with
// the continuation bytes after it: on valid UTF-8 that is exactly a code point, and on
// any input Count, Advance and Back agree. Eight bytes are counted at a time.
type CharSizer struct{}

func (CharSizer) Name() string { return "chars" }

const (
	hiBits = 0x8080808080808080
)

// word loads s[i:i+8] little-endian; the compiler turns this into one load.
func word(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// unitsIn returns how many of the 8 bytes in w start a unit (are not 10xxxxxx).
func unitsIn(w uint64) int {
	cont := w & hiBits &^ ((w << 1) & hiBits) // bit 7 set, bit 6 clear
	return 8 - bits.OnesCount64(cont)
}

func isUnitStart(c byte) bool { return c&0xC0 != 0x80 }

func (CharSizer) Count(s string) int {
	n, i := 0, 0
	for ; i+32 <= len(s); i += 32 {
		w0, w1, w2, w3 := word(s, i), word(s, i+8), word(s, i+16), word(s, i+24)
		if (w0|w1|w2|w3)&hiBits == 0 {
			n += 32
			continue
		}
		n += unitsIn(w0) + unitsIn(w1) + unitsIn(w2) + unitsIn(w3)
	}
	for ; i+8 <= len(s); i += 8 {
		n += unitsIn(word(s, i))
	}
	for ; i < len(s); i++ {
		if isUnitStart(s[i]) {
			n++
		}
	}
	return n
}

// Advance returns the offset of the (n+1)-th unit start, or len(s).
func (CharSizer) Advance(s string, n int) int {
	total, i := 0, 0
	for i+32 <= len(s) && total+32 <= n {
		// all-ASCII run: 32 units without counting
		if (word(s, i)|word(s, i+8)|word(s, i+16)|word(s, i+24))&hiBits != 0 {
			break
		}
		total += 32
		i += 32
	}
	for i+8 <= len(s) {
		u := unitsIn(word(s, i))
		if total+u > n {
			break
		}
		total += u
		i += 8
	}
	for ; i < len(s); i++ {
		if isUnitStart(s[i]) {
			if total == n {
				return i
			}
			total++
		}
	}
	return len(s)
}

// Back returns the offset of the n-th unit start from the end, or 0.
func (CharSizer) Back(s string, n int) int {
	if n <= 0 {
		return len(s)
	}
	total, i := 0, len(s)
	for i-8 >= 0 {
		u := unitsIn(word(s, i-8))
		if total+u >= n {
			break
		}
		total += u
		i -= 8
	}
	for ; i > 0; i-- {
		if isUnitStart(s[i-1]) {
			total++
			if total == n {
				return i - 1
			}
		}
	}
	return 0
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
