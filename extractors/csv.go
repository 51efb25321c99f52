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
type CSVExtractor struct{ Limits Limits }

func (e CSVExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	text, err := decodeText(data)
	if err != nil {
		return document.Document{}, err
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = sniffDelimiter(text)
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
	b := newBuilder(FormatCSV, e.Limits)
	b.sizeHint(len(data))
	var sb strings.Builder
	for n := 0; !b.full(); n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return document.Document{}, document.Permanentf(document.ReasonCorrupt, "csv: %w", err)
		}
		if n%1024 == 0 && ctx.Err() != nil {
			return document.Document{}, ctx.Err()
		}
		sb.Reset()
		for i, v := range rec {
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
		b.para(sb.String())
	}
	return b.done()
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
