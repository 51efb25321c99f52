package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/storage"
)

// SidecarSuffix names a source's metadata sidecar, as Bedrock Knowledge Bases does:
// report.pdf.metadata.json beside report.pdf. Sidecars are not sources.
const SidecarSuffix = ".metadata.json"

// maxSidecarBytes caps a sidecar: every chunk of its source repeats its attributes, so it
// is part of the per-chunk allowance of the output bound (outputBound). Bedrock's own limit
// is 10 KB; this leaves room for white space.
const maxSidecarBytes = 16 << 10

// IsSidecar reports whether key names a metadata sidecar.
func IsSidecar(key string) bool {
	return strings.HasSuffix(key, SidecarSuffix) && len(key) > len(SidecarSuffix)
}

// SidecarSource returns the source a sidecar describes.
func SidecarSource(key string) string { return strings.TrimSuffix(key, SidecarSuffix) }

// changeToken is what a state file's name is derived from: the source's change token and,
// when it has one, its sidecar's, so that editing the sidecar reprocesses the source.
func changeToken(etag, sidecarETag string) string {
	if sidecarETag == "" {
		return etag
	}
	return etag + "\x00" + sidecarETag
}

// sidecar is what a source's sidecar held.
type sidecar struct {
	etag  string
	attrs map[string]any
}

// readSidecar reads and parses key's sidecar; (nil, nil) when there is none.
func readSidecar(ctx context.Context, src Source, key string) (*sidecar, error) {
	sk := key + SidecarSuffix
	var rc io.ReadCloser
	var info storage.ObjectInfo
	var err error
	if io, ok := src.(InfoOpener); ok {
		rc, info, err = io.OpenInfo(ctx, sk)
	} else {
		rc, err = src.Open(ctx, sk)
	}
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrNameTooLong) {
		return nil, nil // a sidecar whose name is over the store's limit cannot exist
	}
	if err != nil {
		return nil, fmt.Errorf("read metadata sidecar %s: %w", sk, err)
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, maxSidecarBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read metadata sidecar %s: %w", sk, err)
	}
	if len(body) > maxSidecarBytes {
		return nil, document.Permanentf(document.ReasonTooLarge, "metadata sidecar %s is over %d bytes", sk, maxSidecarBytes)
	}
	attrs, err := ParseSidecar(body)
	if err != nil {
		return nil, document.Permanentf(document.ReasonCorrupt, "metadata sidecar %s: %v", sk, err)
	}
	etag := info.ETag
	if etag == "" {
		sum := sha256.Sum256(body)
		etag = "sha256:" + hex.EncodeToString(sum[:16])
	}
	return &sidecar{etag: etag, attrs: attrs}, nil
}

// ParseSidecar returns the metadataAttributes of a Bedrock Knowledge Base metadata file.
// Values may be plain JSON (string, number, boolean, list of strings) or Bedrock's typed
// form {"value": {"type": "STRING", "stringValue": ...}, "includeForEmbedding": true}; the
// typed form is reduced to its value.
func ParseSidecar(body []byte) (map[string]any, error) {
	var f struct {
		MetadataAttributes map[string]json.RawMessage `json:"metadataAttributes"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("not a JSON object with metadataAttributes: %w", err)
	}
	if f.MetadataAttributes == nil {
		return nil, errors.New(`no "metadataAttributes" object`)
	}
	out := make(map[string]any, len(f.MetadataAttributes))
	for k, raw := range f.MetadataAttributes {
		v, err := attrValue(raw)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

func attrValue(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	switch t := v.(type) {
	case string, json.Number, bool:
		return t, nil
	case []any:
		for _, e := range t {
			if _, ok := e.(string); !ok {
				return nil, errors.New("a list must hold strings only")
			}
		}
		return t, nil
	case map[string]any:
		typed, ok := t["value"].(map[string]any)
		if !ok {
			return nil, errors.New(`an object must be Bedrock's typed form {"value": {"type": ...}}`)
		}
		switch typed["type"] {
		case "STRING":
			if s, ok := typed["stringValue"].(string); ok {
				return s, nil
			}
		case "NUMBER":
			if n, ok := typed["numberValue"].(json.Number); ok {
				return n, nil
			}
		case "BOOLEAN":
			if b, ok := typed["booleanValue"].(bool); ok {
				return b, nil
			}
		case "STRING_LIST":
			if l, ok := typed["stringListValue"].([]any); ok {
				return attrValue(mustJSON(l))
			}
		}
		return nil, fmt.Errorf("typed value %v is not STRING, NUMBER, BOOLEAN or STRING_LIST with its value", typed["type"])
	}
	return nil, fmt.Errorf("unsupported value %s", string(raw))
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// maxPendingSources bounds how many listed sources wait for a possible sidecar.
const maxPendingSources = 4096

// sidecarJoin sits between a sorted listing and its consumer: it drops sidecars from the
// listing and sets each source's SidecarETag, preserving order. A source's sidecar sorts
// after it, and every key between the two begins with the source's key, so a source is
// settled as soon as a key arrives that does not begin with it or sorts after its
// sidecar. (Local listings are sorted per folder; the same holds for them.)
//
// When more than maxPendingSources keys stand between a source and where its sidecar
// would be (a.txt, a.txt-0001 … a.txt-5000, a.txt.metadata.json), the source at the head
// is settled by asking the source for its sidecar directly: one request, and only then.
type sidecarJoin struct {
	emit    func(Object) error
	lookup  func(key string) (etag string, err error) // "" when there is no such object
	pending []Object                                  // in listing order
	done    []bool                                    // whether pending[i] can no longer be followed by its sidecar
}

func newSidecarJoin(ctx context.Context, src Source, emit func(Object) error) *sidecarJoin {
	return &sidecarJoin{emit: emit, lookup: func(key string) (string, error) { return changeTokenOf(ctx, src, key) }}
}

// changeTokenOf returns an object's change token as a listing reports it, or "" when it
// does not exist.
func changeTokenOf(ctx context.Context, src Source, key string) (string, error) {
	var info storage.ObjectInfo
	var err error
	switch s := src.(type) {
	case statter:
		info, err = s.Stat(ctx, key)
	case InfoOpener:
		var rc io.ReadCloser
		if rc, info, err = s.OpenInfo(ctx, key); err == nil {
			rc.Close()
		}
	default:
		return "", fmt.Errorf("look up %s: the source cannot report change tokens", key)
	}
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrNameTooLong) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up %s: %w", key, err)
	}
	return info.ETag, nil
}

func (j *sidecarJoin) add(o storage.ObjectInfo) error {
	for i := range j.pending {
		p := j.pending[i].Key
		if !strings.HasPrefix(o.Key, p) || o.Key > p+SidecarSuffix {
			j.done[i] = true
		}
	}
	if IsSidecar(o.Key) {
		src := SidecarSource(o.Key)
		for i := range j.pending {
			if j.pending[i].Key == src {
				j.pending[i].SidecarETag = o.ETag
				j.done[i] = true
			}
		}
		return j.drain(false)
	}
	j.pending = append(j.pending, Object{ObjectInfo: o})
	j.done = append(j.done, false)
	return j.drain(false)
}

// drain emits settled sources from the head; all of them when final, and the head
// regardless once too many wait.
func (j *sidecarJoin) drain(final bool) error {
	n := 0
	for n < len(j.pending) && (final || j.done[n] || len(j.pending)-n > maxPendingSources) {
		if !final && !j.done[n] && j.lookup != nil {
			etag, err := j.lookup(j.pending[n].Key + SidecarSuffix)
			if err != nil {
				return err
			}
			j.pending[n].SidecarETag = etag
		}
		if err := j.emit(j.pending[n]); err != nil {
			return err
		}
		n++
	}
	if n > 0 {
		j.pending = append(j.pending[:0], j.pending[n:]...)
		j.done = append(j.done[:0], j.done[n:]...)
	}
	return nil
}

func (j *sidecarJoin) flush() error { return j.drain(true) }

// flushCut settles what waits when the listing was cut short (a shard's upper bound):
// a source whose sidecar may sort past the cut is asked for it directly.
func (j *sidecarJoin) flushCut() error {
	for i := range j.pending {
		if !j.done[i] && j.lookup != nil {
			etag, err := j.lookup(j.pending[i].Key + SidecarSuffix)
			if err != nil {
				return err
			}
			j.pending[i].SidecarETag, j.done[i] = etag, true
		}
	}
	return j.drain(true)
}
