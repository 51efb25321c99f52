package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/ledongthuc/pdf"
)

// Extractor reads PDF with github.com/ledongthuc/pdf. It rebuilds words, lines and
// paragraphs from each page's positioned glyphs (the library's own plain-text output runs
// words together), keeps page boundaries, and removes running heads and page numbers.
//
// It runs in the calling process: the Pipeline bounds it with a recover and a deadline,
// but a goroutine stuck inside the library cannot be stopped. Moving it into a child
// process is the job of the PDF isolation work (issue 3).
type Extractor struct{ Limits extractors.Limits }

// ErrNoTextLayer is the message of the failure for PDFs whose pages hold no text.
var ErrNoTextLayer = errors.New("no text layer (a scan: only OCR reads it)")

// Extract recovers panics of the PDF library (it panics on many malformed files) into a
// corrupt failure naming the cause.
func (e Extractor) Extract(ctx context.Context, data []byte) (doc document.Document, err error) {
	defer func() {
		if v := recover(); v != nil {
			doc, err = document.Document{}, document.Permanentf(document.ReasonCorrupt, "pdf: malformed file: %v", v)
		}
	}()
	data = repairTrailerSize(normalizePDFHeader(data))
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if errors.Is(err, pdf.ErrInvalidPassword) || strings.Contains(strings.ToLower(err.Error()), "encrypt") {
			return document.Document{}, document.Permanentf(document.ReasonEncrypted, "pdf: password-protected: %w", err)
		}
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "pdf: %w", err)
	}
	pageList, err := pdfPageList(ctx, r, e.Limits.MaxPages)
	if err != nil {
		return document.Document{}, err
	}
	n := len(pageList)
	pages := make([][]string, 0, n)
	images := make([]bool, 0, n)
	fonts := newPDFFontCache()
	chars := 0
	for i, pg := range pageList {
		if err := ctx.Err(); err != nil {
			return document.Document{}, err
		}
		lines, image, err := pdfPageLines(ctx, pg, i+1, fonts)
		images = append(images, image)
		if err != nil {
			return document.Document{}, err
		}
		for _, l := range lines {
			chars += len(l)
		}
		if e.Limits.MaxTextBytes > 0 && chars > e.Limits.MaxTextBytes {
			return document.Document{}, document.Permanentf(document.ReasonTooLarge,
				"pdf: extracted text exceeds the cap of %d bytes at page %d", e.Limits.MaxTextBytes, i+1)
		}
		pages = append(pages, lines)
	}
	doc, err = pdfDocument(pages, chars, e.Limits)
	if err == nil && len(doc.Pages) == len(images) {
		doc.PageImages = images
	}
	return doc, err
}

// pdfDocument builds the document from each page's lines, for both backends: running heads
// removed, a blank line between paragraphs, a page break between pages; a document
// without text is "no text layer".
func pdfDocument(pages [][]string, chars int, lim extractors.Limits) (document.Document, error) {
	if chars == 0 {
		return document.Document{}, document.Permanent(document.ReasonNoTextLayer, fmt.Errorf("pdf: %w (no text on any of its %d pages)", ErrNoTextLayer, len(pages)))
	}
	pages = extractors.RemoveRepeatedLines(pages)
	b := extractors.NewBuilder(context.Background(), extractors.FormatPDF, lim)
	for _, lines := range pages {
		b.Page()
		var para []string
		for _, l := range lines {
			if l == "" {
				if len(para) > 0 {
					b.Para(strings.Join(para, "\n"))
					para = para[:0]
				}
				continue
			}
			para = append(para, l)
		}
		if len(para) > 0 {
			b.Para(strings.Join(para, "\n"))
		}
	}
	doc, err := b.Done()
	if err != nil {
		var p *document.PermanentError
		if errors.As(err, &p) && p.Reason == document.ReasonEmpty {
			return doc, document.Permanent(document.ReasonNoTextLayer, fmt.Errorf("pdf: %w", ErrNoTextLayer))
		}
	}
	return doc, err
}

// pdfPageList returns the pages from the real page tree, with the caps and the tree's
// faults turned into failure reasons. A panic in the library while walking is corrupt.
func pdfPageList(ctx context.Context, r *pdf.Reader, maxPages int) (pages []pdf.Page, err error) {
	defer func() {
		if v := recover(); v != nil {
			pages, err = nil, document.Permanentf(document.ReasonCorrupt, "pdf: page tree: %v", v)
		}
	}()
	pages, err = pdfPages(ctx, r, maxPages)
	switch {
	case errors.Is(err, errTooManyPages):
		return nil, document.Permanentf(document.ReasonTooManyPages, "pdf: more than %d pages, over the cap", maxPages)
	case errors.Is(err, errPageTree):
		return nil, document.Permanentf(document.ReasonCorrupt, "pdf: %w", err)
	case err != nil && ctx.Err() != nil:
		return nil, err
	case err != nil: // no page tree at all
		return nil, document.Permanentf(document.ReasonCorrupt, "pdf: %w", err)
	case len(pages) == 0:
		return nil, document.Permanentf(document.ReasonCorrupt, "pdf: page tree holds no pages")
	}
	return pages, nil
}

// normalizePDFHeader rewrites, in place and without moving a byte, headers the library
// rejects but PDF readers accept: versions other than 1.0–1.7 ("%PDF-2.0") and a header
// followed by a space or other byte instead of an end of line. Offsets stay valid.
func normalizePDFHeader(data []byte) []byte {
	if len(data) < 9 || !bytes.HasPrefix(data, []byte("%PDF-")) {
		return data
	}
	ok := data[5] == '1' && data[6] == '.' && data[7] >= '0' && data[7] <= '7' && (data[8] == '\r' || data[8] == '\n')
	if ok {
		return data
	}
	out := bytes.Clone(data)
	if !(out[5] == '1' && out[6] == '.' && out[7] >= '0' && out[7] <= '7') {
		copy(out[5:8], "1.7")
	}
	if out[8] != '\r' && out[8] != '\n' {
		out[8] = '\n'
	}
	return out
}

// repairTrailerSize raises the /Size of the last trailer to cover the cross-reference
// table before it. Writers such as poppler's pdfunite copy /Size from an input file,
// smaller than the table they write; the library cuts the table to /Size and loses the
// objects past it (the catalog: "no page tree"), while PDF readers (poppler, PDFium)
// read the file. Only bytes after the table change, so every offset stays valid. Data
// that needs no repair is returned as it is; xref streams are left alone.
func repairTrailerSize(data []byte) []byte {
	end := len(data)
	x := -1
	for end > 0 {
		i := bytes.LastIndex(data[:end], []byte("xref"))
		if i < 0 {
			return data
		}
		if i == 0 || data[i-1] == '\n' || data[i-1] == '\r' {
			x = i
			break
		}
		end = i // "startxref"
	}
	if x < 0 {
		return data
	}
	rest := data[x+len("xref"):]
	t := bytes.Index(rest, []byte("trailer"))
	if t < 0 {
		return data
	}
	extent := int64(0)
	for _, line := range bytes.FieldsFunc(rest[:t], func(r rune) bool { return r == '\n' || r == '\r' }) {
		f := bytes.Fields(line)
		if len(f) != 2 {
			continue // an entry: offset, generation, n or f
		}
		start, err1 := strconv.ParseInt(string(f[0]), 10, 64)
		n, err2 := strconv.ParseInt(string(f[1]), 10, 64)
		if err1 == nil && err2 == nil && start >= 0 && n >= 0 {
			extent = max(extent, start+n)
		}
	}
	tr := x + len("xref") + t
	k := bytes.Index(data[tr:], []byte("/Size"))
	if k < 0 {
		return data
	}
	num := tr + k + len("/Size")
	for num < len(data) && (data[num] == ' ' || data[num] == '\n' || data[num] == '\r' || data[num] == '\t') {
		num++
	}
	digits := num
	for digits < len(data) && data[digits] >= '0' && data[digits] <= '9' {
		digits++
	}
	size, err := strconv.ParseInt(string(data[num:digits]), 10, 64)
	if err != nil || size >= extent || extent > 1<<31 {
		return data
	}
	out := make([]byte, 0, len(data)+8)
	out = append(out, data[:num]...)
	out = strconv.AppendInt(out, extent, 10)
	return append(out, data[digits:]...)
}

// errPDFTooManyItems reports a page with more text runs than any real page holds.
var errPDFTooManyItems = errors.New("page holds too many text runs")

// pdfPageLines rebuilds the text lines of page i from its text runs, in content-stream
// order: a new line where the baseline moves or the pen jumps back, a space where the gap
// between runs exceeds 0.15 of the font size (justified lines shrink word spaces to
// about a fifth of an em; kerns inside words are far smaller), and an empty line between
// paragraphs (a vertical gap well above the page's usual line spacing). A panic inside the library is
// returned as a corrupt-page error.
func pdfPageLines(ctx context.Context, p pdf.Page, i int, fonts *pdfFontCache) (lines []string, images bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			lines, images, err = nil, false, document.Permanentf(document.ReasonCorrupt, "pdf: page %d: %v", i, v)
		}
	}()
	texts, images, err := pdfPageItems(ctx, p, fonts)
	texts = mergeAccents(texts)
	switch {
	case errors.Is(err, errPDFTooManyItems), errors.Is(err, errContentStream):
		return nil, false, document.Permanentf(document.ReasonTooLarge, "pdf: page %d: %v", i, err)
	case ctx.Err() != nil:
		return nil, false, ctx.Err()
	case err != nil:
		return nil, false, document.Permanentf(document.ReasonCorrupt, "pdf: page %d: content stream: %v", i, err)
	}
	type line struct {
		text string
		y    float64
	}
	var out []line
	var sb strings.Builder
	var lineY, lineSize, endX float64
	started := false
	flush := func() {
		if t := strings.TrimSpace(sb.String()); t != "" {
			out = append(out, line{t, lineY})
		}
		sb.Reset()
	}
	for _, t := range texts {
		size := max(t.size, 1)
		switch {
		case !started:
			started = true
			lineY, lineSize = t.y, size
		case math.Abs(t.y-lineY) > 0.5*max(size, lineSize) || t.x0 < endX-2*size:
			flush()
			lineY, lineSize = t.y, size
		case t.x0-endX > 0.15*size:
			sb.WriteByte(' ')
		}
		sb.WriteString(t.s)
		endX = t.x1
		lineSize = max(lineSize, size)
	}
	flush()
	if len(out) == 0 {
		return nil, images, nil
	}
	// Paragraph breaks: a baseline gap clearly larger than the median gap.
	gaps := make([]float64, 0, len(out))
	for j := 1; j < len(out); j++ {
		if g := out[j-1].y - out[j].y; g > 0 {
			gaps = append(gaps, g)
		}
	}
	median := 0.0
	if len(gaps) > 0 {
		slices.Sort(gaps)
		median = gaps[len(gaps)/2]
	}
	lines = make([]string, 0, len(out)*2)
	for j, l := range out {
		if j > 0 && median > 0 {
			g := out[j-1].y - l.y
			if g > 1.6*median || g < -median { // big gap, or a jump up (new column)
				lines = append(lines, "")
			}
		}
		lines = append(lines, l.text)
	}
	return lines, images, nil
}

// PageHint estimates a PDF's page count from its bytes without parsing it (page
// objects written in the clear; pages inside compressed object streams are not seen), to
// size the time limit before extraction starts. It never trusts /Count.
func PageHint(data []byte) int {
	n := 0
	for _, pat := range [][]byte{[]byte("/Type/Page"), []byte("/Type /Page")} {
		for i := 0; ; {
			j := bytes.Index(data[i:], pat)
			if j < 0 {
				break
			}
			i += j + len(pat)
			if i >= len(data) || data[i] != 's' {
				n++
			}
		}
	}
	return n
}

// combiningMark maps the spacing accents TeX's fonts (and others) draw over or under a
// letter as a glyph of their own to the combining mark NFC composes with the letter.
func combiningMark(s string) (string, bool) {
	switch s {
	case "\u00b4":
		return "\u0301", true
	case "`":
		return "\u0300", true
	case "\u02c6", "^":
		return "\u0302", true
	case "\u00a8":
		return "\u0308", true
	case "\u02dc", "~":
		return "\u0303", true
	case "\u00b8":
		return "\u0327", true
	case "\u02da":
		return "\u030a", true
	case "\u02c7":
		return "\u030c", true
	case "\u02d8":
		return "\u0306", true
	case "\u00af":
		return "\u0304", true
	case "\u02d9":
		return "\u0307", true
	case "\u02dd":
		return "\u030b", true
	case "\u02db":
		return "\u0328", true
	}
	return "", false
}

// mergeAccents joins an accent drawn as a glyph of its own to the letter it overlaps on
// the same line (the next run, as TeX places them, or the previous one): "´" over "e"
// becomes "e" + U+0301, which cleaning composes to "é", as pdftotext reads it. The accent
// may end a longer run ("u¸" then "c", TeX backing up under it with a kern). An accent
// that overlaps nothing (a real "^" or "~" in code) stays as it is.
func mergeAccents(items []pdfItem) []pdfItem {
	out := items[:0]
	for i := 0; i < len(items); i++ {
		it := items[i]
		size := max(it.size, 1)
		near := func(o pdfItem) bool { return math.Abs(o.y-it.y) < size && o.s != "" }
		// the next run backs up under the end of this one (TeX's kern after an accent)
		backsUnder := i+1 < len(items) && near(items[i+1]) && items[i+1].x0 < it.x1-0.05*size && items[i+1].x1 > it.x0
		addToNext := func(mark string) {
			next := &items[i+1]
			_, n := utf8.DecodeRuneInString(next.s)
			next.s = next.s[:n] + mark + next.s[n:]
		}
		if _, n := utf8.DecodeLastRuneInString(it.s); n > 0 && n < len(it.s) && backsUnder {
			// an accent at the end of a longer run: "u¸" then "c"
			if mark, ok := combiningMark(it.s[len(it.s)-n:]); ok {
				it.s = it.s[:len(it.s)-n]
				addToNext(mark)
				out = append(out, it)
				continue
			}
		}
		mark, ok := combiningMark(it.s)
		if !ok {
			out = append(out, it)
			continue
		}
		if backsUnder {
			addToNext(mark)
			items[i+1].x0 = min(items[i+1].x0, it.x0)
			continue
		}
		if len(out) > 0 && near(out[len(out)-1]) && it.x0 < out[len(out)-1].x1-0.05*size && it.x1 > out[len(out)-1].x0 {
			out[len(out)-1].s += mark
			continue
		}
		out = append(out, it)
	}
	return out
}
