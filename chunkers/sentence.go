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
	units, size := c.sizedUnits(text, from, to)
	// size[k] is the size of units[k], gap[k] the size of the white space before it
	// (32-bit: a unit never holds more than Max units, and memory per sentence matters on
	// large documents).
	gap := make([]int32, len(units))
	for k := 1; k < len(units); k++ {
		gap[k] = int32(c.Sizer.Count(text[units[k-1][1]:units[k][0]]))
	}
	for i := 0; i < len(units); {
		total := int(size[i])
		j := i + 1
		for j < len(units) && total+int(gap[j]+size[j]) <= c.Max {
			total += int(gap[j] + size[j])
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
			add := int(size[k-1])
			if k < j {
				add += int(gap[k])
			}
			if over+add > c.Overlap || over+add+int(gap[j]+size[j]) > c.Max {
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
	u, _ := c.sizedUnits(text, from, to)
	return u
}

// sizedUnits is units with each unit's size. The sentence list is returned as found
// (not copied) unless a sentence had to be cut.
func (c Sentence) sizedUnits(text string, from, to int) ([][2]int, []int32) {
	sents := sentenceSpans(text, from, to)
	size := make([]int32, len(sents))
	over := false
	for k, s := range sents {
		n := c.Sizer.Count(text[s[0]:s[1]])
		size[k] = int32(min(n, c.Max+1))
		over = over || n > c.Max
	}
	if !over {
		return sents, size
	}
	out := make([][2]int, 0, len(sents)+len(sents)/8)
	outSize := make([]int32, 0, cap(out))
	cutter := Recursive{Config: Config{Max: c.Max}, Sizer: c.Sizer}
	for k, s := range sents {
		if int(size[k]) <= c.Max {
			out = append(out, s)
			outSize = append(outSize, size[k])
			continue
		}
		for _, p := range cutter.split(text, s[0], s[1], nil) {
			out = append(out, [2]int{p.Start, p.End})
			outSize = append(outSize, int32(p.Tokens))
		}
	}
	return out, outSize
}
