package extractors

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/docingest/docingest/document"
)

// CSVExtractor turns each record of a CSV (or tab-separated) file into one block of
// "column: value" lines, so that every chunk keeps the column names of the values it holds.
// The first row is the header. Rows with more fields than the header name the extras
// "column N". The delimiter is sniffed from the header line (comma, tab, semicolon).
// encoding/csv holds a whole record in memory, so the bytes are first scanned for a record
// over MaxCSVRecord (an unclosed quote makes the rest of the file one field): such a file
// fails as too_large before it is parsed.
type CSVExtractor struct{ Limits Limits }

// MaxCSVRecord is the longest CSV record (one row, quoted line breaks included), in bytes.
const MaxCSVRecord = 8 << 20

func (e CSVExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	text, err := decodeText(data)
	if err != nil {
		return document.Document{}, err
	}
	comma := sniffDelimiter(text)
	if n, line := longestCSVRecord(text, byte(comma)); n > MaxCSVRecord {
		return document.Document{}, document.Permanentf(document.ReasonTooLarge,
			"csv: the record starting on line %d is over %d bytes (the record cap; an unclosed quote?)", line, MaxCSVRecord)
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return document.Document{}, document.Permanentf(document.ReasonEmpty, "csv: no rows")
	}
	if err != nil {
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "csv: header: %w", err)
	}
	header = append([]string(nil), header...)
	b := newBuilder(ctx, FormatCSV, e.Limits)
	b.sizeHint(len(data))
	sb := &block{b: b}
	for b.tick() {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return document.Document{}, document.Permanentf(document.ReasonCorrupt, "csv: %w", err)
		}
		for i, v := range rec {
			if !b.tick() {
				break
			}
			if strings.TrimSpace(v) == "" {
				continue
			}
			name := "column " + strconv.Itoa(i+1)
			if i < len(header) && strings.TrimSpace(header[i]) != "" {
				name = header[i]
			}
			sb.WriteString(name)
			sb.WriteString(": ")
			sb.WriteString(v)
			sb.WriteByte('\n')
		}
		sb.end()
	}
	return b.done()
}

// longestCSVRecord returns the length in bytes of the longest record of text and the line
// it starts on, reading quotes as encoding/csv does with LazyQuotes: a field that starts
// with '"' runs to a '"' followed by the delimiter, a line end or the end of the input
// ("" inside it is a quote); any other '"' is text.
func longestCSVRecord(text string, comma byte) (longest, atLine int) {
	start, line, startLine := 0, 1, 1
	fieldStart, quoted := true, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if quoted {
			switch {
			case c == '\n':
				line++
			case c != '"':
			case i+1 < len(text) && text[i+1] == '"':
				i++
			case i+1 == len(text) || text[i+1] == comma || text[i+1] == '\n' || text[i+1] == '\r':
				quoted = false
			}
			continue
		}
		switch {
		case c == '\n':
			if i+1-start > longest {
				longest, atLine = i+1-start, startLine
			}
			line++
			start, startLine, fieldStart = i+1, line, true
			continue
		case c == '"' && fieldStart:
			quoted = true
		}
		fieldStart = c == comma
	}
	if len(text)-start > longest {
		longest, atLine = len(text)-start, startLine
	}
	return longest, atLine
}

func sniffDelimiter(text string) rune {
	first, _, _ := strings.Cut(text, "\n")
	best, bestN := ',', strings.Count(first, ",")
	for _, c := range []rune{'\t', ';'} {
		if n := strings.Count(first, string(c)); n > bestN {
			best, bestN = c, n
		}
	}
	return best
}
