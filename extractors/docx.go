package extractors

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"

	"io"
	"path"
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

func isDOCX(data []byte) bool { return zipHas(data, "word/document.xml") }

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
	b := newBuilder(ctx, FormatDOCX, e.Limits)
	if err := parseDocumentXML(rc, levels, b); err != nil {
		return document.Document{}, err
	}
	return b.done()
}

func (e DOCXExtractor) open(f *zip.File) (io.ReadCloser, error) {
	return openZipPart(FormatDOCX, f, e.maxXMLBytes())
}

// openZipPart opens one XML part of an Office or OpenDocument archive for format, capped
// at limit decompressed bytes (whatever the archive declares) and at MaxXMLRun bytes
// without markup.
func openZipPart(format string, f *zip.File, limit int64) (io.ReadCloser, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, document.Permanentf(document.ReasonTooLarge, "%s: %s declares %d bytes, over the cap of %d", format, f.Name, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, document.Permanentf(document.ReasonCorrupt, "%s: %s: %w", format, f.Name, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{&markupReader{r: &capReader{r: rc, n: limit, name: f.Name, format: format}, name: f.Name, format: format}, rc}, nil
}

// zipParts opens data as a zip archive of format and indexes its parts by name.
func zipParts(format string, data []byte) (map[string]*zip.File, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, document.Permanentf(document.ReasonCorrupt, "%s: not a readable zip archive: %w", format, err)
	}
	parts := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		parts[f.Name] = f
	}
	return parts, nil
}

// eachToken streams the tokens of one XML part of format to fn, under the caps of
// openZipPart and MaxXMLDepth; html reads it leniently, with HTML's entities (EPUB's
// navigation document is XHTML as authors write it).
func eachToken(format string, f *zip.File, limit int64, html bool, fn func(xml.Token) error) error {
	rc, err := openZipPart(format, f, limit)
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	if html {
		dec.Strict, dec.Entity = false, xml.HTMLEntity
	}
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return zipXMLErr(format, f.Name, err)
		}
		if err := zipXMLDepth(format, tok, &depth, f.Name); err != nil {
			return err
		}
		if err := fn(tok); err != nil {
			return err
		}
	}
}

// MaxXMLRun is the most bytes a DOCX part may hold between two '<': encoding/xml returns a
// run of text as one token, so without this one 380 MiB paragraph is 380 MiB in memory
// before any cap on text can see it.
const MaxXMLRun = 4 << 20

// markupReader fails with too_large when more than MaxXMLRun bytes pass without a '<'.
type markupReader struct {
	r      io.Reader
	run    int
	name   string
	format string
}

func (m *markupReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '<')
		if j < 0 {
			m.run += n - i
			break
		}
		if m.run+j > MaxXMLRun {
			m.run += j
			break
		}
		m.run, i = 0, i+j+1
	}
	if m.run > MaxXMLRun {
		return 0, document.Permanentf(document.ReasonTooLarge, "%s: %s holds a run of more than %d bytes without markup", m.format, m.name, MaxXMLRun)
	}
	return n, err
}

// capReader fails with a too_large error past n bytes, whatever the archive declared.
type capReader struct {
	r      io.Reader
	n      int64
	name   string
	format string
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, document.Permanentf(document.ReasonTooLarge, "%s: %s decompresses past the cap", c.format, c.name)
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
	var id string
	return eachToken(FormatDOCX, f, e.maxXMLBytes(), false, func(tok xml.Token) error {
		se, ok := tok.(xml.StartElement)
		if !ok {
			return nil
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
		return nil
	})
}

// relTarget resolves a relationship's Target against the folder of the part that names
// it (an absolute target starts at the archive's root).
func relTarget(dir, target string) string {
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(target, "/")
	}
	return path.Join(dir, target)
}

func attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func xmlErr(part string, err error) error { return zipXMLErr(FormatDOCX, part, err) }

// zipXMLErr classifies an error reading an XML part of format: a cap's own error as it is,
// anything else as corrupt.
func zipXMLErr(format, part string, err error) error {
	var p *document.PermanentError
	if errors.As(err, &p) {
		return err
	}
	return document.Permanentf(document.ReasonCorrupt, "%s: %s: %w", format, part, err)
}

// MaxXMLDepth is the deepest nesting of elements a DOCX part may have; WordprocessingML
// itself nests a few dozen levels at most.
const MaxXMLDepth = 256

// xmlDepth tracks the nesting depth of a token stream and fails past MaxXMLDepth.
func xmlDepth(tok xml.Token, depth *int, part string) error {
	return zipXMLDepth(FormatDOCX, tok, depth, part)
}

// zipXMLDepth is xmlDepth for a part of format.
func zipXMLDepth(format string, tok xml.Token, depth *int, part string) error {
	switch tok.(type) {
	case xml.StartElement:
		if *depth++; *depth > MaxXMLDepth {
			return document.Permanentf(document.ReasonCorrupt, "%s: %s nests elements deeper than %d levels", format, part, MaxXMLDepth)
		}
	case xml.EndElement:
		*depth--
	}
	return nil
}

// parseDocumentXML streams word/document.xml into b: one block per paragraph outside
// tables, one per table row inside them (non-empty cells joined by " | ", the paragraphs
// of a cell by a space). Paragraphs and rows reach the builder through a block, so none
// grows past MaxBlockBytes.
func parseDocumentXML(r io.Reader, levels map[string]int, b *builder) error {
	dec := xml.NewDecoder(r)
	var (
		para     = &block{b: b} // the paragraph outside tables, or the row inside one
		level    int
		inText   bool
		tblDepth int
		depth    int
		// in a row: whether the current cell has text yet, and whether the cell's
		// current paragraph has
		cellText, paraText bool
	)
	endPara := func() {
		if tblDepth > 0 {
			paraText = false
			return
		}
		if level > 0 {
			para.endHeading(level, "")
		} else {
			para.end()
		}
		level = 0
	}
	for b.tick() {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return xmlErr("document.xml", err)
		}
		if err := xmlDepth(tok, &depth, "document.xml"); err != nil {
			return err
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
				if tblDepth == 0 {
					para.end()
				}
				tblDepth++
			case "tr":
				if tblDepth == 1 {
					para.end()
				}
			case "tc":
				if tblDepth == 1 {
					cellText, paraText = false, false
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
					para.end()
				}
			case "tbl":
				if tblDepth--; tblDepth == 0 {
					para.end()
				}
			}
		case xml.CharData:
			if !inText {
				continue
			}
			if tblDepth == 0 {
				para.WriteString(string(t))
				continue
			}
			// Inside a table: cell text is folded later by Clean; what matters here
			// is where the separators go.
			s := string(t)
			if strings.TrimSpace(s) == "" && !paraText {
				continue
			}
			switch {
			case !cellText && para.Len() > 0:
				para.WriteString(" | ")
			case cellText && !paraText:
				para.WriteString(" ")
			}
			if !paraText {
				s = strings.TrimLeft(s, " \t")
			}
			cellText, paraText = true, true
			para.WriteString(s)
		}
	}
	return b.err
}
