package extractors

import (
	"bytes"
	"context"
	"strings"
	"unicode/utf8"

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
	b := newBuilder(FormatText, e.Limits)
	pages := strings.Split(text, "\f")
	for i, page := range pages {
		if len(pages) > 1 {
			b.page()
		}
		for _, block := range splitBlocks(page) {
			if b.full() || ctx.Err() != nil {
				break
			}
			b.para(block)
		}
		if i%64 == 0 && ctx.Err() != nil {
			return document.Document{}, ctx.Err()
		}
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
		return string(data), nil
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(data)
	if err != nil {
		return "", document.Permanentf(document.ReasonCorrupt, "text: undecodable bytes: %w", err)
	}
	return string(out), nil
}

// splitBlocks splits text at blank lines (lines holding only white space).
func splitBlocks(s string) []string {
	var blocks []string
	var cur strings.Builder
	for line := range strings.Lines(s) {
		if strings.TrimSpace(line) == "" {
			if cur.Len() > 0 {
				blocks = append(blocks, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteString(line)
	}
	if cur.Len() > 0 {
		blocks = append(blocks, cur.String())
	}
	return blocks
}
