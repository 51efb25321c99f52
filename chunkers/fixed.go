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
	prevEnd := -1
	for cs < to {
		lim := cs + c.Sizer.Advance(text[cs:to], c.Max)
		if lim <= prevEnd {
			// The window would end where the previous one did (it holds fewer than Max
			// units: a unit could not be cut out alone): drop the overlap.
			cs = skipSpace(text, prevEnd, to)
			prevEnd = -1
			continue
		}
		if skipSpace(text, lim, to) >= to {
			if end := trimSpaceRight(text, cs, to); end > cs && end > prevEnd {
				out = append(out, newSpan(c.Sizer, text, cs, end))
			}
			break
		}
		if skipSpace(text, cs, lim) == lim { // a window of white space only
			cs = skipSpace(text, lim, to)
			continue
		}
		out = append(out, newSpan(c.Sizer, text, cs, lim))
		prevEnd = lim
		if c.Overlap > 0 {
			// The overlap never repeats the whole window (a window may hold fewer than Max
			// units when a unit could not be cut out alone): at least one unit is left.
			b := c.Sizer.Back(text[cs:lim], c.Overlap)
			if b == 0 {
				if b = c.Sizer.Advance(text[cs:lim], 1); b == 0 {
					b = lim - cs
				}
			}
			cs = startAt(c.Sizer, text, cs+b, lim)
		} else {
			cs = startAt(c.Sizer, text, lim, to)
		}
	}
	return out
}
