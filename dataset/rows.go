// Package dataset compacts what an output holds into datasets people load directly:
// Parquet files of chunks and of labels (DuckDB, Athena, Spark, pandas), or a Hugging Face
// `datasets` layout of the labeled data. It reads the output's JSON Lines (the source of
// truth) and never imports worker: the record field names are the contract it relies on.
package dataset

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ChunkRow is a chunk record as a Parquet row: the record's fields as typed columns.
// embedding is a list of float32 (Parquet has no fixed-size list: DuckDB reads FLOAT[],
// pandas an array); metadata is a JSON string, because sidecar attributes mix strings,
// numbers and lists, which a Parquet map (one value type) cannot hold without loss, and
// every reader can parse JSON (DuckDB: json_extract).
type ChunkRow struct {
	ID             string    `parquet:"id"`
	Source         SourceCol `parquet:"source"`
	Index          int64     `parquet:"index"`
	Start          int64     `parquet:"start"`
	End            int64     `parquet:"end"`
	PageStart      *int64    `parquet:"page_start,optional"`
	PageEnd        *int64    `parquet:"page_end,optional"`
	HeadingPath    []string  `parquet:"heading_path,list"`
	Tokens         int64     `parquet:"tokens"`
	Tokenizer      string    `parquet:"tokenizer"`
	Text           string    `parquet:"text"`
	Embedding      []float32 `parquet:"embedding,list,uncompressed"`
	EmbeddingModel string    `parquet:"embedding_model"`
	ParentID       *string   `parquet:"parent_id,optional"`
	Metadata       *string   `parquet:"metadata,optional"`
	OCRConfidence  *float64  `parquet:"ocr_confidence,optional"`
	Label          *LabelCol `parquet:"label,optional"`
	Pipeline       string    `parquet:"pipeline"`
}

// SourceCol is the chunk record's source.
type SourceCol struct {
	URI       string  `parquet:"uri"`
	ETag      *string `parquet:"etag,optional"`
	VersionID *string `parquet:"version_id,optional"`
	SHA256    string  `parquet:"sha256"`
}

// LabelCol is the chunk record's label.
type LabelCol struct {
	Class       *string  `parquet:"class,optional"`
	Classes     []string `parquet:"classes,list"`
	Confidence  float64  `parquet:"confidence"`
	Uncertainty float64  `parquet:"uncertainty"`
	Measure     string   `parquet:"measure"`
	Status      string   `parquet:"status"`
	Classifier  string   `parquet:"classifier"`
}

// chunkJSON is the chunk record as written in chunks/<source>.jsonl.
type chunkJSON struct {
	Schema int    `json:"schema"`
	ID     string `json:"id"`
	Source struct {
		URI       string `json:"uri"`
		ETag      string `json:"etag"`
		VersionID string `json:"version_id"`
		SHA256    string `json:"sha256"`
	} `json:"source"`
	Index          int64           `json:"index"`
	Start          int64           `json:"start"`
	End            int64           `json:"end"`
	PageStart      int64           `json:"page_start"`
	PageEnd        int64           `json:"page_end"`
	HeadingPath    []string        `json:"heading_path"`
	Tokens         int64           `json:"tokens"`
	Tokenizer      string          `json:"tokenizer"`
	Text           string          `json:"text"`
	Embedding      []float32       `json:"embedding"`
	EmbeddingModel string          `json:"embedding_model"`
	ParentID       string          `json:"parent_id"`
	Metadata       json.RawMessage `json:"metadata"`
	OCRConfidence  *float64        `json:"ocr_confidence"`
	Label          *struct {
		Class       string   `json:"class"`
		Classes     []string `json:"classes"`
		Confidence  float64  `json:"confidence"`
		Uncertainty float64  `json:"uncertainty"`
		Measure     string   `json:"measure"`
		Status      string   `json:"status"`
		Classifier  string   `json:"classifier"`
	} `json:"label"`
	Pipeline string `json:"pipeline"`
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optInt(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

// ParseChunk reads one line of a chunk file into a row.
func ParseChunk(line []byte) (ChunkRow, error) {
	var c chunkJSON
	if err := json.Unmarshal(line, &c); err != nil {
		return ChunkRow{}, err
	}
	if c.ID == "" || c.Source.URI == "" {
		return ChunkRow{}, fmt.Errorf("not a chunk record (no id or source.uri)")
	}
	r := ChunkRow{
		ID:     c.ID,
		Source: SourceCol{URI: c.Source.URI, ETag: optString(c.Source.ETag), VersionID: optString(c.Source.VersionID), SHA256: c.Source.SHA256},
		Index:  c.Index, Start: c.Start, End: c.End, PageStart: optInt(c.PageStart), PageEnd: optInt(c.PageEnd),
		HeadingPath: c.HeadingPath, Tokens: c.Tokens, Tokenizer: c.Tokenizer, Text: c.Text, Embedding: c.Embedding,
		EmbeddingModel: c.EmbeddingModel, ParentID: optString(c.ParentID), OCRConfidence: c.OCRConfidence, Pipeline: c.Pipeline,
	}
	if r.HeadingPath == nil {
		r.HeadingPath = []string{}
	}
	if m := strings.TrimSpace(string(c.Metadata)); m != "" && m != "null" {
		r.Metadata = &m
	}
	if l := c.Label; l != nil {
		r.Label = &LabelCol{Class: optString(l.Class), Classes: l.Classes, Confidence: l.Confidence, Uncertainty: l.Uncertainty,
			Measure: l.Measure, Status: l.Status, Classifier: l.Classifier}
		if r.Label.Classes == nil {
			r.Label.Classes = []string{}
		}
	}
	return r, nil
}

// LabelRow is one labeled item of the dataset: an automatic label (labeled/auto/) or a
// human one (labeled/human/).
type LabelRow struct {
	Text string `parquet:"text"`
	// TextHash is the labeling item id (the hash of the text the label is for).
	TextHash string `parquet:"text_hash"`
	// ChunkID and Source are known for automatic labels.
	ChunkID    *string  `parquet:"chunk_id,optional"`
	Source     *string  `parquet:"source,optional"`
	Class      *string  `parquet:"class,optional"`
	Classes    []string `parquet:"classes,list"`
	Confidence *float64 `parquet:"confidence,optional"`
	// Status is auto or human.
	Status     string   `parquet:"status"`
	Classifier *string  `parquet:"classifier,optional"`
	Job        string   `parquet:"job"`
	Created    string   `parquet:"created"`
	Reviewers  []string `parquet:"reviewers,list"`
}

// ParseLabel reads one line of a labeled dataset (Ground Truth output-manifest form, with
// the label attribute attr) into a row; ok is false for a line that holds no label (a
// failed item).
func ParseLabel(line []byte, attr string) (row LabelRow, ok bool, err error) {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(line, &rec); err != nil {
		return row, false, err
	}
	var meta struct {
		Human      string             `json:"human-annotated"`
		Created    string             `json:"creation-date"`
		Job        string             `json:"job-name"`
		Classifier string             `json:"classifier"`
		ClassName  string             `json:"class-name"`
		ClassMap   map[string]string  `json:"class-map"`
		Confidence *float64           `json:"confidence"`
		ConfMap    map[string]float64 `json:"confidence-map"`
		Failure    json.RawMessage    `json:"failure-reason"`
		Reviewers  []string           `json:"docingest-reviewers"`
	}
	if raw, found := rec[attr+"-metadata"]; !found {
		return row, false, fmt.Errorf("no %q: not a labeled line for the label attribute %q", attr+"-metadata", attr)
	} else if err := json.Unmarshal(raw, &meta); err != nil {
		return row, false, fmt.Errorf("%s-metadata: %w", attr, err)
	}
	if len(meta.Failure) > 0 && string(meta.Failure) != "null" {
		return row, false, nil
	}
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(rec[k], &s)
		return s
	}
	row = LabelRow{Text: str("source"), TextHash: str("docingest-id"), ChunkID: optString(str("docingest-chunk-id")),
		Source: optString(str("docingest-source")), Status: "auto", Classifier: optString(meta.Classifier),
		Job: strings.TrimPrefix(meta.Job, "labeling-job/"), Created: meta.Created, Reviewers: meta.Reviewers, Classes: []string{}}
	if meta.Human == "yes" {
		row.Status = "human"
	}
	if row.Reviewers == nil {
		row.Reviewers = []string{}
	}
	switch {
	case meta.ClassName != "":
		row.Class, row.Classes = &meta.ClassName, []string{meta.ClassName}
		row.Confidence = meta.Confidence
	case meta.ClassMap != nil:
		var idx []int
		if err := json.Unmarshal(rec[attr], &idx); err != nil {
			return row, false, fmt.Errorf("%s: want a list of class indices: %w", attr, err)
		}
		var sum float64
		for _, i := range idx {
			k := strconv.Itoa(i)
			row.Classes = append(row.Classes, meta.ClassMap[k])
			sum += meta.ConfMap[k]
		}
		if len(idx) > 0 && meta.ConfMap != nil {
			mean := sum / float64(len(idx))
			row.Confidence = &mean
		}
	default:
		return row, false, fmt.Errorf("%s-metadata has neither class-name nor class-map", attr)
	}
	return row, true, nil
}
