package chunkers

import "github.com/docingest/docingest/document"

// Recursive packs as much text as fits in Max units and ends each chunk at the coarsest
// boundary it can: a paragraph, else a line, else a sentence, else a word, else a unit
// boundary. The next chunk starts exactly Overlap units before the previous one ended.
//
// It makes one forward pass: each chunk costs a scan of at most its own length plus the
// overlap, so time is linear in the input and memory is the output.
type Recursive struct {
	Config
	Sizer Sizer
}

func (c Recursive) Chunk(doc document.Document) ([]document.Span, error) {
	return c.split(doc.Text, 0, len(doc.Text), nil), nil
}

func (c Recursive) split(text string, from, to int, out []document.Span) []document.Span {
	pos := skipSpace(text, from, to) // first byte of text no chunk holds yet
	cs := pos                        // start of the chunk being built (may be in the overlap)
	for pos < to {
		lim := cs + c.Sizer.Advance(text[cs:to], c.Max)
		if lim <= pos {
			// The overlap and the white space after it fill the chunk: drop the overlap.
			cs = pos
			lim = cs + c.Sizer.Advance(text[cs:to], c.Max)
		}
		var end int
		if skipSpace(text, lim, to) >= to {
			end = trimSpaceRight(text, pos, to)
		} else {
			end = findBreak(text, pos, lim, to)
		}
		out = append(out, newSpan(c.Sizer, text, cs, end))
		pos = skipSpace(text, end, to)
		if c.Overlap > 0 {
			cs += c.Sizer.Back(text[cs:end], c.Overlap)
		} else {
			cs = pos
		}
	}
	return out
}
