package chunkers

import (
	"context"

	"github.com/docingest/docingest/document"
)

// Sentence packs whole sentences up to Max units. A sentence longer than Max is cut by the
// recursive strategy (words, then unit boundaries) into pieces that pack like sentences.
// The next chunk starts with the last whole sentences of the previous one that together
// fit in Overlap units.
type Sentence struct {
	Config
	Sizer Sizer
}

func (c Sentence) Chunk(_ context.Context, doc document.Document) ([]document.Span, error) {
	return c.split(doc.Text, 0, len(doc.Text), nil), nil
}

func (c Sentence) split(text string, from, to int, out []document.Span) []document.Span {
	units := c.units(text, from, to)
	// size[k] is the size of units[k], gap[k] the size of the white space before it.
	size := make([]int, len(units))
	gap := make([]int, len(units))
	for k, u := range units {
		size[k] = c.Sizer.Count(text[u[0]:u[1]])
		if k > 0 {
			gap[k] = c.Sizer.Count(text[units[k-1][1]:u[0]])
		}
	}
	for i := 0; i < len(units); {
		total := size[i]
		j := i + 1
		for j < len(units) && total+gap[j]+size[j] <= c.Max {
			total += gap[j] + size[j]
			j++
		}
		out = append(out, document.Span{Start: units[i][0], End: units[j-1][1], Tokens: total, Parent: -1})
		if j == len(units) {
			break
		}
		// Overlap: the trailing whole units of this chunk that fit in Overlap units and
		// leave room for the next unit.
		k, over := j, 0
		for k > i+1 {
			add := size[k-1]
			if k < j {
				add += gap[k]
			}
			if over+add > c.Overlap || over+add+gap[j]+size[j] > c.Max {
				break
			}
			over += add
			k--
		}
		i = k
	}
	return out
}

// units returns the sentences of text[from:to], with any sentence over Max cut into
// pieces that fit.
func (c Sentence) units(text string, from, to int) [][2]int {
	sents := sentenceSpans(text, from, to)
	out := sents[:0:0]
	cutter := Recursive{Config: Config{Max: c.Max}, Sizer: c.Sizer}
	for _, s := range sents {
		if c.Sizer.Count(text[s[0]:s[1]]) <= c.Max {
			out = append(out, s)
			continue
		}
		for _, p := range cutter.split(text, s[0], s[1], nil) {
			out = append(out, [2]int{p.Start, p.End})
		}
	}
	return out
}
