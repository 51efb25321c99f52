package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxSegment is the longest path segment the layout writes (file systems allow 255 bytes;
// the margin leaves room for the ".jsonl" and similar suffixes).
const maxSegment = 200

// EscapeSegment maps one segment of a source key to a path segment that is safe on any
// file system and in any S3 key, keeping it readable where it already is:
//
//   - a segment of printable UTF-8 without / \ : * ? " < > | % and not starting with a
//     space or ending in a space or dot is kept as it is;
//   - "." and ".." become "%2E" and "%2E%2E"; the empty segment becomes "%";
//   - otherwise every unsafe byte is percent-encoded (%XX, upper-case hex);
//   - a result over 200 bytes keeps its first 180 bytes (never cutting an escape or a
//     rune) followed by "%~" and 16 hex digits of the SHA-256 of the original segment.
//
// Kept segments never hold '%', escaped ones always do, and the hashed form is the only
// one with "%~", so the mapping is one-to-one (up to SHA-256 collisions).
func EscapeSegment(seg string) string {
	switch seg {
	case "":
		return "%"
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	out := seg
	if !segmentSafe(seg) {
		var b strings.Builder
		for i := 0; i < len(seg); {
			r, size := utf8.DecodeRuneInString(seg[i:])
			unsafe := r == utf8.RuneError && size <= 1 || !runeSafe(r) ||
				(i == 0 && r == ' ') || (i+size == len(seg) && (r == ' ' || r == '.'))
			if unsafe {
				for k := 0; k < size; k++ {
					b.WriteByte('%')
					b.WriteByte(hexDigits[seg[i+k]>>4])
					b.WriteByte(hexDigits[seg[i+k]&15])
				}
			} else {
				b.WriteString(seg[i : i+size])
			}
			i += size
		}
		out = b.String()
	}
	if len(out) > maxSegment {
		cut := 180
		for cut > 0 && (!utf8.RuneStart(out[cut]) || (cut >= 1 && out[cut-1] == '%') || (cut >= 2 && out[cut-2] == '%')) {
			cut--
		}
		sum := sha256.Sum256([]byte(seg))
		out = out[:cut] + "%~" + hex.EncodeToString(sum[:8])
	}
	return out
}

const hexDigits = "0123456789ABCDEF"

func segmentSafe(seg string) bool {
	if seg == "" || seg[0] == ' ' || seg[len(seg)-1] == ' ' || seg[len(seg)-1] == '.' {
		return false
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c < utf8.RuneSelf {
			if !runeSafe(rune(c)) {
				return false
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(seg[i:])
		if r == utf8.RuneError && size <= 1 || !runeSafe(r) {
			return false
		}
		i += size - 1
	}
	return true
}

func runeSafe(r rune) bool {
	switch {
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return false
	case r == 0xFEFF || r == 0xFFFD || (r >= 0xFFF9 && r <= 0xFFFF) || (r >= 0x200B && r <= 0x200F) || (r >= 0x2028 && r <= 0x202E):
		return false // invisible or direction-changing: unreadable in a listing
	}
	return !strings.ContainsRune(`/\:*?"<>|%`, r)
}

// maxSourcePath is the longest path SourcePath returns: with an output prefix of up to
// 400 bytes and the longest folder and suffix ("chunks/", ".jsonl"), every output key
// stays under S3's limit of 1,024 bytes, whatever the length of the source key.
const maxSourcePath = 600

// SourcePath maps a source key (a relative path, or "bucket/key" for S3) to the path under
// which its outputs live, escaping each segment with EscapeSegment. Two more rules keep
// it one-to-one and usable:
//
//   - a folder segment that ends like an output file (".txt", ".json", ".jsonl", ".parquet") has its
//     last dot escaped ("a.txt/b" gives "a%2Etxt/b"), so that the folder never collides
//     with the outputs of a source "a" beside it (text/a.txt);
//   - a path over 600 bytes keeps its first segments up to about 500 bytes and ends in a
//     segment "%~" followed by 32 hex digits of the SHA-256 of the whole source key.
func SourcePath(source string) string {
	segs := strings.Split(source, "/")
	for i, s := range segs {
		segs[i] = EscapeSegment(s)
		if i < len(segs)-1 {
			segs[i] = escapeOutputSuffix(segs[i])
		}
	}
	out := strings.Join(segs, "/")
	if len(out) <= maxSourcePath {
		return out
	}
	sum := sha256.Sum256([]byte(source))
	kept, n := segs[:0:0], 0
	for _, s := range segs[:len(segs)-1] {
		if n+len(s)+1 > maxSourcePath-100 {
			break
		}
		kept, n = append(kept, s), n+len(s)+1
	}
	return strings.Join(append(kept, "%~"+hex.EncodeToString(sum[:16])), "/")
}

// escapeOutputSuffix escapes the last dot of a folder segment that ends like an output file.
func escapeOutputSuffix(seg string) string {
	for _, suffix := range []string{".txt", ".jsonl", ".json", ".parquet"} {
		if strings.HasSuffix(seg, suffix) {
			dot := len(seg) - len(suffix)
			return seg[:dot] + "%2E" + seg[dot+1:]
		}
	}
	return seg
}

// The top-level folders and files of the output layout (ARCHITECTURE.md, "Output layout").
const (
	TextRoot     = "text/"
	ChunksRoot   = "chunks/"
	FailedRoot   = "failed/"
	StateRoot    = "state/"
	LabeledRoot  = "labeled/"
	LabelingRoot = "labeling/"
	CacheRoot    = "cache/"
	// ReindexRoot holds reindex's split points for shards and its checkpoints.
	ReindexRoot   = "reindex/"
	ReindexSplits = ReindexRoot + "splits.json"
	// ModelRecord names the output's one embedding model.
	ModelRecord = "embeddings.json"

	// MessageFailures holds the failure records of queue messages that name no source.
	MessageFailures = FailedRoot + "_messages/"

	// Labeling: the spool of uncertain chunks, classifier versions, human labels by text
	// hash, jobs, the daily budget and the dispatcher's lease.
	PendingRoot    = LabelingRoot + "pending/"
	ClassifierRoot = LabelingRoot + "classifier/"
	HumanLabelRoot = LabelingRoot + "human/"
	JobsRoot       = LabelingRoot + "jobs/"
	BudgetRoot     = LabelingRoot + "budget/"
	LeaseKey       = LabelingRoot + "lease.json"

	// EmbeddingCacheRoot holds cached vectors, one folder per model.
	EmbeddingCacheRoot = CacheRoot + "embeddings/"

	// HeadName is the name of the state file every commit of a source is conditional on.
	HeadName = "head.json"
)

// Roots lists the top-level folders (ending in "/") and files the layout writes.
func Roots() []string {
	return []string{TextRoot, ChunksRoot, FailedRoot, StateRoot, LabeledRoot, LabelingRoot, CacheRoot, ReindexRoot, ModelRecord}
}

// IsOutputKey reports whether key (relative to a bucket) is one of the outputs written
// under prefix: under the prefix and in one of the layout's top-level folders.
func IsOutputKey(key, prefix string) bool {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return false
	}
	for _, r := range Roots() {
		if strings.HasSuffix(r, "/") && strings.HasPrefix(rest, r) || rest == r {
			return true
		}
	}
	return false
}

// Text is the key of a source's cleaned text.
func Text(src string) string { return TextRoot + SourcePath(src) + ".txt" }

// Chunks is the key of a source's chunk records.
func Chunks(src string) string { return ChunksRoot + SourcePath(src) + ".jsonl" }

// ChunksParquet is the key of a source's chunk records when output.chunks_format is
// parquet.
func ChunksParquet(src string) string { return ChunksRoot + SourcePath(src) + ".parquet" }

// ChunkFiles are both keys a source's chunk records can have: removing a source removes
// both, whichever format wrote it.
func ChunkFiles(src string) []string { return []string{Chunks(src), ChunksParquet(src)} }

// Failed is the key of a source's failure record.
func Failed(src string) string { return FailedRoot + SourcePath(src) + ".json" }

// MessageFailure is the key of the failure record of a queue message that names no source.
func MessageFailure(messageID string) string {
	return MessageFailures + EscapeSegment(messageID) + ".json"
}

// StateDir is the folder of a source's state files.
func StateDir(src string) string { return StateRoot + SourcePath(src) + "/" }

// StateHead is the key of a source's head state, which every commit is conditional on.
func StateHead(src string) string { return StateDir(src) + HeadName }

// IsStateHead reports whether a key listed under a state folder is its head.
func IsStateHead(key string) bool { return strings.HasSuffix(key, "/"+HeadName) }

// StateName is the name of the state file for a source processed by pipeline fp from a
// version whose change token is tok: planning compares names from a listing, never bodies.
func StateName(fp, tok string) string {
	return fp + "-" + TokenDigest(tok) + ".json"
}

// TokenDigest is the part of a state file's name that stands for the change token tok.
func TokenDigest(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:8])
}

// StateNameParts splits a state file's name into the pipeline fingerprint and the change
// token's digest it was made from; ok is false for a tombstone or any other name.
func StateNameParts(name string) (fp, digest string, ok bool) {
	rest, isJSON := strings.CutSuffix(name, ".json")
	i := strings.LastIndexByte(rest, '-')
	if !isJSON || i <= 0 || strings.HasPrefix(name, TombstonePrefix) {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

// TombstoneName is the name of the state left by a removal: recognisable in a listing, so
// that planning a reindex knows the source is gone without reading it.
func TombstoneName(sequencer string) string {
	h := sha256.Sum256([]byte(sequencer))
	return TombstonePrefix + hex.EncodeToString(h[:8]) + ".json"
}

// TombstonePrefix starts the name of every tombstone.
const TombstonePrefix = "deleted-"

// ReindexCheckpoint is the checkpoint of a reindex that enqueues, by name ("all" for an
// unsharded one, "<i>-of-<n>" for a shard).
func ReindexCheckpoint(name string) string {
	return ReindexRoot + "checkpoints/" + EscapeSegment(name) + ".json"
}

// AutoLabels is the key of a source's automatic labels.
func AutoLabels(src string) string { return LabeledRoot + "auto/" + SourcePath(src) + ".jsonl" }

// HumanDataset is the key of the human labels of one collected job.
func HumanDataset(job string) string { return LabeledRoot + "human/" + job + ".jsonl" }

// Pending is the folder of a source's items waiting for a labeling job.
func Pending(src string) string { return PendingRoot + SourcePath(src) + "/" }

// Job is the folder of one labeling job.
func Job(name string) string { return JobsRoot + name + "/" }

// LocalJob is the record of a local labeling job (one labeled in docingest review): its
// status, the workers each item needs, when it was created and ended.
func LocalJob(name string) string { return Job(name) + "local.json" }

// JobAnswers is the folder of a local job's answers: one object per item and reviewer
// (<item>/<reviewer hash>.json), so answers given at the same moment never overwrite each
// other.
func JobAnswers(name string) string { return Job(name) + "answers/" }

// JobLeases is the folder of a local job's item leases (<item>.json): the reviewer an
// item is shown to, until when.
func JobLeases(name string) string { return Job(name) + "leases/" }

// JobOutputManifest is where a job's output manifest is written: Ground Truth's place for
// it under the job's output path (<output path><job>/manifests/output/output.manifest),
// which local jobs use too.
func JobOutputManifest(name string) string {
	return Job(name) + "output/" + name + "/manifests/output/output.manifest"
}

// EmbeddingCache is the folder of one model's cached vectors; modelHash names the model.
func EmbeddingCache(modelHash string) string { return EmbeddingCacheRoot + modelHash + "/" }

// AttachmentKey is the source key of a document carried inside another (an e-mail's
// attachment): "<parent>#<n>-<name>", n counting the parent's attachments from 1. The
// name's slashes become "_" so that the key adds no folder: the attachment's outputs sit
// beside its parent's (chunks/inbox/a.eml#1-report.pdf.jsonl). A missing name is
// "attachment".
func AttachmentKey(parent string, n int, name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	if name == "" {
		name = "attachment"
	}
	return parent + "#" + strconv.Itoa(n) + "-" + name
}
