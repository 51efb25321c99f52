package extractors

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"

	"io"
	"strconv"
	"strings"

	"github.com/docingest/docingest/document"
)

// DOCXExtractor reads Word documents (Office Open XML) with archive/zip and encoding/xml:
// paragraphs, headings (from the paragraph's style, resolved through styles.xml, or its
// outline level) and tables (one block per row, cells joined by " | "). The decompressed
// size of every part it reads is capped, so a zip bomb fails as too_large.
type DOCXExtractor struct{ Limits Limits }

// maxXMLBytes bounds the XML read from one part; markup outweighs text by a wide factor.
func (e DOCXExtractor) maxXMLBytes() int64 {
	if e.Limits.MaxTextBytes <= 0 {
		return 1 << 30
	}
	return max(int64(e.Limits.MaxTextBytes)*8, 64<<20)
}

func isDOCX(data []byte) bool {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return false
	}
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			return true
		}
	}
	return false
}

func (e DOCXExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "docx: not a readable zip archive: %w", err)
	}
	var body, styles *zip.File
	for _, f := range zr.File {
		switch f.Name {
		case "word/document.xml":
			body = f
		case "word/styles.xml":
			styles = f
		}
	}
	if body == nil {
		return document.Document{}, document.Permanentf(document.ReasonUnsupported, "docx: archive has no word/document.xml")
	}
	levels := map[string]int{}
	if styles != nil {
		if err := e.readStyles(styles, levels); err != nil {
			return document.Document{}, err
		}
	}
	rc, err := e.open(body)
	if err != nil {
		return document.Document{}, err
	}
	defer rc.Close()
	b := newBuilder(FormatDOCX, e.Limits)
	if err := parseDocumentXML(ctx, rc, levels, b); err != nil {
		return document.Document{}, err
	}
	return b.done()
}

func (e DOCXExtractor) open(f *zip.File) (io.ReadCloser, error) {
	limit := e.maxXMLBytes()
	if f.UncompressedSize64 > uint64(limit) {
		return nil, document.Permanentf(document.ReasonTooLarge, "docx: %s declares %d bytes, over the cap of %d", f.Name, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, document.Permanentf(document.ReasonCorrupt, "docx: %s: %w", f.Name, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{&capReader{r: rc, n: limit, name: f.Name}, rc}, nil
}

// capReader fails with a too_large error past n bytes, whatever the archive declared.
type capReader struct {
	r    io.Reader
	n    int64
	name string
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, document.Permanentf(document.ReasonTooLarge, "docx: %s decompresses past the cap", c.name)
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

// readStyles maps paragraph style ids to heading levels: built-in "heading N" and "Title"
// names (whatever the localized id), or a style's own outline level.
func (e DOCXExtractor) readStyles(f *zip.File, levels map[string]int) error {
	rc, err := e.open(f)
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	var id string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return xmlErr("styles.xml", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "style":
			id = attr(se, "styleId")
		case "name":
			name := strings.ToLower(attr(se, "val"))
			if lvl, ok := strings.CutPrefix(name, "heading "); ok {
				if n, err := strconv.Atoi(lvl); err == nil && n >= 1 && n <= 9 {
					levels[id] = n
				}
			} else if name == "title" {
				levels[id] = 1
			}
		case "outlineLvl":
			if n, err := strconv.Atoi(attr(se, "val")); err == nil && n >= 0 && n < 9 && id != "" {
				if _, set := levels[id]; !set {
					levels[id] = n + 1
				}
			}
		}
	}
}

func attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func xmlErr(part string, err error) error {
	var p *document.PermanentError
	if errors.As(err, &p) {
		return err
	}
	return document.Permanentf(document.ReasonCorrupt, "docx: %s: %w", part, err)
}

// parseDocumentXML streams word/document.xml into b: one block per paragraph outside
// tables, one per table row inside them.
func parseDocumentXML(ctx context.Context, r io.Reader, levels map[string]int, b *builder) error {
	dec := xml.NewDecoder(r)
	var (
		para     strings.Builder
		row      []string
		level    int
		inText   bool
		tblDepth int
		n        int
	)
	endPara := func() {
		text := para.String()
		para.Reset()
		if tblDepth > 0 {
			if t := strings.TrimSpace(text); t != "" {
				if len(row) > 0 && row[len(row)-1] != "" {
					row[len(row)-1] += " " + t
				} else if len(row) > 0 {
					row[len(row)-1] = t
				}
			}
			return
		}
		if level > 0 {
			b.heading(level, "", text)
		} else {
			b.para(text)
		}
		level = 0
	}
	for !b.full() {
		n++
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return xmlErr("document.xml", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "pStyle":
				if tblDepth == 0 {
					level = levels[attr(t, "val")]
				}
			case "outlineLvl":
				if v, err := strconv.Atoi(attr(t, "val")); err == nil && v >= 0 && v < 9 && tblDepth == 0 {
					level = v + 1
				}
			case "t", "delText":
				inText = t.Name.Local == "t"
			case "tab":
				para.WriteByte('\t')
			case "br", "cr":
				para.WriteByte('\n')
			case "tbl":
				tblDepth++
			case "tr":
				if tblDepth == 1 {
					row = row[:0]
				}
			case "tc":
				if tblDepth == 1 {
					row = append(row, "")
				}
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t", "delText":
				inText = false
			case "p":
				endPara()
			case "tr":
				if tblDepth == 1 {
					cells := row[:0:0]
					for _, c := range row {
						if c != "" {
							cells = append(cells, c)
						}
					}
					b.para(strings.Join(cells, " | "))
				}
			case "tbl":
				tblDepth--
			}
		case xml.CharData:
			if inText {
				para.Write(t)
			}
		}
	}
	return nil
}
