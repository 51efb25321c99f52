package extractors

import (
	"path/filepath"
	"testing"

	"github.com/docingest/docingest/extractors/extractortest"
)

func fuzzExtractor(f *testing.F, ex extractor, seeds ...[]byte) { extractortest.Fuzz(f, ex, seeds...) }

func seedFiles(_ *testing.F, patterns ...string) [][]byte {
	return extractortest.SeedFiles(filepath.Join("..", "testdata"), patterns...)
}

var fuzzLimits = Limits{MaxPages: 50, MaxTextBytes: 1 << 20}

func FuzzExtractHTML(f *testing.F) {
	fuzzExtractor(f, HTMLExtractor{fuzzLimits}, append(seedFiles(f, "docs/*.html"),
		[]byte("<p>unclosed <b>bold <table><tr><td>cell"), []byte("<h1></h1><h2>x</h2>"))...)
}

func FuzzExtractDOCX(f *testing.F) {
	fuzzExtractor(f, DOCXExtractor{fuzzLimits}, append(seedFiles(f, "docs/*.docx", "hostile/*.docx"), []byte("PK\x03\x04"))...)
}

func FuzzExtractXLSX(f *testing.F) {
	fuzzExtractor(f, XLSXExtractor{Limits: fuzzLimits}, append(seedFiles(f, "formats/*.xlsx", "formats/real/*.xlsx"), buildXLSX(f, true,
		map[string]string{"S": `<row><c t="s"><v>0</v></c><c s="1"><v>45292</v></c></row><row><c><v>1</v></c></row>`}, []string{"S"}, []string{"<t>a</t>"}))...)
}

func FuzzExtractPPTX(f *testing.F) {
	fuzzExtractor(f, PPTXExtractor{Limits: fuzzLimits}, append(seedFiles(f, "formats/*.pptx", "formats/real/*.pptx"),
		buildPPTX(f, []string{pptxShape("title", "T") + pptxShape("", "body")}, map[int]string{0: "notes"}))...)
}

func FuzzExtractODF(f *testing.F) {
	fuzzExtractor(f, ODFExtractor{Limits: fuzzLimits}, append(seedFiles(f, "formats/*.odt", "formats/real/*.od?"),
		buildODF(f, odsMime, `<office:spreadsheet><table:table table:name="S"><table:table-row><table:table-cell table:number-columns-repeated="3"><text:p>x</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet>`),
		buildODF(f, odpMime, `<office:presentation><draw:page><draw:frame presentation:class="title"><draw:text-box><text:p>T</text:p></draw:text-box></draw:frame></draw:page></office:presentation>`))...)
}

func FuzzExtractRTF(f *testing.F) {
	fuzzExtractor(f, RTFExtractor{Limits: fuzzLimits}, append(seedFiles(f, "formats/*.rtf", "formats/real/*.rtf"),
		[]byte(`{\rtf1\ansicpg1251{\stylesheet{\s1 heading 1;}}\s1 T\par \'cf\u-10179?\u-8694? {\*\x y}\bin3 abc\intbl a\cell\row}`))...)
}

func FuzzExtractEPUB(f *testing.F) {
	fuzzExtractor(f, EPUBExtractor{Limits: fuzzLimits}, append(seedFiles(f, "formats/*.epub", "formats/real/*.epub"),
		buildEPUB(f, map[string]string{"a.xhtml": "<h1>A</h1><p>x</p>"}, []string{"a.xhtml"}, false, map[string]string{"a.xhtml": "A"}))...)
}

func FuzzExtractEML(f *testing.F) {
	fuzzExtractor(f, EMLExtractor{Limits: fuzzLimits}, append(seedFiles(f, "formats/*.eml", "formats/real/*.eml"),
		[]byte("From: a\nSubject: =?utf-8?b?w6k=?=\nContent-Type: multipart/alternative; boundary=z\n\n--z\nContent-Type: text/html; charset=latin1\nContent-Transfer-Encoding: base64\n\nPGI+eDwvYj4=\n--z--\n"))...)
}

func FuzzExtractMarkdown(f *testing.F) {
	fuzzExtractor(f, MarkdownExtractor{fuzzLimits}, append(seedFiles(f, "docs/*.md"), []byte("Title\n===\n```\n# not\n"))...)
}

func FuzzExtractText(f *testing.F) {
	fuzzExtractor(f, TextExtractor{fuzzLimits}, seedFiles(f, "docs/*.txt")...)
}

func FuzzExtractCSV(f *testing.F) {
	fuzzExtractor(f, CSVExtractor{fuzzLimits}, append(seedFiles(f, "docs/*.csv"), []byte("a;b\n\"x;\"y\n"))...)
}

func FuzzExtractJSON(f *testing.F) {
	fuzzExtractor(f, JSONExtractor{fuzzLimits}, append(seedFiles(f, "docs/*.json", "docs/*.jsonl", "hostile/*.json"), []byte(`[[[[[[1]]]]]]`))...)
}
