// Package hostile generates the uploads that have taken document pipelines down: files of a
// few bytes to a few megabytes that expand into gigabytes of structure, text or output when
// read naively. bench/hostile.sh writes each at full size and runs docingest on it alone;
// the extractor and pipeline tests write the same shapes at a small scale against small
// caps, so no large file is ever committed.
//
// Every generator streams into a writer, so generating one costs no more memory than the
// writer keeps.
package hostile

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Case is one hostile upload: the file name it is written under (its extension picks the
// extractor) and the function that writes it at a given scale (1 is the size that was
// reported against the landed code; tests use a small fraction).
type Case struct {
	Name  string
	File  string
	Write func(w io.Writer, scale float64) error
	// Sidecar, when set, writes the file's <File>.metadata.json.
	Sidecar func(w io.Writer, scale float64) error
}

// Cases lists every class, in the order bench/hostile.sh reports them.
func Cases() []Case {
	return []Case{
		{Name: "json-key-path", File: "keypath.json", Write: jsonKeyPath},
		{Name: "json-deep", File: "deep.json", Write: jsonDeep},
		{Name: "json-long-string", File: "longstring.json", Write: jsonLongString},
		{Name: "json-wide-record", File: "wide.jsonl", Write: jsonWideRecord},
		{Name: "html-p", File: "p.html", Write: htmlP},
		{Name: "html-deep", File: "deep.html", Write: htmlDeep},
		{Name: "html-wide-row", File: "row.html", Write: htmlWideRow},
		{Name: "html-long-heading", File: "heading.html", Write: htmlLongHeading},
		{Name: "docx-nested", File: "nested.docx", Write: docxNested},
		{Name: "docx-big-paragraph", File: "bigpara.docx", Write: docxBigParagraph},
		{Name: "docx-runs", File: "runs.docx", Write: docxRuns},
		{Name: "docx-wide-row", File: "row.docx", Write: docxWideRow},
		{Name: "text-form-feeds", File: "formfeeds.txt", Write: repeat("\f", 60<<20)},
		{Name: "text-one-word", File: "word.txt", Write: repeat("x", 45<<20)},
		{Name: "text-tiny-blocks", File: "blocks.txt", Write: repeat("x\n\n", 16<<20)},
		{Name: "markdown-newlines", File: "newlines.md", Write: repeat("\n", 60<<20)},
		{Name: "markdown-long-heading", File: "heading.md", Write: markdownHeading(300 << 10)},
		{Name: "markdown-40mb-heading", File: "heading40.md", Write: markdownHeading(40 << 20)},
		{Name: "markdown-many-headings", File: "headings.md", Write: repeat("# x\n", 12<<20)},
		{Name: "markdown-open-fence", File: "fence.md", Write: markdownOpenFence},
		{Name: "csv-unclosed-quote", File: "unclosed.csv", Write: csvUnclosedQuote},
		{Name: "csv-wide-row", File: "wide.csv", Write: csvWideRow},
		{Name: "text-latin1", File: "latin1.txt", Write: repeat("caf\xe9 \xe0 \xe9t\xe9 ", 60<<20)},
		{Name: "text-utf16", File: "utf16.txt", Write: utf16Text},
		{Name: "markdown-crlf", File: "crlf.md", Write: repeat("a line of text\r\n", 60<<20)},
		{Name: "json-many-records", File: "many.json", Write: jsonManyRecords},
		{Name: "docx-many-entries", File: "entries.docx", Write: docxManyEntries},
		{Name: "sidecar-large-metadata", File: "meta.txt", Write: repeat("word ", 4<<20), Sidecar: largeSidecar},
	}
}

func scaled(n int, scale float64) int { return max(1, int(float64(n)*scale)) }

// repeat writes s over and over, n bytes in all at scale 1.
func repeat(s string, n int) func(io.Writer, float64) error {
	return func(w io.Writer, scale float64) error {
		return writeRepeated(w, s, scaled(n, scale)/len(s))
	}
}

func writeRepeated(w io.Writer, s string, count int) error {
	chunk := strings.Repeat(s, max(1, min(count, (64<<10)/len(s)+1)))
	per := len(chunk) / len(s)
	for count > 0 {
		k := min(count, per)
		if _, err := io.WriteString(w, chunk[:k*len(s)]); err != nil {
			return err
		}
		count -= k
	}
	return nil
}

// jsonKeyPath is one object whose 1 MiB key holds an array of 200,000 numbers: every leaf
// line repeats the key path.
func jsonKeyPath(w io.Writer, scale float64) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"`)
	writeRepeated(bw, "k", scaled(1<<20, scale))
	bw.WriteString(`": [`)
	n := scaled(200000, scale)
	for i := 0; i < n; i++ {
		if i > 0 {
			bw.WriteByte(',')
		}
		fmt.Fprint(bw, i)
	}
	bw.WriteString("]}")
	return bw.Flush()
}

func jsonDeep(w io.Writer, scale float64) error {
	n := scaled(20<<20, scale)
	if err := writeRepeated(w, "[", n); err != nil {
		return err
	}
	return writeRepeated(w, "]", n)
}

func jsonLongString(w io.Writer, scale float64) error {
	io.WriteString(w, `{"text": "`)
	writeRepeated(w, "long text ", scaled(4<<20, scale))
	_, err := io.WriteString(w, "\"}\n")
	return err
}

// jsonWideRecord is one JSON Lines record with a million short fields.
func jsonWideRecord(w io.Writer, scale float64) error {
	bw := bufio.NewWriter(w)
	bw.WriteByte('{')
	n := scaled(1<<20, scale)
	for i := 0; i < n; i++ {
		if i > 0 {
			bw.WriteByte(',')
		}
		fmt.Fprintf(bw, `"field%d":"v"`, i)
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

func htmlP(w io.Writer, scale float64) error {
	io.WriteString(w, "<html><body>")
	return writeRepeated(w, "<p>x", scaled(24<<20, scale)/4)
}

func htmlDeep(w io.Writer, scale float64) error {
	io.WriteString(w, "<html><body>")
	n := scaled(4<<20, scale)
	if err := writeRepeated(w, "<div>", n); err != nil {
		return err
	}
	io.WriteString(w, "deep text")
	return writeRepeated(w, "</div>", n)
}

func htmlWideRow(w io.Writer, scale float64) error {
	io.WriteString(w, "<html><body><table><tr>")
	return writeRepeated(w, "<td>cell text</td>", scaled(2<<20, scale))
}

func htmlLongHeading(w io.Writer, scale float64) error {
	io.WriteString(w, "<html><body><h1>")
	writeRepeated(w, "x ", scaled(300<<10, scale)/2)
	io.WriteString(w, "</h1>")
	return writeRepeated(w, "<p>Some body text that gets chunked under the heading.</p>\n", scaled(20000, scale))
}

func markdownHeading(n int) func(io.Writer, float64) error {
	return func(w io.Writer, scale float64) error {
		io.WriteString(w, "# ")
		if err := writeRepeated(w, "x ", scaled(n, scale)/2); err != nil {
			return err
		}
		io.WriteString(w, "\n\n")
		return writeRepeated(w, "Some body text that gets chunked under the heading.\n\n", scaled(n/8, scale)/56+1)
	}
}

func markdownOpenFence(w io.Writer, scale float64) error {
	io.WriteString(w, "```\n")
	return writeRepeated(w, "code line\n", scaled(40<<20, scale)/10)
}

func csvUnclosedQuote(w io.Writer, scale float64) error {
	io.WriteString(w, "id,text\n1,\"")
	return writeRepeated(w, "an unclosed quoted field, line after line\n", scaled(40<<20, scale)/42)
}

func csvWideRow(w io.Writer, scale float64) error {
	bw := bufio.NewWriter(w)
	n := scaled(2<<20, scale)
	for row := 0; row < 2; row++ {
		for i := 0; i < n; i++ {
			if i > 0 {
				bw.WriteByte(',')
			}
			if row == 0 {
				fmt.Fprintf(bw, "c%d", i)
			} else {
				bw.WriteString("v")
			}
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// utf16Text is 90 MB of UTF-16 with a BOM: 45 MB of text once decoded.
func utf16Text(w io.Writer, scale float64) error {
	io.WriteString(w, "\xff\xfe")
	return writeRepeated(w, "w\x00o\x00r\x00d\x00 \x00", scaled(90<<20, scale)/10)
}

// jsonManyRecords is an array of ten million one-digit records.
func jsonManyRecords(w io.Writer, scale float64) error {
	io.WriteString(w, "[1")
	writeRepeated(w, ",1", scaled(10<<20, scale))
	_, err := io.WriteString(w, "]")
	return err
}

// docxManyEntries is a Word document whose zip holds half a million empty parts: the
// central directory alone describes them all.
func docxManyEntries(w io.Writer, scale float64) error {
	zw := zip.NewWriter(w)
	dw, err := zw.Create("word/document.xml")
	if err != nil {
		return err
	}
	io.WriteString(dw, `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>text</w:t></w:r></w:p></w:body></w:document>`)
	n := scaled(500000, scale)
	for i := 0; i < n; i++ {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("e/%d", i), Method: zip.Store}); err != nil {
			return err
		}
	}
	return zw.Close()
}

// largeSidecar is a metadata sidecar as large as the cap on sidecars allows and more:
// every chunk of its source repeats its attributes.
func largeSidecar(w io.Writer, scale float64) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"metadataAttributes": {`)
	n := scaled(40000, scale)
	for i := 0; i < n; i++ {
		if i > 0 {
			bw.WriteByte(',')
		}
		fmt.Fprintf(bw, `"attribute%d": "a value of some length"`, i)
	}
	bw.WriteString("}}")
	return bw.Flush()
}

// docx writes a minimal Word document whose word/document.xml body is written by body,
// deflated, so that little input expands into much XML.
func docx(w io.Writer, body func(io.Writer) error) error {
	zw := zip.NewWriter(w)
	ct, err := zw.Create("[Content_Types].xml")
	if err != nil {
		return err
	}
	io.WriteString(ct, `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`)
	dw, err := zw.Create("word/document.xml")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(dw, 1<<20)
	bw.WriteString(`<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	if err := body(bw); err != nil {
		return err
	}
	bw.WriteString(`</w:body></w:document>`)
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

func docxNested(w io.Writer, scale float64) error {
	return docx(w, func(bw io.Writer) error {
		n := scaled(40<<20, scale)
		if err := writeRepeated(bw, "<a>", n); err != nil {
			return err
		}
		return writeRepeated(bw, "</a>", n)
	})
}

func docxBigParagraph(w io.Writer, scale float64) error {
	return docx(w, func(bw io.Writer) error {
		io.WriteString(bw, "<w:p><w:r><w:t>")
		writeRepeated(bw, "x", scaled(380<<20, scale))
		_, err := io.WriteString(bw, "</w:t></w:r></w:p>")
		return err
	})
}

func docxRuns(w io.Writer, scale float64) error {
	return docx(w, func(bw io.Writer) error {
		io.WriteString(bw, "<w:p>")
		writeRepeated(bw, "<w:r><w:t>run </w:t></w:r>", scaled(12<<20, scale))
		_, err := io.WriteString(bw, "</w:p>")
		return err
	})
}

func docxWideRow(w io.Writer, scale float64) error {
	return docx(w, func(bw io.Writer) error {
		io.WriteString(bw, "<w:tbl><w:tr>")
		writeRepeated(bw, "<w:tc><w:p><w:r><w:t>cell</w:t></w:r></w:p></w:tc>", scaled(4<<20, scale))
		_, err := io.WriteString(bw, "</w:tr></w:tbl>")
		return err
	})
}
