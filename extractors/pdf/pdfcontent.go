package pdf

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
	// notForm holds XObjects (by reference) that draw no text (images, forms without
	// text): not resolved or run again; image holds those of them that paint an image
	// (an image, or a form that paints one)
	notForm, image map[string]bool
}

func newPDFFontCache() *pdfFontCache {
	return &pdfFontCache{fonts: map[string]*pdfFont{}, notForm: map[string]bool{}, image: map[string]bool{}}
}

func (c *pdfFontCache) glyphList() glyphList {
	if c.glyphs == nil {
		c.glyphs = parseGlyphList()
	}
	return c.glyphs
}

// resourceFonts returns a lookup of the fonts of a resource dictionary (a page's or a
// form's) by resource name. The font dictionary is resolved once.
func (c *pdfFontCache) resourceFonts(res pdf.Value) func(name string) *pdfFont {
	fontDict := res.Key("Font")
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

// Form XObjects: how deep forms may nest, and how many a page may run (a form drawn by
// every cell of a table is common; a form that draws itself is hostile).
const (
	maxFormDepth    = 12
	maxFormsPerPage = 1 << 14
)

// contentWalker interprets a page's content stream, and the forms it draws, into text
// runs.
type contentWalker struct {
	ctx     context.Context
	fonts   *pdfFontCache
	items   []pdfItem
	g       pdfGState
	stack   []pdfGState
	base    int // a form's Q does not pop the states saved before it ran
	tm, tlm matrix
	ops     int
	forms   int
	images  int // images painted: image XObjects and inline images
}

// pdfPageItems walks page p's content stream, and the Form XObjects it draws, and returns
// its text runs in stream order, and whether it paints an image.
func pdfPageItems(ctx context.Context, p pdf.Page, fonts *pdfFontCache) ([]pdfItem, bool, error) {
	contents := p.V.Key("Contents")
	if contents.IsNull() {
		return nil, false, nil
	}
	w := &contentWalker{ctx: ctx, fonts: fonts, g: pdfGState{ctm: identity, th: 1}, tm: identity, tlm: identity}
	err := w.run(contentReader(contents), p.Resources(), 0)
	return w.items, w.images > 0, err
}

func (w *contentWalker) show(raw string) {
	g := &w.g
	f := g.font
	if f == nil {
		return
	}
	trm := matrix{g.tfs * g.th, 0, 0, g.tfs, 0, g.trise}.mul(w.tm).mul(g.ctm)
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
	w.tm = matrix{1, 0, 0, 1, tx, 0}.mul(w.tm)
	end := matrix{g.tfs * g.th, 0, 0, g.tfs, 0, g.trise}.mul(w.tm).mul(g.ctm)
	if s := f.enc.Decode(raw); s != "" {
		w.items = append(w.items, pdfItem{x0: x0, x1: end[4], y: y, size: size, s: s})
	}
}

// form runs the Form XObject res names, if it is one, in a saved graphics state with
// its /Matrix; images and other XObjects are skipped (and remembered as such).
func (w *contentWalker) form(res pdf.Value, xrefs map[string]string, name string, depth int) error {
	ref, byRef := xrefs[name]
	if byRef && w.fonts.notForm[ref] {
		if w.fonts.image[ref] {
			w.images++
		}
		return nil
	}
	x := res.Key("XObject").Key(name)
	if x.Key("Subtype").Name() != "Form" || x.Kind() != pdf.Stream {
		image := x.Key("Subtype").Name() == "Image"
		if image {
			w.images++
		}
		if byRef {
			w.fonts.notForm[ref] = true
			w.fonts.image[ref] = image
		}
		return nil
	}
	if depth >= maxFormDepth || w.forms >= maxFormsPerPage {
		return nil // past the caps forms are not run: their text is lost, not the page
	}
	w.forms++
	savedG, savedTM, savedTLM, savedBase := w.g, w.tm, w.tlm, w.base
	w.base = len(w.stack)
	if m := x.Key("Matrix"); m.Kind() == pdf.Array && m.Len() == 6 {
		w.g.ctm = matrix{num(m.Index(0)), num(m.Index(1)), num(m.Index(2)), num(m.Index(3)), num(m.Index(4)), num(m.Index(5))}.mul(w.g.ctm)
	}
	fres := x.Key("Resources")
	if fres.IsNull() {
		fres = res // old files let forms use the page's resources
	}
	before, imagesBefore := len(w.items), w.images
	err := w.run(x.Reader(), fres, depth+1)
	if byRef && err == nil && len(w.items) == before && depth+1 < maxFormDepth && w.forms < maxFormsPerPage {
		w.fonts.notForm[ref] = true // drew no text, and will not the next time: not run again
		w.fonts.image[ref] = w.images > imagesBefore
	}
	w.g, w.tm, w.tlm, w.stack, w.base = savedG, savedTM, savedTLM, w.stack[:w.base], savedBase
	return err
}

// run interprets one content stream with its resources.
func (w *contentWalker) run(rd io.Reader, res pdf.Value, depth int) error {
	ctx, g := w.ctx, &w.g
	fontByName := w.fonts.resourceFonts(res)
	var xrefs map[string]string // XObject names to references, read at the first Do
	show := w.show
	lx := newCSLexer(rd)
	defer func() { w.images += lx.inlineImages }()
	for {
		op, args, err := lx.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		n := len(args)
		w.ops++
		if w.ops%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if len(w.items) > maxPageItems {
			return errPDFTooManyItems
		}
		arg := func(i int) float64 {
			if i < len(args) && args[i].kind == csNumber {
				return args[i].num
			}
			return 0
		}
		switch op {
		case "q":
			if len(w.stack) < 1024 {
				w.stack = append(w.stack, *g)
			}
		case "Q":
			if len(w.stack) > w.base {
				*g = w.stack[len(w.stack)-1]
				w.stack = w.stack[:len(w.stack)-1]
			}
		case "cm":
			if n == 6 {
				g.ctm = matrix{arg(0), arg(1), arg(2), arg(3), arg(4), arg(5)}.mul(g.ctm)
			}
		case "BT":
			w.tm, w.tlm = identity, identity
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
				w.tlm = matrix{1, 0, 0, 1, arg(0), arg(1)}.mul(w.tlm)
				w.tm = w.tlm
			}
		case "Tm":
			if n == 6 {
				w.tlm = matrix{arg(0), arg(1), arg(2), arg(3), arg(4), arg(5)}
				w.tm = w.tlm
			}
		case "T*":
			w.tlm = matrix{1, 0, 0, 1, 0, -g.tl}.mul(w.tlm)
			w.tm = w.tlm
		case "Tj":
			if n == 1 && args[0].kind == csString {
				show(args[0].str)
			}
		case "'", "\"":
			if op == "\"" && n == 3 {
				g.tw, g.tc = arg(0), arg(1)
				args = args[2:]
			}
			w.tlm = matrix{1, 0, 0, 1, 0, -g.tl}.mul(w.tlm)
			w.tm = w.tlm
			if len(args) == 1 && args[0].kind == csString {
				show(args[0].str)
			}
		case "Do":
			if n == 1 && args[0].kind == csName {
				if xrefs == nil {
					xrefs = fontRefs(res.Key("XObject").String())
				}
				if err := w.form(res, xrefs, args[0].str, depth); err != nil {
					return err
				}
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
					w.tm = matrix{1, 0, 0, 1, -v.num / 1000 * g.tfs * g.th, 0}.mul(w.tm)
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
