package document

import (
	"math"
	"sort"
)

// Document is the cleaned text of one source with the structure an extractor found in it.
// All offsets are byte offsets into Text.
type Document struct {
	// Format names the extractor that produced the document ("pdf", "html", ...).
	Format string
	// Text is the cleaned text: valid UTF-8, NFC, no control characters other than '\n'.
	// Blocks (paragraphs, headings, list items, table rows) are separated by "\n\n".
	Text string
	// Pages holds, for paged formats, the offset at which each page starts; Pages[0] is 0.
	// Empty for formats without pages.
	Pages []int
	// PageImages holds, when the extractor can tell (the built-in PDF reader), whether each
	// page paints an image (an image XObject or an inline image, directly or in a form);
	// nil when it cannot. OCR reads the pages with little text that paint one.
	PageImages []bool
	// Headings lists the headings in text order.
	Headings []Heading
	// Metadata holds what the format says about the document beside its text (an
	// e-mail's sender and date); every chunk carries it, under a sidecar's attributes.
	Metadata map[string]string
	// OCR lists, in text order, the paragraphs that came from OCR, each with its words'
	// mean confidence (0 to 1); empty for text from a text layer or a file's own text.
	OCR []OCRSpan
	// Attachments are files the document carries that are documents of their own (an
	// e-mail's attached PDF): the pipeline extracts each one whose format it reads as a
	// separate document under the parent source. Nil for most formats.
	Attachments []Attachment
}

// Attachment is a file carried inside a document: its 1-based position among the
// document's attachments (stable for the same bytes), its file name as the document
// gives it (may be empty), and its decoded bytes, or Err when they could not be decoded
// (the attachment fails on its own; its parent does not).
type Attachment struct {
	N    int
	Name string
	Data []byte
	Err  error
}

// OCRSpan is a stretch of Text read by OCR: [Start, End), how many words, and their mean
// confidence.
type OCRSpan struct {
	Start, End int
	Words      int
	Confidence float64
}

// Heading is a heading of the document: its level (1 is the top), its title as it
// appears in Text, and the offset where its line starts.
type Heading struct {
	Level  int
	Title  string
	Offset int
}

// PageAt returns the 1-based page number holding offset off, or 0 when the document has
// no pages.
func (d *Document) PageAt(off int) int {
	if len(d.Pages) == 0 {
		return 0
	}
	i := sort.SearchInts(d.Pages, off+1) // first page starting after off
	if i == 0 {
		return 1
	}
	return i
}

// HeadingPath returns the titles of the headings that enclose offset off, outermost first.
func (d *Document) HeadingPath(off int) []string {
	var path []Heading
	for _, h := range d.Headings {
		if h.Offset > off {
			break
		}
		for len(path) > 0 && path[len(path)-1].Level >= h.Level {
			path = path[:len(path)-1]
		}
		path = append(path, h)
	}
	if len(path) == 0 {
		return nil
	}
	titles := make([]string, len(path))
	for i, h := range path {
		titles[i] = h.Title
	}
	return titles
}

// Span is one chunk cut from a document's text: Text[Start:End], with its size in the
// chunker's unit.
type Span struct {
	Start, End int
	// Tokens is the size of Text[Start:End] in the chunker's sizing unit.
	Tokens int
	// HeadingPath is set by chunkers that split under headings; others leave it nil and
	// the pipeline derives it from the document's headings.
	HeadingPath []string
	// Parent is the index of the parent span for hierarchical strategies, or -1.
	Parent int
}

// OCRConfidence is the word-weighted mean confidence of the OCR spans that [start, end)
// overlaps, rounded to 4 decimals, or nil when it overlaps none (text not read by OCR).
func (d *Document) OCRConfidence(start, end int) *float64 {
	i := sort.Search(len(d.OCR), func(i int) bool { return d.OCR[i].End > start })
	var sum float64
	words := 0
	for ; i < len(d.OCR) && d.OCR[i].Start < end; i++ {
		sum += d.OCR[i].Confidence * float64(d.OCR[i].Words)
		words += d.OCR[i].Words
	}
	if words == 0 {
		return nil
	}
	v := math.Round(sum/float64(words)*10000) / 10000
	return &v
}
