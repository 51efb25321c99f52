package chunkers

import (
	"context"

	"github.com/docingest/docingest/document"
)

// Markdown splits a document under its headings: every heading starts a section, no chunk
// crosses from one section into the next, and each chunk carries the path of headings
// above it. Within a section, chunks pack whole sentences as Sentence does. A document
// without headings is one section. The headings come from the extractor (Markdown, HTML,
// DOCX all report them), so this strategy serves any structured format.
type Markdown struct {
	Config
	Sizer Sizer
}

func (c Markdown) Chunk(_ context.Context, doc document.Document) ([]document.Span, error) {
	inner := Sentence(c)
	var out []document.Span
	bounds := make([]int, 0, len(doc.Headings)+2)
	bounds = append(bounds, 0)
	for _, h := range doc.Headings {
		if h.Offset > bounds[len(bounds)-1] && h.Offset < len(doc.Text) {
			bounds = append(bounds, h.Offset)
		}
	}
	bounds = append(bounds, len(doc.Text))
	for k := 0; k+1 < len(bounds); k++ {
		from, to := bounds[k], bounds[k+1]
		n := len(out)
		out = inner.split(doc.Text, from, to, out)
		if n == len(out) {
			continue
		}
		path := doc.HeadingPath(from)
		if path == nil {
			path = []string{}
		}
		for i := n; i < len(out); i++ {
			out[i].HeadingPath = path
		}
	}
	return out, nil
}
