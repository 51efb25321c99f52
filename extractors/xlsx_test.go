package extractors

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/docingest/docingest/document"
)

// buildXLSX writes a workbook by hand, part by part, for what openpyxl does not write:
// shared strings (with rich runs and a phonetic guide), formulas with cached values, the
// 1904 date system, error values and cells without references.
func buildXLSX(t testing.TB, date1904 bool, sheets map[string]string, order []string, sharedStrings []string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name, body string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
	var sh, rels strings.Builder
	for i, name := range order {
		fmt.Fprintf(&sh, `<sheet name="%s" sheetId="%d" r:id="rId%d"/>`, name, i+1, i+1)
		fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet%d.xml"/>`, i+1, i+1)
		put(fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1), `<worksheet `+ns+`><sheetData>`+sheets[name]+`</sheetData></worksheet>`)
	}
	pr := `<workbookPr/>`
	if date1904 {
		pr = `<workbookPr date1904="1"/>`
	}
	put("xl/workbook.xml", `<workbook `+ns+`>`+pr+`<sheets>`+sh.String()+`</sheets></workbook>`)
	put("xl/_rels/workbook.xml.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`+rels.String()+`</Relationships>`)
	var sst strings.Builder
	for _, s := range sharedStrings {
		sst.WriteString("<si>" + s + "</si>")
	}
	put("xl/sharedStrings.xml", `<sst `+ns+`>`+sst.String()+`</sst>`)
	put("xl/styles.xml", `<styleSheet `+ns+`><numFmts><numFmt numFmtId="170" formatCode="&quot;CHF&quot; #,##0.00;[Red]-#,##0.00"/><numFmt numFmtId="171" formatCode="hh:mm:ss"/></numFmts>`+
		`<cellXfs><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="170"/><xf numFmtId="10"/><xf numFmtId="171"/><xf numFmtId="46"/></cellXfs></styleSheet>`)
	zw.Close()
	return buf.Bytes()
}

func TestXLSXHandBuilt(t *testing.T) {
	sheets := map[string]string{
		"Q1": `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="D1" t="s"><v>2</v></c></row>` +
			`<row r="3"><c r="A3" t="s"><v>3</v></c><c r="B3" s="2"><v>-1234.5</v></c><c r="C3" s="1"><v>0</v></c><c r="D3" s="3"><v>0.12345</v></c></row>` +
			`<row r="4"><c r="A4" t="str"><f>UPPER("x")</f><v>X</v></c><c r="B4" s="2"><f>SUM(B3)</f><v>-1234.5</v></c><c r="C4" t="e"><v>#DIV/0!</v></c><c r="D4" t="b"><v>0</v></c><c r="F4" s="4"><v>0.75</v></c></row>` +
			`<row><c><v>1e-7</v></c><c><v>123456789012.5</v></c><c s="5"><v>1.5</v></c></row>`,
		"Empty": ``,
	}
	data := buildXLSX(t, true, sheets, []string{"Q1", "Empty"}, []string{
		"<t>Name</t>", "<r><t>Amo</t></r><r><t>unt</t></r>", `<t>Ratio</t><rPh sb="0" eb="1"><t>ruby</t></rPh>`, "<t>Widgets &amp; gadgets</t>",
	})
	doc, err := XLSXExtractor{Limits: Limits{MaxTextBytes: 1 << 20}}.Extract(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"Name | Amount | Ratio",
		"Name: Widgets & gadgets\nAmount: -1,234.50\ncolumn C: 1904-01-01\nRatio: 12.35%",
		"Name: X\nAmount: -1,234.50\ncolumn C: #DIV/0!\nRatio: FALSE\ncolumn F: 18:00:00",
		"column C: 1.5",
	} {
		if !strings.Contains(doc.Text, s) {
			t.Errorf("missing %q in:\n%s", s, doc.Text)
		}
	}
	if strings.Contains(doc.Text, "ruby") {
		t.Error("a phonetic guide was kept")
	}
	if len(doc.Headings) != 1 || doc.Headings[0].Title != "Q1" {
		t.Errorf("headings %+v (an empty sheet adds none)", doc.Headings)
	}
	checkDocument(t, doc)
}

// The cell cap, at the limit and one past it; a shared string index out of range; a
// workbook that names a sheet part it lacks.
func TestXLSXCaps(t *testing.T) {
	row := func(n int) string {
		var b strings.Builder
		b.WriteString(`<row>`)
		for i := range n {
			fmt.Fprintf(&b, `<c><v>%d</v></c>`, i+1)
		}
		b.WriteString(`</row>`)
		return b.String()
	}
	capped := XLSXExtractor{maxCells: 5}
	data := buildXLSX(t, false, map[string]string{"S": row(5)}, []string{"S"}, nil)
	if _, err := capped.Extract(context.Background(), data); err != nil {
		t.Errorf("at the cell cap: %v", err)
	}
	data = buildXLSX(t, false, map[string]string{"S": row(6)}, []string{"S"}, nil)
	_, err := capped.Extract(context.Background(), data)
	wantPermanent(t, err, "one cell past the cap", document.ReasonTooLarge)
	data = buildXLSX(t, false, map[string]string{"S": `<row><c t="s"><v>99</v></c><c t="s"><v>-1</v></c><c t="s"><v>x</v></c><c><v>ok</v></c></row>`}, []string{"S"}, []string{"<t>a</t>"})
	doc, err := (XLSXExtractor{}).Extract(context.Background(), data)
	if err != nil || !strings.Contains(doc.Text, "ok") {
		t.Errorf("bad shared string indexes: %v %q", err, doc.Text)
	}
	// the shared strings' size cap
	big := strings.Repeat("x", 1<<20)
	data = buildXLSX(t, false, map[string]string{"S": `<row><c t="s"><v>0</v></c></row>`}, []string{"S"}, []string{"<t>" + big + "</t>", "<t>" + big + "</t>"})
	_, err = XLSXExtractor{maxShared: 2<<20 - 1}.Extract(context.Background(), data)
	wantPermanent(t, err, "shared strings one byte over the cap", document.ReasonTooLarge)
	if _, err := (XLSXExtractor{maxShared: 2 << 20}).Extract(context.Background(), data); err != nil {
		t.Errorf("shared strings at the cap: %v", err)
	}
}

func TestXLSXFormats(t *testing.T) {
	s := &xlsxStyles{formats: []string{"", "0.00", "#,##0", "0%", "yyyy-mm-dd", "h:mm AM/PM", "[h]:mm:ss", "0.00E+00", `"$"#,##0.00_);("$"#,##0.00)`, "d-mmm-yy h:mm"}}
	for _, c := range []struct {
		v     float64
		style int
		want  string
	}{
		{3, 0, "3"}, {0.1 + 0.2, 0, "0.3"}, {1234567.891, 1, "1234567.89"}, {1234567.891, 2, "1,234,568"},
		{-1234567, 2, "-1,234,567"}, {0.256, 3, "26%"}, {45292, 4, "2024-01-01"}, {0.5, 5, "12:00:00"},
		{1.25, 6, "1.25"}, {12345, 7, "1.23E+04"}, {1234.5, 8, "1,234.50"}, {45292.75, 9, "2024-01-01T18:00:00"},
		{2958466, 4, "2958466"}, // past 9999-12-31: not a date
	} {
		if got := s.format(c.v, c.style); got != c.want {
			t.Errorf("format(%v, %q) = %q, want %q", c.v, s.formats[c.style], got, c.want)
		}
	}
}
