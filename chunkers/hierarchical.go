package chunkers

import (
	"context"
	"fmt"

	"github.com/docingest/docingest/document"
)

// Hierarchical makes parent chunks of up to Parent.Max units (recursive strategy, with
// Parent.Overlap) and cuts each parent into child chunks of up to Config.Max units (with
// Config.Overlap). Spans come parent first, then its children; each child's Parent is its
// parent's index, so a retriever that matches a small child can return the larger parent
// around it. Parents have Parent -1.
type Hierarchical struct {
	Config        // the children
	Parent Config // the parents
	Sizer  Sizer
}

// Validate names the bad field.
func (c Hierarchical) Validate() error {
	if err := c.Parent.Validate(); err != nil {
		return fmt.Errorf("parent_%w", err)
	}
	if err := c.Config.Validate(); err != nil {
		return err
	}
	if c.Max >= c.Parent.Max {
		return fmt.Errorf("max_size: children (%d) must be smaller than parents (%d)", c.Max, c.Parent.Max)
	}
	return nil
}

func (c Hierarchical) Chunk(ctx context.Context, doc document.Document) ([]document.Span, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	text := doc.Text
	parents := Recursive{Config: c.Parent, Sizer: c.Sizer}.split(text, 0, len(text), nil)
	children := Recursive{Config: c.Config, Sizer: c.Sizer}
	out := make([]document.Span, 0, len(parents)*(1+c.Parent.Max/c.Max))
	var kids []document.Span
	for i, p := range parents {
		if i%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		at := len(out)
		out = append(out, p)
		kids = children.split(text, p.Start, p.End, kids[:0])
		for _, k := range kids {
			k.Parent = at
			out = append(out, k)
		}
	}
	return out, nil
}
