package embedders

import (
	"math/bits"
	"unicode"
	"unicode/utf8"
)

// WordTokenizer splits text into tokens: runs of letters, digits and combining marks are
// one token; every ideograph (Han, kana) and every other symbol or punctuation mark is a
// token of its own; white space separates tokens and is not one. A run longer than
// MaxWordBytes is cut into tokens of that size, so that no token (and so no chunk sized in
// tokens) is unbounded in bytes: a 45 MB "word" is many tokens, not one. It is the
// hashing embedder's tokenizer and the default token unit of the chunkers.
type WordTokenizer struct{}

// MaxWordBytes is the longest token WordTokenizer makes, in bytes (a little more when a
// multi-byte character crosses it).
const MaxWordBytes = 128

const (
	classSpace = iota
	classWord
	classSingle // a token by itself
)

var asciiClass = func() (t [128]uint8) {
	for c := 0; c < 128; c++ {
		switch {
		case c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			t[c] = classSpace
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			t[c] = classWord
		case c < 0x20 || c == 0x7f:
			t[c] = classSpace
		default:
			t[c] = classSingle
		}
	}
	return t
}()

// bmpClass holds runeClass for every rune of the Basic Multilingual Plane (64 KiB, computed
// once): the unicode package's range tables cost a binary search per rune, and text in
// most scripts is made of nothing else.
var bmpClass = func() *[1 << 16]uint8 {
	var t [1 << 16]uint8
	for r := range rune(len(t)) {
		t[r] = runeClassSlow(r)
	}
	return &t
}()

func runeClass(r rune) uint8 {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	if r < 1<<16 {
		return bmpClass[r]
	}
	return runeClassSlow(r)
}

func runeClassSlow(r rune) uint8 {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	switch {
	case unicode.IsSpace(r):
		return classSpace
	case unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
		return classSingle
	case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
		return classWord
	}
	return classSingle
}

func classAt(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	return runeClass(r), size
}

// Name identifies the unit in chunk records.
func (WordTokenizer) Name() string { return "words" }

// Next returns the bounds of the first token at or after i, or (len(s), len(s)).
func (WordTokenizer) Next(s string, i int) (int, int) {
	for i < len(s) {
		var c uint8
		size := 1
		if b := s[i]; b < utf8.RuneSelf { // ASCII, most text: no decoding
			c = asciiClass[b]
		} else {
			c, size = classAt(s, i)
		}
		switch c {
		case classSpace:
			i += size
		case classSingle:
			return i, i + size
		default:
			j := i + size
			for j < len(s) && j-i < MaxWordBytes {
				if b := s[j]; b < utf8.RuneSelf {
					if asciiClass[b] != classWord {
						break
					}
					j++
					continue
				}
				c2, size2 := classAt(s, j)
				if c2 != classWord {
					break
				}
				j += size2
			}
			return i, j
		}
	}
	return len(s), len(s)
}

func (t WordTokenizer) Count(s string) int {
	n := 0
	for i := 0; ; n++ {
		j, c := asciiTokens(s, i, -1)
		n += c
		if i = t.skip(s, j); i < 0 {
			return n
		}
	}
}

func (t WordTokenizer) Advance(s string, n int) int {
	i := 0
	for n > 0 {
		j, c := asciiTokens(s, i, n) // c < n: the n-th token's end is skip's to find
		n -= c
		if i = t.skip(s, j); i < 0 {
			return len(s)
		}
		n--
	}
	return i
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// asciiTokens counts the tokens of s from i, a token boundary, eight bytes at a time and
// without a branch on any byte, while the bytes are ASCII: most text. It stops at a token
// boundary before the n-th token would start (n < 0: no limit), before a word could reach
// MaxWordBytes, and at a block with a byte outside ASCII or fewer than eight bytes left,
// and returns where, with the tokens wholly before it. The callers go on one token at a
// time from there (skip) and come back. Scanning token by token costs a mispredicted
// branch or two a token: this made Advance 2.2x as fast on the golden texts and 2.0x on
// the bench corpus's 133 files (BenchmarkWordTokenizerAdvance).
func asciiTokens(s string, i, n int) (at, tokens int) {
	started := 0       // tokens started before i
	var prevWord uint8 // 1 when the byte before i is part of a word
	run := i           // where the word in progress (prevWord) started
	for ; i+8 <= len(s); i += 8 {
		if prevWord == 1 && i+8-run >= MaxWordBytes {
			break // the word in progress may reach MaxWordBytes here and be cut: skip does it
		}
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if x&highBits != 0 {
			break
		}
		word := byteMask(atLeast(x, '0')&^atLeast(x, '9'+1) | atLeast(x, 'A')&^atLeast(x, 'Z'+1) | atLeast(x, 'a')&^atLeast(x, 'z'+1))
		space := byteMask(^atLeast(x, ' '+1)&highBits | atLeast(x, 0x7f))
		starts := word &^ (word<<1 | prevWord)
		c := bits.OnesCount8(starts) + bits.OnesCount8(^(word | space))
		if n >= 0 && started+c >= n {
			break
		}
		started += c
		// the word in progress at the end of the block, if any, and where it started
		if tail := bits.LeadingZeros8(^word); tail < 8 || prevWord == 0 {
			run = i + 8 - tail
		}
		prevWord = word >> 7
	}
	if prevWord == 1 {
		return run, started - 1
	}
	return i, started
}

// atLeast sets the high bit of each byte of x (each below 0x80) that is c or more
// (c <= 0x80), and clears every other bit.
func atLeast(x uint64, c byte) uint64 { return ((x | highBits) - uint64(c)*lowBits) & highBits }

// byteMask gathers the high bits of x's bytes into one byte, byte 0 into bit 0.
func byteMask(x uint64) uint8 { return uint8((x >> 7) * 0x0102040810204080 >> 56) }

// skip returns the end of the first token at or after i, or -1 when there is none. It is
// Next with the common case, ASCII, in its own loop.
func (t WordTokenizer) skip(s string, i int) int {
	for i < len(s) && byteClass[s[i]] == classSpace {
		i++
	}
	if i == len(s) {
		return -1
	}
	switch byteClass[s[i]] {
	case classSingle:
		return i + 1
	case classWord:
		j, lim := i+1, min(len(s), i+MaxWordBytes)
		for j < lim && byteClass[s[j]] == classWord {
			j++
		}
		if j == len(s) || j-i == MaxWordBytes || s[j] < utf8.RuneSelf {
			return j
		}
	}
	start, end := t.Next(s, i)
	if start == end {
		return -1
	}
	return end
}

// byteClass is asciiClass for every byte, with classNonASCII for the bytes of characters
// outside ASCII, so that skip's loops test each byte once.
var byteClass = func() (t [256]uint8) {
	copy(t[:], asciiClass[:])
	for b := utf8.RuneSelf; b < len(t); b++ {
		t[b] = classNonASCII
	}
	return t
}()

const classNonASCII = 0xff

// Back returns the offset where the last n tokens of s start, so that s[Back(s, n):] holds
// exactly those n tokens going forward (or all of s when it has fewer).
func (t WordTokenizer) Back(s string, n int) int {
	i := len(s)
	for n > 0 && i > 0 {
		// skip white space backwards
		for i > 0 {
			r, size := utf8.DecodeLastRuneInString(s[:i])
			if runeClass(r) != classSpace {
				break
			}
			i -= size
		}
		if i == 0 {
			return 0
		}
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if runeClass(r) != classWord {
			i -= size
			n--
			continue
		}
		// a run of word characters: find where it starts, since a run longer than
		// MaxWordBytes is cut into tokens counting from its start
		start := i - size
		for start > 0 {
			r2, size2 := utf8.DecodeLastRuneInString(s[:start])
			if runeClass(r2) != classWord {
				break
			}
			start -= size2
		}
		if i-start <= MaxWordBytes {
			i = start
			n--
			continue
		}
		tokens := 0
		for j := start; j < i; tokens++ {
			_, j = t.Next(s, j)
		}
		if n >= tokens {
			i = start
			n -= tokens
			continue
		}
		j := start
		for k := 0; k < tokens-n; k++ {
			_, j = t.Next(s, j)
		}
		return j
	}
	return i
}
