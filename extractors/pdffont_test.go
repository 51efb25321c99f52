package extractors

import (
	"context"
	"strconv"
	"strings"
	"testing"

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
		"built-in encoding":             {"", type1, "5C417B0C61225C00", "“A–fia”“Γ"},
		"glyph without text is dropped": {"", type1, "41016141", "AaA"},
		"differences over WinAnsi":      {"/Encoding << /BaseEncoding /WinAnsiEncoding /Differences [65 /Alpha /Beta] >>", "", "414293949643", "ΑΒ“”–C"},
		"differences over the built-in": {"/Encoding << /Differences [65 /Omega] >>", type1, "415C", "Ω“"},
	} {
		doc, err := PDFExtractor{Limits: Limits{MaxPages: 10, MaxTextBytes: 1 << 20}}.Extract(context.Background(), fontPDF(tc.entries, tc.file, tc.show))
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
	doc, err := PDFExtractor{Limits: Limits{MaxPages: 10, MaxTextBytes: 1 << 20}}.Extract(context.Background(), pdftest.Build("%PDF-1.4", objs, ""))
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
