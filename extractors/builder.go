package extractors

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/docingest/docingest/document"
)

// Limits are the caps every extractor honours. Zero means no cap.
type Limits struct {
	// MaxPages caps the pages of paged formats (PDF pages, form-feed pages of text).
	MaxPages int
	// MaxTextBytes caps the cleaned text of one document.
	MaxTextBytes int
}

// Caps on what one document may build, whatever its size. They keep the memory of an
// extraction proportional to the text it keeps, never to the structure or repetition of
// its input (issue 14: a 1.4 MB JSON file once grew to 4.5 GB).
const (
	// MaxBlockBytes is the most raw text cleaned as one block: a longer paragraph, record
	// or table row is cut at its last line break or space before this size (at a
	// character boundary when it has none) and continues in the next block, so cleaning
	// never holds more than a few copies of one megabyte.
	MaxBlockBytes = 1 << 20
	// MaxHeadingTitle is the most bytes of a heading's title kept as its title (in every
	// chunk's heading_path); the heading's text stays whole in the document.
	MaxHeadingTitle = 256
	// MaxHeadings is the most headings one document records; later ones stay in the text
	// as paragraphs.
	MaxHeadings = 16384
	// maxHeadingInput is how much of a heading's raw text is read to make its title.
	maxHeadingInput = 4 * MaxHeadingTitle
)

// builder assembles a Document from blocks, cleaning each block so that every offset it
// records points into the final cleaned text. Blocks are separated by a blank line. It
// counts what it keeps against the text cap as it goes, checks ctx every few blocks, and
// stops at the first error: extractors ask full() in their loops and end early.
type builder struct {
	ctx    context.Context
	format string
	limits Limits
	sb     textBuffer
	doc    document.Document
	err    error
	blocks int
	steps  int
	// decode, when set, turns each raw block into UTF-8 before it is cleaned: extractors
	// of 8-bit text find their structure in the raw bytes and never hold a decoded copy of
	// the whole input.
	decode func(string) string
}

func newBuilder(ctx context.Context, format string, limits Limits) *builder {
	return &builder{ctx: ctx, format: format, limits: limits}
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
// kept; it is cleaned first and dropped when nothing is left. A block over MaxBlockBytes
// is added as several.
func (b *builder) para(text string) {
	b.paraAt(text)
}

// paraAt is para returning the offset of the first block added, or -1.
func (b *builder) paraAt(text string) int {
	first := -1
	for len(text) > 0 && b.err == nil {
		cut := cutPoint(text, MaxBlockBytes)
		if off := b.addCleaned(text[:cut]); first < 0 {
			first = off
		}
		text = text[cut:]
	}
	return first
}

func (b *builder) clean(s string) string {
	if b.decode != nil {
		s = b.decode(s)
	}
	return Clean(s)
}

// addCleaned is add(b.clean(text)) with the last step, folding white space, writing
// straight into the text: no string per block, one copy fewer. Near the text cap it is
// add(b.clean(text)) itself, so the cap is checked as add checks it and the text never
// grows past it.
func (b *builder) addCleaned(text string) int {
	if b.err != nil {
		return -1
	}
	if b.decode != nil {
		text = b.decode(text)
	}
	text = beforeFold(text)
	if b.limits.MaxTextBytes > 0 && b.sb.Len()+2+len(text) > b.limits.MaxTextBytes {
		return b.add(FoldWhitespace(text)) // folding only shortens text
	}
	if b.blocks++; b.blocks%256 == 0 && b.ctx != nil && b.ctx.Err() != nil {
		b.err = b.ctx.Err()
		return -1
	}
	sep := ""
	if b.sb.Len() > 0 {
		sep = "\n\n"
	}
	off := b.sb.Len() + len(sep)
	if !foldInto(&b.sb, sep, text) {
		return -1
	}
	return off
}

// cutPoint returns where to end a block of s of at most n bytes: len(s) when it fits,
// else after the last line break in the second half of s[:n], else after the last space
// there, else at the last character boundary at or before n.
func cutPoint(s string, n int) int {
	if len(s) <= n {
		return len(s)
	}
	if i := strings.LastIndexByte(s[n/2:n], '\n'); i >= 0 {
		return n/2 + i + 1
	}
	if i := strings.LastIndexByte(s[n/2:n], ' '); i >= 0 {
		return n/2 + i + 1
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if cut == 0 {
		return n
	}
	return cut
}

// heading adds a heading block: its text is prefix (Markdown keeps its "## ") and the
// title folded into one line; its recorded title is the same without the prefix, cut to
// MaxHeadingTitle bytes. A title longer than a block, or a heading past MaxHeadings, is
// kept as a paragraph.
func (b *builder) heading(level int, prefix, title string) {
	if b.err != nil {
		return
	}
	if len(title) > MaxBlockBytes || len(b.doc.Headings) >= MaxHeadings {
		b.para(prefix + title)
		return
	}
	folded := strings.Join(strings.Fields(b.clean(title)), " ")
	if folded == "" {
		return
	}
	off := b.add(prefix + folded)
	if off >= 0 {
		b.doc.Headings = append(b.doc.Headings, document.Heading{Level: level, Title: truncate(folded, MaxHeadingTitle), Offset: off})
	}
}

// truncate cuts s to at most n bytes at a character boundary, ending it with "…" when cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimRight(s[:cut], " ") + "…"
}

// page starts a new page: the next block is its first. Past MaxPages the document fails
// as too_many_pages.
func (b *builder) page() {
	if b.err != nil {
		return
	}
	if b.limits.MaxPages > 0 && len(b.doc.Pages) >= b.limits.MaxPages {
		b.err = document.Permanentf(document.ReasonTooManyPages, "%s: more than %d pages (the page cap)", b.format, b.limits.MaxPages)
		return
	}
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
	if b.err != nil {
		return -1
	}
	if b.blocks++; b.blocks%256 == 0 && b.ctx != nil && b.ctx.Err() != nil {
		b.err = b.ctx.Err()
		return -1
	}
	if text == "" {
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

// tick is called once per step of an extractor's loop (a line, a token, a record): every
// 4096 steps it checks ctx, so that a document with no blocks to add still stops at its
// deadline. It reports whether the build goes on.
func (b *builder) tick() bool {
	if b.steps++; b.steps%4096 == 0 && b.ctx != nil && b.ctx.Err() != nil {
		b.fail(b.ctx.Err())
	}
	return b.err == nil
}

// fail stops the build with err (the first error wins).
func (b *builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// full reports whether the build has stopped (a cap, an error or ctx); extractors stop
// early when it has.
func (b *builder) full() bool { return b.err != nil }

// done returns the document, or the error that stopped it, or an "empty" failure when no
// text was found.
func (b *builder) done() (document.Document, error) {
	if b.err == nil && b.ctx != nil && b.ctx.Err() != nil {
		b.err = b.ctx.Err()
	}
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

// block accumulates the raw text of one block from many small writes (a JSON record's
// lines, a DOCX paragraph's runs, an HTML paragraph's text nodes) and hands it to the
// builder in pieces of at most MaxBlockBytes, so that a block never grows past that
// however its input is shaped.
type block struct {
	b       *builder
	sb      strings.Builder
	spilled bool // part of this block has gone to the builder already
}

func (k *block) WriteString(s string) {
	for len(s) > 0 && !k.b.full() {
		n := min(len(s), MaxBlockBytes+1-k.sb.Len())
		k.sb.WriteString(s[:n])
		s = s[n:]
		if k.sb.Len() > MaxBlockBytes {
			k.spill()
		}
	}
}

func (k *block) WriteByte(c byte) error {
	k.sb.WriteByte(c)
	if k.sb.Len() > MaxBlockBytes {
		k.spill()
	}
	return nil
}

func (k *block) Len() int { return k.sb.Len() }

// spill hands the block's text up to its last good cut to the builder.
func (k *block) spill() {
	s := k.sb.String()
	cut := cutPoint(s, MaxBlockBytes)
	k.b.para(s[:cut])
	rest := s[cut:]
	k.sb.Reset()
	k.sb.WriteString(rest)
	k.spilled = true
}

// end adds what is left of the block and starts the next one.
func (k *block) end() {
	if k.sb.Len() > 0 {
		k.b.para(k.sb.String())
	}
	k.reset()
}

// endHeading adds the block as a heading of the given level (as a paragraph when it was
// too long to be one).
func (k *block) endHeading(level int, prefix string) {
	if k.spilled {
		k.end()
		return
	}
	k.b.heading(level, prefix, k.sb.String())
	k.reset()
}

func (k *block) reset() {
	k.sb.Reset()
	k.spilled = false
}

// Builder assembles a Document from pages and paragraphs for extractors that live in
// their own packages (extractors/pdf): each paragraph is cleaned as the extractors of
// this package clean theirs, offsets point into the cleaned text, and the text cap is
// honoured.
type Builder struct{ b *builder }

// NewBuilder starts a document of format under lim.
func NewBuilder(ctx context.Context, format string, lim Limits) *Builder {
	return &Builder{newBuilder(ctx, format, lim)}
}

// Page starts a new page.
func (b *Builder) Page() { b.b.page() }

// Para adds a paragraph (cleaned; blank ones are dropped).
func (b *Builder) Para(text string) { b.b.para(text) }

// Done returns the document, or the first error (the text cap, an empty document).
func (b *Builder) Done() (document.Document, error) { return b.b.done() }
