package extractors

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/docingest/docingest/document"
	"golang.org/x/text/encoding/charmap"
)

// TextExtractor reads plain text: UTF-8 (with or without BOM), UTF-16 with a BOM, and,
// when the bytes are not valid UTF-8, Windows-1252 (a superset of Latin-1's printable range).
// Blank lines separate blocks; page breaks (form feeds) start pages.
type TextExtractor struct{ Limits Limits }

func (e TextExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	text, decode := decodeTextLazily(data)
	b := newBuilder(ctx, FormatText, e.Limits)
	b.decode = decode
	b.sizeHint(len(data))
	paged := strings.IndexByte(text, '\f') >= 0
	for rest := text; !b.full(); {
		page, next, more := strings.Cut(rest, "\f")
		if paged {
			b.page()
		}
		splitBlocks(page, b.tick, func(block string) bool {
			b.para(block)
			return !b.full()
		})
		if !more {
			break
		}
		rest = next
	}
	return b.done()
}

// decodeText turns bytes into a Go string by BOM, then UTF-8 validity, then Windows-1252.
// A decoded copy is made in one allocation of its exact size: with the input still held by
// the caller, growing it by doubling would hold three copies at once.
func decodeText(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")):
		return string(data[3:]), nil
	case bytes.HasPrefix(data, []byte("\xFF\xFE")):
		return decodeUTF16(data[2:], binary.LittleEndian), nil
	case bytes.HasPrefix(data, []byte("\xFE\xFF")):
		return decodeUTF16(data[2:], binary.BigEndian), nil
	case utf8.Valid(data):
		return bytesToString(data), nil
	}
	return decodeWindows1252(data), nil
}

// decodeTextLazily is decodeText for extractors whose structure is ASCII (line breaks,
// form feeds, Markdown's marks): Windows-1252 input is returned as it is, with the function
// that decodes each block of it, instead of as a decoded copy.
func decodeTextLazily(data []byte) (string, func(string) string) {
	if hasBOM(data) || utf8.Valid(data) {
		text, _ := decodeText(data)
		return text, nil
	}
	return bytesToString(data), func(s string) string { return decodeWindows1252(unsafe.Slice(unsafe.StringData(s), len(s))) }
}

// decodeUTF16 decodes UTF-16 code units (an odd last byte and unpaired surrogates become
// U+FFFD, which cleaning drops).
func decodeUTF16(data []byte, order binary.ByteOrder) string {
	n := 0
	eachUTF16(data, order, func(r rune) { n += utf8.RuneLen(r) })
	var b strings.Builder
	b.Grow(n)
	eachUTF16(data, order, func(r rune) { b.WriteRune(r) })
	return b.String()
}

func eachUTF16(data []byte, order binary.ByteOrder, fn func(rune)) {
	for i := 0; i+1 < len(data); i += 2 {
		r := rune(order.Uint16(data[i:]))
		if utf16.IsSurrogate(r) {
			r2 := utf8.RuneError
			if i+3 < len(data) {
				r2 = utf16.DecodeRune(r, rune(order.Uint16(data[i+2:])))
			}
			if r2 != utf8.RuneError {
				i += 2
			}
			r = r2
		}
		fn(r)
	}
	if len(data)%2 == 1 {
		fn(utf8.RuneError)
	}
}

// decodeWindows1252 decodes Windows-1252 (bytes it leaves undefined become U+FFFD).
func decodeWindows1252(data []byte) string {
	dec := charmap.Windows1252
	n := 0
	for _, c := range data {
		if c < utf8.RuneSelf {
			n++
		} else {
			n += utf8.RuneLen(dec.DecodeByte(c))
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, c := range data {
		if c < utf8.RuneSelf {
			b.WriteByte(c)
		} else {
			b.WriteRune(dec.DecodeByte(c))
		}
	}
	return b.String()
}

// bytesToString returns data as a string without copying it. Extractors may do this
// because of the Extract contract (doc.go): the caller hands the bytes over and never
// modifies them, and nothing an extractor returns points into them (the builder copies
// every block it keeps). This halves peak memory on large text documents.
func bytesToString(data []byte) string {
	if len(data) == 0 {
		return ""
	}
	return unsafe.String(&data[0], len(data))
}

// splitBlocks calls fn with each block of s: the runs of lines between blank lines (lines
// of white space only). Blocks are substrings of s, not copies. tick is called once per
// line and ends the walk when it returns false.
func splitBlocks(s string, tick func() bool, fn func(block string) bool) {
	start := -1 // start of the current block
	for i := 0; i < len(s) && tick(); {
		end := strings.IndexByte(s[i:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += i
		}
		blank := strings.TrimSpace(s[i:end]) == ""
		switch {
		case blank && start >= 0:
			if !fn(s[start:i]) {
				return
			}
			start = -1
		case !blank && start < 0:
			start = i
		}
		i = end + 1
	}
	if start >= 0 {
		fn(s[start:])
	}
}
