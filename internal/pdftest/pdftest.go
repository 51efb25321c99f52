// Package pdftest writes small PDF files for tests: well-formed ones with known text, and
// the hostile shapes the PDF extractor must survive (encrypted, image-only, cyclic page
// trees, lying page counts, deep nesting, decompression bombs). Every file is built from
// scratch with a correct cross-reference table, so the fault is only the one asked for.
package pdftest

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Object is one indirect object's body (without "N 0 obj" / "endobj"); objects are
// numbered from 1 in slice order.
type Object string

// Stream returns a stream object with the given dictionary entries and data.
func Stream(dict string, data []byte) Object {
	return Object(fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data))
}

// Deflated returns a FlateDecode stream of data.
func Deflated(dict string, data []byte) Object {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	_, _ = w.Write(data)
	_ = w.Close()
	return Stream(dict+" /Filter /FlateDecode", b.Bytes())
}

// Build writes a PDF with the given header line (e.g. "%PDF-1.4"), objects and trailer
// entries (Root is object 1 unless trailer names another "/Root").
func Build(header string, objs []Object, trailer string) []byte {
	var b bytes.Buffer
	b.WriteString(header + "\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	if !strings.Contains(trailer, "/Root") {
		trailer = "/Root 1 0 R " + trailer
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, trailer, xref)
	return b.Bytes()
}

// escape writes s as a PDF literal string body.
func escape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	return r.Replace(s)
}

// TextPDF returns a PDF with one page per entry; each page's lines are shown one under
// the other in Helvetica (WinAnsiEncoding). header is the first line ("%PDF-1.4").
func TextPDF(header string, pages ...[]string) []byte {
	n := len(pages)
	// 1 catalog, 2 pages, 3 font, then per page: page object, content stream.
	kids := make([]string, n)
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	objs := []Object{
		"<< /Type /Catalog /Pages 2 0 R >>",
		Object(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n)),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
	}
	for i, lines := range pages {
		var c strings.Builder
		c.WriteString("BT /F1 12 Tf 14 TL 72 720 Td\n")
		for _, l := range lines {
			fmt.Fprintf(&c, "(%s) Tj T*\n", escape(l))
		}
		c.WriteString("ET")
		objs = append(objs,
			Object(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i)),
			Deflated("", []byte(c.String())))
	}
	return Build(header, objs, "")
}

// ImageOnlyPDF returns a one-page PDF whose page paints an image and holds no text, as a
// scanned document does.
func ImageOnlyPDF() []byte {
	pixels := bytes.Repeat([]byte{0x80}, 16*16)
	objs := []Object{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
		Stream("", []byte("q 612 0 0 792 0 0 cm /Im1 Do Q")),
		Deflated("/Type /XObject /Subtype /Image /Width 16 /Height 16 /ColorSpace /DeviceGray /BitsPerComponent 8", pixels),
	}
	return Build("%PDF-1.4", objs, "")
}

// EncryptedPDF returns a PDF protected by a user password (standard security handler,
// RC4 40-bit, revision 2): without the password nothing can be read.
func EncryptedPDF() []byte {
	objs := []Object{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
		Stream("", []byte("\x9a\x11\x42\x07 scrambled")),
		"<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 /O <7a3b1f0c5e2d4a6b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d> /U <0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0> >>",
	}
	return Build("%PDF-1.4", objs, "/Encrypt 5 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]")
}

// EncryptedAESPDF returns a PDF protected by a user password with AES-128 (standard
// security handler, V 4, R 4, crypt filter AESV2).
func EncryptedAESPDF() []byte {
	objs := []Object{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
		Stream("", []byte("\x3c\x91\x0b\x7e\x22\xd4\x15\x68\x9a\x01\xfe\x33\x47\x5c\x88\x10 AES-scrambled content")),
		"<< /Filter /Standard /V 4 /R 4 /Length 128 /CF << /StdCF << /CFM /AESV2 /AuthEvent /DocOpen /Length 16 >> >> /StmF /StdCF /StrF /StdCF /P -1340 " +
			"/O <3c4d5e6f708192a3b4c5d6e7f8091a2b7a3b1f0c5e2d4a6b8c9d0e1f2a3b4c5d> /U <a1b2c3d4e5f60718293a4b5c6d7e8f9000000000000000000000000000000000> >>",
	}
	return Build("%PDF-1.6", objs, "/Encrypt 5 0 R /ID [<8899aabbccddeeff0011223344556677> <8899aabbccddeeff0011223344556677>]")
}

// CyclicPageTreePDF returns a PDF whose page tree contains itself.
func CyclicPageTreePDF() []byte {
	objs := []Object{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
	}
	return Build("%PDF-1.4", objs, "")
}

// HugeCountPDF returns a one-page PDF whose page tree claims 2^31-1 pages.
func HugeCountPDF() []byte {
	objs := []Object{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 2147483647 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		Stream("", []byte("BT /F1 12 Tf 72 720 Td (only one page here) Tj ET")),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	return Build("%PDF-1.4", objs, "")
}

// DeepPageTreePDF returns a PDF whose page tree nests depth /Pages nodes above its page.
func DeepPageTreePDF(depth int) []byte {
	objs := []Object{"<< /Type /Catalog /Pages 2 0 R >>"}
	for i := 0; i < depth; i++ {
		objs = append(objs, Object(fmt.Sprintf("<< /Type /Pages /Kids [%d 0 R] /Count 1 >>", 3+i)))
	}
	objs = append(objs, "<< /Type /Page /MediaBox [0 0 612 792] >>")
	return Build("%PDF-1.4", objs, "")
}

// ContentPDF returns a one-page PDF whose content stream is content, with Helvetica
// (WinAnsiEncoding) as font /F1.
func ContentPDF(content []byte) []byte {
	return Build("%PDF-1.4", []Object{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		Deflated("", content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
	}, "")
}

// BombPDF returns a one-page PDF whose content stream inflates to at least n bytes of text-showing
// operators.
func BombPDF(n int) []byte {
	// streamed and at the fastest level: the repeated operator still compresses ~150:1,
	// and the tests (under -race) do not spend their time in the compressor
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	_, _ = w.Write([]byte("BT /F1 12 Tf 72 720 Td\n"))
	block := bytes.Repeat([]byte("(xxxxxxxxxxxxxxxx) Tj\n"), 2979) // 64 KiB
	for written := 0; written <= n; written += len(block) {
		_, _ = w.Write(block)
	}
	_, _ = w.Write([]byte("ET"))
	_ = w.Close()
	objs := []Object{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		Stream("/Filter /FlateDecode", z.Bytes()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	return Build("%PDF-1.4", objs, "")
}

// SelfPrevXrefPDF returns a PDF whose trailer's /Prev points at its own cross-reference
// table: ledongthuc/pdf follows it forever while opening the file.
func SelfPrevXrefPDF() []byte {
	good := TextPDF("%PDF-1.4", []string{"this file never opens"})
	i := bytes.LastIndex(good, []byte("startxref\n"))
	var off int
	fmt.Sscan(string(good[i+len("startxref\n"):]), &off)
	return bytes.Replace(good, []byte("trailer\n<< /Size"), []byte(fmt.Sprintf("trailer\n<< /Prev %d /Size", off)), 1)
}

// ScanPDF wraps page images (PNG, as pdftoppm renders them) into a PDF without a text
// layer, one page per image, each a grey JPEG the size of its image at dpi: the shape of
// a scanner's output.
func ScanPDF(pngs [][]byte, dpi int) ([]byte, error) {
	objs := []Object{"<< /Type /Catalog /Pages 2 0 R >>", ""}
	kids := ""
	for i, p := range pngs {
		src, err := png.Decode(bytes.NewReader(p))
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", i+1, err)
		}
		img := image.NewGray(src.Bounds()) // one component, as /DeviceGray says
		draw.Draw(img, img.Bounds(), src, src.Bounds().Min, draw.Src)
		var j bytes.Buffer
		if err := jpeg.Encode(&j, img, &jpeg.Options{Quality: 90}); err != nil {
			return nil, err
		}
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		pw, ph := float64(w)*72/float64(dpi), float64(h)*72/float64(dpi)
		page := len(objs) + 1
		kids += fmt.Sprintf("%d 0 R ", page)
		objs = append(objs,
			Object(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>", pw, ph, page+2, page+1)),
			Stream("", []byte(fmt.Sprintf("q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q", pw, ph))),
			Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode", w, h), j.Bytes()))
	}
	objs[1] = Object(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, len(pngs)))
	return Build("%PDF-1.4", objs, ""), nil
}

// MixedPDF is a real PDF's pages with some of them scanned: pages first..last of the
// file at path, where the pages in scanned are replaced by a 300 DPI image of
// themselves (no text layer), the rest kept as they are (pdfseparate, pdftoppm and
// pdfunite from poppler-utils, which must be on PATH). It is the shape of a contract
// with a signed page scanned back in.
func MixedPDF(path string, first, last int, scanned map[int]bool) ([]byte, error) {
	dir, err := os.MkdirTemp("", "pdftest-mixed-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var parts []string
	for n := first; n <= last; n++ {
		part := filepath.Join(dir, fmt.Sprintf("p%d.pdf", n))
		parts = append(parts, part)
		if !scanned[n] {
			if out, err := exec.Command("pdfseparate", "-f", fmt.Sprint(n), "-l", fmt.Sprint(n), path, part).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("pdfseparate: %w: %s", err, out)
			}
			continue
		}
		png, err := exec.Command("pdftoppm", "-r", "300", "-png", "-gray", "-f", fmt.Sprint(n), "-l", fmt.Sprint(n), "-singlefile", path).Output()
		if err != nil {
			return nil, fmt.Errorf("pdftoppm: %w", err)
		}
		scan, err := ScanPDF([][]byte{png}, 300)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(part, scan, 0o644); err != nil {
			return nil, err
		}
	}
	out := filepath.Join(dir, "mixed.pdf")
	if msg, err := exec.Command("pdfunite", append(parts, out)...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pdfunite: %w: %s", err, msg)
	}
	return os.ReadFile(out)
}
