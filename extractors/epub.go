package extractors

import (
	"archive/zip"
	"context"
	"encoding/xml"
	"io"
	"path"
	"strings"

	"github.com/docingest/docingest/document"
)

const epubMime = "application/epub+zip"

// EPUBExtractor reads EPUB 2 and 3 books: the package document (found through
// META-INF/container.xml) gives the reading order (the spine), and every XHTML document
// in it goes through the HTML extractor, each starting a page so that chunks say which
// one they come from; its headings stay headings. A chapter without a heading of its own
// is headed by its title in the table of contents (toc.ncx, or the EPUB 3 navigation
// document). Items that are not XHTML (images, styles) and parts over the size cap are
// skipped or fail as for DOCX.
type EPUBExtractor struct{ Limits Limits }

func (e EPUBExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	parts, err := zipParts(FormatEPUB, data)
	if err != nil {
		return document.Document{}, err
	}
	x := XLSXExtractor{Limits: e.Limits}
	container := parts["META-INF/container.xml"]
	if container == nil {
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "epub: no META-INF/container.xml")
	}
	opf := ""
	if err := x.eachIn(FormatEPUB, container, func(se xml.StartElement) {
		if se.Name.Local == "rootfile" && opf == "" {
			opf = attr(se, "full-path")
		}
	}); err != nil {
		return document.Document{}, err
	}
	pkg := parts[opf]
	if pkg == nil {
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "epub: the package document %q is missing", opf)
	}
	type item struct{ href, media, props string }
	items := map[string]item{}
	var spine []string
	tocID := ""
	base := path.Dir(opf)
	if err := x.eachIn(FormatEPUB, pkg, func(se xml.StartElement) {
		switch se.Name.Local {
		case "item":
			items[attr(se, "id")] = item{href: path.Join(base, attr(se, "href")), media: attr(se, "media-type"), props: attr(se, "properties")}
		case "spine":
			tocID = attr(se, "toc")
		case "itemref":
			if attr(se, "linear") != "no" {
				spine = append(spine, attr(se, "idref"))
			}
		}
	}); err != nil {
		return document.Document{}, err
	}
	// Chapter titles from the table of contents: the NCX (EPUB 2), else the navigation
	// document (EPUB 3).
	titles := map[string]string{}
	if it, ok := items[tocID]; ok && parts[it.href] != nil {
		if err := e.ncxTitles(parts[it.href], titles); err != nil {
			return document.Document{}, err
		}
	}
	if len(titles) == 0 {
		for _, it := range items {
			if strings.Contains(it.props, "nav") && parts[it.href] != nil {
				if err := e.navTitles(parts[it.href], titles); err != nil {
					return document.Document{}, err
				}
			}
		}
	}
	b := newBuilder(ctx, FormatEPUB, e.Limits)
	html := HTMLExtractor{Limits: e.Limits}
	for _, id := range spine {
		if b.full() {
			break
		}
		it, ok := items[id]
		f := parts[it.href]
		if !ok || f == nil || !strings.Contains(it.media, "html") {
			continue
		}
		rc, err := openZipPart(FormatEPUB, f, DOCXExtractor{Limits: e.Limits}.maxXMLBytes())
		if err != nil {
			return document.Document{}, err
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return document.Document{}, zipXMLErr(FormatEPUB, f.Name, err)
		}
		doc, err := html.Extract(ctx, body)
		if reason, _ := document.Classify(err); err != nil && reason == document.ReasonEmpty {
			continue // a cover page with only an image
		}
		if err != nil {
			return document.Document{}, err
		}
		b.page()
		if len(doc.Headings) == 0 || doc.Headings[0].Offset > 0 {
			if title := titles[it.href]; title != "" {
				b.heading(1, "", title)
			}
		}
		appendDoc(b, doc)
	}
	return b.done()
}

// appendDoc adds an extracted document's blocks to b, its headings as headings.
func appendDoc(b *builder, doc document.Document) {
	pos := 0
	paras := func(s string) {
		for _, p := range strings.Split(s, "\n\n") {
			b.para(p)
		}
	}
	for _, h := range doc.Headings {
		if h.Offset < pos || h.Offset > len(doc.Text) {
			continue
		}
		paras(doc.Text[pos:h.Offset])
		end := strings.Index(doc.Text[h.Offset:], "\n\n")
		if end < 0 {
			end = len(doc.Text) - h.Offset
		}
		b.heading(h.Level, "", doc.Text[h.Offset:h.Offset+end])
		pos = h.Offset + end
	}
	paras(doc.Text[pos:])
}

// ncxTitles maps each chapter file (without its #fragment) to the first navigation label
// pointing into it.
func (e EPUBExtractor) ncxTitles(f *zip.File, titles map[string]string) error {
	var label strings.Builder
	inText := false
	return eachToken(FormatEPUB, f, DOCXExtractor{Limits: e.Limits}.maxXMLBytes(), false, func(tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "navLabel":
				label.Reset()
			case "text":
				inText = true
			case "content":
				src, _, _ := strings.Cut(attr(t, "src"), "#")
				key := path.Join(path.Dir(f.Name), src)
				if _, seen := titles[key]; !seen {
					titles[key] = strings.TrimSpace(label.String())
				}
			}
		case xml.EndElement:
			if t.Name.Local == "text" {
				inText = false
			}
		case xml.CharData:
			if inText && label.Len() < MaxHeadingTitle*4 {
				label.Write(t)
			}
		}
		return nil
	})
}

// navTitles reads the EPUB 3 navigation document's links the same way.
func (e EPUBExtractor) navTitles(f *zip.File, titles map[string]string) error {
	var label strings.Builder
	href := ""
	return eachToken(FormatEPUB, f, DOCXExtractor{Limits: e.Limits}.maxXMLBytes(), true, func(tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "a" {
				href, _, _ = strings.Cut(attr(t, "href"), "#")
				label.Reset()
			}
		case xml.EndElement:
			if t.Name.Local == "a" && href != "" {
				key := path.Join(path.Dir(f.Name), href)
				if _, seen := titles[key]; !seen {
					titles[key] = strings.TrimSpace(label.String())
				}
				href = ""
			}
		case xml.CharData:
			if href != "" && label.Len() < MaxHeadingTitle*4 {
				label.Write(t)
			}
		}
		return nil
	})
}

// Section is one part of a document assembled from several (a converter's sheets).
type Section struct {
	// Heading, when set, heads the section (level 1).
	Heading string
	// Page starts a new page with the section.
	Page bool
	Doc  document.Document
}

// JoinSections assembles one document of format from sections, each's headings kept,
// under the caps of lim.
func JoinSections(ctx context.Context, format string, lim Limits, sections []Section) (document.Document, error) {
	b := newBuilder(ctx, format, lim)
	for _, s := range sections {
		if b.full() {
			break
		}
		if s.Page {
			b.page()
		}
		if s.Heading != "" {
			b.heading(1, "", s.Heading)
		}
		appendDoc(b, s.Doc)
	}
	return b.done()
}
