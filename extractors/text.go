package extractors

import (
	"bytes"
	"context"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/docingest/docingest/document"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// TextExtractor reads plain text: UTF-8 (with or without BOM), UTF-16 with a BOM, and,
// when the bytes are not valid UTF-8, Windows-1252 (a superset of Latin-1's printable range).
// Blank lines separate blocks; page breaks (form feeds) start pages.
type TextExtractor struct{ Limits Limits }

func (e TextExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	text, err := decodeText(data)
	if err != nil {
		return document.Document{}, err
	}
	b := newBuilder(ctx, FormatText, e.Limits)
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
func decodeText(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")):
		return string(data[3:]), nil
	case bytes.HasPrefix(data, []byte("\xFF\xFE")), bytes.HasPrefix(data, []byte("\xFE\xFF")):
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		out, err := dec.Bytes(data)
		if err != nil {
			return "", document.Permanentf(document.ReasonCorrupt, "text: bad UTF-16: %w", err)
		}
		return string(out), nil
	case utf8.Valid(data):
		return bytesToString(data), nil
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(data)
	if err != nil {
		return "", document.Permanentf(document.ReasonCorrupt, "text: undecodable bytes: %w", err)
	}
	return string(out), nil
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
