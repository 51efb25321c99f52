package extractors

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/docingest/docingest/document"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/transform"
)

// HTMLExtractor reads HTML with golang.org/x/net/html's tokenizer, one token at a time: no
// tree is built, so memory follows the text kept, not the number of elements. It drops
// what is not content (script, style, templates, navigation, asides, and page-level header
// and footer — a header or footer inside an article or main element is content and is
// kept), keeps headings as headings, list items as "- item" lines ("* " in ordered
// lists), and table rows as their non-empty cells joined by " | ". The character set comes
// from the BOM, the meta tags or the bytes themselves. A single tag or run of text over
// MaxHTMLToken bytes fails as too_large.
type HTMLExtractor struct{ Limits Limits }

// MaxHTMLToken is the most bytes the tokenizer buffers for one token (a tag with its
// attributes, or a run of text between two tags).
const MaxHTMLToken = 16 << 20

func (e HTMLExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	var r io.Reader = bytes.NewReader(data)
	if enc, name, _ := charset.DetermineEncoding(data, "text/html"); name != "utf-8" || !utf8.Valid(data) {
		r = transform.NewReader(r, enc.NewDecoder())
	}
	z := html.NewTokenizer(r)
	z.SetMaxBuf(MaxHTMLToken)
	s := htmlStream{b: newBuilder(ctx, FormatHTML, e.Limits)}
	s.text = &block{b: s.b}
	for s.b.tick() {
		tt := z.Next()
		if tt == html.ErrorToken {
			if err := z.Err(); !errors.Is(err, io.EOF) {
				if errors.Is(err, html.ErrBufferExceeded) {
					s.b.fail(document.Permanentf(document.ReasonTooLarge, "html: a tag or run of text over %d bytes", MaxHTMLToken))
				} else {
					s.b.fail(document.Permanentf(document.ReasonCorrupt, "html: %w", err))
				}
			}
			break
		}
		s.token(z, tt)
	}
	s.endRow()
	s.endHeading()
	s.text.end()
	return s.b.done()
}

var htmlSkip = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true, atom.Svg: true,
	atom.Nav: true, atom.Aside: true, atom.Head: true, atom.Iframe: true, atom.Object: true,
	atom.Button: true, atom.Select: true, atom.Math: true, atom.Title: true,
}

var htmlBlock = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true, atom.Main: true,
	atom.Blockquote: true, atom.Pre: true, atom.Ul: true, atom.Ol: true, atom.Dl: true,
	atom.Dt: true, atom.Dd: true, atom.Table: true, atom.Figure: true, atom.Figcaption: true,
	atom.Caption: true, atom.Address: true, atom.Hr: true, atom.Form: true, atom.Fieldset: true,
	atom.Details: true, atom.Summary: true, atom.Body: true, atom.Header: true, atom.Footer: true,
	atom.Center: true, atom.Legend: true, atom.Thead: true, atom.Tbody: true, atom.Tfoot: true,
}

func headingLevel(a atom.Atom) int {
	switch a {
	case atom.H1:
		return 1
	case atom.H2:
		return 2
	case atom.H3:
		return 3
	case atom.H4:
		return 4
	case atom.H5:
		return 5
	case atom.H6:
		return 6
	}
	return 0
}

// maxHTMLLists bounds the stack of open lists that is remembered (deeper lists count as
// unordered).
const maxHTMLLists = 256

// htmlStream turns tokens into blocks. Text goes to one of three places: the running
// paragraph, the open heading, or the open table row's current cell.
type htmlStream struct {
	b    *builder
	text *block // the running paragraph, heading or row

	skip      atom.Atom // inside an element that is not content, and how deeply nested
	skipDepth int
	pre       int // depth inside <pre>
	in        int // depth inside <article> or <main>
	lists     []atom.Atom
	tables    int // open tables

	heading int // level of the open heading, 0 when none

	rowTable int  // table depth of the open row, 0 when none
	inCell   bool // inside a cell of the open row
	cellText bool // the current cell has text
}

func (s *htmlStream) token(z *html.Tokenizer, tt html.TokenType) {
	switch tt {
	case html.TextToken:
		if s.skipDepth > 0 {
			return
		}
		s.write(string(z.Text()))
	case html.StartTagToken, html.SelfClosingTagToken:
		name, hasAttr := z.TagName()
		a := atom.Lookup(name)
		if s.skipDepth > 0 {
			if a == s.skip && tt == html.StartTagToken {
				s.skipDepth++
			}
			return
		}
		if htmlSkip[a] || ((a == atom.Header || a == atom.Footer) && s.in == 0) {
			if tt == html.StartTagToken {
				s.skip, s.skipDepth = a, 1
			}
			return
		}
		var alt string
		if a == atom.Img && hasAttr {
			for {
				k, v, more := z.TagAttr()
				if string(k) == "alt" {
					alt = string(v)
				}
				if !more {
					break
				}
			}
		}
		s.start(a, alt)
	case html.EndTagToken:
		name, _ := z.TagName()
		a := atom.Lookup(name)
		if s.skipDepth > 0 {
			if a == s.skip {
				s.skipDepth--
			}
			return
		}
		s.end(a)
	}
}

// inline reports whether text goes to a heading or a cell, where line structure is folded.
func (s *htmlStream) inline() bool { return s.heading > 0 || s.inCell }

func (s *htmlStream) write(t string) {
	switch {
	case s.rowTable > 0 && !s.inCell:
		return // text between the cells of a row
	case s.inCell:
		t = strings.ReplaceAll(t, "\n", " ")
		if strings.TrimSpace(t) == "" && !s.cellText {
			return
		}
		if !s.cellText {
			if s.text.Len() > 0 {
				s.text.WriteString(" | ")
			}
			t = strings.TrimLeft(t, " \t\r")
			s.cellText = true
		}
	case s.pre == 0:
		t = strings.ReplaceAll(t, "\n", " ")
	}
	s.text.WriteString(t)
}

func (s *htmlStream) start(a atom.Atom, alt string) {
	if lvl := headingLevel(a); lvl > 0 && !s.inCell {
		s.endRow()
		s.endHeading()
		s.text.end()
		s.heading = lvl
		return
	}
	switch a {
	case atom.Br:
		if s.inline() {
			s.write(" ")
		} else {
			s.text.WriteByte('\n')
		}
		return
	case atom.Img:
		if strings.TrimSpace(alt) != "" && !s.inline() {
			s.write(" " + alt + " ")
		}
		return
	case atom.Table:
		s.tables++
	case atom.Ul, atom.Ol:
		if len(s.lists) < maxHTMLLists {
			s.lists = append(s.lists, a)
		}
	case atom.Pre:
		s.pre++
	case atom.Article, atom.Main:
		s.in++
	}
	if s.inCell && (s.tables > s.rowTable || !isRowPart(a)) {
		if htmlBlock[a] || isRowPart(a) {
			s.write(" ")
		}
		return
	}
	switch a {
	case atom.Li:
		s.endHeading()
		s.text.end()
		prefix := "- "
		if n := len(s.lists); n > 0 && s.lists[n-1] == atom.Ol {
			prefix = "* "
		}
		s.text.WriteString(prefix)
		return
	case atom.Tr:
		s.endRow()
		s.endHeading()
		s.text.end()
		s.rowTable = max(s.tables, 1)
		return
	case atom.Td, atom.Th:
		if s.rowTable == 0 {
			break
		}
		s.inCell, s.cellText = true, false
		return
	}
	if htmlBlock[a] && s.heading == 0 {
		s.endRow()
		s.text.end()
	}
}

func isRowPart(a atom.Atom) bool { return a == atom.Tr || a == atom.Td || a == atom.Th }

func (s *htmlStream) end(a atom.Atom) {
	switch a {
	case atom.Table:
		if s.tables == s.rowTable {
			s.endRow()
		}
		s.tables = max(0, s.tables-1)
	case atom.Ul, atom.Ol:
		if n := len(s.lists); n > 0 {
			s.lists = s.lists[:n-1]
		}
	case atom.Pre:
		s.pre = max(0, s.pre-1)
	case atom.Article, atom.Main:
		s.in = max(0, s.in-1)
	}
	if headingLevel(a) > 0 && s.heading > 0 {
		s.endHeading()
		return
	}
	if s.inCell && s.tables > s.rowTable {
		if htmlBlock[a] || isRowPart(a) {
			s.write(" ")
		}
		return
	}
	switch a {
	case atom.Td, atom.Th:
		if s.inCell {
			s.inCell = false
			return
		}
	case atom.Tr:
		s.endRow()
		return
	case atom.Li:
		if s.heading == 0 {
			s.text.end()
		}
		return
	}
	if htmlBlock[a] {
		switch {
		case s.inline():
			s.write(" ")
		default:
			s.endRow()
			s.text.end()
		}
	}
}

// endHeading adds the open heading.
func (s *htmlStream) endHeading() {
	if s.heading > 0 {
		s.text.endHeading(s.heading, "")
		s.heading = 0
	}
}

// endRow adds the open table row.
func (s *htmlStream) endRow() {
	if s.rowTable > 0 {
		s.text.end()
		s.rowTable, s.inCell, s.cellText = 0, false, false
	}
}
