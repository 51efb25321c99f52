package chunkers

import (
	"context"

	"github.com/docingest/docingest/document"
)

// Recursive packs as much text as fits in Max units and ends each chunk at the coarsest
// boundary it can: a paragraph, else a line, else a sentence, else a word, else a unit
// boundary. The next chunk starts exactly Overlap units before the previous one ended
// (or one unit after the previous one started, when that chunk is no longer than
// Overlap), and without overlap when the overlap and the white space after it would fill
// a whole chunk.
//
// It makes one forward pass: each chunk costs a scan of at most its own length plus the
// overlap, so time is linear in the input and memory is the output.
type Recursive struct {
	Config
	Sizer Sizer
}

func (c Recursive) Chunk(_ context.Context, doc document.Document) ([]document.Span, error) {
	return c.split(doc.Text, 0, len(doc.Text), nil), nil
}

func (c Recursive) split(text string, from, to int, out []document.Span) []document.Span {
	pos := skipSpace(text, from, to) // first byte of text no chunk holds yet
	cs := pos                        // start of the chunk being built (may be in the overlap)
	for pos < to {
		off, held := advance(c.Sizer, text[cs:to], c.Max)
		lim := cs + off
		if lim <= pos {
			// The overlap and the white space after it fill the chunk: drop the overlap.
			cs = pos
			off, held = advance(c.Sizer, text[cs:to], c.Max)
			lim = cs + off
		}
		var end, tokens int
		if skipSpace(text, lim, to) >= to {
			end = trimSpaceRight(text, pos, to)
			tokens = c.Sizer.Count(text[cs:end])
		} else {
			// text[cs:lim] holds `held` units (Max, unless a unit could not be cut out
			// alone), so only the tail cut off by the break needs counting.
			end = findBreak(text, pos, lim, to)
			tokens = held - c.Sizer.Count(text[end:lim])
		}
		out = append(out, document.Span{Start: cs, End: end, Tokens: tokens, Parent: -1})
		pos = skipSpace(text, end, to)
		if c.Overlap > 0 {
			// The overlap never repeats the whole previous chunk: at least its first unit
			// is left behind, so every chunk starts after the one before it.
			var next int
			if tokens <= c.Overlap { // the overlap would be the whole chunk
				next = startAt(c.Sizer, text, cs+c.Sizer.Advance(text[cs:end], 1), end)
			} else {
				next = startAt(c.Sizer, text, cs+c.Sizer.Back(text[cs:end], c.Overlap), end)
			}
			if next >= end {
				next = pos
			}
			cs = next
		} else {
			cs = pos
		}
	}
	return out
}

// startAt moves a chunk start past white space the sizer does not count (so chunks never
// begin with white space that is not part of their size); white space that counts, as
// with characters, stays, to keep the overlap exact.
func startAt(sz Sizer, text string, i, end int) int {
	j := skipSpace(text, i, end)
	if j > i && sz.Count(text[i:j]) == 0 {
		return j
	}
	return i
}
