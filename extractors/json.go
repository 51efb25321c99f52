package extractors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docingest/docingest/document"
)

// JSONExtractor turns JSON records into text: a top-level array yields one block per
// element, JSON Lines (or any sequence of values) one block per value, and a single value
// one block. Each block lists the record's leaves as "path.to.field: value" lines in
// document order, so that field names travel with their values. Nesting deeper than
// maxJSONDepth is reported as corrupt rather than followed, and a key path longer than
// MaxJSONKeyPath as too_large: every leaf line repeats its path, so a long key over a long
// array would multiply into gigabytes. A record's lines go to the builder as they are
// made, in blocks of at most MaxBlockBytes.
type JSONExtractor struct{ Limits Limits }

const maxJSONDepth = 256

// MaxJSONKeyPath is the longest key path ("a.b[3].c") a JSON leaf may have, in bytes.
const MaxJSONKeyPath = 4096

func (e JSONExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	text, err := decodeText(data)
	if err != nil {
		return document.Document{}, err
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	b := newBuilder(ctx, FormatJSON, e.Limits)
	b.sizeHint(len(data))
	rec := &block{b: b}
	trimmed := bytes.TrimLeft([]byte(text[:min(len(text), 64)]), " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if _, err := dec.Token(); err != nil {
			return document.Document{}, jsonErr(b, err)
		}
		for dec.More() && !b.full() {
			if err := flattenJSON(dec, rec, "", 0); err != nil {
				return document.Document{}, jsonErr(b, err)
			}
			rec.end()
		}
		if !b.full() {
			if _, err := dec.Token(); err != nil {
				return document.Document{}, jsonErr(b, err)
			}
		}
	}
	for !b.full() {
		err := flattenJSON(dec, rec, "", 0)
		if errors.Is(err, io.EOF) && rec.Len() == 0 {
			break
		}
		if err != nil {
			return document.Document{}, jsonErr(b, err)
		}
		rec.end()
	}
	return b.done()
}

// jsonErr classifies an error of the decoder or of flattenJSON: the builder's own (a cap,
// ctx) as it is, everything else as corrupt input.
func jsonErr(b *builder, err error) error {
	if b.err != nil {
		return b.err
	}
	var p *document.PermanentError
	if errors.As(err, &p) {
		return err
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return document.Permanentf(document.ReasonCorrupt, "json: %w", err)
}

// flattenJSON reads one value from dec and writes its leaves as "path: value" lines.
func flattenJSON(dec *json.Decoder, sb *block, path string, depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("nesting deeper than %d levels", maxJSONDepth)
	}
	if len(path) > MaxJSONKeyPath {
		return document.Permanentf(document.ReasonTooLarge, "json: a key path of %d bytes, over the cap of %d (%.40q…)", len(path), MaxJSONKeyPath, path)
	}
	if !sb.b.tick() {
		return sb.b.err
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := kt.(string)
				child := key
				if path != "" {
					child = path + "." + key
				}
				if err := flattenJSON(dec, sb, child, depth+1); err != nil {
					return err
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if err := flattenJSON(dec, sb, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("unexpected %v", t)
		}
		_, err := dec.Token() // the closing delimiter
		return err
	case nil:
		return nil
	default:
		var v string
		switch t := t.(type) {
		case string:
			v = t
		case json.Number:
			v = t.String()
		case bool:
			v = fmt.Sprint(t)
		}
		if strings.TrimSpace(v) == "" {
			return nil
		}
		if path != "" {
			sb.WriteString(path)
			sb.WriteString(": ")
		}
		sb.WriteString(v)
		sb.WriteByte('\n')
		return nil
	}
}
