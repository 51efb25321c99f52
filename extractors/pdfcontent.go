package extractors

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"

	"github.com/ledongthuc/pdf"
)

// pdfItem is one run of text shown by one string operand: where it starts and ends on the
// page (device space), its baseline and its effective font size.
type pdfItem struct {
	x0, x1, y, size float64
	s               string
}

// pdfFont is what the walker needs from a font, parsed once per document: the decoder
// (ToUnicode map or encoding), whether codes are two bytes (composite fonts), and widths.
type pdfFont struct {
	enc     pdf.TextEncoding
	twoByte bool
	first   int
	widths  []float64       // simple fonts: width of code first+i, in 1/1000 em
	cidW    map[int]float64 // composite fonts: /W entries
	dw      float64         // composite fonts: /DW
}

func (f *pdfFont) width(code int) float64 {
	if f.twoByte {
		if w, ok := f.cidW[code]; ok {
			return w
		}
		return f.dw
	}
	if i := code - f.first; i >= 0 && i < len(f.widths) {
		return f.widths[i]
	}
	return 500 // no width: half an em keeps neighbouring words apart
}

// pdfFontCache shares parsed fonts across the pages of one document, keyed by the font's
// object reference ("12 0 R") as the page's font dictionary prints it, so that a font is
// resolved and its ToUnicode map parsed once per document, not at every Tf operator.
// (The library re-inflates a whole object stream on every resolve of an object inside
// it: resolving less is most of the speed.)
type pdfFontCache struct {
	fonts  map[string]*pdfFont
	glyphs glyphList // parsed at the first font that needs it
}

func newPDFFontCache() *pdfFontCache { return &pdfFontCache{fonts: map[string]*pdfFont{}} }

func (c *pdfFontCache) glyphList() glyphList {
	if c.glyphs == nil {
		c.glyphs = parseGlyphList()
	}
	return c.glyphs
}

// pageFonts returns a lookup of page p's fonts by resource name. The font dictionary is
// resolved once per page.
func (c *pdfFontCache) pageFonts(p pdf.Page) func(name string) *pdfFont {
	fontDict := p.Resources().Key("Font")
	refs := fontRefs(fontDict.String())
	local := map[string]*pdfFont{}
	return func(name string) *pdfFont {
		if pf, ok := local[name]; ok {
			return pf
		}
		key, ok := refs[name]
		var pf *pdfFont
		if ok {
			pf = c.fonts[key]
		}
		if pf == nil {
			f := pdf.Font{V: fontDict.Key(name)}
			if f.V.IsNull() {
				local[name] = nil
				return nil
			}
			pf = newPDFFont(f, c.glyphList)
			if ok {
				c.fonts[key] = pf
			}
		}
		local[name] = pf
		return pf
	}
}

// fontRefs parses "<</F1 12 0 R /F2 15 0 R>>" into {"F1": "12 0 R", ...}; entries that
// are not references are left out (and resolved directly).
func fontRefs(printed string) map[string]string {
	out := map[string]string{}
	f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(printed, "<<"), ">>"))
	for i := 0; i+3 < len(f); i++ {
		if strings.HasPrefix(f[i], "/") && f[i+3] == "R" {
			out[f[i][1:]] = f[i+1] + " " + f[i+2] + " R"
			i += 3
		}
	}
	return out
}

func newPDFFont(f pdf.Font, glyphs func() glyphList) *pdfFont {
	pf := &pdfFont{enc: f.Encoder(), first: f.FirstChar()}
	if enc := simpleFontEncoding(f.V, pf.enc, glyphs); enc != nil {
		pf.enc = enc
	}
	if f.V.Key("Subtype").Name() == "Type0" {
		pf.twoByte = true
		pf.dw = 1000
		desc := f.V.Key("DescendantFonts").Index(0)
		if dw := desc.Key("DW"); !dw.IsNull() {
			pf.dw = dw.Float64()
		}
		pf.cidW = parseCIDWidths(desc.Key("W"))
	} else {
		w := f.V.Key("Widths")
		n := min(w.Len(), 65536)
		pf.widths = make([]float64, n)
		for i := 0; i < n; i++ {
			pf.widths[i] = num(w.Index(i))
		}
	}
	return pf
}

// parseCIDWidths reads a composite font's /W array: "c [w1 w2 ...]" and "cfirst clast w".
func parseCIDWidths(w pdf.Value) map[int]float64 {
	out := map[int]float64{}
	for i := 0; i < w.Len() && len(out) < 1<<16; {
		c := int(w.Index(i).Int64())
		next := w.Index(i + 1)
		if next.Kind() == pdf.Array {
			for k := 0; k < next.Len() && k < 1<<16; k++ {
				out[c+k] = num(next.Index(k))
			}
			i += 2
			continue
		}
		last := int(next.Int64())
		v := num(w.Index(i + 2))
		for code := c; code <= last && code-c < 1<<16; code++ {
			out[code] = v
		}
		i += 3
	}
	return out
}

// num reads an integer or real operand.
func num(v pdf.Value) float64 {
	if v.Kind() == pdf.Integer {
		return float64(v.Int64())
	}
	return v.Float64()
}

// matrix is a PDF transformation [a b c d e f].
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

type pdfGState struct {
	ctm                        matrix
	tc, tw, th, tl, tfs, trise float64
	font                       *pdfFont
}

// maxPageItems caps the text runs of one page: a content stream past it is hostile.
const maxPageItems = 1 << 20

// contentReader reads a page's content: one stream, or an array of streams read as one
// (a white-space byte between them, as readers do).
func contentReader(contents pdf.Value) io.Reader {
	if contents.Kind() != pdf.Array {
		return contents.Reader()
	}
	var parts []io.Reader
	for i := 0; i < contents.Len(); i++ {
		parts = append(parts, contents.Index(i).Reader(), strings.NewReader("\n"))
	}
	return io.MultiReader(parts...)
}

// pdfPageItems walks page p's content stream and returns its text runs in stream order.
func pdfPageItems(ctx context.Context, p pdf.Page, fonts *pdfFontCache) ([]pdfItem, error) {
	contents := p.V.Key("Contents")
	if contents.IsNull() {
		return nil, nil
	}
	var items []pdfItem
	fontByName := fonts.pageFonts(p)
	g := pdfGState{ctm: identity, th: 1}
	var stack []pdfGState
	tm, tlm := identity, identity
	ops := 0
	show := func(raw string) {
		f := g.font
		if f == nil {
			return
		}
		trm := matrix{g.tfs * g.th, 0, 0, g.tfs, 0, g.trise}.mul(tm).mul(g.ctm)
		x0, y := trm[4], trm[5]
		size := math.Hypot(trm[2], trm[3])
		var tx float64
		step := 1
		if f.twoByte {
			step = 2
		}
		for i := 0; i+step <= len(raw); i += step {
			code := int(raw[i])
			if step == 2 {
				code = code<<8 | int(raw[i+1])
			}
			adv := f.width(code)/1000*g.tfs + g.tc
			if step == 1 && code == 32 {
				adv += g.tw
			}
			tx += adv * g.th
		}
		tm = matrix{1, 0, 0, 1, tx, 0}.mul(tm)
		end := matrix{g.tfs * g.th, 0, 0, g.tfs, 0, g.trise}.mul(tm).mul(g.ctm)
		if s := f.enc.Decode(raw); s != "" {
			items = append(items, pdfItem{x0: x0, x1: end[4], y: y, size: size, s: s})
		}
	}
	lx := newCSLexer(contentReader(contents))
	for {
		op, args, err := lx.next()
		if err == io.EOF {
			return items, nil
		}
		if err != nil {
			return items, err
		}
		n := len(args)
		ops++
		if ops%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return items, err
			}
		}
		if len(items) > maxPageItems {
			return items, errPDFTooManyItems
		}
		arg := func(i int) float64 {
			if i < len(args) && args[i].kind == csNumber {
				return args[i].num
			}
			return 0
		}
		switch op {
		case "q":
			if len(stack) < 1024 {
				stack = append(stack, g)
			}
		case "Q":
			if len(stack) > 0 {
				g = stack[len(stack)-1]
				stack = stack[:len(stack)-1]
			}
		case "cm":
			if n == 6 {
				g.ctm = matrix{arg(0), arg(1), arg(2), arg(3), arg(4), arg(5)}.mul(g.ctm)
			}
		case "BT":
			tm, tlm = identity, identity
		case "Tc":
			g.tc = arg(0)
		case "Tw":
			g.tw = arg(0)
		case "Tz":
			g.th = arg(0) / 100
		case "TL":
			g.tl = arg(0)
		case "Ts":
			g.trise = arg(0)
		case "Tf":
			if n == 2 {
				g.font = fontByName(args[0].str)
				g.tfs = arg(1)
			}
		case "Td", "TD":
			if n == 2 {
				if op == "TD" {
					g.tl = -arg(1)
				}
				tlm = matrix{1, 0, 0, 1, arg(0), arg(1)}.mul(tlm)
				tm = tlm
			}
		case "Tm":
			if n == 6 {
				tlm = matrix{arg(0), arg(1), arg(2), arg(3), arg(4), arg(5)}
				tm = tlm
			}
		case "T*":
			tlm = matrix{1, 0, 0, 1, 0, -g.tl}.mul(tlm)
			tm = tlm
		case "Tj":
			if n == 1 && args[0].kind == csString {
				show(args[0].str)
			}
		case "'", "\"":
			if op == "\"" && n == 3 {
				g.tw, g.tc = arg(0), arg(1)
				args = args[2:]
			}
			tlm = matrix{1, 0, 0, 1, 0, -g.tl}.mul(tlm)
			tm = tlm
			if len(args) == 1 && args[0].kind == csString {
				show(args[0].str)
			}
		case "TJ":
			if n != 1 || args[0].kind != csArray {
				continue
			}
			for _, v := range args[0].arr {
				switch v.kind {
				case csString:
					show(v.str)
				case csNumber:
					tm = matrix{1, 0, 0, 1, -v.num / 1000 * g.tfs * g.th, 0}.mul(tm)
				}
			}
		}
	}
}

// Page-tree limits: a real tree is shallow, and visits beyond pages plus a margin mean a
// cycle or a lie.
const (
	maxPageTreeDepth = 64
	pageTreeSlack    = 10000
)

var errPageTree = errors.New("page tree is cyclic or too deep")

// pdfPages walks the page tree once, in order, and returns its leaves. It never trusts
// /Count: the number of pages is the number of leaves found, and a walk that visits more
// than maxPages leaves, nests deeper than maxPageTreeDepth or visits more nodes than any
// real tree holds stops with an error. The library's own Page(i) walks from the root for
// every page, which is quadratic.
func pdfPages(ctx context.Context, r *pdf.Reader, maxPages int) ([]pdf.Page, error) {
	var pages []pdf.Page
	visits := 0
	var walk func(node pdf.Value, depth int) error
	walk = func(node pdf.Value, depth int) error {
		if depth > maxPageTreeDepth {
			return errPageTree
		}
		kids := node.Key("Kids")
		for i := 0; i < kids.Len(); i++ {
			visits++
			if visits > maxPages+pageTreeSlack {
				return errPageTree
			}
			if visits%256 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			kid := kids.Index(i)
			if kid.Kind() != pdf.Dict {
				continue
			}
			if kid.Key("Type").Name() == "Pages" || (kid.Key("Type").IsNull() && kid.Key("Kids").Kind() == pdf.Array) {
				if err := walk(kid, depth+1); err != nil {
					return err
				}
				continue
			}
			pages = append(pages, pdf.Page{V: kid})
			if maxPages > 0 && len(pages) > maxPages {
				return errTooManyPages
			}
		}
		return nil
	}
	root := r.Trailer().Key("Root").Key("Pages")
	if root.Kind() != pdf.Dict {
		return nil, errors.New("document has no page tree")
	}
	if err := walk(root, 0); err != nil {
		return pages, err
	}
	return pages, nil
}

var errTooManyPages = errors.New("too many pages")
