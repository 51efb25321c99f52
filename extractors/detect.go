package extractors

import (
	"bytes"
	"path"
	"strings"
	"unicode/utf8"
)

// The format names Detect returns; cmd maps each to its extractor.
const (
	FormatPDF      = "pdf"
	FormatHTML     = "html"
	FormatMarkdown = "markdown"
	FormatText     = "text"
	FormatDOCX     = "docx"
	FormatXLSX     = "xlsx"
	FormatPPTX     = "pptx"
	FormatODT      = "odt"
	FormatODS      = "ods"
	FormatODP      = "odp"
	FormatRTF      = "rtf"
	FormatEPUB     = "epub"
	FormatEML      = "eml"
	// Legacy Office files, read through catdoc's converters when they are installed.
	FormatDOC = "doc"
	FormatXLS = "xls"
	FormatPPT = "ppt"
	// Images, read by OCR when it is on.
	FormatPNG  = "png"
	FormatJPEG = "jpeg"
	FormatTIFF = "tiff"
	FormatWebP = "webp"
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// Detect names the format of a document from its leading bytes first and its file name
// second: a zip archive is told apart by its part names (word/document.xml is DOCX,
// xl/workbook.xml XLSX, ppt/presentation.xml PPTX, the mimetype part OpenDocument and EPUB),
// whatever its name says. It returns "" when the content is binary
// of a kind no extractor reads (images, other archives, legacy Office files); the reason
// is then unsupported.
func Detect(name string, data []byte) string {
	if bytes.Contains(data[:min(len(data), 1024)], []byte("%PDF-")) {
		return FormatPDF
	}
	return detectNotPDF(name, data)
}

// DetectNotPDF is Detect for bytes that turned out not to be a PDF although "%PDF-" stands
// in their first KiB (a Markdown note about PDF headers): the format their name and
// content give otherwise.
func DetectNotPDF(name string, data []byte) string {
	if strings.EqualFold(path.Ext(name), ".pdf") {
		return "" // named a PDF: a broken one, not something else
	}
	return detectNotPDF(name, data)
}

func detectNotPDF(name string, data []byte) string {
	head := data[:min(len(data), 1024)]
	ext := strings.ToLower(path.Ext(name))
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		switch {
		case isDOCX(data):
			return FormatDOCX
		case zipHas(data, "xl/workbook.xml"):
			return FormatXLSX
		case zipHas(data, "ppt/presentation.xml"):
			return FormatPPTX
		}
		switch odfMime(data) {
		case epubMime:
			return FormatEPUB
		case odtMime:
			return FormatODT
		case odsMime:
			return FormatODS
		case odpMime:
			return FormatODP
		}
		switch {
		case ext == ".docx":
			return FormatDOCX // a broken .docx is reported corrupt by its extractor
		case ext == ".xlsx", ext == ".xlsm":
			return FormatXLSX
		case ext == ".pptx":
			return FormatPPTX
		case ext == ".odt", ext == ".ods", ext == ".odp", ext == ".epub":
			return ext[1:] // a broken OpenDocument file or book is reported corrupt by its extractor
		}
		return ""
	case bytes.HasPrefix(head, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")): // OLE: .doc, .xls, .ppt, encrypted OOXML
		switch kind := oleKind(data); kind {
		case FormatDOC, FormatXLS, FormatPPT:
			return kind
		case "encrypted":
			return "" // a password-protected Office file: unsupported
		}
		switch ext {
		case ".doc", ".dot":
			return FormatDOC
		case ".xls", ".xlt":
			return FormatXLS
		case ".ppt", ".pps", ".pot":
			return FormatPPT
		}
		return ""
	case bytes.HasPrefix(head, []byte(`{\rtf`)):
		return FormatRTF
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case bytes.HasPrefix(head, []byte("\xFF\xD8\xFF")):
		return FormatJPEG
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return FormatTIFF
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return FormatWebP
	}
	switch ext {
	case ".md", ".markdown", ".mdown", ".mkd":
		return FormatMarkdown
	case ".csv", ".tsv":
		return FormatCSV
	case ".json", ".jsonl", ".ndjson":
		return FormatJSON
	case ".html", ".htm", ".xhtml":
		return FormatHTML
	case ".docx":
		return FormatDOCX // not a zip: the DOCX extractor reports it corrupt
	case ".xlsx", ".xlsm":
		return FormatXLSX
	case ".pptx":
		return FormatPPTX
	case ".odt", ".ods", ".odp":
		return ext[1:]
	case ".rtf":
		return FormatRTF // not {\rtf: the RTF extractor reports it corrupt
	case ".epub":
		return FormatEPUB
	case ".eml":
		return FormatEML
	}
	if hasBOM(head) {
		return FormatText
	}
	if looksLikeMail(head) {
		return FormatEML
	}
	trimmed := bytes.ToLower(bytes.TrimLeft(head, " \t\r\n"))
	if bytes.HasPrefix(trimmed, []byte("<!doctype html")) || bytes.HasPrefix(trimmed, []byte("<html")) {
		return FormatHTML
	}
	if looksBinary(head) {
		return ""
	}
	return FormatText
}

func hasBOM(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) || bytes.HasPrefix(b, []byte("\xFF\xFE")) ||
		bytes.HasPrefix(b, []byte("\xFE\xFF"))
}

// looksBinary reports whether b holds a NUL or mostly non-text bytes. Text in a legacy
// 8-bit encoding (Latin-1) passes: only controls other than white space count against it.
func looksBinary(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	if utf8.Valid(b) {
		return false
	}
	ctrl := 0
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			ctrl++
		}
	}
	return ctrl*10 > len(b)
}

// looksLikeMail reports whether b starts like a message saved as it travelled: a header
// a mail system writes first, and both From and Subject headers before the first blank
// line. (A note that merely starts "From: Alice" has no header block like that.)
func looksLikeMail(b []byte) bool {
	lower := bytes.ToLower(b)
	first := false
	for _, h := range []string{"return-path:", "received:", "delivered-to:", "mime-version:", "message-id:", "from:", "date:", "x-"} {
		if bytes.HasPrefix(lower, []byte(h)) {
			first = true
		}
	}
	if !first {
		return false
	}
	end := bytes.Index(lower, []byte("\n\n"))
	if e := bytes.Index(lower, []byte("\r\n\r\n")); e >= 0 && (end < 0 || e < end) {
		end = e
	}
	if end < 0 {
		end = len(lower)
	}
	head := append([]byte("\n"), lower[:end]...)
	return bytes.Contains(head, []byte("\nfrom:")) && bytes.Contains(head, []byte("\nsubject:"))
}
