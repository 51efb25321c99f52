package extractors

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/docingest/docingest/internal/units"
)

// Config is the limits section of the configuration file: the per-document caps, and how
// PDFs are extracted. A document over a cap is recorded as failed and the run goes on.
type Config struct {
	MaxObjectBytes    units.ByteSize `yaml:"max_object_bytes" doc:"largest source object read (bytes, or 100MiB)"`
	MaxPages          int            `yaml:"max_pages" doc:"most pages of a paged document (PDF)"`
	MaxTextBytes      units.ByteSize `yaml:"max_text_bytes" doc:"most cleaned text extracted from one document"`
	DocumentTimeout   units.Duration `yaml:"document_timeout" doc:"time limit for extracting one document (other than PDF)"`
	PDFTimeoutBase    units.Duration `yaml:"pdf_timeout_base" doc:"time limit for a PDF: this much ..."`
	PDFTimeoutPerPage units.Duration `yaml:"pdf_timeout_per_page" doc:"... plus this much per page"`
	PDFIsolation      bool           `yaml:"pdf_isolation" doc:"extract PDFs in a child process, killed at the time limit or the memory cap (false: in process, where a hang cannot be stopped)"`
	PDFMemoryBytes    units.ByteSize `yaml:"pdf_memory_bytes" doc:"memory cap of a PDF child (it also runs under a soft Go limit of 3/4 of it)"`
	PDFBackend        string         `yaml:"pdf_backend" doc:"ledongthuc (github.com/ledongthuc/pdf with docingest's layout reconstruction) | pdfium (PDFium in WebAssembly: Google's reader, 0.3-0.9 GB per child, a few seconds to start)"`
	PDFiumMemoryBytes units.ByteSize `yaml:"pdfium_memory_bytes" doc:"memory cap of a PDF child with pdf_backend: pdfium"`
	PDFCgroup         string         `yaml:"pdf_cgroup" doc:"auto: each PDF child in a memory cgroup capped at its memory cap, where this process may make one (else its resident memory is polled) | off | the directory of a delegated cgroup"`
	PPTXNotes         bool           `yaml:"pptx_notes" doc:"extract the speaker notes of PowerPoint slides (after each slide's text, starting \"Notes:\")"`
}

// DefaultConfig holds the caps of ARCHITECTURE.md ("Configuration").
func DefaultConfig() Config {
	return Config{
		MaxObjectBytes:    100 << 20,
		MaxPages:          5000,
		MaxTextBytes:      50 << 20,
		DocumentTimeout:   units.Duration(120 * time.Second),
		PDFTimeoutBase:    units.Duration(30 * time.Second),
		PDFTimeoutPerPage: units.Duration(50 * time.Millisecond),
		PDFIsolation:      true,
		PDFMemoryBytes:    256 << 20,
		PDFBackend:        BackendLedongthuc,
		PDFiumMemoryBytes: 2 << 30,
		PDFCgroup:         "auto",
		PPTXNotes:         true,
	}
}

// Limits returns the caps every extractor honours.
func (c Config) Limits() Limits {
	return Limits{MaxPages: c.MaxPages, MaxTextBytes: int(c.MaxTextBytes)}
}

// The PDF backends (limits.pdf_backend): extractors/pdf runs both; extractors/pdfchild
// runs either in a child process.
const (
	BackendLedongthuc = "ledongthuc"
	BackendPDFium     = "pdfium"
)

// ChildMemory is the memory cap of a PDF child with the configured backend.
func (c Config) ChildMemory() int64 {
	if c.PDFBackend == BackendPDFium {
		return int64(c.PDFiumMemoryBytes)
	}
	return int64(c.PDFMemoryBytes)
}

// Validate names every bad field by its path in the configuration file.
func (c Config) Validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("limits.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.MaxObjectBytes < 1 {
		bad("max_object_bytes", "must be positive, got %s", c.MaxObjectBytes)
	}
	if c.MaxPages < 1 {
		bad("max_pages", "must be positive, got %d", c.MaxPages)
	}
	if c.MaxTextBytes < 1 || c.MaxTextBytes > 1<<40 {
		bad("max_text_bytes", "must be between 1 and 1TiB, got %s", c.MaxTextBytes)
	}
	if c.DocumentTimeout <= 0 {
		bad("document_timeout", "must be positive, got %s", c.DocumentTimeout)
	}
	if c.PDFTimeoutBase <= 0 {
		bad("pdf_timeout_base", "must be positive, got %s", c.PDFTimeoutBase)
	}
	if c.PDFTimeoutPerPage < 0 {
		bad("pdf_timeout_per_page", "must not be negative, got %s", c.PDFTimeoutPerPage)
	}
	if c.PDFBackend != BackendLedongthuc && c.PDFBackend != BackendPDFium {
		bad("pdf_backend", "must be ledongthuc or pdfium, got %q", c.PDFBackend)
	}
	if p := c.PDFCgroup; p != "auto" && p != "off" && !filepath.IsAbs(p) {
		bad("pdf_cgroup", "must be auto, off or an absolute cgroup directory, got %q", p)
	}
	if c.PDFBackend == BackendPDFium && c.PDFiumMemoryBytes < 512<<20 {
		bad("pdfium_memory_bytes", "must be at least 512MiB (PDFium takes 0.3-0.9 GB), got %s", c.PDFiumMemoryBytes)
	}
	if c.PDFIsolation && c.PDFMemoryBytes < 32<<20 {
		bad("pdf_memory_bytes", "must be at least 32MiB, got %s", c.PDFMemoryBytes)
	}
	return errs
}
