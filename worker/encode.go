package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/docingest/docingest/dataset"
	"github.com/docingest/docingest/internal/ftoa"
)

// The chunk record is written without reflection: a document's records share their source,
// metadata and pipeline, and each carries hundreds of floats, so encoding/json spent a third
// of a run on them. The bytes are exactly encoding/json's with HTML escaping off (the test
// compares the two on random records): field order, omitempty, float32 in its shortest
// form, and string escapes.

// chunkEncoder writes the chunk records of one document; the parts every record shares
// are encoded once.
type chunkEncoder struct {
	source   []byte // `"source":{...},`
	metadata []byte // `"metadata":{...},` or nothing
	tail     []byte // `"pipeline":"..."}` and a newline
	model    []byte // `"embedding_model":"...",`
	tok      []byte // `"tokenizer":"...",`
}

func newChunkEncoder(ref SourceRef, metadata map[string]any, tokenizer, model, pipeline string) (*chunkEncoder, error) {
	e := &chunkEncoder{}
	b := append([]byte(nil), `"source":{"uri":`...)
	b = appendJSONString(b, ref.URI)
	if ref.ETag != "" {
		b = appendJSONString(append(b, `,"etag":`...), ref.ETag)
	}
	if ref.VersionID != "" {
		b = appendJSONString(append(b, `,"version_id":`...), ref.VersionID)
	}
	b = appendJSONString(append(b, `,"sha256":`...), ref.SHA256)
	e.source = append(b, "},"...)
	if len(metadata) > 0 {
		m, err := marshalNoHTML(metadata)
		if err != nil {
			return nil, fmt.Errorf("encode metadata: %w", err)
		}
		e.metadata = append(append([]byte(`"metadata":`), m...), ',')
	}
	e.tok = append(appendJSONString([]byte(`"tokenizer":`), tokenizer), ',')
	e.model = append(appendJSONString([]byte(`"embedding_model":`), model), ',')
	e.tail = append(appendJSONString([]byte(`"pipeline":`), pipeline), "}\n"...)
	return e, nil
}

// append adds rec as one line. The record's Source, Metadata, Tokenizer, EmbeddingModel
// and Pipeline are the encoder's, not rec's.
func (e *chunkEncoder) append(dst []byte, rec *ChunkRecord) ([]byte, error) {
	dst = append(dst, `{"schema":`...)
	dst = strconv.AppendInt(dst, int64(rec.Schema), 10)
	dst = appendJSONString(append(dst, `,"id":`...), rec.ID)
	dst = append(dst, ',')
	dst = append(dst, e.source...)
	dst = strconv.AppendInt(append(dst, `"index":`...), int64(rec.Index), 10)
	dst = strconv.AppendInt(append(dst, `,"start":`...), int64(rec.Start), 10)
	dst = strconv.AppendInt(append(dst, `,"end":`...), int64(rec.End), 10)
	if rec.PageStart != 0 {
		dst = strconv.AppendInt(append(dst, `,"page_start":`...), int64(rec.PageStart), 10)
	}
	if rec.PageEnd != 0 {
		dst = strconv.AppendInt(append(dst, `,"page_end":`...), int64(rec.PageEnd), 10)
	}
	dst = append(dst, `,"heading_path":`...)
	if rec.HeadingPath == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, h := range rec.HeadingPath {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, h)
		}
		dst = append(dst, ']')
	}
	dst = strconv.AppendInt(append(dst, `,"tokens":`...), int64(rec.Tokens), 10)
	dst = append(dst, ',')
	dst = append(dst, e.tok...)
	dst = appendJSONString(append(dst, `"text":`...), rec.Text)
	dst = append(dst, `,"embedding":`...)
	if rec.Embedding == nil {
		dst = append(dst, "null"...)
	} else {
		// as encoding/json prints float32 (internal/ftoa, checked against strconv for every
		// float32)
		list, ok := ftoa.AppendList(append(dst, '['), rec.Embedding)
		if !ok { // a NaN or an infinity: name the first
			i := slices.IndexFunc(rec.Embedding, func(f float32) bool {
				return math.IsNaN(float64(f)) || math.IsInf(float64(f), 0)
			})
			return dst, fmt.Errorf("json: unsupported value: %v", rec.Embedding[max(i, 0)])
		}
		dst = append(list, ']')
	}
	dst = append(dst, ',')
	dst = append(dst, e.model...)
	if rec.ParentID != "" {
		dst = append(appendJSONString(append(dst, `"parent_id":`...), rec.ParentID), ',')
	}
	dst = append(dst, e.metadata...)
	if c := rec.OCRConfidence; c != nil {
		// encoding/json's float64: 'f' between 1e-6 and 1e21 (a confidence is in [0, 1],
		// rounded to 4 decimals, so never below 1e-6 unless 0)
		if *c != 0 && (math.Abs(*c) < 1e-6 || math.Abs(*c) >= 1e21) || math.IsNaN(*c) || math.IsInf(*c, 0) {
			b, err := json.Marshal(*c)
			if err != nil {
				return dst, fmt.Errorf("encode ocr_confidence: %w", err)
			}
			dst = append(append(append(dst, `"ocr_confidence":`...), b...), ',')
		} else {
			dst = append(strconv.AppendFloat(append(dst, `"ocr_confidence":`...), *c, 'f', -1, 64), ',')
		}
	}
	if rec.Label != nil {
		l, err := marshalNoHTML(rec.Label)
		if err != nil {
			return dst, fmt.Errorf("encode label: %w", err)
		}
		dst = append(append(append(dst, `"label":`...), l...), ',')
	}
	return append(dst, e.tail...), nil
}

// marshalNoHTML is json.Marshal without HTML escaping (as the records are written).
func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// appendJSONString quotes s as encoding/json does with HTML escaping off: '"', '\\' and
// control characters escaped (\b \f \n \r \t by name), invalid UTF-8 as \ufffd, and
// U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		return appendJSONStringChecked(dst, s)
	}
	// Valid UTF-8 (chunk texts always are): a byte needs a look only when it is an ASCII
	// character to escape or the first byte of U+2028 or U+2029; the bytes of every other
	// character are copied as they are.
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if jsonPlain[c] {
			continue
		}
		if c == 0xE2 {
			if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
				dst = append(dst, s[start:i]...)
				dst = append(dst, '\\', 'u', '2', '0', '2', "89"[s[i+2]-0xA8])
				i += 2
				start = i + 1
			}
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = appendJSONEscape(dst, c)
		start = i + 1
	}
	return append(append(dst, s[start:]...), '"')
}

// jsonPlain marks the bytes appendJSONString copies without a look in valid UTF-8: ASCII
// from space on except '"' and '\\', and every byte of other characters but 0xE2.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\' && c != 0xE2
	}
	return t
}()

// appendJSONEscape appends the escape of an ASCII byte encoding/json escapes.
func appendJSONEscape(dst []byte, c byte) []byte {
	const hex = "0123456789abcdef"
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
}

// appendJSONStringChecked is appendJSONString for any string, valid UTF-8 or not.
func appendJSONStringChecked(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendJSONEscape(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(append(dst, s[start:]...), '"')
}

// The chunk file formats (output.chunks_format).
const (
	ChunksJSONL   = "jsonl"
	ChunksParquet = "parquet"
)

// chunkSink writes a document's chunk records in one format.
type chunkSink interface {
	add(rec *ChunkRecord) error
	close() error
}

type jsonlSink struct {
	enc  *chunkEncoder
	w    io.Writer
	line []byte
}

func (s *jsonlSink) add(rec *ChunkRecord) error {
	var err error
	if s.line, err = s.enc.append(s.line[:0], rec); err != nil {
		return err
	}
	_, err = s.w.Write(s.line)
	return err
}

func (s *jsonlSink) close() error { return nil }

// parquetSink writes the records as dataset.ChunkRow rows, the columns of the exported
// chunks table.
type parquetSink struct {
	w    *parquet.GenericWriter[dataset.ChunkRow]
	rows []dataset.ChunkRow
	meta *string // the document's metadata as JSON, encoded once
	done bool
}

func (s *parquetSink) add(rec *ChunkRecord) error {
	if rec.Metadata != nil && s.meta == nil && !s.done {
		m, err := marshalNoHTML(rec.Metadata)
		if err != nil {
			return fmt.Errorf("encode metadata: %w", err)
		}
		str := string(m)
		s.meta = &str
	}
	s.done = true
	for _, f := range rec.Embedding {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return fmt.Errorf("unsupported value in the embedding: %v", f)
		}
	}
	opt := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	optInt := func(v int) *int64 {
		if v == 0 {
			return nil
		}
		n := int64(v)
		return &n
	}
	row := dataset.ChunkRow{
		ID: rec.ID,
		Source: dataset.SourceCol{URI: rec.Source.URI, ETag: opt(rec.Source.ETag), VersionID: opt(rec.Source.VersionID),
			SHA256: rec.Source.SHA256},
		Index: int64(rec.Index), Start: int64(rec.Start), End: int64(rec.End),
		PageStart: optInt(rec.PageStart), PageEnd: optInt(rec.PageEnd), HeadingPath: rec.HeadingPath,
		Tokens: int64(rec.Tokens), Tokenizer: rec.Tokenizer, Text: rec.Text, Embedding: rec.Embedding,
		EmbeddingModel: rec.EmbeddingModel, ParentID: opt(rec.ParentID), Metadata: s.meta, OCRConfidence: rec.OCRConfidence,
		Pipeline: rec.Pipeline,
	}
	if l := rec.Label; l != nil {
		classes := l.Classes
		if classes == nil {
			classes = []string{}
		}
		row.Label = &dataset.LabelCol{Class: opt(l.Class), Classes: classes, Confidence: l.Confidence, Uncertainty: l.Uncertainty,
			Measure: l.Measure, Status: string(l.Status), Classifier: l.Classifier}
	}
	s.rows = append(s.rows, row)
	if len(s.rows) == 256 {
		return s.flush()
	}
	return nil
}

func (s *parquetSink) flush() error {
	if len(s.rows) == 0 {
		return nil
	}
	_, err := s.w.Write(s.rows)
	s.rows = s.rows[:0]
	return err
}

func (s *parquetSink) close() error {
	if err := s.flush(); err != nil {
		return err
	}
	return s.w.Close()
}
