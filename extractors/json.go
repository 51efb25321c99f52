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
// maxJSONDepth is reported as corrupt rather than followed.
type JSONExtractor struct{ Limits Limits }

const maxJSONDepth = 256

func (e JSONExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	text, err := decodeText(data)
	if err != nil {
		return document.Document{}, err
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	b := newBuilder(FormatJSON, e.Limits)
	b.sizeHint(len(data))
	var sb strings.Builder
	trimmed := bytes.TrimLeft([]byte(text[:min(len(text), 64)]), " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if _, err := dec.Token(); err != nil {
			return document.Document{}, jsonErr(err)
		}
		for n := 0; dec.More() && !b.full(); n++ {
			if n%256 == 0 && ctx.Err() != nil {
				return document.Document{}, ctx.Err()
			}
			sb.Reset()
			if err := flattenJSON(dec, &sb, "", 0); err != nil {
				return document.Document{}, jsonErr(err)
			}
			b.para(sb.String())
		}
		if !b.full() {
			if _, err := dec.Token(); err != nil {
				return document.Document{}, jsonErr(err)
			}
		}
	}
	for n := 0; !b.full(); n++ {
		if n%256 == 0 && ctx.Err() != nil {
			return document.Document{}, ctx.Err()
		}
		sb.Reset()
		err := flattenJSON(dec, &sb, "", 0)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return document.Document{}, jsonErr(err)
		}
		b.para(sb.String())
	}
	return b.done()
}

func jsonErr(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return document.Permanentf(document.ReasonCorrupt, "json: %w", err)
}

// flattenJSON reads one value from dec and writes its leaves as "path: value" lines.
func flattenJSON(dec *json.Decoder, sb *strings.Builder, path string, depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("nesting deeper than %d levels", maxJSONDepth)
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
