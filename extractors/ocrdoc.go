package extractors

import (
	"context"
	"slices"
	"strings"

	"github.com/docingest/docingest/document"
)

// OCRParagraph is a paragraph OCR read, with its words' mean confidence.
type OCRParagraph struct {
	Text       string
	Confidence float64
	Words      int
}

// OCRDocument assembles the pages OCR read into a document of format, a page each,
// recording each paragraph's span and confidence.
func OCRDocument(ctx context.Context, format string, lim Limits, pages [][]OCRParagraph) (document.Document, error) {
	b := newBuilder(ctx, format, lim)
	var spans []document.OCRSpan
	for _, page := range pages {
		b.page()
		for _, p := range page {
			if b.full() {
				break
			}

			off := b.paraAt(p.Text)
			if off >= 0 && p.Words > 0 {
				spans = append(spans, document.OCRSpan{Start: off, End: b.sb.Len(), Words: p.Words, Confidence: p.Confidence})
			}

		}
	}
	doc, err := b.done()
	if err != nil && len(pages) > 0 {
		if reason, _ := document.Classify(err); reason == document.ReasonEmpty {
			return doc, document.Permanentf(document.ReasonNoTextLayer, "%s: OCR found no text", format)
		}
	}
	doc.OCR = spans
	return doc, err
}

// SpliceOCR adds to a paged document (a PDF's text layer) the text OCR read from some of
// its pages: pages lists them (1-based, ascending) and ocr holds their text, one page
// each in the same order (OCRDocument). Each page's OCR text follows the page's own text
// as paragraphs of their own; the offsets of later pages, headings and OCR spans move
// with it, and the new text's OCR spans are recorded. The result is capped like any
// document's text.
func SpliceOCR(base, ocr document.Document, pages []int, lim Limits) (document.Document, error) {
	pageEnd := func(d *document.Document, i int) int {
		if i+1 < len(d.Pages) {
			return d.Pages[i+1]
		}
		return len(d.Text)
	}
	out := base
	out.Pages = append([]int(nil), base.Pages...)
	out.Headings = append([]document.Heading(nil), base.Headings...)
	out.OCR = append([]document.OCRSpan(nil), base.OCR...)
	var sb strings.Builder
	copied := 0 // base.Text[:copied] is in sb
	shift := 0  // what has been inserted before base offset copied
	move := func(off, from, by int) int {
		if off >= from {
			return off + by
		}
		return off
	}
	for k, n := range pages {
		i := n - 1
		if i < 0 || i >= len(base.Pages) || k >= len(ocr.Pages) {
			continue
		}
		seg := ocr.Text[ocr.Pages[k]:pageEnd(&ocr, k)]
		lead := len(seg) - len(strings.TrimLeft(seg, "\n"))
		seg = strings.Trim(seg, "\n")
		if seg == "" {
			continue
		}
		at := pageEnd(&base, i) // base offset the page's OCR text goes to
		sb.WriteString(base.Text[copied:at])
		copied = at
		ins := seg + "\n\n"
		start := sb.Len() // where seg lands in the new text
		if at == len(base.Text) {
			ins = seg
			if at > 0 {
				ins, start = "\n\n"+seg, start+2
			}
		}
		sb.WriteString(ins)
		for j := range out.Pages {
			switch {
			case j <= i && out.Pages[j] == at+shift:
				out.Pages[j] = start // an empty page starts where the next text does
			case j > i:
				out.Pages[j] = move(out.Pages[j], at+shift, len(ins))
			}
		}
		for j := range out.Headings {
			out.Headings[j].Offset = move(out.Headings[j].Offset, at+shift, len(ins))
		}
		for j := range out.OCR {
			out.OCR[j].Start = move(out.OCR[j].Start, at+shift, len(ins))
			out.OCR[j].End = move(out.OCR[j].End, at+shift+1, len(ins))
		}
		from, to := ocr.Pages[k]+lead, ocr.Pages[k]+lead+len(seg)
		for _, sp := range ocr.OCR {
			if sp.Start >= from && sp.End <= to {
				sp.Start, sp.End = sp.Start-from+start, sp.End-from+start
				out.OCR = append(out.OCR, sp)
			}
		}
		shift += len(ins)
	}
	sb.WriteString(base.Text[copied:])
	out.Text = sb.String()
	if lim.MaxTextBytes > 0 && len(out.Text) > lim.MaxTextBytes {
		return document.Document{}, document.Permanentf(document.ReasonTooLarge, "%s: text with the OCR of its image-only pages passes the text cap of %d bytes", base.Format, lim.MaxTextBytes)
	}
	slices.SortStableFunc(out.OCR, func(a, b document.OCRSpan) int { return a.Start - b.Start })
	return out, nil
}
