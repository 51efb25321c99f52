package pdf

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/klippa-app/go-pdfium"
	pdfiumerrors "github.com/klippa-app/go-pdfium/errors"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
)

// PDFium is the optional second PDF backend: Google's PDFium compiled to WebAssembly and
// run in pure Go through wazero (github.com/klippa-app/go-pdfium). Its text is closer to
// pdftotext's than the default backend's, at the price of memory (0.3-0.9 GB per
// instance) and a start-up of a few seconds; it is chosen with limits.pdf_backend.
type PDFium struct {
	pool pdfium.Pool
}

// NewPDFium starts one PDFium instance; Close releases it.
func NewPDFium(ctx context.Context) (*PDFium, error) {
	pool, err := webassembly.Init(webassembly.Config{Context: ctx, MinIdle: 1, MaxIdle: 1, MaxTotal: 1})
	if err != nil {
		return nil, fmt.Errorf("pdfium: start: %w", err)
	}
	return &PDFium{pool: pool}, nil
}

// Close stops the instance.
func (p *PDFium) Close() error { return p.pool.Close() }

// PDFiumExtractor extracts PDFs with a PDFium instance, one document at a time.
type PDFiumExtractor struct {
	Limits extractors.Limits
	PDFium *PDFium
}

func (e PDFiumExtractor) Extract(ctx context.Context, data []byte) (doc document.Document, err error) {
	defer func() {
		if v := recover(); v != nil {
			doc, err = document.Document{}, document.Permanentf(document.ReasonCorrupt, "pdf (pdfium): %v", v)
		}
	}()
	inst, err := e.PDFium.pool.GetInstanceWithContext(ctx)
	if err != nil {
		return document.Document{}, fmt.Errorf("pdfium: instance: %w", err)
	}
	defer inst.Close()
	data = normalizePDFHeader(data)
	opened, err := inst.OpenDocument(&requests.OpenDocument{File: &data})
	if err != nil {
		if errors.Is(err, pdfiumerrors.ErrPassword) {
			return document.Document{}, document.Permanentf(document.ReasonEncrypted, "pdf: password-protected: %w", err)
		}
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "pdf (pdfium): %w", err)
	}
	defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: opened.Document})
	count, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: opened.Document})
	if err != nil {
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "pdf (pdfium): page count: %w", err)
	}
	n := count.PageCount
	switch {
	case n <= 0:
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "pdf: no pages")
	case e.Limits.MaxPages > 0 && n > e.Limits.MaxPages:
		return document.Document{}, document.Permanentf(document.ReasonTooManyPages, "pdf: %d pages, over the cap of %d", n, e.Limits.MaxPages)
	}
	pages := make([][]string, 0, n)
	chars := 0
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return document.Document{}, err
		}
		t, err := inst.GetPageText(&requests.GetPageText{Page: requests.Page{ByIndex: &requests.PageByIndex{Document: opened.Document, Index: i}}})
		if err != nil {
			return document.Document{}, document.Permanentf(document.ReasonCorrupt, "pdf (pdfium): page %d: %w", i+1, err)
		}
		lines := pdfiumLines(t.Text)
		for _, l := range lines {
			chars += len(l)
		}
		if e.Limits.MaxTextBytes > 0 && chars > e.Limits.MaxTextBytes {
			return document.Document{}, document.Permanentf(document.ReasonTooLarge, "pdf: extracted text exceeds the cap of %d bytes at page %d", e.Limits.MaxTextBytes, i+1)
		}
		pages = append(pages, lines)
	}
	return pdfDocument(pages, chars, e.Limits)
}

// pdfiumLines turns PDFium's page text into lines: CRLF ends a line, and U+FFFE (PDFium's
// mark for a hyphen it removed at a line end) joins the word across the break.
func pdfiumLines(text string) []string {
	text = strings.ReplaceAll(text, "\uFFFE\r\n", "")
	text = strings.ReplaceAll(text, "\uFFFE\n", "")
	text = strings.ReplaceAll(text, "\uFFFE", "")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(extractors.Clean(l)); l != "" {
			out = append(out, l)
		}
	}
	return out
}
