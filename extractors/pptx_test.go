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

// buildPPTX writes a presentation by hand: slides whose shape trees are given, in an
// order other than their part names', one with notes.
func buildPPTX(t testing.TB, slides []string, notes map[int]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name, body string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	const ns = `xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"`
	var ids, rels strings.Builder
	for i := range slides {
		n := len(slides) - i // parts numbered backwards: the order is the presentation's
		fmt.Fprintf(&ids, `<p:sldId id="%d" r:id="rId%d"/>`, 256+i, i+1)
		fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide" Target="slides/slide%d.xml"/>`, i+1, n)
		put(fmt.Sprintf("ppt/slides/slide%d.xml", n), `<p:sld `+ns+`><p:cSld><p:spTree>`+slides[i]+`</p:spTree></p:cSld></p:sld>`)
		if text, ok := notes[i]; ok {
			put(fmt.Sprintf("ppt/slides/_rels/slide%d.xml.rels", n), `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/notesSlide" Target="../notesSlides/notesSlide`+fmt.Sprint(n)+`.xml"/></Relationships>`)
			put(fmt.Sprintf("ppt/notesSlides/notesSlide%d.xml", n), `<p:notes `+ns+`><p:cSld><p:spTree>`+pptxShape("sldImg", "")+pptxShape("body", text)+pptxShape("sldNum", "7")+`</p:spTree></p:cSld></p:notes>`)
		}
	}
	put("ppt/presentation.xml", `<p:presentation `+ns+`><p:sldIdLst>`+ids.String()+`</p:sldIdLst></p:presentation>`)
	put("ppt/_rels/presentation.xml.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`+rels.String()+`</Relationships>`)
	zw.Close()
	return buf.Bytes()
}

// pptxShape is a shape with a placeholder type ("" for none) and one paragraph per line.
func pptxShape(ph, text string) string {
	var paras strings.Builder
	for _, line := range strings.Split(text, "\n") {
		paras.WriteString(`<a:p><a:r><a:t>` + line + `</a:t></a:r></a:p>`)
	}
	nv := `<p:nvSpPr><p:cNvPr id="2" name="s"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr>`
	if ph != "" {
		nv = `<p:nvSpPr><p:cNvPr id="2" name="s"/><p:cNvSpPr/><p:nvPr><p:ph type="` + ph + `"/></p:nvPr></p:nvSpPr>`
	}
	return `<p:sp>` + nv + `<p:spPr/><p:txBody><a:bodyPr/>` + paras.String() + `</p:txBody></p:sp>`
}

func TestPPTXHandBuilt(t *testing.T) {
	table := `<p:graphicFrame><a:graphic><a:graphicData><a:tbl><a:tr><a:tc><a:txBody><a:p><a:r><a:t>Site</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>Count</a:t></a:r></a:p></a:txBody></a:tc></a:tr>` +
		`<a:tr><a:tc><a:txBody><a:p><a:r><a:t>Mill</a:t></a:r></a:p><a:p><a:r><a:t>(north)</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>42</a:t></a:r></a:p></a:txBody></a:tc></a:tr></a:tbl></a:graphicData></a:graphic></p:graphicFrame>`
	data := buildPPTX(t, []string{
		pptxShape("ctrTitle", "Survey") + pptxShape("subTitle", "Spring") + pptxShape("sldNum", "1") + pptxShape("dt", "2026-04-01"),
		pptxShape("title", "Counts") + table + `<p:grpSp>` + pptxShape("", "grouped text") + `</p:grpSp>` + pptxShape("ftr", "Confidential"),
		pptxShape("", "a slide without a title\nsecond line"),
	}, map[int]string{1: "Say the mill was flooded."})
	doc, err := PPTXExtractor{}.Extract(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	want := "Survey\n\nSpring\n\nCounts\n\nSite | Count\n\nMill (north) | 42\n\ngrouped text\n\nNotes: Say the mill was flooded.\n\na slide without a title\n\nsecond line"
	if doc.Text != want {
		t.Errorf("text:\n%q\nwant\n%q", doc.Text, want)
	}
	if len(doc.Pages) != 3 || len(doc.Headings) != 2 || doc.Headings[1].Title != "Counts" {
		t.Errorf("pages %v, headings %+v", doc.Pages, doc.Headings)
	}
	checkDocument(t, doc)
	doc, _ = PPTXExtractor{SkipNotes: true}.Extract(context.Background(), data)
	if strings.Contains(doc.Text, "flooded") {
		t.Error("notes kept with SkipNotes")
	}
	// an empty presentation, and one without presentation.xml
	_, err = PPTXExtractor{}.Extract(context.Background(), buildPPTX(t, []string{pptxShape("sldNum", "1")}, nil))
	wantPermanent(t, err, "no text", document.ReasonEmpty)
	_, err = PPTXExtractor{}.Extract(context.Background(), docxWith(t, "<w:p/>"))
	wantPermanent(t, err, "a DOCX given to the PPTX extractor", document.ReasonUnsupported)
}

// Nesting in a slide and in a sheet, at MaxXMLDepth and one past it.
func TestCapXMLDepthSlidesAndSheets(t *testing.T) {
	t.Parallel()
	for _, extra := range []int{0, 1} {
		// sld, cSld, spTree: 3 levels; sp, txBody, p, r, t: 5 more
		k := MaxXMLDepth - 8 + extra
		data := buildPPTX(t, []string{strings.Repeat("<p:grpSp>", k) + pptxShape("", "deep") + strings.Repeat("</p:grpSp>", k)}, nil)
		_, err := PPTXExtractor{}.Extract(context.Background(), data)
		if extra == 0 && err != nil {
			t.Errorf("pptx at the depth cap: %v", err)
		} else if extra == 1 && reasonOf(err) != document.ReasonCorrupt {
			t.Errorf("pptx one past the depth cap: %v", err)
		}
		// worksheet, sheetData: 2 levels; row, c, v: 3 more
		k = MaxXMLDepth - 5 + extra
		data = buildXLSX(t, false, map[string]string{"S": strings.Repeat("<x>", k) + `<row><c><v>1</v></c></row>` + strings.Repeat("</x>", k)}, []string{"S"}, nil)
		_, err = XLSXExtractor{}.Extract(context.Background(), data)
		if extra == 0 && err != nil {
			t.Errorf("xlsx at the depth cap: %v", err)
		} else if extra == 1 && reasonOf(err) != document.ReasonCorrupt {
			t.Errorf("xlsx one past the depth cap: %v", err)
		}
	}
}
