package extractors

import (
	"context"
	"strings"
	"testing"

	"github.com/docingest/docingest/document"
)

// What Word writes and pandoc does not: a style sheet naming heading styles, Unicode
// escapes with fallbacks and surrogate pairs, 8-bit escapes in a Cyrillic code page,
// fields, pictures with binary data, unknown \* destinations, headers and escaped braces.
func TestRTFDetails(t *testing.T) {
	rtf := `{\rtf1\ansi\ansicpg1251\deff0{\fonttbl{\f0 Times;}}{\stylesheet{\s0 Normal;}{\s1\b heading 1;}{\s2 Heading 2;}}` +
		`{\header page header text}{\*\generator Microsoft Word;}{\info{\title not the text}}` + "\n" +
		`{\pard\s1 Report\par}` +
		`{\pard \'cf\'f0\'e8\'e2\'e5\'f2 and caf\uc1\u233 e and \u-10179?\u-8694? and \uc2\u8364 EU done\par}` +
		`{\pard\s2 Figures\par}` +
		`{\pard see {\field{\*\fldinst HYPERLINK "https://example.org"}{\fldrslt the site}} for \{braces\} and a \\ backslash\par}` +
		`{\pard before {\pict\pngblip\bin6 ` + "\x00\x01}{\\x" + ` } after\par}` +
		`{\pard\intbl Site\cell 42\cell\row}` +
		`{\*\unknowndest hidden text}{\pard last\line line\tab tab\par}}`
	doc, err := RTFExtractor{}.Extract(context.Background(), []byte(rtf))
	if err != nil {
		t.Fatal(err)
	}
	want := "Report\n\nПривет and café and 😊 and € done\n\nFigures\n\nsee the site for {braces} and a \\ backslash\n\nbefore after\n\nSite | 42\n\nlast\nline tab"
	if doc.Text != want {
		t.Errorf("text:\n%q\nwant\n%q", doc.Text, want)
	}
	if len(doc.Headings) != 2 || doc.Headings[0].Level != 1 || doc.Headings[1].Level != 2 {
		t.Errorf("headings %+v", doc.Headings)
	}
	checkDocument(t, doc)
	_, err = RTFExtractor{}.Extract(context.Background(), []byte("not rtf"))
	wantPermanent(t, err, "not RTF", document.ReasonCorrupt)
	for _, extra := range []int{0, 1} {
		// the document's own group is the first level
		k := MaxRTFDepth - 1 + extra
		deep := `{\rtf1 ` + strings.Repeat("{", k) + `deep` + strings.Repeat("}", k) + `}`
		_, err := RTFExtractor{}.Extract(context.Background(), []byte(deep))
		if extra == 0 && err != nil {
			t.Errorf("at the depth cap: %v", err)
		} else if extra == 1 && reasonOf(err) != document.ReasonCorrupt {
			t.Errorf("one past the depth cap: %v", err)
		}
	}
}
