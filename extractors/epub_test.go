package extractors

import (
	"archive/zip"
	"bytes"
	"context"
	"testing"

	"github.com/docingest/docingest/document"
)

// buildEPUB writes a book: the package in OEBPS/, chapters given by file name, the spine
// in the order given (an "-" prefix makes an item non-linear), and either an NCX or an
// EPUB 3 navigation document naming the chapters.
func buildEPUB(t testing.TB, chapters map[string]string, spine []string, ncx bool, titles map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name, body string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "mimetype", Method: zip.Store})
	w.Write([]byte(epubMime))
	put("META-INF/container.xml", `<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/book.opf" media-type="application/oebps-package+xml"/></rootfiles></container>`)
	var manifest, refs, nav, points string
	for name, body := range chapters {
		manifest += `<item id="` + name + `" href="text/` + name + `" media-type="application/xhtml+xml"/>`
		put("OEBPS/text/"+name, `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head><body>`+body+`</body></html>`)
	}
	for _, id := range spine {
		linear := ""
		if id[0] == '-' {
			id, linear = id[1:], ` linear="no"`
		}
		refs += `<itemref idref="` + id + `"` + linear + `/>`
	}
	for name, title := range titles {
		points += `<navPoint><navLabel><text>` + title + `</text></navLabel><content src="text/` + name + `#start"/></navPoint>`
		nav += `<li><a href="text/` + name + `">` + title + `</a></li>`
	}
	manifest += `<item id="cover" href="cover.png" media-type="image/png"/>`
	spineAttr := ""
	if ncx {
		manifest += `<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>`
		spineAttr = ` toc="ncx"`
		put("OEBPS/toc.ncx", `<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"><navMap>`+points+`</navMap></ncx>`)
	} else {
		manifest += `<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>`
		put("OEBPS/nav.xhtml", `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol>`+nav+`</ol></nav></body></html>`)
	}
	put("OEBPS/book.opf", `<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><manifest>`+manifest+`</manifest><spine`+spineAttr+`><itemref idref="cover"/>`+refs+`</spine></package>`)
	zw.Close()
	return buf.Bytes()
}

func TestEPUB(t *testing.T) {
	chapters := map[string]string{
		"b.xhtml":     `<p>The second chapter has no heading of its own.</p>`,
		"a.xhtml":     `<h1>Arrival</h1><p>They reached the mill at dawn.</p><h2>The weir</h2><p>Thirteen herons.</p>`,
		"notes.xhtml": `<p>Endnotes, out of the reading order.</p>`,
	}
	titles := map[string]string{"b.xhtml": "Departure", "a.xhtml": "Arrival"}
	for _, ncx := range []bool{true, false} {
		doc, err := EPUBExtractor{}.Extract(context.Background(), buildEPUB(t, chapters, []string{"a.xhtml", "b.xhtml", "-notes.xhtml"}, ncx, titles))
		if err != nil {
			t.Fatal(err)
		}
		want := "Arrival\n\nThey reached the mill at dawn.\n\nThe weir\n\nThirteen herons.\n\nDeparture\n\nThe second chapter has no heading of its own."
		if doc.Text != want {
			t.Errorf("ncx %v: text:\n%q\nwant\n%q", ncx, doc.Text, want)
		}
		if len(doc.Pages) != 2 || len(doc.Headings) != 3 || doc.Headings[1].Level != 2 || doc.Headings[2].Title != "Departure" {
			t.Errorf("ncx %v: pages %v, headings %+v", ncx, doc.Pages, doc.Headings)
		}
		checkDocument(t, doc)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("mimetype")
	w.Write([]byte(epubMime))
	zw.Close()
	_, err := EPUBExtractor{}.Extract(context.Background(), buf.Bytes())
	wantPermanent(t, err, "no container", document.ReasonCorrupt)
	if Detect("book.zip", buildEPUB(t, chapters, []string{"a.xhtml"}, true, titles)) != FormatEPUB {
		t.Error("an EPUB is not detected by its mimetype")
	}
}
