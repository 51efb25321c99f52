package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go/compress"

	"github.com/docingest/docingest/dataset"
	"github.com/docingest/docingest/document"
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
	// OCRTimeoutPerPage bounds OCR: a scanned PDF gets DocumentTimeout plus this much
	// per page for its OCR, after its text-layer extraction; an image, DocumentTimeout
	// plus this much.
	OCRTimeoutPerPage time.Duration
}

// PipelineConfig is everything a Pipeline is built from.
type PipelineConfig struct {
	// Detect names a document's format from its name and bytes ("" when unsupported).
	Detect func(name string, data []byte) string
	// OCR, when set, gives the OCR steps. It is called on first need (the first PDF or
	// image), from any goroutine, and must return the same steps every time: a run over
	// formats that need no OCR never asks, so never starts tesseract to learn its version.
	OCR func() OCRSteps
	// OCRFormats are the formats read only by OCR (images): their time limit includes one
	// page of OCR.
	OCRFormats []string
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
	// Fingerprint identifies every setting that changes the outputs of a document whose
	// format runs no outside program; it is in every record of such a document, and of
	// one that failed before its format was known.
	Fingerprint string
	// ToolsFingerprint, when set, is the fingerprint of the formats ToolFormats names,
	// whose outputs also depend on outside programs (their versions, which are installed).
	// It is called on first need, from any goroutine, and must return the same value
	// every time: a tesseract upgrade redoes scans, not plain text, and a run that meets
	// no such format never asks for the programs' versions.
	ToolsFingerprint func() string
	ToolFormats      []string
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
	// ChunksFormat is ChunksJSONL ("" too) or ChunksParquet: the format of
	// chunks/<source>.jsonl or .parquet (output.chunks_format).
	ChunksFormat string
	// Vectors, when set, receives every committed source's embeddings and loses those of
	// removed or re-chunked ones (output.vector_index).
	Vectors VectorIndex
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
	case c.ChunksFormat != "" && c.ChunksFormat != ChunksJSONL && c.ChunksFormat != ChunksParquet:
		return fmt.Errorf("pipeline: ChunksFormat must be jsonl or parquet, got %q", c.ChunksFormat)
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
	// codec compresses Parquet chunk files; shared, as it pools its encoders.
	codec compress.Codec
	// chunkBufs are the chunk encoders' write buffers (*bufio.Writer of 256 KiB), reused:
	// a new one per document, zeroed and often faulted in, was about 4% of the CPU time of
	// small documents.
	chunkBufs sync.Pool
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
	p := &Pipeline{cfg: cfg, out: out}
	if cfg.ChunksFormat == ChunksParquet {
		p.codec = dataset.NewCodec()
	}
	return p, nil
}

// OCRSteps are the OCR steps of a pipeline.
type OCRSteps struct {
	// Scan, when set, reads a PDF whose extraction found no text layer (extractors/ocr);
	// Off says why it is not set, for the failure record of a scan.
	Scan func(ctx context.Context, data []byte) (document.Document, error)
	Off  string
	// Pages, when set, reads the image-only pages of a PDF that has a text layer (a
	// scanned page inside a text document) and adds their text to the document.
	Pages func(ctx context.Context, data []byte, doc document.Document) (document.Document, error)
}

// ocr returns the OCR steps (none when PipelineConfig.OCR is not set).
func (p *Pipeline) ocr() OCRSteps {
	if p.cfg.OCR == nil {
		return OCRSteps{}
	}
	return p.cfg.OCR()
}

// Fingerprint returns the pipeline fingerprint of the formats that run no outside program
// (every format when ToolsFingerprint is not set).
func (p *Pipeline) Fingerprint() string { return p.cfg.Fingerprint }

// fingerprintFor is the fingerprint of a document of format ("" before it is known).
func (p *Pipeline) fingerprintFor(format string) string {
	if p.cfg.ToolsFingerprint != nil && slices.Contains(p.cfg.ToolFormats, format) {
		return p.cfg.ToolsFingerprint()
	}
	return p.cfg.Fingerprint
}

// current tells whether fp is one of this pipeline's fingerprints. The tools' fingerprint
// is asked for only when fp is not the plain one.
func (p *Pipeline) current(fp string) bool {
	return fp == p.cfg.Fingerprint || (p.cfg.ToolsFingerprint != nil && fp == p.cfg.ToolsFingerprint())
}

// ReadsSidecars tells whether metadata sidecars (<key>.metadata.json) describe sources
// (false when PipelineConfig.NoSidecars is set).
func (p *Pipeline) ReadsSidecars() bool { return !p.cfg.NoSidecars }

// Object is a source object as the worker knows it: what a listing or a read reported,
// plus what events and metadata sidecars say about it.
type Object struct {
	storage.ObjectInfo
	// Sequencer is the S3 event sequencer that named this version, when an event did.
	Sequencer string
	// SidecarETag is the change token of the object's metadata sidecar
	// (<key>.metadata.json), when a listing found one.
	SidecarETag string
}

// ObjectAt is the Object for a key, as an event names it (the rest is read with the
// content).
func ObjectAt(key string) Object { return Object{ObjectInfo: storage.ObjectInfo{Key: key}} }

// Result is what processing one object did.
type Result struct {
	Source string
	Bytes  int64
	Chunks int
	// Failure is set when the document failed; its record has been written.
	Failure *FailureRecord
	// Attachments are the documents read from the source's attachments (Chunks counts
	// the source's own chunks only).
	Attachments []AttachmentState
	// Labels counts the chunks labeled, by status, when a Labeler is configured.
	Labels LabelCounts
	// Elapsed per stage: Encode is the writing of chunk records, Write the rest of
	// writing text/ and chunks/ (the store). An e-mail's attachments add theirs.
	StageTimes
}

// Process runs one object through fetch, extract, chunk, embed and write. A document that
// fails (bad input, a cap) gets its failure record and state written and Process returns
// a nil error with Result.Failure set; a non-nil error means the outputs could not be
// written (or ctx ended) and the object must be tried again later.
func (p *Pipeline) Process(ctx context.Context, src Source, obj Object, attempts int) (Result, error) {
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

func (p *Pipeline) processOnce(ctx context.Context, src Source, obj Object, attempts int, head stateHead) (res Result, err error) {
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
	doc, format, err := p.extract(ctx, obj.Key, data, &res)
	data = nil // let the bytes go before chunking
	meta.pipeline = p.fingerprintFor(format)
	if err != nil {
		return p.fail(ctx, obj, res, meta, attempts, err, head)
	}
	atts := doc.Attachments // documents of their own, read after this one
	doc.Attachments = nil
	var spans []document.Span
	if doc.Text != "" {
		t := time.Now()
		spans, err = p.cfg.ChunkerFor(doc.Format, obj.Key).Chunk(ctx, doc)
		res.Chunk = time.Since(t)
		if err != nil {
			return p.fail(ctx, obj, res, meta, attempts, fmt.Errorf("chunk %s: %w", obj.Key, err), head)
		}
	}
	switch {
	case len(spans) == 0 && len(atts) == 0:
		return p.fail(ctx, obj, res, meta, attempts, document.Permanentf(document.ReasonEmpty, "%s: no text to chunk", obj.Key), head)
	case len(spans) == 0:
		// a message that is only its attachments: no outputs of its own
		if err := p.dropOutputs(ctx, obj.Key, false); err != nil {
			return res, err
		}
	default:
		if err := p.write(ctx, obj, meta, doc, spans, &res); err != nil {
			if _, permanent := document.Classify(err); permanent {
				return p.fail(ctx, obj, res, meta, attempts, err, head)
			}
			return res, err
		}
	}
	kids, err := p.attachments(ctx, obj, meta, doc.Metadata, atts, attempts, &res)
	if err != nil {
		return res, err
	}
	if head.found {
		if err := p.dropAttachments(ctx, head.state.Attachments, kids); err != nil {
			return res, err
		}
	}
	res.Chunks = len(spans)
	res.Attachments = kids
	if err := p.commit(ctx, obj, meta, statusOK, "", len(spans), kids, attempts, head); err != nil {
		return res, err
	}
	return res, nil
}
