package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/docingest/docingest/extractors/legacy"
	"github.com/docingest/docingest/extractors/ocr"
	"github.com/docingest/docingest/extractors/pdf"
	"github.com/docingest/docingest/extractors/pdfchild"

	"github.com/docingest/docingest/chunkers"
	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/labeling"
	"github.com/docingest/docingest/vectorindex"
	"github.com/docingest/docingest/wordpiece"
	"github.com/docingest/docingest/worker"
	"github.com/prometheus/client_golang/prometheus"
)

// pipelineVersion changes whenever extraction, cleaning or record code changes outputs in a
// way the configuration does not show; it is part of the fingerprint.
const pipelineVersion = "2026-12-02.3"

// extractorTable maps each format name extractors.Detect returns to its extractor.
func extractorTable(cfg extractors.Config) map[string]worker.Extractor {
	lim := cfg.Limits()
	return map[string]worker.Extractor{
		extractors.FormatPDF:      pdf.Extractor{Limits: lim},
		extractors.FormatHTML:     extractors.HTMLExtractor{Limits: lim},
		extractors.FormatMarkdown: extractors.MarkdownExtractor{Limits: lim},
		extractors.FormatText:     extractors.TextExtractor{Limits: lim},
		extractors.FormatDOCX:     extractors.DOCXExtractor{Limits: lim},
		extractors.FormatXLSX:     extractors.XLSXExtractor{Limits: lim},
		extractors.FormatPPTX:     extractors.PPTXExtractor{Limits: lim, SkipNotes: !cfg.PPTXNotes},
		extractors.FormatODT:      extractors.ODFExtractor{Limits: lim},
		extractors.FormatODS:      extractors.ODFExtractor{Limits: lim},
		extractors.FormatODP:      extractors.ODFExtractor{Limits: lim, SkipNotes: !cfg.PPTXNotes},
		extractors.FormatRTF:      extractors.RTFExtractor{Limits: lim},
		extractors.FormatEPUB:     extractors.EPUBExtractor{Limits: lim},
		extractors.FormatEML:      extractors.EMLExtractor{Limits: lim},
		extractors.FormatCSV:      extractors.CSVExtractor{Limits: lim},
		extractors.FormatJSON:     extractors.JSONExtractor{Limits: lim},
	}
}

// toolFormats are the formats whose outputs depend on outside programs: PDFs and images
// (OCR), legacy Office files (catdoc's converters), and e-mails (their attachments may be
// any of these). Their fingerprint includes the programs' versions; every other format's
// leaves them out, so that upgrading Tesseract redoes scans, not plain text.
var toolFormats = []string{extractors.FormatPDF, extractors.FormatPNG, extractors.FormatJPEG, extractors.FormatTIFF, extractors.FormatWebP,
	extractors.FormatDOC, extractors.FormatXLS, extractors.FormatPPT, extractors.FormatEML}

// outsideTools are the outside programs some formats run, as found.
type outsideTools struct {
	legacy legacy.Tools
	// engine is nil when OCR is off, ocrOff says why
	engine *ocr.Engine
	ocrOff string
}

// findTools looks the outside programs up and asks for their versions; an error only when
// ocr.enabled is on and OCR cannot run.
func findTools(cfg Config, caps pdfchild.Extractor, logger *slog.Logger) (outsideTools, error) {
	t := outsideTools{legacy: legacy.Find()}
	var found ocr.Tools
	if cfg.OCR.Enabled != "off" {
		found = ocr.Find()
	}
	var err error
	if t.engine, t.ocrOff, err = ocr.New(cfg.OCR, found, cfg.Limits.Limits(), caps); err != nil {
		return t, err
	}
	if t.engine == nil {
		logger.Info("OCR is off: scanned PDFs fail as no_text_layer, images as unsupported", "reason", t.ocrOff)
	}
	return t, nil
}

// fingerprint hashes every setting that changes outputs, so that state written by another
// configuration is recognised as stale; converters describes the outside programs (""
// for the formats that run none).
func fingerprint(cfg Config, model, classifier, converters string) string {
	var buf bytes.Buffer
	var lab *labeling.Config
	if cfg.Labeling.Enabled {
		l := cfg.Labeling
		// how jobs are run does not change outputs (the job prefix does: it names automatic labels' job)
		l.GroundTruth, l.Backend, l.WorkersPerObject, l.DispatchIntervalSeconds = labeling.GTConfig{}, "", 0, 0
		lab = &l
	}
	_ = json.NewEncoder(&buf).Encode(struct {
		Version    string
		Chunking   chunkers.Settings
		Model      string
		Labeling   *labeling.Config
		Classifier string
		PDFBackend string
		// whether slides' speaker notes are extracted
		PPTXNotes bool
		// which legacy Office converters are installed, their version, and OCR's engine,
		// languages, their data, DPI and renderer
		Converters string
		// the chunk file's format (left out for JSON Lines, so that earlier outputs keep
		// their fingerprint)
		ChunksFormat string `json:",omitempty"`
	}{pipelineVersion, cfg.Chunking, model, lab, classifier, cfg.Limits.PDFBackend, cfg.Limits.PPTXNotes, converters, chunksFormat(cfg)})
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:8])
}

func chunksFormat(cfg Config) string {
	if cfg.Output.ChunksFormat == worker.ChunksParquet {
		return worker.ChunksParquet
	}
	return ""
}

// embedding is the configured embedder with what chunking needs to know about it.
type embedding struct {
	emb worker.Embedder
	// sizer counts in the model's own tokens where the tokenizer is known, else with the
	// documented estimate; maxTokens is the model's input limit (0: none).
	sizer     chunkers.Sizer
	maxTokens int
	dims      int
	cache     *embedders.Cached
	close     func()
	// pdfPeak holds each PDF child's peak memory (the worker exports it).
	pdfPeak *prometheus.HistogramVec
	labeler *labeling.Labeler
}

// Close releases a local model.
func (e *embedding) Close() {
	if e != nil && e.close != nil {
		e.close()
	}
}

// estimateSizer sizes chunks for models whose tokenizer docingest does not have (Titan,
// Cohere, endpoints of unknown models): one token per Unicode code point. Their
// tokenizers give a token at least one character of natural text, so the estimate never
// undercounts except on characters outside their vocabularies (some emoji, rare
// ideographs), which may take two or three tokens each; the request then asks the model
// not to truncate, so such a chunk fails loudly instead of being cut.
type estimateSizer struct{ chunkers.CharSizer }

func (estimateSizer) Name() string { return "estimate:chars" }

// newEmbedding builds the configured embedder; aws builds the AWS configuration on first
// need, and out is where the embedding cache lives.
func newEmbedding(ctx context.Context, cfg Config, out worker.Store, aws func() (*awsClients, error)) (*embedding, error) {
	e := cfg.Embedding
	var res embedding
	switch e.Provider {
	case "hashing":
		h, err := embedders.NewHashing(embedders.HashingConfig{Dimensions: e.Dimensions, MinN: e.CharNgramMin, MaxN: e.CharNgramMax})
		if err != nil {
			return nil, fmt.Errorf("embedding: %w", err)
		}
		res.emb, res.sizer, res.dims = h, h.Tokenizer(), h.Dimensions()
	case "bedrock":
		c, err := aws()
		if err != nil {
			return nil, err
		}
		b, err := embedders.NewBedrock(c.bedrock(e), e.Bedrock())
		if err != nil {
			return nil, fmt.Errorf("embedding.%w", err)
		}
		res.emb, res.sizer, res.maxTokens, res.dims = b, estimateSizer{}, b.MaxTokens(), b.Dimensions()
	case "sagemaker":
		c, err := aws()
		if err != nil {
			return nil, err
		}
		s, err := embedders.NewSageMaker(c.sagemaker(e), e.SageMaker())
		if err != nil {
			return nil, fmt.Errorf("embedding.%w", err)
		}
		res.emb, res.sizer, res.maxTokens = s, estimateSizer{}, s.MaxTokens()
		if e.Tokenizer == "wordpiece" {
			res.sizer, res.maxTokens = wordpiece.Default(), s.MaxTokens()-2 // [CLS] and [SEP]
		}
	case "onnx":
		o, err := embedders.NewONNX(embedders.ONNXConfig{Dir: e.ModelDir, Library: e.OnnxLibrary, Batch: e.BatchSize})
		if err != nil {
			return nil, fmt.Errorf("embedding: %w", err)
		}
		res.emb, res.sizer, res.maxTokens, res.dims, res.close = o, o.Tokenizer(), o.MaxTokens()-2, o.Dimensions(), o.Close
	default:
		return nil, fmt.Errorf("embedding.provider: unknown %q", e.Provider)
	}
	if e.Cached() {
		res.cache = embedders.NewCached(res.emb, out)
		res.emb = res.cache
	}
	return &res, nil
}

// buildPipelineConfig wires extractors, chunker and embedder from the configuration.
func buildPipelineConfig(ctx context.Context, cfg Config, logger *slog.Logger, out worker.Store, aws func() (*awsClients, error)) (worker.PipelineConfig, *embedding, error) {
	em, err := newEmbedding(ctx, cfg, out, aws)
	if err != nil {
		return worker.PipelineConfig{}, nil, err
	}
	emb := em.emb
	var sz chunkers.Sizer = chunkers.CharSizer{}
	switch cfg.Chunking.Unit {
	case "tokens":
		sz = em.sizer
	case "wordpiece":
		sz = wordpiece.Default()
	}
	if em.maxTokens > 0 && cfg.Chunking.Unit == "tokens" {
		for _, size := range cfg.Chunking.Sizes() {
			if size > em.maxTokens {
				return worker.PipelineConfig{}, nil, fmt.Errorf("chunking.max_size: %d %s is over the model's input limit of %d tokens; chunks would be cut by the model", size, sz.Name(), em.maxTokens)
			}
		}
	}
	pick, err := cfg.Chunking.Picker(sz, emb, cfg.Embedding.BatchSize, extractors.FormatMarkdown)
	if err != nil {
		return worker.PipelineConfig{}, nil, err
	}
	var labeler worker.Labeler
	classifier := ""
	if cfg.Labeling.Enabled {
		l, err := labeling.NewLabeler(ctx, cfg.Labeling, out, classifierFeatures(cfg, em), time.Now)
		if err != nil {
			return worker.PipelineConfig{}, nil, fmt.Errorf("labeling: %w", err)
		}
		em.labeler, labeler, classifier = l, labelerAdapter{l}, l.Version()
	}
	var vectors worker.VectorIndex
	if cfg.Output.VectorIndex != "" {
		loc, err := vectorindex.ParseLocation(cfg.Output.VectorIndex)
		if err != nil {
			return worker.PipelineConfig{}, nil, fmt.Errorf("output.vector_index: %w", err)
		}
		c, err := aws()
		if err != nil {
			return worker.PipelineConfig{}, nil, err
		}
		vectors = vectorindex.New(c.s3vectors(), loc, cfg.Output.VectorWritesPerSecond)
	}
	table := extractorTable(cfg.Limits)
	// Legacy Office files: catdoc's converters, each run under the PDF child's caps.
	legacyCaps := pdfchild.Extractor{MaxRSS: int64(cfg.Limits.PDFMemoryBytes), Logger: logger}
	em.pdfPeak = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "docingest_pdf_child_peak_memory_bytes",
		Help:    "Peak memory of each PDF extraction child: its memory cgroup's peak (page cache included), or without a cgroup its peak resident set (rusage).",
		Buckets: prometheus.ExponentialBuckets(16<<20, 2, 8), // 16 MiB to 2 GiB
	}, []string{"measured_by"})
	if cfg.Limits.PDFIsolation {
		self, err := os.Executable()
		if err != nil {
			return worker.PipelineConfig{}, nil, fmt.Errorf("limits.pdf_isolation: cannot find the docingest binary to run as the PDF child: %w", err)
		}
		child, measuredBy, err := pdfchild.ForConfig(self, cfg.Limits, logger)
		if err != nil {
			return worker.PipelineConfig{}, nil, err
		}
		peak := em.pdfPeak.WithLabelValues(measuredBy) // exported from the start, with what measures it
		child.Observe = func(p int64, _ bool) { peak.Observe(float64(p)) }
		table[extractors.FormatPDF] = child
		legacyCaps.Cgroup = child.Cgroup
	} else if cfg.Limits.PDFBackend == extractors.BackendPDFium {
		p, err := pdf.NewPDFium(ctx)
		if err != nil {
			return worker.PipelineConfig{}, nil, err
		}
		table[extractors.FormatPDF] = pdf.PDFiumExtractor{Limits: cfg.Limits.Limits(), PDFium: p}
		prev := em.close
		em.close = func() {
			p.Close()
			if prev != nil {
				prev()
			}
		}
	}
	// The outside programs (catdoc's converters; Tesseract and poppler for OCR) are found
	// and asked for their versions on first need, not at start: a run that meets no PDF,
	// image, legacy Office file or e-mail starts none of them (that was about 80 ms of CPU
	// a run), and their versions are in the fingerprint of those formats alone.
	tools := sync.OnceValues(func() (outsideTools, error) {
		return findTools(cfg, legacyCaps, logger)
	})
	if cfg.OCR.Enabled == "on" {
		if _, err := tools(); err != nil { // refuse to start without it
			return worker.PipelineConfig{}, nil, err
		}
	}
	must := func() outsideTools { t, _ := tools(); return t } // an error is "on" without OCR, refused above
	for _, f := range []string{extractors.FormatDOC, extractors.FormatXLS, extractors.FormatPPT} {
		table[f] = worker.ExtractorFunc(func(ctx context.Context, data []byte) (document.Document, error) {
			return legacy.For(f, must().legacy, cfg.Limits.Limits(), legacyCaps).Extract(ctx, data)
		})
	}
	imageFormats := []string{extractors.FormatPNG, extractors.FormatJPEG, extractors.FormatTIFF, extractors.FormatWebP}
	for _, f := range imageFormats {
		table[f] = worker.ExtractorFunc(func(ctx context.Context, data []byte) (document.Document, error) {
			t := must()
			return ocr.ImageExtractor{Engine: t.engine, Format: f, Off: t.ocrOff}.Extract(ctx, data)
		})
	}
	ocrSteps := func() worker.OCRSteps {
		t := must()
		if t.engine == nil {
			return worker.OCRSteps{Off: t.ocrOff}
		}
		return worker.OCRSteps{Scan: t.engine.PDF, Pages: t.engine.FillPages}
	}
	return worker.PipelineConfig{
		Detect: extractors.Detect, DetectNotPDF: extractors.DetectNotPDF,
		OCR:        ocrSteps,
		OCRFormats: imageFormats,
		Extractors: table,
		PageHint: func(format string, data []byte) int {
			if format == extractors.FormatPDF {
				return min(pdf.PageHint(data), cfg.Limits.MaxPages)
			}
			return 0
		},
		ChunkerFor:  func(format, key string) worker.Chunker { return pick(format, key) },
		Tokenizer:   sz.Name(),
		Embedder:    emb,
		EmbedBatch:  cfg.Embedding.BatchSize,
		Fingerprint: fingerprint(cfg, emb.Model(), classifier, ""),
		// computed once: planning asks for it for every state name that is not the plain one
		ToolsFingerprint: sync.OnceValue(func() string {
			t := must()
			return fingerprint(cfg, emb.Model(), classifier, t.legacy.Fingerprint()+"; ocr "+t.engine.Fingerprint())
		}),
		ToolFormats:  toolFormats,
		Labeler:      labeler,
		Vectors:      vectors,
		ChunksFormat: cfg.Output.ChunksFormat,
		Limits: worker.Limits{
			MaxObjectBytes:    int64(cfg.Limits.MaxObjectBytes),
			DocumentTimeout:   cfg.Limits.DocumentTimeout.D(),
			PDFTimeoutBase:    cfg.Limits.PDFTimeoutBase.D(),
			PDFTimeoutPerPage: cfg.Limits.PDFTimeoutPerPage.D(),
			OCRTimeoutPerPage: cfg.OCR.PageTimeout.D(),
		},
		Logger: logger,
	}, em, nil
}

// classifierFeatures are the labeling classifier's inputs: hashed n-grams always, and the
// chunk's embedding when the embedder is a semantic model of known dimension.
func classifierFeatures(cfg Config, em *embedding) labeling.Features {
	f := labeling.Features{HashDims: labeling.DefaultHashDims}
	dims := em.dims // as the embedder reports it (0: unknown before a call, e.g. a SageMaker endpoint)
	if cfg.Embedding.Provider == "hashing" {
		dims = 0 // lexical: the hashed n-grams already hold it
	}
	if dims > 0 {
		f.EmbeddingModel, f.EmbeddingDims = em.emb.Model(), dims
	}
	return f
}

// labelerAdapter gives the worker the labeler through the worker's own interface: labeling
// never imports worker, so its Begin returns its concrete session.
type labelerAdapter struct{ *labeling.Labeler }

func (a labelerAdapter) Begin(source string) worker.LabelSession { return a.Labeler.Begin(source) }
