package extractors

import (
	"archive/zip"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/docingest/docingest/document"
)

const odfNS = `xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"`

// buildODF writes an OpenDocument archive as LibreOffice does: mimetype first, stored.
func buildODF(t testing.TB, mime, body string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "mimetype", Method: zip.Store})
	w.Write([]byte(mime))
	w, err := zw.Create("content.xml")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><office:document-content ` + odfNS + `><office:body>` + body + `</office:body></office:document-content>`))
	zw.Close()
	return buf.Bytes()
}

func TestODS(t *testing.T) {
	cell := func(v string) string { return `<table:table-cell><text:p>` + v + `</text:p></table:table-cell>` }
	body := `<office:spreadsheet><table:table table:name="Stations">` +
		`<table:table-row>` + cell("Station") + cell("City") + cell("Elevation") + `<table:table-cell table:number-columns-repeated="16380"/></table:table-row>` +
		`<table:table-row>` + cell("North Field") + cell("Tromsø") + cell("35") + `</table:table-row>` +
		`<table:table-row><table:table-cell table:number-columns-repeated="2"><text:p>same</text:p></table:table-cell>` + cell("7") + `<table:table-cell office:value-type="string"><text:p>extra<office:annotation><text:p>a comment</text:p></office:annotation></text:p></table:table-cell></table:table-row>` +
		`<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>` +
		`</table:table><table:table table:name="Empty"/></office:spreadsheet>`
	doc, err := ODFExtractor{}.Extract(context.Background(), buildODF(t, odsMime, body))
	if err != nil {
		t.Fatal(err)
	}
	want := "Stations\n\nStation | City | Elevation\n\nStation: North Field\nCity: Tromsø\nElevation: 35\n\nStation: same\nCity: same\nElevation: 7\ncolumn D: extra"
	if doc.Text != want {
		t.Errorf("text:\n%q\nwant\n%q", doc.Text, want)
	}
	if Detect("x.bin", buildODF(t, odsMime, body)) != FormatODS {
		t.Error("an ODS archive is not detected by its mimetype")
	}
}

func TestODP(t *testing.T) {
	frame := func(class, text string) string {
		return `<draw:frame presentation:class="` + class + `"><draw:text-box><text:p>` + text + `</text:p></draw:text-box></draw:frame>`
	}
	body := `<office:presentation>` +
		`<draw:page draw:name="p1">` + frame("title", "Survey") + frame("outline", "Forty-two herons") + `<draw:frame><draw:image><svg:desc>a photo of herons</svg:desc></draw:image></draw:frame>` +
		`<presentation:notes><draw:frame presentation:class="notes"><draw:text-box><text:p>Say the mill was flooded.</text:p></draw:text-box></draw:frame></presentation:notes></draw:page>` +
		`<draw:page draw:name="p2">` + frame("outline", "No title here") + `</draw:page></office:presentation>`
	data := buildODF(t, odpMime, body)
	doc, err := ODFExtractor{}.Extract(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Survey\n\nForty-two herons\n\nNotes: Say the mill was flooded.\n\nNo title here"; doc.Text != want {
		t.Errorf("text:\n%q\nwant\n%q", doc.Text, want)
	}
	if len(doc.Pages) != 2 || len(doc.Headings) != 1 {
		t.Errorf("pages %v headings %+v", doc.Pages, doc.Headings)
	}
	if doc, _ := (ODFExtractor{SkipNotes: true}).Extract(context.Background(), data); strings.Contains(doc.Text, "flooded") {
		t.Error("notes kept with SkipNotes")
	}
	_, err = ODFExtractor{}.Extract(context.Background(), buildODF(t, "application/vnd.oasis.opendocument.graphics", ""))
	wantPermanent(t, err, "a drawing", document.ReasonUnsupported)
}

// Text documents: spaces (text:s), tabs, line breaks, footnotes in place, comments and
// footnote numbers left out; nesting at the depth cap and one past it.
func TestODTDetails(t *testing.T) {
	body := `<office:text><text:h text:outline-level="2">Method</text:h>` +
		`<text:p>Counted<text:s text:c="3"/>at dawn<text:tab/>and<text:line-break/>dusk<text:note><text:note-citation>1</text:note-citation><text:note-body><text:p>By volunteers.</text:p></text:note-body></text:note>.<office:annotation><text:p>check this</text:p></office:annotation></text:p></office:text>`
	doc, err := ODFExtractor{}.Extract(context.Background(), buildODF(t, odtMime, body))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Method\n\nCounted at dawn and\ndusk\nBy volunteers.."; doc.Text != want { // cleaning folds the spaces and the tab
		t.Errorf("text:\n%q\nwant\n%q", doc.Text, want)
	}
	if len(doc.Headings) != 1 || doc.Headings[0].Level != 2 {
		t.Errorf("headings %+v", doc.Headings)
	}
	for _, extra := range []int{0, 1} {
		// document-content, body, text: 3 levels; the paragraph 1 more
		k := MaxXMLDepth - 4 + extra
		body := `<office:text>` + strings.Repeat("<text:section>", k) + `<text:p>deep</text:p>` + strings.Repeat("</text:section>", k) + `</office:text>`
		_, err := ODFExtractor{}.Extract(context.Background(), buildODF(t, odtMime, body))
		if extra == 0 && err != nil {
			t.Errorf("at the depth cap: %v", err)
		} else if extra == 1 && reasonOf(err) != document.ReasonCorrupt {
			t.Errorf("one past the depth cap: %v", err)
		}
	}
}
