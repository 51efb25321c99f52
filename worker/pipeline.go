package worker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// Extractor turns the bytes of one document into cleaned text with structure.
type Extractor interface {
	Extract(ctx context.Context, data []byte) (document.Document, error)
}

// ExtractorFunc adapts a function to Extractor.
type ExtractorFunc func(ctx context.Context, data []byte) (document.Document, error)

func (f ExtractorFunc) Extract(ctx context.Context, data []byte) (document.Document, error) {
	return f(ctx, data)
}

// Chunker cuts a document's text into spans.
type Chunker interface {
	Chunk(ctx context.Context, doc document.Document) ([]document.Span, error)
}

// ChunkerFunc adapts a function to Chunker.
type ChunkerFunc func(ctx context.Context, doc document.Document) ([]document.Span, error)

func (f ChunkerFunc) Chunk(ctx context.Context, doc document.Document) ([]document.Span, error) {
	return f(ctx, doc)
}

// Embedder turns texts into vectors, one per text, all of one dimension.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Model names the model and every setting that changes its vectors.
	Model() string
}

// Source is where documents are read from.
type Source interface {
	List(ctx context.Context, prefix string, recursive bool, fn func(storage.ObjectInfo) error) error
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// InfoOpener is implemented by sources that report an object's current size, ETag and
// version along with its content (S3's GetObject does), saving a separate metadata request.
type InfoOpener interface {
	OpenInfo(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error)
}

// Store is where outputs are written. Put must be atomic and durable when it returns.
type Store interface {
	List(ctx context.Context, prefix string, recursive bool, fn func(storage.ObjectInfo) error) error
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, r io.Reader) error
	Delete(ctx context.Context, key string) error
}

// Limits are the per-document caps (ARCHITECTURE.md, "Configuration").
type Limits struct {
	MaxObjectBytes int64
	// DocumentTimeout bounds the extraction of one document.
	DocumentTimeout time.Duration
	// PDFTimeoutBase and PDFTimeoutPerPage bound a PDF's extraction instead.
	PDFTimeoutBase    time.Duration
	PDFTimeoutPerPage time.Duration
}

// PipelineConfig is everything a Pipeline is built from.
type PipelineConfig struct {
	// Detect names a document's format from its name and bytes ("" when unsupported).
	Detect func(name string, data []byte) string
	// DetectNotPDF, when set, names the format to try when the PDF extractor finds a
	// document corrupt: bytes that only mention "%PDF-" early on (a note about PDFs).
	DetectNotPDF func(name string, data []byte) string
	// Extractors maps each format Detect returns to its extractor.
	Extractors map[string]Extractor
	// PageHint estimates a document's page count before extraction, to size the PDF time
	// limit; optional.
	PageHint func(format string, data []byte) int
	// ChunkerFor picks the chunker for a document of the given format and source key.
	ChunkerFor func(format, key string) Chunker
	// Tokenizer names the unit the chunkers count in, recorded in every chunk.
	Tokenizer string
	Embedder  Embedder
	// EmbedBatch is how many chunks go to the embedder per call.
	EmbedBatch int
	Limits     Limits
	// Fingerprint identifies every setting that changes outputs; it is in every record.
	Fingerprint string
	// SourceURI maps a source key to the URI written in records (s3://bucket/key, or the
	// relative path for a local folder).
	SourceURI func(key string) string
	// NoETag leaves source.etag out of the records, for sources whose change token is not
	// an ETag (a local file's size and modification time, a planning shortcut): records
	// name the content by its sha256, so identical bytes give identical outputs.
	NoETag bool
	// NoSidecars turns off reading <key>.metadata.json beside each source.
	NoSidecars bool
	// Labeler, when set, classifies every chunk (labeling issue): confident ones go to
	// labeled/auto/, uncertain ones to the labeling spool.
	Labeler Labeler
	Logger  *slog.Logger
	// BeforeCommit, when set, is called just before a source's state is committed, its
	// outputs written (instrumentation; the crash tests hold a worker there to kill it
	// with documents in flight).
	BeforeCommit func(ctx context.Context, source string)
	// Now is the clock for state records; nil means time.Now.
	Now func() time.Time
}

// Validate names the missing or bad field.
func (c *PipelineConfig) Validate() error {
	switch {
	case c.Detect == nil:
		return errors.New("pipeline: Detect is required")
	case len(c.Extractors) == 0:
		return errors.New("pipeline: Extractors is required")
	case c.ChunkerFor == nil:
		return errors.New("pipeline: ChunkerFor is required")
	case c.Embedder == nil:
		return errors.New("pipeline: Embedder is required")
	case c.Fingerprint == "":
		return errors.New("pipeline: Fingerprint is required")
	case c.EmbedBatch < 1:
		return fmt.Errorf("pipeline: EmbedBatch must be at least 1, got %d", c.EmbedBatch)
	case c.Limits.MaxObjectBytes < 1:
		return fmt.Errorf("pipeline: MaxObjectBytes must be at least 1, got %d", c.Limits.MaxObjectBytes)
	case c.Limits.DocumentTimeout <= 0:
		return fmt.Errorf("pipeline: DocumentTimeout must be positive, got %s", c.Limits.DocumentTimeout)
	}
	return nil
}

// Pipeline processes one source object into its outputs. It is safe for concurrent use;
// memory per call is bounded by the caps, not by the corpus.
type Pipeline struct {
	cfg PipelineConfig
	out Store
	// pause, when set (tests), is called at the points where races with other writers are
	// decided: "fetched" (the content is read, no output written yet) and "commit" (just
	// before the state head is written). Tests block there to force an interleaving.
	pause func(stage, source string)
	// noConditional logs once that the store cannot write conditionally.
	noConditional sync.Once
}

// NewPipeline checks the configuration and returns a Pipeline writing to out.
func NewPipeline(cfg PipelineConfig, out Store) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SourceURI == nil {
		cfg.SourceURI = func(k string) string { return k }
	}
	return &Pipeline{cfg: cfg, out: out}, nil
}

// Fingerprint returns the pipeline fingerprint written into every record.
func (p *Pipeline) Fingerprint() string { return p.cfg.Fingerprint }

// Result is what processing one object did.
type Result struct {
	Source string
	Bytes  int64
	Chunks int
	// Failure is set when the document failed; its record has been written.
	Failure *FailureRecord
	// Labels counts the chunks labeled, by status, when a Labeler is configured.
	Labels LabelCounts
	// Elapsed per stage.
	Fetch, Extract, Chunk, Embed, Write time.Duration
}

// Process runs one object through fetch, extract, chunk, embed and write. A document that
// fails (bad input, a cap) gets its failure record and state written and Process returns
// a nil error with Result.Failure set; a non-nil error means the outputs could not be
// written (or ctx ended) and the object must be tried again later.
func (p *Pipeline) Process(ctx context.Context, src Source, obj storage.ObjectInfo, attempts int) (Result, error) {
	for try := 0; ; try++ {
		head, err := p.readHead(ctx, obj.Key)
		if err != nil {
			return Result{Source: obj.Key}, err
		}
		res, err := p.processOnce(ctx, src, obj, attempts, head)
		if try > 0 && errors.Is(err, storage.ErrNotFound) {
			// A writer that lost a race and finds the object gone takes away what it
			// wrote, whatever the winner's state says (RemoveGone checks again).
			_, err = p.RemoveGone(ctx, src, obj.Key, head.state.Sequencer)
			return res, err
		}
		if !errors.Is(err, errConflict) {
			return res, err
		}
		if try == maxConflicts {
			return res, fmt.Errorf("%s: %w %d times in a row; will try again", obj.Key, errConflict, try+1)
		}
		// Another writer committed this source while we worked: our outputs may have
		// overwritten its newer ones. Do the source again as it is now (the next attempt
		// reads the new head and keeps the newer sequencer).
		p.cfg.Logger.Info("another writer committed this source meanwhile: processing it again as it is now", "source", obj.Key)
	}
}

func (p *Pipeline) processOnce(ctx context.Context, src Source, obj storage.ObjectInfo, attempts int, head stateHead) (res Result, err error) {
	res.Source = obj.Key
	if head.found && SequencerLess(obj.Sequencer, head.state.Sequencer) {
		obj.Sequencer = head.state.Sequencer // keep the ordering the last real event established
	}
	obj.Size = max(obj.Size, 0)
	defer func() {
		if v := recover(); v != nil {
			p.cfg.Logger.Error("panic in pipeline", "source", obj.Key, "panic", v, "stack", string(debug.Stack()))
			err = document.Permanentf(document.ReasonInternal, "internal error processing %s: %v", obj.Key, v)
			res, err = p.fail(ctx, obj, res, nil, attempts, err, head)
		}
	}()
	data, meta, err := p.fetch(ctx, src, &obj, &res)
	if err != nil {
		return p.fail(ctx, obj, res, meta, attempts, err, head)
	}
	if p.pause != nil {
		p.pause("fetched", obj.Key)
	}
	if !p.cfg.NoSidecars {
		sc, err := readSidecar(ctx, src, obj.Key)
		if sc != nil {
			meta.sidecarETag, meta.attrs = sc.etag, sc.attrs
		} else if obj.SidecarETag != "" && err == nil {
			obj.SidecarETag = "" // removed since the listing
		}
		if err != nil {
			return p.fail(ctx, obj, res, meta, attempts, err, head)
		}
		obj.SidecarETag = meta.sidecarETag
	}
	doc, err := p.extract(ctx, obj.Key, data, &res)
	data = nil // let the bytes go before chunking
	if err != nil {
		return p.fail(ctx, obj, res, meta, attempts, err, head)
	}
	t := time.Now()
	spans, err := p.cfg.ChunkerFor(doc.Format, obj.Key).Chunk(ctx, doc)
	res.Chunk = time.Since(t)
	if err != nil {
		return p.fail(ctx, obj, res, meta, attempts, fmt.Errorf("chunk %s: %w", obj.Key, err), head)
	}
	if len(spans) == 0 {
		return p.fail(ctx, obj, res, meta, attempts, document.Permanentf(document.ReasonEmpty, "%s: no text to chunk", obj.Key), head)
	}
	if err := p.write(ctx, obj, meta, doc, spans, &res); err != nil {
		if _, permanent := document.Classify(err); permanent {
			return p.fail(ctx, obj, res, meta, attempts, err, head)
		}
		return res, err
	}
	res.Chunks = len(spans)
	if err := p.commit(ctx, obj, meta, statusOK, "", len(spans), attempts, head); err != nil {
		return res, err
	}
	return res, nil
}

// sourceMeta is what fetching learned about the content.
type sourceMeta struct {
	sha256 string
	etag   string
	// the metadata sidecar's change token and attributes, when there is one
	sidecarETag string
	attrs       map[string]any
}

// fetch reads the object under the size cap. When the source reports metadata with the
// content, obj is updated to what was actually read.
func (p *Pipeline) fetch(ctx context.Context, src Source, obj *storage.ObjectInfo, res *Result) ([]byte, *sourceMeta, error) {
	t := time.Now()
	defer func() { res.Fetch = time.Since(t) }()
	limit := p.cfg.Limits.MaxObjectBytes
	if obj.Size > limit {
		return nil, nil, document.Permanentf(document.ReasonTooLarge, "%s: %d bytes, over the object cap of %d", obj.Key, obj.Size, limit)
	}
	var rc io.ReadCloser
	var err error
	if io, ok := src.(InfoOpener); ok {
		var info storage.ObjectInfo
		rc, info, err = io.OpenInfo(ctx, obj.Key)
		if err == nil {
			obj.Size, obj.ETag, obj.VersionID = info.Size, info.ETag, info.VersionID
		}
	} else {
		rc, err = src.Open(ctx, obj.Key)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("fetch %s: %w", obj.Key, err)
	}
	defer rc.Close()
	if obj.Size > limit {
		return nil, nil, document.Permanentf(document.ReasonTooLarge, "%s: %d bytes, over the object cap of %d", obj.Key, obj.Size, limit)
	}
	var buf bytes.Buffer
	if obj.Size > 0 {
		buf.Grow(int(min(obj.Size, limit) + 1))
	}
	n, err := io.Copy(&buf, io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("fetch %s: %w", obj.Key, err)
	}
	if n > limit {
		return nil, nil, document.Permanentf(document.ReasonTooLarge, "%s: over the object cap of %d bytes", obj.Key, limit)
	}
	res.Bytes = n
	data := buf.Bytes()
	sum := sha256.Sum256(data)
	meta := &sourceMeta{sha256: hex.EncodeToString(sum[:]), etag: obj.ETag}
	if p.cfg.NoETag {
		meta.etag = ""
	}
	if n == 0 {
		return nil, meta, document.Permanentf(document.ReasonEmpty, "%s: empty file", obj.Key)
	}
	return data, meta, nil
}

// extract detects the format and runs its extractor under a recover and a deadline. A
// panic or a deadline is a permanent failure naming the document and the cap.
func (p *Pipeline) extract(ctx context.Context, key string, data []byte, res *Result) (document.Document, error) {
	t := time.Now()
	defer func() { res.Extract = time.Since(t) }()
	format := p.cfg.Detect(key, data)
	ex, ok := p.cfg.Extractors[format]
	if format == "" || !ok {
		return document.Document{}, document.Permanentf(document.ReasonUnsupported, "%s: unsupported file type (%s)", key, sniffName(data))
	}
	timeout := p.cfg.Limits.DocumentTimeout
	if format == "pdf" && p.cfg.Limits.PDFTimeoutBase > 0 {
		pages := 0
		if p.cfg.PageHint != nil {
			pages = p.cfg.PageHint(format, data)
		}
		timeout = p.cfg.Limits.PDFTimeoutBase + time.Duration(pages)*p.cfg.Limits.PDFTimeoutPerPage
	}
	ectx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The extractor runs here, not in a goroutine left behind at the deadline: every
	// extractor checks its context as it goes (PDF children are killed), so the work has
	// really ended when this returns, and the caller's slot is free only then.
	doc, err := runExtractor(ectx, ex, key, format, data)
	if reason, _ := document.Classify(err); format == "pdf" && reason == document.ReasonCorrupt && p.cfg.DetectNotPDF != nil && ectx.Err() == nil {
		if alt := p.cfg.DetectNotPDF(key, data); alt != "" && alt != format && p.cfg.Extractors[alt] != nil {
			p.cfg.Logger.Info("not a readable PDF: read as its name says", "source", key, "format", alt, "pdf_error", err)
			format = alt
			doc, err = runExtractor(ectx, p.cfg.Extractors[alt], key, alt, data)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return document.Document{}, ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) || ectx.Err() != nil {
			return document.Document{}, document.Permanentf(document.ReasonTimeout, "%s: extraction exceeded the %s time limit", key, timeout)
		}
		return document.Document{}, fmt.Errorf("%s: %w", key, err)
	}
	return doc, nil
}

// runExtractor calls the extractor under a recover: a parser's panic is a permanent
// corrupt failure naming the file.
func runExtractor(ctx context.Context, ex Extractor, key, format string, data []byte) (doc document.Document, err error) {
	defer func() {
		if v := recover(); v != nil {
			doc, err = document.Document{}, document.Permanentf(document.ReasonCorrupt, "%s: %s parser failed: %v", key, format, v)
		}
	}()
	return ex.Extract(ctx, data)
}

// sniffName describes unsupported bytes for the failure message.
func sniffName(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG")):
		return "PNG image"
	case bytes.HasPrefix(data, []byte("\xFF\xD8\xFF")):
		return "JPEG image"
	case bytes.HasPrefix(data, []byte("GIF8")):
		return "GIF image"
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return "zip archive that is not a Word document"
	case bytes.HasPrefix(data, []byte("\xD0\xCF\x11\xE0")):
		return "legacy or encrypted Office file"
	case bytes.HasPrefix(data, []byte("\x1F\x8B")):
		return "gzip archive"
	}
	return "binary content"
}

// write streams text/ and chunks/ for one document. The chunk file is produced while the
// embedder works through batches, so memory holds one batch of vectors at a time.
func (p *Pipeline) write(ctx context.Context, obj storage.ObjectInfo, meta *sourceMeta, doc document.Document, spans []document.Span, res *Result) error {
	t := time.Now()
	if err := p.out.Put(ctx, layout.Text(obj.Key), strings.NewReader(doc.Text)); err != nil {
		return fmt.Errorf("write text of %s: %w", obj.Key, err)
	}
	pr, pw := io.Pipe()
	var embedTime time.Duration
	var labels LabelCounts
	encoded := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(pw, 256<<10)
		err := p.encodeChunks(ctx, bw, obj, meta, doc, spans, &embedTime, &labels)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
		encoded <- err
	}()
	err := p.out.Put(ctx, layout.Chunks(obj.Key), pr)
	pr.CloseWithError(errors.New("chunk writer stopped")) // unblock the encoder if Put gave up
	encErr := <-encoded
	res.Embed, res.Labels = embedTime, labels
	res.Write = time.Since(t) - embedTime
	if _, permanent := document.Classify(encErr); permanent {
		return encErr // the document's own fault (the output bound): not the store's
	}
	if err != nil {
		return fmt.Errorf("write chunks of %s: %w", obj.Key, err)
	}
	return nil
}

// The output bound (ARCHITECTURE.md, invariant 6): the text and chunk files of one
// document together hold at most OutputPerTextByte bytes per byte of its text plus
// OutputPerChunk bytes and OutputPerDimension bytes per vector dimension for each chunk.
// The per-chunk part covers a record's fixed fields, its heading path (titles are capped
// at 256 bytes) and its metadata (sidecars are capped at 16 KiB), so that small chunks
// with large vectors stay legal; the per-byte part covers the text itself, JSON escaping
// and overlapping or nested chunks. A document that would write more fails as too_large
// while it is being written.
const (
	OutputPerTextByte  = 16
	OutputPerChunk     = 48 << 10
	OutputPerDimension = 32
)

// boundedWriter counts what the chunk file takes and fails once the output bound is passed.
type boundedWriter struct {
	w               io.Writer
	key             string
	written, budget int64
}

func (b *boundedWriter) allow(n int64) { b.budget += n }

func (b *boundedWriter) Write(p []byte) (int, error) {
	if b.written += int64(len(p)); b.written > b.budget {
		return 0, document.Permanentf(document.ReasonTooLarge,
			"%s: outputs would exceed the bound of %d bytes per text byte plus %d bytes and %d per vector dimension per chunk (%d bytes)",
			b.key, OutputPerTextByte, OutputPerChunk, OutputPerDimension, b.budget)
	}
	return b.w.Write(p)
}

func (p *Pipeline) encodeChunks(ctx context.Context, w io.Writer, obj storage.ObjectInfo, meta *sourceMeta, doc document.Document, spans []document.Span, embedTime *time.Duration, counts *LabelCounts) error {
	ref := SourceRef{URI: p.cfg.SourceURI(obj.Key), ETag: meta.etag, VersionID: obj.VersionID, SHA256: meta.sha256}
	bw := &boundedWriter{w: w, key: obj.Key, budget: int64(OutputPerTextByte-1) * int64(len(doc.Text))} // the text file is one of the bytes
	w = bw
	model := p.cfg.Embedder.Model()
	texts := make([]string, 0, p.cfg.EmbedBatch)
	var session LabelSession
	var inputs []document.LabelInput
	if p.cfg.Labeler != nil {
		session = p.cfg.Labeler.Begin(obj.Key)
	}
	var line []byte
	for b := 0; b < len(spans); b += p.cfg.EmbedBatch {
		batch := spans[b:min(len(spans), b+p.cfg.EmbedBatch)]
		texts = texts[:0]
		for _, s := range batch {
			texts = append(texts, doc.Text[s.Start:s.End])
		}
		t := time.Now()
		vecs, err := p.cfg.Embedder.Embed(ctx, texts)
		*embedTime += time.Since(t)
		if err != nil {
			return fmt.Errorf("embed %s: %w", obj.Key, err)
		}
		if len(vecs) != len(batch) {
			return fmt.Errorf("embed %s: %d vectors for %d texts", obj.Key, len(vecs), len(batch))
		}
		var labels []document.Label
		if session != nil {
			inputs = inputs[:0]
			for i := range batch {
				s := batch[i]
				inputs = append(inputs, document.LabelInput{ID: chunkID(obj.Key, b+i, p.cfg.Fingerprint), Index: b + i, Text: texts[i], Embedding: vecs[i],
					Before: doc.Text[runeStart(doc.Text, s.Start-document.LabelContext):s.Start], After: doc.Text[s.End:runeStart(doc.Text, s.End+document.LabelContext)]})
			}
			if labels, err = session.Label(ctx, inputs); err != nil {
				return fmt.Errorf("label %s: %w", obj.Key, err)
			}
		}
		for i, s := range batch {
			idx := b + i
			rec := ChunkRecord{
				Schema:         ChunkSchema,
				ID:             chunkID(obj.Key, idx, p.cfg.Fingerprint),
				Source:         ref,
				Index:          idx,
				Start:          s.Start,
				End:            s.End,
				PageStart:      doc.PageAt(s.Start),
				PageEnd:        doc.PageAt(max(s.Start, s.End-1)),
				HeadingPath:    s.HeadingPath,
				Tokens:         s.Tokens,
				Tokenizer:      p.cfg.Tokenizer,
				Text:           texts[i],
				Embedding:      vecs[i],
				EmbeddingModel: model,
				Metadata:       meta.attrs,
				Pipeline:       p.cfg.Fingerprint,
			}
			if labels != nil {
				rec.Label = &labels[i]
				counts.add(labels[i].Status)
			}
			if rec.HeadingPath == nil {
				rec.HeadingPath = doc.HeadingPath(s.Start)
				if rec.HeadingPath == nil {
					rec.HeadingPath = []string{}
				}
			}
			if s.Parent >= 0 {
				rec.ParentID = chunkID(obj.Key, s.Parent, p.cfg.Fingerprint)
			}
			bw.allow(OutputPerChunk + OutputPerDimension*int64(len(vecs[i])))
			line, err = appendJSONLine(line[:0], &rec)
			if err != nil {
				return fmt.Errorf("encode chunk %d of %s: %w", idx, obj.Key, err)
			}
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
	}
	if session != nil {
		if err := session.Finish(ctx); err != nil {
			return fmt.Errorf("label %s: %w", obj.Key, err)
		}
	}
	return nil
}

// runeStart returns the start of the character holding byte i of s, clamped to s.
func runeStart(s string, i int) int {
	if i <= 0 {
		return 0
	}
	if i >= len(s) {
		return len(s)
	}
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}

func appendJSONLine(dst []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}

// fail records a document's failure: failed/<source>.json, removal of outputs an earlier
// success left, and the state (so that an unchanged input is not retried on every run).
// Transient errors (I/O, cancellation) are returned, not recorded, so the caller retries.
func (p *Pipeline) fail(ctx context.Context, obj storage.ObjectInfo, res Result, meta *sourceMeta, attempts int, cause error, head stateHead) (Result, error) {
	reason, permanent := document.Classify(cause)
	if !permanent {
		return res, cause
	}
	rec := &FailureRecord{
		Source:      obj.Key,
		SourceBytes: sourceBytes(obj.Key),
		Reason:      string(reason),
		Error:       cause.Error(),
		Permanent:   true,
		Attempts:    attempts,
		Pipeline:    p.cfg.Fingerprint,
	}
	res.Failure = rec
	body, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return res, err
	}
	if err := p.out.Put(ctx, layout.Failed(obj.Key), bytes.NewReader(append(body, '\n'))); err != nil {
		return res, fmt.Errorf("write failure record of %s: %w", obj.Key, err)
	}
	for _, k := range []string{layout.Text(obj.Key), layout.Chunks(obj.Key)} {
		if err := p.out.Delete(ctx, k); err != nil {
			return res, fmt.Errorf("remove stale output of %s: %w", obj.Key, err)
		}
	}
	if p.cfg.Labeler != nil {
		if err := p.cfg.Labeler.Remove(ctx, obj.Key); err != nil {
			return res, fmt.Errorf("remove stale labels of %s: %w", obj.Key, err)
		}
	}
	if meta == nil {
		meta = &sourceMeta{etag: obj.ETag}
	}
	if err := p.commit(ctx, obj, meta, statusFailed, string(reason), 0, attempts, head); err != nil {
		return res, err
	}
	return res, nil
}

// RecordTransient writes a failure record for an error that is not the input's fault (so
// `failed list` shows it), without state: the next run tries the source again.
func (p *Pipeline) RecordTransient(ctx context.Context, key string, attempts int, cause error) error {
	reason, _ := document.Classify(cause)
	rec := FailureRecord{Source: key, SourceBytes: sourceBytes(key), Reason: string(reason), Error: cause.Error(), Attempts: attempts, Pipeline: p.cfg.Fingerprint}
	body, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return p.out.Put(ctx, layout.Failed(key), bytes.NewReader(append(body, '\n')))
}

// RecordMessageFailure writes failed/_messages/<id>.json for a queue message that names
// no source (its body could not be parsed).
func (p *Pipeline) RecordMessageFailure(ctx context.Context, messageID string, cause error) error {
	rec := FailureRecord{MessageID: messageID, Reason: string(document.ReasonMalformedEvent), Error: cause.Error(), Permanent: true, Attempts: 1, Pipeline: p.cfg.Fingerprint}
	body, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return p.out.Put(ctx, layout.MessageFailure(messageID), bytes.NewReader(append(body, '\n')))
}
