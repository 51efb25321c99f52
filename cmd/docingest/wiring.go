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
	"os/exec"
	"strconv"

	"github.com/docingest/docingest/chunkers"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/worker"
)

// pipelineVersion changes whenever extraction, cleaning or record code changes outputs in a
// way the configuration does not show; it is part of the fingerprint.
const pipelineVersion = "2026-11-25.2"

// extractorTable maps each format name extractors.Detect returns to its extractor.
func extractorTable(lim extractors.Limits) map[string]worker.Extractor {
	return map[string]worker.Extractor{
		extractors.FormatPDF:      extractors.PDFExtractor{Limits: lim},
		extractors.FormatHTML:     extractors.HTMLExtractor{Limits: lim},
		extractors.FormatMarkdown: extractors.MarkdownExtractor{Limits: lim},
		extractors.FormatText:     extractors.TextExtractor{Limits: lim},
		extractors.FormatDOCX:     extractors.DOCXExtractor{Limits: lim},
		extractors.FormatCSV:      extractors.CSVExtractor{Limits: lim},
		extractors.FormatJSON:     extractors.JSONExtractor{Limits: lim},
	}
}

// chunkerTable maps each strategy name to its chunker.
func chunkerTable(cfg chunkers.Config, sz chunkers.Sizer) map[string]worker.Chunker {
	return map[string]worker.Chunker{
		"fixed":     chunkers.Fixed{Config: cfg, Sizer: sz},
		"recursive": chunkers.Recursive{Config: cfg, Sizer: sz},
		"sentence":  chunkers.Sentence{Config: cfg, Sizer: sz},
		"markdown":  chunkers.Markdown{Config: cfg, Sizer: sz},
	}
}

// isolatedPDF runs PDF extraction as `docingest extract-pdf` children of binary self.
func isolatedPDF(self string, cfg Config) worker.Extractor {
	l := cfg.Limits
	args := []string{"extract-pdf",
		"--max-pages", strconv.Itoa(l.MaxPages),
		"--max-text-bytes", strconv.FormatInt(int64(l.MaxTextBytes), 10),
		"--max-input-bytes", strconv.FormatInt(int64(l.MaxObjectBytes), 10),
		"--memory-limit", strconv.FormatInt(int64(l.PDFMemoryBytes)*3/4, 10),
	}
	return extractors.IsolatedPDF{
		Command: func(ctx context.Context) *exec.Cmd {
			cmd := exec.CommandContext(ctx, self, args...)
			cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
			return cmd
		},
		MaxRSS:    int64(l.PDFMemoryBytes),
		MaxOutput: int64(l.MaxTextBytes)*2 + 16<<20, // JSON escaping and structure
	}
}

// fingerprint hashes every setting that changes outputs, so that state written by another
// configuration is recognised as stale.
func fingerprint(cfg Config, model string) string {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(struct {
		Version  string
		Chunking ChunkingConfig
		Model    string
	}{pipelineVersion, cfg.Chunking, model})
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:8])
}

// buildPipelineConfig wires extractors, chunker and embedder from the configuration.
func buildPipelineConfig(cfg Config, logger *slog.Logger) (worker.PipelineConfig, error) {
	emb, err := embedders.NewHashing(embedders.HashingConfig{
		Dimensions: cfg.Embedding.Dimensions, MinN: cfg.Embedding.CharNgramMin, MaxN: cfg.Embedding.CharNgramMax,
	})
	if err != nil {
		return worker.PipelineConfig{}, fmt.Errorf("embedding: %w", err)
	}
	var sz chunkers.Sizer = chunkers.CharSizer{}
	if cfg.Chunking.Unit == "tokens" {
		sz = emb.Tokenizer()
	}
	ccfg := chunkers.Config{Max: cfg.Chunking.MaxSize, Overlap: cfg.Chunking.Overlap}
	if err := ccfg.Validate(); err != nil {
		return worker.PipelineConfig{}, fmt.Errorf("chunking.%w", err)
	}
	chunker, ok := chunkerTable(ccfg, sz)[cfg.Chunking.Strategy]
	if !ok {
		return worker.PipelineConfig{}, fmt.Errorf("chunking.strategy: unknown %q", cfg.Chunking.Strategy)
	}
	lim := extractors.Limits{MaxPages: cfg.Limits.MaxPages, MaxTextBytes: int(cfg.Limits.MaxTextBytes)}
	table := extractorTable(lim)
	if cfg.Limits.PDFIsolation {
		self, err := os.Executable()
		if err != nil {
			return worker.PipelineConfig{}, fmt.Errorf("limits.pdf_isolation: cannot find the docingest binary to run as the PDF child: %w", err)
		}
		table[extractors.FormatPDF] = isolatedPDF(self, cfg)
	}
	return worker.PipelineConfig{
		Detect:     extractors.Detect,
		Extractors: table,
		PageHint: func(format string, data []byte) int {
			if format == extractors.FormatPDF {
				return min(extractors.PDFPageHint(data), cfg.Limits.MaxPages)
			}
			return 0
		},
		ChunkerFor:  func(string, string) worker.Chunker { return chunker },
		Tokenizer:   sz.Name(),
		Embedder:    emb,
		EmbedBatch:  cfg.Embedding.BatchSize,
		Fingerprint: fingerprint(cfg, emb.Model()),
		Limits: worker.Limits{
			MaxObjectBytes:    int64(cfg.Limits.MaxObjectBytes),
			DocumentTimeout:   cfg.Limits.DocumentTimeout.D(),
			PDFTimeoutBase:    cfg.Limits.PDFTimeoutBase.D(),
			PDFTimeoutPerPage: cfg.Limits.PDFTimeoutPerPage.D(),
		},
		Logger: logger,
	}, nil
}
