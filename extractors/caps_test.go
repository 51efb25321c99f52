package extractors

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/internal/hostile"
)

// Every cap of issue 14, at its limit (accepted) and one past it (refused with its reason,
// or handled as documented).

func reasonOf(err error) document.Reason {
	var p *document.PermanentError
	if errors.As(err, &p) {
		return p.Reason
	}
	return ""
}

func TestCapBlockBytes(t *testing.T) {
	t.Parallel()
	lim := Limits{MaxTextBytes: 50 << 20}
	word := func(n int) []byte { return bytes.Repeat([]byte("x"), n) }
	doc, err := TextExtractor{lim}.Extract(context.Background(), word(MaxBlockBytes))
	if err != nil || strings.Contains(doc.Text, "\n") || len(doc.Text) != MaxBlockBytes {
		t.Fatalf("a block of exactly MaxBlockBytes: %d bytes, %v", len(doc.Text), err)
	}
	doc, err = TextExtractor{lim}.Extract(context.Background(), word(MaxBlockBytes+1))
	if err != nil || doc.Text != strings.Repeat("x", MaxBlockBytes)+"\n\nx" {
		t.Fatalf("one byte more is cut into two blocks: %d bytes, %v", len(doc.Text), err)
	}
	// A cut falls after the last line break or space in the second half of the block.
	para := strings.Repeat("word ", MaxBlockBytes/5+10)
	doc, err = TextExtractor{lim}.Extract(context.Background(), []byte(para))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range strings.Split(doc.Text, "\n\n") {
		if len(b) > MaxBlockBytes || strings.Contains(b, "wor\n") || !strings.HasSuffix(b, "word") {
			t.Fatalf("block of %d bytes ends %q", len(b), b[max(0, len(b)-8):])
		}
	}
	// Multi-byte characters are never split.
	doc, err = TextExtractor{lim}.Extract(context.Background(), []byte(strings.Repeat("é", MaxBlockBytes/2+1)))
	if err != nil || strings.ContainsRune(doc.Text, '\ufffd') || len(doc.Text) != MaxBlockBytes+2+2 {
		t.Fatalf("multi-byte text: %d bytes, %v", len(doc.Text), err)
	}
}

func TestCapHeadingTitle(t *testing.T) {
	t.Parallel()
	for _, n := range []int{MaxHeadingTitle, MaxHeadingTitle + 1} {
		title := strings.Repeat("a", n)
		doc, err := MarkdownExtractor{}.Extract(context.Background(), []byte("# "+title+"\n\nBody.\n"))
		if err != nil || len(doc.Headings) != 1 {
			t.Fatal(err)
		}
		got := doc.Headings[0].Title
		switch {
		case n <= MaxHeadingTitle && got != title:
			t.Errorf("a title of %d bytes is kept whole, got %d bytes", n, len(got))
		case n > MaxHeadingTitle && (len(got) > MaxHeadingTitle || !strings.HasSuffix(got, "…")):
			t.Errorf("a title of %d bytes is cut to at most %d with an ellipsis, got %d bytes", n, MaxHeadingTitle, len(got))
		}
		if !strings.Contains(doc.Text, title) {
			t.Error("the heading's text is kept whole in the document")
		}
	}
}

func TestCapHeadings(t *testing.T) {
	t.Parallel()
	for _, n := range []int{MaxHeadings, MaxHeadings + 1} {
		doc, err := MarkdownExtractor{}.Extract(context.Background(), []byte(strings.Repeat("# h\n\n", n)))
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Headings) != min(n, MaxHeadings) || strings.Count(doc.Text, "# h") != n {
			t.Errorf("%d headings: %d recorded, %d in the text", n, len(doc.Headings), strings.Count(doc.Text, "# h"))
		}
	}
}

func TestCapTextPages(t *testing.T) {
	t.Parallel()
	lim := Limits{MaxPages: 10}
	for pages, want := range map[int]document.Reason{10: "", 11: document.ReasonTooManyPages} {
		data := strings.TrimSuffix(strings.Repeat("page text\f", pages), "\f")
		doc, err := TextExtractor{lim}.Extract(context.Background(), []byte(data))
		if reasonOf(err) != want || (want == "" && len(doc.Pages) != pages) {
			t.Errorf("%d pages: %d pages, %v", pages, len(doc.Pages), err)
		}
	}
}

func TestCapJSONKeyPath(t *testing.T) {
	t.Parallel()
	for _, n := range []int{MaxJSONKeyPath, MaxJSONKeyPath + 1} {
		key := strings.Repeat("k", n)
		_, err := JSONExtractor{}.Extract(context.Background(), []byte(`{"`+key+`": [1, 2]}`))
		// the leaves' paths are key[0] and key[1]: the object's key path is n bytes, its
		// elements' n+3 (their check is the one past the limit here)
		if n+3 > MaxJSONKeyPath && reasonOf(err) != document.ReasonTooLarge {
			t.Errorf("key path of %d bytes: %v", n+3, err)
		}
	}
	key := strings.Repeat("k", MaxJSONKeyPath)
	if doc, err := (JSONExtractor{}).Extract(context.Background(), []byte(`{"`+key+`": 1}`)); err != nil || !strings.HasPrefix(doc.Text, key+": 1") {
		t.Errorf("a key path of exactly %d bytes is accepted: %v", MaxJSONKeyPath, err)
	}
	if _, err := (JSONExtractor{}).Extract(context.Background(), []byte(`{"`+key+`k": 1}`)); reasonOf(err) != document.ReasonTooLarge {
		t.Errorf("a key path of %d bytes is too_large: %v", MaxJSONKeyPath+1, err)
	}
}

func TestCapJSONDepth(t *testing.T) {
	t.Parallel()
	nest := func(n int) []byte { return []byte(strings.Repeat("[", n) + "1" + strings.Repeat("]", n)) }
	if _, err := (JSONExtractor{}).Extract(context.Background(), nest(maxJSONDepth)); err != nil {
		t.Errorf("depth %d: %v", maxJSONDepth, err)
	}
	if _, err := (JSONExtractor{}).Extract(context.Background(), nest(maxJSONDepth+2)); reasonOf(err) != document.ReasonCorrupt {
		t.Errorf("past depth %d: %v", maxJSONDepth, err)
	}
}

func docxWith(t testing.TB, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("word/document.xml")
	fmt.Fprintf(w, `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>%s</w:body></w:document>`, body)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCapXMLDepth(t *testing.T) {
	t.Parallel()
	// document and body are two levels; the paragraph's run and text three more
	para := "<w:p><w:r><w:t>deep</w:t></w:r></w:p>"
	for _, extra := range []int{MaxXMLDepth - 5, MaxXMLDepth - 4} {
		body := strings.Repeat("<x>", extra) + para + strings.Repeat("</x>", extra)
		_, err := DOCXExtractor{}.Extract(context.Background(), docxWith(t, body))
		if depth := extra + 5; depth <= MaxXMLDepth && err != nil {
			t.Errorf("depth %d: %v", depth, err)
		} else if depth > MaxXMLDepth && reasonOf(err) != document.ReasonCorrupt {
			t.Errorf("depth %d: %v, want corrupt", depth, err)
		}
	}
}

func TestCapXMLRun(t *testing.T) {
	t.Parallel()
	// the run counted is what stands between two '<': "w:t>" and the text
	for _, run := range []int{MaxXMLRun, MaxXMLRun + 1} {
		n := run - len("w:t>")
		body := "<w:p><w:r><w:t>" + strings.Repeat("y", n) + "</w:t></w:r></w:p>"
		doc, err := DOCXExtractor{Limits{MaxTextBytes: 50 << 20}}.Extract(context.Background(), docxWith(t, body))
		if run <= MaxXMLRun && (err != nil || len(doc.Text) != n+(n-1)/MaxBlockBytes*2) {
			t.Errorf("a run of %d bytes: %d bytes of text, %v", run, len(doc.Text), err)
		} else if run > MaxXMLRun && reasonOf(err) != document.ReasonTooLarge {
			t.Errorf("a run of %d bytes: %v, want too_large", run, err)
		}
	}
}

func TestCapCSVRecord(t *testing.T) {
	t.Parallel()
	for _, n := range []int{MaxCSVRecord, MaxCSVRecord + 1} {
		// header "a\n" then one record of n bytes including its newline
		data := "a\n" + strings.Repeat("z", n-1) + "\n"
		_, err := CSVExtractor{Limits{MaxTextBytes: 50 << 20}}.Extract(context.Background(), []byte(data))
		if n <= MaxCSVRecord && err != nil {
			t.Errorf("a record of %d bytes: %v", n, err)
		} else if n > MaxCSVRecord && reasonOf(err) != document.ReasonTooLarge {
			t.Errorf("a record of %d bytes: %v, want too_large", n, err)
		}
	}
	// an unclosed quote makes the rest of the file one record
	data := "id,text\n1,\"" + strings.Repeat("line\n", MaxCSVRecord/5+1)
	if _, err := (CSVExtractor{}).Extract(context.Background(), []byte(data)); reasonOf(err) != document.ReasonTooLarge {
		t.Errorf("unclosed quote: %v", err)
	}
}

func TestLongestCSVRecord(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in        string
		n, atLine int
	}{
		{"a,b\n1,2\n", 4, 1},
		{"a\n\"x\ny\"\nz\n", 6, 2},          // a quoted line break stays in the record
		{"a\n\"x\"\"\ny\"\n", 8, 2},         // "" is a quote, not the end
		{"a\nx\"y\nlong line\n", 10, 3},     // a quote inside an unquoted field is text
		{"a\n\"lazy\"quote\nb\n", 14, 2},    // LazyQuotes: a quote not followed by , or \n is text, and the field goes on
		{"h\n\"open\nnever\nclosed", 18, 2}, // unclosed: the rest of the file
	} {
		if n, line := longestCSVRecord(tc.in, ','); n != tc.n || line != tc.atLine {
			t.Errorf("%q: %d at line %d, want %d at %d", tc.in, n, line, tc.n, tc.atLine)
		}
	}
}

func TestCapHTMLToken(t *testing.T) {
	t.Parallel()
	small := "<p>" + strings.Repeat("t", MaxHTMLToken/2) + "</p>"
	if _, err := (HTMLExtractor{Limits{MaxTextBytes: 50 << 20}}).Extract(context.Background(), []byte(small)); err != nil {
		t.Errorf("a text run of half the token cap: %v", err)
	}
	big := "<p>" + strings.Repeat("t", MaxHTMLToken+1) + "</p>"
	if _, err := (HTMLExtractor{Limits{MaxTextBytes: 50 << 20}}).Extract(context.Background(), []byte(big)); reasonOf(err) != document.ReasonTooLarge {
		t.Errorf("a text run past the token cap: %v, want too_large", err)
	}
}

// The hostile uploads of internal/hostile, at a small scale: each gives a document or a
// permanent failure, never a panic, a hang or a transient error, and what the extractor
// allocates stays within a fixed multiple of its input (before issue 14 the JSON key path, the DOCX
// paragraph and the whole-input splits allocated many times more).
func TestHostileUploads(t *testing.T) {
	lim := Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}
	for _, c := range hostile.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := c.Write(&buf, 0.02); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			size := len(data)
			if zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data))); err == nil {
				for _, f := range zr.File {
					size += int(f.UncompressedSize64) // what the extractor really reads
				}
			}
			format := Detect(c.File, data)
			var ex extractor
			for _, fc := range formatCases() {
				if fc.format == format {
					ex = fc.make(lim)
				}
			}
			if ex == nil {
				t.Fatalf("no extractor for %s (%q)", c.File, format)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			doc, err := ex.Extract(context.Background(), data)
			runtime.ReadMemStats(&after)
			if err != nil {
				if _, permanent := document.Classify(err); !permanent {
					t.Fatalf("transient error on bad input: %v", err)
				}
			} else {
				checkDocument(t, doc)
			}
			allocated := after.TotalAlloc - before.TotalAlloc
			if limit := uint64(96*size + 16<<20); allocated > limit {
				t.Errorf("allocated %d bytes for %d bytes of input, decompressed (limit %d)", allocated, size, limit)
			}
		})
	}
}

// The text cap holds whether a block's white space is folded into the text directly (far
// from the cap) or first (near it): the text may be exactly the cap, not a byte more.
func TestCapTextBytesFolded(t *testing.T) {
	t.Parallel()
	in := []byte("  alpha   beta \n \n\n gamma\tdelta  \n\n\u00a0epsilon\u3000 \n\n  \n\n zeta  ")
	want := "alpha beta\n\ngamma delta\n\nepsilon\n\nzeta"
	for _, lim := range []int{50 << 20, len(want)} {
		doc, err := TextExtractor{Limits{MaxTextBytes: lim}}.Extract(context.Background(), in)
		if err != nil || doc.Text != want {
			t.Fatalf("cap %d: %q, %v; want %q", lim, doc.Text, err, want)
		}
	}
	if _, err := (TextExtractor{Limits{MaxTextBytes: len(want) - 1}}).Extract(context.Background(), in); reasonOf(err) != document.ReasonTooLarge {
		t.Fatalf("one byte under the text: %v, want too_large", err)
	}
}
