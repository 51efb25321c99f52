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

// The OpenDocument media types, as an archive's first part, mimetype, names them.
const (
	odtMime = "application/vnd.oasis.opendocument.text"
	odsMime = "application/vnd.oasis.opendocument.spreadsheet"
	odpMime = "application/vnd.oasis.opendocument.presentation"
)

// odfMime is the media type an OpenDocument archive names in its mimetype part, or "".
func odfMime(data []byte) string {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return ""
	}
	for _, f := range zr.File {
		if f.Name != "mimetype" || f.UncompressedSize64 > 256 {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return ""
		}
		b, _ := io.ReadAll(io.LimitReader(rc, 256))
		rc.Close()
		return strings.TrimSpace(string(b))
	}
	return ""
}

// ODFExtractor reads OpenDocument text documents, spreadsheets and presentations (ODT,
// ODS, ODP, as LibreOffice writes them) from their content.xml with encoding/xml:
//   - text: headings (text:h, by outline level; a paragraph in the Title style is a level 1
//     heading), paragraphs and list items, tables one block per row (cells joined by " | "),
//     footnotes where they stand;
//   - spreadsheets: every sheet a section headed by its name, its first non-empty row the
//     header and every later row a block of "header: value" lines, as for XLSX and CSV,
//     with each cell's displayed text (repeated cells repeated, up to the cell cap);
//   - presentations: every slide a page, its title frame a heading, speaker notes after
//     it as a block starting "Notes:" unless SkipNotes is set.
//
// Caps as for DOCX: the decompressed size of content.xml, XML nesting, runs without
// markup, and MaxXLSXCells cells.
type ODFExtractor struct {
	Limits    Limits
	SkipNotes bool
}

func (e ODFExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "odf: not a readable zip archive: %w", err)
	}
	var content *zip.File
	for _, f := range zr.File {
		if f.Name == "content.xml" {
			content = f
		}
	}
	mime := odfMime(data)
	format := map[string]string{odtMime: FormatODT, odsMime: FormatODS, odpMime: FormatODP}[mime]
	if format == "" {
		return document.Document{}, document.Permanentf(document.ReasonUnsupported, "odf: media type %q is not an OpenDocument text, spreadsheet or presentation", mime)
	}
	if content == nil {
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "%s: archive has no content.xml", format)
	}
	rc, err := openZipPart(format, content, DOCXExtractor{Limits: e.Limits}.maxXMLBytes())
	if err != nil {
		return document.Document{}, err
	}
	defer rc.Close()
	b := newBuilder(ctx, format, e.Limits)
	p := &odfParser{b: b, format: format, skipNotes: e.SkipNotes, blk: &block{b: b}}
	if err := p.run(xml.NewDecoder(rc)); err != nil {
		return document.Document{}, err
	}
	return b.done()
}

type odfParser struct {
	b         *builder
	format    string
	skipNotes bool
	blk       *block

	para    strings.Builder // the paragraph or heading being read
	inPara  int             // nesting of text:p / text:h (a note's paragraphs nest inside one)
	heading int             // level of the heading being read, 0 for a paragraph
	title   bool            // a paragraph in the Title style
	skip    int             // inside something whose text is left out

	table     int      // nesting of tables
	cells     []string // the current row's cells
	cellText  strings.Builder
	inCell    bool
	repeat    int      // the current cell's number-columns-repeated
	header    []string // spreadsheets: the sheet's header row
	sheetName string
	sheetUsed bool
	cellCount int

	frameTitle bool // presentations: the frame being read is the slide's title
	notes      bool // presentations: inside the speaker notes
	notesOut   bool
}

func (p *odfParser) run(dec *xml.Decoder) error {
	depth := 0
	for p.b.tick() {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return zipXMLErr(p.format, "content.xml", err)
		}
		if err := zipXMLDepth(p.format, tok, &depth, "content.xml"); err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := p.start(t); err != nil {
				return err
			}
		case xml.EndElement:
			p.end(t)
		case xml.CharData:
			if p.skip == 0 && p.inPara > 0 {
				p.write(string(t))
			}
		}
	}
	return nil
}

// odfSkipped names the elements whose text is left out: comments (office:annotation),
// footnote numbers, tracked deletions, forms, and drawings' descriptions (svg:title and
// svg:desc).
func odfSkipped(n xml.Name) bool {
	switch n.Local {
	case "annotation", "note-citation", "tracked-changes", "forms":
		return true
	case "title", "desc":
		return strings.Contains(n.Space, "svg")
	}
	return false
}

func (p *odfParser) write(s string) {
	if p.inCell {
		if p.cellText.Len()+len(s) <= MaxBlockBytes {
			p.cellText.WriteString(s)
		}
		return
	}
	if p.para.Len()+len(s) <= MaxBlockBytes {
		p.para.WriteString(s)
	} else {
		p.blk.WriteString(p.para.String())
		p.para.Reset()
		p.para.WriteString(s)
	}
}

func (p *odfParser) start(t xml.StartElement) error {
	if odfSkipped(t.Name) {
		p.skip++
		return nil
	}
	switch t.Name.Local {
	case "h":
		p.inPara++
		p.heading, _ = strconv.Atoi(attr(t, "outline-level"))
		p.heading = max(p.heading, 1)
	case "p":
		switch {
		case p.inCell:
			if p.cellText.Len() > 0 {
				p.write(" ") // a cell's paragraphs ("Population", "in millions") are one value
			}
		case p.inPara == 0:
			p.title = attr(t, "style-name") == "Title"
		default:
			p.write("\n") // a note's paragraph inside a paragraph
		}
		p.inPara++
	case "s":
		if p.inPara > 0 && p.skip == 0 {
			n, err := strconv.Atoi(attr(t, "c"))
			if err != nil || n < 1 {
				n = 1
			}
			p.write(strings.Repeat(" ", min(n, 1024)))
		}
	case "tab":
		if p.inPara > 0 && p.skip == 0 {
			p.write("\t")
		}
	case "line-break":
		if p.inPara > 0 && p.skip == 0 {
			p.write("\n")
		}
	case "table":
		p.table++
		if p.format == FormatODS && p.table == 1 {
			p.sheetName, p.sheetUsed, p.header = attr(t, "name"), false, nil
		}
	case "table-row":
		p.cells = p.cells[:0]
	case "table-cell", "covered-table-cell":
		p.inCell = true
		p.cellText.Reset()
		p.repeat, _ = strconv.Atoi(attr(t, "number-columns-repeated"))
		p.repeat = max(p.repeat, 1)
	case "page":
		if p.format == FormatODP {
			p.b.page()
			p.notesOut = false
		}
	case "frame":
		p.frameTitle = attr(t, "class") == "title"
	case "notes":
		p.notes = true
		if p.skipNotes {
			p.skip++
		}
	}
	return p.b.err
}

func (p *odfParser) end(t xml.EndElement) {
	if odfSkipped(t.Name) {
		p.skip--
		return
	}
	switch t.Name.Local {
	case "h", "p":
		p.inPara--
		if p.inPara > 0 || p.inCell {
			return
		}
		text := p.para.String()
		p.para.Reset()
		switch {
		case p.skip > 0:
		case t.Name.Local == "h" || p.title || (p.frameTitle && !p.notes):
			p.blk.end()
			p.b.heading(max(p.heading, 1), "", text)
		case p.notes:
			if !p.notesOut && strings.TrimSpace(text) != "" {
				text, p.notesOut = "Notes: "+text, true
			}
			p.blk.WriteString(text)
			p.blk.end()
		default:
			p.blk.WriteString(text)
			p.blk.end()
		}
		p.heading, p.title = 0, false
	case "table-cell", "covered-table-cell":
		p.inCell = false
		text := strings.Join(strings.Fields(p.cellText.String()), " ")
		for range min(p.repeat, max(1, MaxXLSXCells-p.cellCount)) {
			p.cells = append(p.cells, text)
			if text != "" {
				p.cellCount++
			}
			if text == "" && p.repeat > 1 {
				break // a run of empty cells (spreadsheets repeat them by the thousand)
			}
		}
		if p.cellCount > MaxXLSXCells {
			p.b.fail(document.Permanentf(document.ReasonTooLarge, "%s: more than %d cells (the cell cap)", p.format, MaxXLSXCells))
		}
	case "table-row":
		p.row()
	case "table":
		p.table--
	case "frame":
		p.frameTitle = false
	case "notes":
		p.notes = false
		if p.skipNotes {
			p.skip--
		}
	}
}

// row writes a table row: spreadsheets as "header: value" lines, other tables as cells
// joined by " | ".
func (p *odfParser) row() {
	if p.skip > 0 {
		return
	}
	var kept []string
	for _, c := range p.cells {
		if c != "" {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return
	}
	if p.format != FormatODS || p.table > 1 {
		p.blk.WriteString(strings.Join(kept, " | "))
		p.blk.end()
		return
	}
	if !p.sheetUsed {
		p.sheetUsed = true
		p.b.heading(1, "", p.sheetName)
	}
	if p.header == nil {
		p.header = append([]string(nil), p.cells...)
		p.blk.WriteString(strings.Join(kept, " | "))
		p.blk.end()
		return
	}
	for i, c := range p.cells {
		if c == "" {
			continue
		}
		name := "column " + columnName(i)
		if i < len(p.header) && p.header[i] != "" {
			name = p.header[i]
		}
		p.blk.WriteString(name + ": " + c + "\n")
	}
	p.blk.end()
}
