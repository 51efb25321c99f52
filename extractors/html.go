package extractors

import (
	"bytes"
	"context"
	"strings"

	"github.com/docingest/docingest/document"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
)

// HTMLExtractor reads HTML with golang.org/x/net/html. It drops what is not content
// (script, style, templates, navigation, asides, and page-level header and footer — a
// header or footer inside an article or main element is content and is kept), keeps
// headings as headings, list items as "- item" lines, and table rows as cells joined by
// " | ". The character set comes from the BOM, the meta tags or the bytes themselves.
type HTMLExtractor struct{ Limits Limits }

func (e HTMLExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	enc, _, _ := charset.DetermineEncoding(data, "text/html")
	utf8Data, err := enc.NewDecoder().Bytes(data)
	if err != nil {
		utf8Data = data
	}
	root, err := html.Parse(bytes.NewReader(utf8Data))
	if err != nil {
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "html: %w", err)
	}
	w := htmlWalker{b: newBuilder(FormatHTML, e.Limits), ctx: ctx}
	w.walk(root, 0)
	w.flush()
	if ctx.Err() != nil {
		return document.Document{}, ctx.Err()
	}
	return w.b.done()
}

type htmlWalker struct {
	b     *builder
	ctx   context.Context
	buf   strings.Builder
	pre   int // depth inside <pre>
	in    int // depth inside <article> or <main>
	nodes int
}

var htmlSkip = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true, atom.Svg: true,
	atom.Nav: true, atom.Aside: true, atom.Head: true, atom.Iframe: true, atom.Object: true,
	atom.Button: true, atom.Select: true, atom.Math: true,
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

func (w *htmlWalker) flush() {
	if w.buf.Len() > 0 {
		w.b.para(w.buf.String())
		w.buf.Reset()
	}
}

func (w *htmlWalker) walk(n *html.Node, depth int) {
	w.nodes++
	if w.b.full() || depth > 512 || (w.nodes%4096 == 0 && w.ctx.Err() != nil) {
		return
	}
	switch n.Type {
	case html.TextNode:
		if w.pre > 0 {
			w.buf.WriteString(n.Data)
		} else {
			w.buf.WriteString(strings.ReplaceAll(n.Data, "\n", " "))
		}
		return
	case html.ElementNode:
	default:
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			w.walk(c, depth+1)
		}
		return
	}
	a := n.DataAtom
	if htmlSkip[a] || ((a == atom.Header || a == atom.Footer) && w.in == 0) {
		return
	}
	if lvl := headingLevel(a); lvl > 0 {
		w.flush()
		var t strings.Builder
		collectText(n, &t)
		w.b.heading(lvl, "", t.String())
		return
	}
	switch a {
	case atom.Br:
		w.buf.WriteByte('\n')
		return
	case atom.Li:
		w.flush()
		prefix := "- "
		if n.Parent != nil && n.Parent.DataAtom == atom.Ol {
			prefix = "* "
		}
		w.buf.WriteString(prefix)
		w.children(n, depth)
		w.flush()
		return
	case atom.Tr:
		w.flush()
		first := true
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode || (c.DataAtom != atom.Td && c.DataAtom != atom.Th) {
				continue
			}
			var t strings.Builder
			collectText(c, &t)
			cell := strings.Join(strings.Fields(t.String()), " ")
			if cell == "" {
				continue
			}
			if !first {
				w.buf.WriteString(" | ")
			}
			first = false
			w.buf.WriteString(cell)
		}
		w.flush()
		return
	case atom.Img:
		for _, at := range n.Attr {
			if at.Key == "alt" && strings.TrimSpace(at.Val) != "" {
				w.buf.WriteString(" " + at.Val + " ")
			}
		}
		return
	}
	block := htmlBlock[a]
	if block {
		w.flush()
	}
	if a == atom.Pre {
		w.pre++
		defer func() { w.pre-- }()
	}
	if a == atom.Article || a == atom.Main {
		w.in++
		defer func() { w.in-- }()
	}
	w.children(n, depth)
	if block {
		w.flush()
	}
}

func (w *htmlWalker) children(n *html.Node, depth int) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c, depth+1)
	}
}

// collectText appends the text below n, skipping non-content elements.
func collectText(n *html.Node, sb *strings.Builder) {
	var rec func(*html.Node, int)
	rec = func(n *html.Node, depth int) {
		if depth > 512 {
			return
		}
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
			return
		}
		if n.Type == html.ElementNode && htmlSkip[n.DataAtom] {
			return
		}
		if n.Type == html.ElementNode && n.DataAtom == atom.Br {
			sb.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c, depth+1)
		}
		if n.Type == html.ElementNode && htmlBlock[n.DataAtom] {
			sb.WriteByte(' ')
		}
	}
	rec(n, 0)
}
