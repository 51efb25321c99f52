package pdf

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/internal/pdftest"
)

func TestGlyphList(t *testing.T) {
	g := parseGlyphList()
	if len(g) < 4000 {
		t.Fatalf("%d glyph names", len(g))
	}
	for name, want := range map[string]string{
		"fi": "\ufb01", "quotedblleft": "\u201c", "endash": "\u2013", "alpha": "α", "A": "A",
		"uni0041": "A", "uni00410042": "AB", "u1F600": "😀", "f_f_i": "ffi", "a.sc": "a", "one.oldstyle": "1",
	} {
		if got, ok := g.text(name); !ok || got != want {
			t.Errorf("%s: %q %v, want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"a12", "g3", "uniD800", "u110000", ".notdef", "x_a12"} {
		if got, ok := g.text(name); ok {
			t.Errorf("%s: %q, want unknown", name, got)
		}
	}
}

// fontPDF is a one-page PDF showing the bytes of show (a hex string) in a font with the
// given dictionary entries (font object 5, a font file as object 6 if file is set).
func fontPDF(fontEntries, file, show string) []byte {
	objs := []pdftest.Object{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		pdftest.Deflated("", []byte("BT /F1 12 Tf 72 720 Td <"+show+"> Tj ET")),
		pdftest.Object("<< /Type /Font /Subtype /Type1 /BaseFont /CMR10 /FirstChar 0 /LastChar 255 " + fontEntries + " >>"),
	}
	if file != "" {
		objs[4] = pdftest.Object("<< /Type /Font /Subtype /Type1 /BaseFont /CMR10 /FirstChar 0 /LastChar 255 " + fontEntries +
			" /FontDescriptor 7 0 R >>")
		objs = append(objs, pdftest.Stream("/Length1 "+strconv.Itoa(len(file))+" /Length2 0 /Length3 0", []byte(file)),
			"<< /Type /FontDescriptor /FontName /CMR10 /Flags 4 /FontFile 6 0 R >>")
	}
	return pdftest.Build("%PDF-1.4", objs, "")
}

// Simple fonts decode as PDF readers do: a TeX font's built-in encoding (in its
// embedded Type 1 program) gives ligatures and quotes at the codes TeX uses; a
// /BaseEncoding under /Differences is used for the codes the differences leave.
func TestSimpleFontEncodings(t *testing.T) {
	type1 := "%!PS-AdobeFont-1.0: CMR10 003.002\n/FontName /CMR10 def\n/Encoding 256 array\n0 1 255 {1 index exch /.notdef put} for\n" +
		"dup 12 /fi put\ndup 92 /quotedblleft put\ndup 34 /quotedblright put\ndup 123 /endash put\ndup 65 /A put\ndup 97 /a put\n" +
		"dup 0 /Gamma put\ndup 1 /a12 put\nreadonly def\ncurrentdict end\ncurrentfile eexec\n"
	for name, tc := range map[string]struct {
		entries, file, show, want string
	}{
		// "\fi" "A" "a" en dash "fi"nal: codes 5C 41 61 7B 0C
		"built-in encoding":                 {"", type1, "5C417B0C61225C00", "“A–fia”“Γ"},
		"glyph without text is dropped":     {"", type1, "41016141", "AaA"},
		"differences over WinAnsi":          {"/Encoding << /BaseEncoding /WinAnsiEncoding /Differences [65 /Alpha /Beta] >>", "", "414293949643", "ΑΒ“”–C"},
		"differences over the built-in":     {"/Encoding << /Differences [65 /Omega] >>", type1, "415C", "Ω“"},
		"differences over StandardEncoding": {"/Encoding << /BaseEncoding /StandardEncoding /Differences [65 /Alpha] >>", type1, "41276042", "Α’‘B"},
	} {
		doc, err := Extractor{Limits: extractors.Limits{MaxPages: 10, MaxTextBytes: 1 << 20}}.Extract(context.Background(), fontPDF(tc.entries, tc.file, tc.show))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if doc.Text != tc.want {
			t.Errorf("%s: %q, want %q", name, doc.Text, tc.want)
		}
	}
}

// Text drawn by Form XObjects is read (with the form's own resources and matrix, nested
// forms too); images are skipped; a form that draws itself ends at the depth cap.
func TestPDFFormXObjects(t *testing.T) {
	font := "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
	objs := []pdftest.Object{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> /XObject << /Fm1 6 0 R /Im1 8 0 R /Self 9 0 R >> >> /Contents 4 0 R >>",
		pdftest.Deflated("", []byte("BT /F1 12 Tf 72 720 Td (Page text before.) Tj ET\n/Im1 Do q 1 0 0 1 0 -100 cm /Fm1 Do Q /Self Do\nBT /F1 12 Tf 72 400 Td (Page text after.) Tj ET")),
		pdftest.Object(font),
		pdftest.Stream("/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Matrix [1 0 0 1 0 -50] /Resources << /Font << /G 5 0 R >> /XObject << /Fm2 7 0 R >> >>",
			[]byte("BT /G 12 Tf 72 720 Td (In the form.) Tj ET /Fm2 Do")),
		pdftest.Stream("/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /H 5 0 R >> >>",
			[]byte("Q Q BT /H 12 Tf 72 500 Td (In the nested form.) Tj ET")),
		pdftest.Stream("/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8", []byte{0}),
		pdftest.Stream("/Type /XObject /Subtype /Form /BBox [0 0 1 1] /Resources << /XObject << /Self 9 0 R >> >>", []byte("/Self Do /Self Do /Self Do")),
	}
	doc, err := Extractor{Limits: extractors.Limits{MaxPages: 10, MaxTextBytes: 1 << 20}}.Extract(context.Background(), pdftest.Build("%PDF-1.4", objs, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Page text before.", "In the form.", "In the nested form.", "Page text after."} {
		if !strings.Contains(doc.Text, want) {
			t.Fatalf("%q missing from %q", want, doc.Text)
		}
	}
	// reading order follows the page: the form's text (moved down by its matrix and the
	// page's cm) sits between the page's two lines
	if !(strings.Index(doc.Text, "Page text before.") < strings.Index(doc.Text, "In the form.") &&
		strings.Index(doc.Text, "In the form.") < strings.Index(doc.Text, "Page text after.")) {
		t.Errorf("order: %q", doc.Text)
	}
}

// buildCFF writes a bare CFF font program whose glyphs 1.. are named names, encoded by
// an Encoding of format 0 at codes, with supplements (code → name) and custom names in
// the String INDEX.
func buildCFF(t *testing.T, names []string, codes []byte, sups map[byte]string) []byte {
	t.Helper()
	standard := strings.Split(cffStandardStrings, "\n")[:391]
	var custom []string
	sid := func(name string) int {
		for i, s := range standard {
			if s == name {
				return i
			}
		}
		for i, s := range custom {
			if s == name {
				return 391 + i
			}
		}
		custom = append(custom, name)
		return 390 + len(custom)
	}
	var charset, encoding []byte
	charset = append(charset, 0)
	for _, n := range names {
		s := sid(n)
		charset = append(charset, byte(s>>8), byte(s))
	}
	encoding = append(encoding, 0x80, byte(len(codes)))
	encoding = append(encoding, codes...)
	encoding = append(encoding, byte(len(sups)))
	for code, n := range sups {
		s := sid(n)
		encoding = append(encoding, code, byte(s>>8), byte(s))
	}
	index := func(items ...[]byte) []byte {
		b := []byte{0, byte(len(items)), 1, 1}
		off := 1
		for _, it := range items {
			off += len(it)
			b = append(b, byte(off))
		}
		for _, it := range items {
			b = append(b, it...)
		}
		return b
	}
	var strs [][]byte
	for _, c := range custom {
		strs = append(strs, []byte(c))
	}
	charStrings := make([][]byte, len(names)+1)
	for i := range charStrings {
		charStrings[i] = []byte{14} // endchar
	}
	int32op := func(v, op int) []byte {
		return []byte{29, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v), byte(op)}
	}
	header := []byte{1, 0, 4, 1}
	nameIdx := index([]byte("Test"))
	strIdx := index(strs...)
	if len(strs) == 0 {
		strIdx = []byte{0, 0}
	}
	gsubr := []byte{0, 0}
	topLen := len(index(make([]byte, 18)))
	start := len(header) + len(nameIdx) + topLen + len(strIdx) + len(gsubr)
	top := append(append(int32op(start, 15), int32op(start+len(charset), 16)...), int32op(start+len(charset)+len(encoding), 17)...)
	var out []byte
	for _, part := range [][]byte{header, nameIdx, index(top), strIdx, gsubr, charset, encoding, index(charStrings...)} {
		out = append(out, part...)
	}
	return out
}

func TestCFFBuiltinEncoding(t *testing.T) {
	cff := buildCFF(t, []string{"fi", "quotedblleft", "mysym", "A"}, []byte{0x0C, 0x5C, 0x01, 0x41}, map[byte]string{0x42: "A"})
	enc := cffBuiltinEncoding(cff)
	if enc == nil {
		t.Fatal("no encoding read")
	}
	want := map[int]string{0x0C: "fi", 0x5C: "quotedblleft", 0x01: "mysym", 0x41: "A", 0x42: "A", 0x43: ""}
	for c, n := range want {
		if enc[c] != n {
			t.Errorf("code %#x: %q, want %q", c, enc[c], n)
		}
	}
	// damaged programs give nothing, never a panic
	for i := range cff {
		_ = cffBuiltinEncoding(cff[:i])
	}
	if cffBuiltinEncoding([]byte("%!PS-AdobeFont")) != nil {
		t.Error("a Type 1 program read as CFF")
	}
}

// A ToUnicode map wins for the codes it maps, even over a named /Encoding (which the
// library prefers), and the encoding serves the codes it leaves out.
func TestToUnicodeFirst(t *testing.T) {
	cmap := "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange <00> <FF> endcodespacerange\n" +
		"2 beginbfchar <41> <0042> <0C> <00660069> endbfchar\n2 beginbfrange <61> <63> <0078> <30> <31> [<2460> <2461>] endbfrange\n" +
		"endcmap CMapName currentdict /CMap defineresource pop end end"
	objs := []pdftest.Object{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		pdftest.Deflated("", []byte("BT /F1 12 Tf 72 720 Td <410C6162633031445A93> Tj ET")),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /ToUnicode 6 0 R >>",
		pdftest.Deflated("", []byte(cmap)),
	}
	doc, err := Extractor{Limits: extractors.Limits{MaxPages: 10, MaxTextBytes: 1 << 20}}.Extract(context.Background(), pdftest.Build("%PDF-1.4", objs, ""))
	if err != nil {
		t.Fatal(err)
	}
	// A→B and 0C→"fi" (bfchar), a..c→x..z (range), 0 and 1 → circled digits (array),
	// D, Z and 0x93 by WinAnsi
	if want := "Bfixyz①②DZ“"; doc.Text != want {
		t.Errorf("%q, want %q", doc.Text, want)
	}
}

// FuzzCFFBuiltinEncoding: any bytes give an encoding or nil, never a panic.
func FuzzCFFBuiltinEncoding(f *testing.F) {
	f.Add([]byte{1, 0, 4, 1, 0, 0})
	f.Add([]byte("%!PS-AdobeFont-1.0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = cffBuiltinEncoding(data)
	})
}

// FuzzToUnicode: any CMap text gives a table or nil, never a panic or a loop.
func FuzzToUnicode(f *testing.F) {
	f.Add([]byte("2 beginbfchar <41> <0042> <0C> <00660069> endbfchar 1 beginbfrange <61> <63> <0078> endbfrange"))
	f.Add([]byte("1 beginbfrange <00> <FF> [<0041> /fi <D83D>] endbfrange"))
	glyphs := parseGlyphList()
	f.Fuzz(func(t *testing.T, data []byte) {
		tab := parseToUnicode(strings.NewReader(string(data)), func() glyphList { return glyphs })
		if tab != nil {
			for _, s := range tab {
				if strings.ContainsRune(s, utf8.RuneError) {
					t.Fatalf("replacement character in %q", s)
				}
			}
		}
	})
}

// An accent drawn as its own glyph over a letter joins it (TeX's OT1 "´" then "e"), in
// either order; one that overlaps nothing stays.
func TestMergeAccents(t *testing.T) {
	items := []pdfItem{
		{x0: 0, x1: 40, y: 700, size: 10, s: "caf"},
		{x0: 41, x1: 46, y: 700, size: 10, s: "\u00b4"}, // acute, then the e moved back under it
		{x0: 40, x1: 46, y: 700, size: 10, s: "e"},
		{x0: 50, x1: 56, y: 700, size: 10, s: "o"},
		{x0: 51, x1: 55, y: 700, size: 10, s: "\u00a8"}, // diaeresis after its letter
		{x0: 60, x1: 66, y: 700, size: 10, s: "^"},      // a real circumflex
		{x0: 70, x1: 76, y: 700, size: 10, s: "x"},
		{x0: 70, x1: 75, y: 650, size: 10, s: "`"},            // another line
		{x0: 0, x1: 30, y: 600, size: 10, s: "constru\u00b8"}, // accent ending a run
		{x0: 25, x1: 35, y: 600, size: 10, s: "c\u02dc"},      // backs up under it, ends with one too
		{x0: 30, x1: 45, y: 600, size: 10, s: "ao"},
		{x0: 46, x1: 60, y: 600, size: 10, s: "x~"}, // a real tilde: the next run does not back up
		{x0: 61, x1: 70, y: 600, size: 10, s: "y"},
	}
	var got []string
	for _, it := range mergeAccents(items) {
		got = append(got, it.s)
	}
	want := []string{"caf", "e\u0301", "o\u0308", "^", "x", "`", "constru", "c\u0327", "a\u0303o", "x~", "y"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}
