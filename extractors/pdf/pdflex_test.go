package pdf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/internal/pdftest"
)

// lexAll renders every operator with its operands, one per line: numbers with %g,
// strings quoted, names with '/', arrays in brackets.
func lexAll(t *testing.T, content string) (string, error) {
	t.Helper()
	l := newCSLexer(strings.NewReader(content))
	var b strings.Builder
	for {
		op, args, err := l.next()
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		for _, a := range args {
			b.WriteString(renderOperand(a) + " ")
		}
		b.WriteString(op + "\n")
	}
}

func renderOperand(a csOperand) string {
	switch a.kind {
	case csNumber:
		return fmt.Sprintf("%g", a.num)
	case csString:
		return fmt.Sprintf("%q", a.str)
	case csName:
		return "/" + a.str
	case csArray:
		var parts []string
		for _, e := range a.arr {
			parts = append(parts, renderOperand(e))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return "_"
}

func TestContentLexer(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"numbers":                       {"1 -2 +3 .5 -.25 4. 0.0 cm", "1 -2 3 0.5 -0.25 4 0 cm\n"},
		"literal escapes":               {`(a\(b\)c\\d\n\101\0611\7x) Tj`, `"a(b)c\\d\nA11\ax" Tj` + "\n"},
		"balanced parens and line ends": {"(f(o)o\r\nbar\\\nbaz\rq) Tj", `"f(o)o\nbarbaz\nq" Tj` + "\n"},
		"hex with space and odd digit":  {"<48 65 6c6C 6f7> Tj", `"Hellop" Tj` + "\n"},
		"names":                         {"/F1 12 Tf /A#20B /C#2 gs", "/F1 12 Tf\n/A B /C#2 gs\n"},
		"arrays":                        {"[(a) -120 (b) [1 2]] TJ", `["a" -120 "b" [1 2]] TJ` + "\n"},
		"comments and stray delimiters": {"% a comment (not a string\n) ] } 1 0 0 1 0 0 cm % end", "1 0 0 1 0 0 cm\n"},
		"marked content dictionary":     {"/Span << /ActualText (x) /MCID 3 /K [1 <</A 1>>] >> BDC (t) Tj EMC", "/Span _ BDC\n\"t\" Tj\nEMC\n"},
		"booleans and null":             {"true false null d0", "_ _ _ d0\n"},
		"inline image with '<', '(' and EI inside its data": {
			"q BI /W 4 /H 4 /BPC 8 /CS /G ID \x00<(\xffEI\x01\x02 EIx \x80\nEI\n\x90\x91 stillbinary\nEI Q (after) Tj",
			"q\nQ\n\"after\" Tj\n"},
		"inline image with /L":          {"BI /W 1 /H 1 /L 6 ID EI EI EI (x) Tj", "EI\n\"x\" Tj\n"},
		"inline image at the end":       {"BI /W 1 ID \x01\x02 EI", ""},
		"truncated string, no operator": {"(never closed", ""},
		"truncated string":              {"(closed by the end) Tj (never closed", `"closed by the end" Tj` + "\n"},
	} {
		got, err := lexAll(t, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q (err %v), want %q", name, got, err, tc.want)
		}
	}
}

func TestContentLexerCaps(t *testing.T) {
	for name, in := range map[string]string{
		"deep arrays":   strings.Repeat("[", 100) + "] TJ",
		"deep dicts":    strings.Repeat("<<", 100) + " BDC",
		"huge string":   "(" + strings.Repeat("x", csMaxString+1) + ") Tj",
		"huge token":    strings.Repeat("x", csMaxString+1),
		"endless image": "BI ID " + strings.Repeat("\xff", csMaxInlineData+1),
	} {
		if _, err := lexAll(t, in); !errors.Is(err, errContentStream) {
			t.Errorf("%s: error %v, want a cap", name, err)
		}
	}
	// operands without an operator are bounded
	l := newCSLexer(strings.NewReader(strings.Repeat("1 ", 100000) + "cm"))
	op, args, err := l.next()
	if err != nil || op != "cm" || len(args) != csMaxOperands {
		t.Fatalf("op %q, %d operands, err %v", op, len(args), err)
	}
}

// An inline image (here with binary data holding '<' and '(') in the middle of a page
// no longer loses the document: the text on both sides of it is read.
func TestPDFInlineImage(t *testing.T) {
	content := "BT /F1 12 Tf 72 720 Td (Before the image.) Tj ET\n" +
		"q 10 0 0 10 72 600 cm BI /W 8 /H 2 /BPC 8 /CS /G /F /AHx ID \x00<(\xff\x13<<EI> EI Q\n" +
		"BT /F1 12 Tf 72 500 Td (After the image.) Tj ET"
	doc, err := Extractor{Limits: extractors.Limits{MaxPages: 10, MaxTextBytes: 1 << 20}}.Extract(context.Background(), pdftest.ContentPDF([]byte(content)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc.Text, "Before the image.") || !strings.Contains(doc.Text, "After the image.") {
		t.Fatalf("text %q", doc.Text)
	}
	// a content stream with a string over the cap is too large, not a crash
	_, err = Extractor{Limits: extractors.Limits{MaxPages: 10, MaxTextBytes: 1 << 20}}.Extract(context.Background(),
		pdftest.ContentPDF([]byte("BT /F1 12 Tf ("+strings.Repeat("x", csMaxString+1)+") Tj ET")))
	wantPermanent(t, err, "huge string", document.ReasonTooLarge)
}

// FuzzContentLexer: any bytes end in operators, io.EOF or a cap error, never a panic or a
// loop.
func FuzzContentLexer(f *testing.F) {
	for _, s := range []string{
		"BT /F1 12 Tf 72 720 Td (Hello) Tj ET",
		"[(a) -120 <4142> 3] TJ",
		"BI /W 4 /H 4 ID \x00<(\xff EI Q",
		"/Span << /ActualText (x) >> BDC EMC",
		"(a\\(b\\)c\\\\d\\n\\101) Tj % comment",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := newCSLexer(strings.NewReader(string(data)))
		for i := 0; ; i++ {
			_, args, err := l.next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, errContentStream) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(args) > csMaxOperands || i > len(data)+1 {
				t.Fatalf("%d operands, %d operators from %d bytes", len(args), i, len(data))
			}
		}
	})
}
