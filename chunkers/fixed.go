package chunkers

import (
	"context"

	"github.com/docingest/docingest/document"
)

// Fixed cuts windows of exactly Max units (the last may be shorter), each starting Overlap
// units before the previous one ends. It ignores structure: the cheapest strategy, and
// the one whose chunk sizes are the most even. Windows holding only white space are
// skipped.
type Fixed struct {
	Config
	Sizer Sizer
}

func (c Fixed) Chunk(_ context.Context, doc document.Document) ([]document.Span, error) {
	return c.split(doc.Text, 0, len(doc.Text), nil), nil
}

func (c Fixed) split(text string, from, to int, out []document.Span) []document.Span {
	cs := skipSpace(text, from, to)
	for cs < to {
		lim := cs + c.Sizer.Advance(text[cs:to], c.Max)
		if skipSpace(text, lim, to) >= to {
			if end := trimSpaceRight(text, cs, to); end > cs {
				out = append(out, newSpan(c.Sizer, text, cs, end))
			}
			break
		}
		if skipSpace(text, cs, lim) == lim { // a window of white space only
			cs = skipSpace(text, lim, to)
			continue
		}
		out = append(out, newSpan(c.Sizer, text, cs, lim))
		if c.Overlap > 0 {
			cs = startAt(c.Sizer, text, cs+c.Sizer.Back(text[cs:lim], c.Overlap), lim)
		} else {
			cs = startAt(c.Sizer, text, lim, to)
		}
	}
	return out
}
