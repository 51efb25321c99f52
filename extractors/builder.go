package extractors

import (
	"strings"

	"github.com/docingest/docingest/document"
)

// Limits are the caps every extractor honours. Zero means no cap.
type Limits struct {
	// MaxPages caps the pages of paged formats (checked before extraction).
	MaxPages int
	// MaxTextBytes caps the cleaned text of one document.
	MaxTextBytes int
}

// builder assembles a Document from blocks, cleaning each block so that every offset it
// records points into the final cleaned text. Blocks are separated by a blank line.
type builder struct {
	format string
	limits Limits
	sb     strings.Builder
	doc    document.Document
	err    error
}

func newBuilder(format string, limits Limits) *builder {
	return &builder{format: format, limits: limits}
}

// sizeHint reserves room for about n bytes of text, so that a large document is built in
// one allocation instead of a series of doublings (each of which holds two copies).
func (b *builder) sizeHint(n int) {
	if b.limits.MaxTextBytes > 0 {
		n = min(n, b.limits.MaxTextBytes)
	}
	b.sb.Grow(n)
}

// para adds one block of text (a paragraph, list item, table row...). Lines inside it are
// kept; it is cleaned first and dropped when nothing is left.
func (b *builder) para(text string) {
	b.add(Clean(text))
}

// heading adds a heading block: its title is cleaned into one line. prefix is written
// before the title in the text (Markdown keeps its "## ") but not in the heading's title.
func (b *builder) heading(level int, prefix, title string) {
	title = strings.Join(strings.Fields(Clean(title)), " ")
	if title == "" {
		return
	}
	off := b.add(prefix + title)
	if off >= 0 {
		b.doc.Headings = append(b.doc.Headings, document.Heading{Level: level, Title: title, Offset: off})
	}
}

// page starts a new page: the next block is its first.
func (b *builder) page() {
	b.doc.Pages = append(b.doc.Pages, b.sb.Len()+sepLen(b.sb.Len()))
}

func sepLen(n int) int {
	if n == 0 {
		return 0
	}
	return 2
}

// add appends cleaned text as a block and returns its offset, or -1 when it was empty or
// the text cap has been reached.
func (b *builder) add(text string) int {
	if text == "" || b.err != nil {
		return -1
	}
	if b.limits.MaxTextBytes > 0 && b.sb.Len()+2+len(text) > b.limits.MaxTextBytes {
		b.err = document.Permanentf(document.ReasonTooLarge,
			"%s: extracted text exceeds the cap of %d bytes", b.format, b.limits.MaxTextBytes)
		return -1
	}
	if b.sb.Len() > 0 {
		b.sb.WriteString("\n\n")
	}
	off := b.sb.Len()
	b.sb.WriteString(text)
	return off
}

// full reports whether the text cap was hit; extractors stop early when it is.
func (b *builder) full() bool { return b.err != nil }

// done returns the document, or the cap error, or an "empty" failure when no text was found.
func (b *builder) done() (document.Document, error) {
	if b.err != nil {
		return document.Document{}, b.err
	}
	if b.sb.Len() == 0 {
		return document.Document{}, document.Permanentf(document.ReasonEmpty, "%s: no text found", b.format)
	}
	b.doc.Format = b.format
	b.doc.Text = b.sb.String()
	// A page that produced no text starts where the next one does; clamp pages that start
	// past the end (trailing empty pages) to the end.
	for i := range b.doc.Pages {
		b.doc.Pages[i] = min(b.doc.Pages[i], len(b.doc.Text))
	}
	if len(b.doc.Pages) > 0 {
		b.doc.Pages[0] = 0
	}
	return b.doc, nil
}
