package worker

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/docingest/docingest/document"
)

// ChunkSchema is the version of the chunk record.
const ChunkSchema = 1

// SourceRef names the source object a record came from.
type SourceRef struct {
	URI string `json:"uri"`
	// ETag is the S3 object's ETag; local sources have none.
	ETag      string `json:"etag,omitempty"`
	VersionID string `json:"version_id,omitempty"`
	SHA256    string `json:"sha256"`
}

// ChunkRecord is one line of chunks/<source>.jsonl; the field names are the contract of
// ARCHITECTURE.md ("Chunk record").
type ChunkRecord struct {
	Schema         int             `json:"schema"`
	ID             string          `json:"id"`
	Source         SourceRef       `json:"source"`
	Index          int             `json:"index"`
	Start          int             `json:"start"`
	End            int             `json:"end"`
	PageStart      int             `json:"page_start,omitempty"`
	PageEnd        int             `json:"page_end,omitempty"`
	HeadingPath    []string        `json:"heading_path"`
	Tokens         int             `json:"tokens"`
	Tokenizer      string          `json:"tokenizer"`
	Text           string          `json:"text"`
	Embedding      []float32       `json:"embedding"`
	EmbeddingModel string          `json:"embedding_model"`
	ParentID       string          `json:"parent_id,omitempty"`
	Metadata       map[string]any  `json:"metadata,omitempty"`
	OCRConfidence  *float64        `json:"ocr_confidence,omitempty"`
	Label          *document.Label `json:"label,omitempty"`
	Pipeline       string          `json:"pipeline"`
}

// chunkID is stable for a source, an index and a pipeline fingerprint.
func chunkID(source string, index int, fp string) string {
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(index)))
	h.Write([]byte{0})
	h.Write([]byte(fp))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// FailureRecord is failed/<source>.json (ARCHITECTURE.md, "Failure record").
type FailureRecord struct {
	Source string `json:"source,omitempty"`
	// SourceBytes holds the key when it is not valid UTF-8 (a local file name in a legacy
	// encoding): JSON cannot carry such a string, and Source shows it with U+FFFD.
	SourceBytes []byte `json:"source_bytes,omitempty"`
	MessageID   string `json:"message_id,omitempty"`
	Reason      string `json:"reason"`
	Error       string `json:"error"`
	Permanent   bool   `json:"permanent"`
	Attempts    int    `json:"attempts"`
	Pipeline    string `json:"pipeline"`
	// Parent is set on an attachment's record: the source it came from, which is what
	// is tried again (`failed retry` re-runs the parent, and with it the attachment).
	Parent      string `json:"parent,omitempty"`
	ParentBytes []byte `json:"parent_bytes,omitempty"`
}

// State is state/<source>/<name>.json: what the last processing of a source saw and did.
// It is the only output that holds wall-clock time.
type State struct {
	Schema int    `json:"schema"`
	Source string `json:"source"`
	// SourceBytes holds the key when it is not valid UTF-8, as in FailureRecord.
	SourceBytes []byte `json:"source_bytes,omitempty"`
	ETag        string `json:"etag"`
	VersionID   string `json:"version_id,omitempty"`
	Sequencer   string `json:"sequencer,omitempty"`
	// SidecarETag is the change token of the metadata sidecar the outputs were made with.
	SidecarETag string    `json:"sidecar_etag,omitempty"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Pipeline    string    `json:"pipeline"`
	Status      string    `json:"status"` // ok, failed or deleted
	Reason      string    `json:"reason,omitempty"`
	Chunks      int       `json:"chunks"`
	Attempts    int       `json:"attempts,omitempty"`
	Processed   time.Time `json:"processed_at"`
	// Removed, on a tombstone, names the version the removal took away (its pipeline and
	// chunk count), so that its vectors can still be deleted from the vector index when
	// the first attempt could not.
	Removed *RemovedVersion `json:"removed,omitempty"`
	// Attachments are the documents read from the source's attachments (an e-mail's
	// files), each under its own key (layout.AttachmentKey) with its own outputs or
	// failure record. They have no state of their own: they are committed, re-done and
	// removed with this source, and planning never sees them.
	Attachments []AttachmentState `json:"attachments,omitempty"`
}

// AttachmentState is one attachment document of a source: its key, whether it has
// outputs (ok) or a failure record (failed, with the reason), and its chunk count.
type AttachmentState struct {
	Source      string `json:"source"`
	SourceBytes []byte `json:"source_bytes,omitempty"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
	Chunks      int    `json:"chunks"`
}

// Key returns the attachment's key, byte for byte.
func (a AttachmentState) Key() string {
	if a.SourceBytes != nil {
		return string(a.SourceBytes)
	}
	return a.Source
}

// RemovedVersion is what a tombstone remembers of the removed version.
type RemovedVersion struct {
	Pipeline    string            `json:"pipeline"`
	Chunks      int               `json:"chunks"`
	Attachments []AttachmentState `json:"attachments,omitempty"`
}

// sourceBytes is what SourceBytes holds for key: nil unless key is not valid UTF-8.
func sourceBytes(key string) []byte {
	if utf8.ValidString(key) {
		return nil
	}
	return []byte(key)
}

// ParentKey returns the source an attachment's record came from, byte for byte ("" for
// a source's own record).
func (r FailureRecord) ParentKey() string {
	if r.ParentBytes != nil {
		return string(r.ParentBytes)
	}
	return r.Parent
}

// Key returns the source key the record is about, byte for byte.
func (r FailureRecord) Key() string {
	if r.SourceBytes != nil {
		return string(r.SourceBytes)
	}
	return r.Source
}

// Key returns the source key the state is about, byte for byte.
func (s State) Key() string {
	if s.SourceBytes != nil {
		return string(s.SourceBytes)
	}
	return s.Source
}

const (
	statusOK      = "ok"
	statusFailed  = "failed"
	statusDeleted = "deleted"
)
