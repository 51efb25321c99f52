package extractors

import (
	"archive/zip"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"path"
	"strings"

	"github.com/docingest/docingest/document"
)

// PPTXExtractor reads PowerPoint presentations (Office Open XML) with archive/zip and
// encoding/xml: slides in the presentation's order, each a page (so chunks carry page
// numbers), its title placeholder a heading, every other text frame's paragraphs as
// blocks, a table one block per row (cells joined by " | "), shapes inside groups
// included, and the slide's speaker notes as a block starting "Notes:" unless SkipNotes
// is set. Slide numbers, dates and footers are left out. Caps as for DOCX: the
// decompressed size of every part, XML nesting and runs without markup.
type PPTXExtractor struct {
	Limits    Limits
	SkipNotes bool
}

func (e PPTXExtractor) maxXMLBytes() int64 { return DOCXExtractor{Limits: e.Limits}.maxXMLBytes() }

// relTargets reads a part's relationships: id → target part name (resolved against the
// part's folder), and the target of the first relationship whose type ends in typeSuffix.
func (e PPTXExtractor) relTargets(parts map[string]*zip.File, part, typeSuffix string) (map[string]string, string, error) {
	dir, file := path.Split(part)
	rels := parts[dir+"_rels/"+file+".rels"]
	out := map[string]string{}
	first := ""
	if rels == nil {
		return out, "", nil
	}
	err := eachToken(FormatPPTX, rels, e.maxXMLBytes(), false, func(tok xml.Token) error {
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Relationship" {
			target := relTarget(dir, attr(se, "Target"))
			out[attr(se, "Id")] = target
			if first == "" && typeSuffix != "" && strings.HasSuffix(attr(se, "Type"), typeSuffix) {
				first = target
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, first, nil
}

func (e PPTXExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	parts, err := zipParts(FormatPPTX, data)
	if err != nil {
		return document.Document{}, err
	}
	pres := parts["ppt/presentation.xml"]
	if pres == nil {
		return document.Document{}, document.Permanentf(document.ReasonUnsupported, "pptx: archive has no ppt/presentation.xml")
	}
	targets, _, err := e.relTargets(parts, pres.Name, "")
	if err != nil {
		return document.Document{}, err
	}
	var slides []string
	err = XLSXExtractor{Limits: e.Limits}.eachIn(FormatPPTX, pres, func(se xml.StartElement) {
		if se.Name.Local == "sldId" {
			if t := targets[attrNS(se, "id")]; t != "" {
				slides = append(slides, t)
			}
		}
	})
	if err != nil {
		return document.Document{}, err
	}
	b := newBuilder(ctx, FormatPPTX, e.Limits)
	for _, name := range slides {
		if b.full() {
			break
		}
		b.page()
		slide := parts[name]
		if slide == nil {
			continue
		}
		if err := e.shapes(slide, b, false); err != nil {
			return document.Document{}, err
		}
		if e.SkipNotes {
			continue
		}
		_, notes, err := e.relTargets(parts, name, "/notesSlide")
		if err != nil {
			return document.Document{}, err
		}
		if n := parts[notes]; n != nil {
			if err := e.shapes(n, b, true); err != nil {
				return document.Document{}, err
			}
		}
	}
	return b.done()
}

// shapes streams the text of a slide (or a notes slide) into b. A shape's placeholder
// type says what it is: a title becomes a heading; slide numbers, dates, footers and the
// notes page's slide image are skipped; on a notes slide only the body is read.
func (e PPTXExtractor) shapes(f *zip.File, b *builder, notes bool) error {
	rc, err := openZipPart(FormatPPTX, f, e.maxXMLBytes())
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	var (
		depth   int
		phType  string
		inShape bool
		inText  bool
		para    strings.Builder // the current paragraph (or table cell's text)
		frame   []string        // paragraphs of the current text frame
		cells   []string        // the current table row's cells
		inTable int
		inCell  bool
		noteOut bool // "Notes:" written for this notes slide
	)
	keep := func() bool {
		switch phType {
		case "sldNum", "dt", "ftr", "sldImg", "hdr":
			return false
		}
		return !notes || phType == "body"
	}
	endFrame := func() {
		text := strings.TrimSpace(strings.Join(frame, "\n"))
		frame = frame[:0]
		if text == "" || !keep() {
			return
		}
		switch {
		case phType == "title" || phType == "ctrTitle":
			b.heading(1, "", text)
		case notes:
			if !noteOut {
				text = "Notes: " + text
				noteOut = true
			}
			b.para(text)
		default:
			for _, p := range strings.Split(text, "\n") {
				b.para(p)
			}
		}
	}
	for b.tick() {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return zipXMLErr(FormatPPTX, f.Name, err)
		}
		if err := zipXMLDepth(FormatPPTX, tok, &depth, f.Name); err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "sp":
				inShape, phType = true, ""
			case "ph":
				if inShape {
					phType = attr(t, "type")
				}
			case "tbl":
				inTable++
			case "tr":
				cells = cells[:0]
			case "tc":
				inCell = true
				para.Reset()
			case "p":
				if !inCell {
					para.Reset()
				} else if para.Len() > 0 {
					para.WriteByte(' ')
				}
			case "t":
				inText = true
			case "br":
				para.WriteByte('\n')
			case "tab":
				para.WriteByte('\t')
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inText = false
			case "p":
				if !inCell && inTable == 0 {
					frame = append(frame, para.String())
				}
			case "tc":
				inCell = false
				cells = append(cells, strings.Join(strings.Fields(para.String()), " "))
			case "tr":
				if !notes {
					var kept []string
					for _, c := range cells {
						if c != "" {
							kept = append(kept, c)
						}
					}
					b.para(strings.Join(kept, " | "))
				}
			case "tbl":
				inTable--
			case "txBody":
				if inTable == 0 {
					endFrame()
				}
			case "sp":
				inShape, phType = false, ""
			}
		case xml.CharData:
			if inText && para.Len()+len(t) <= MaxBlockBytes {
				para.Write(t)
			}
		}
	}
	return nil
}
