package extractors

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/docingest/docingest/document"
)

// XLSXExtractor reads Excel workbooks (Office Open XML spreadsheets) with archive/zip and
// encoding/xml, streaming each sheet: every sheet, in the workbook's order, is a section
// headed by its name; its first non-empty row is the header, and every later row is one
// block of "header: value" lines, as the CSV extractor writes them (a column without a
// header is named by its letter). Values are as Excel shows them where that is simple:
// shared and inline strings, numbers (percentages, fixed decimals and thousands
// separators of their number format), dates and times as ISO 8601 (from the cell's date
// format, in the workbook's 1900 or 1904 date system), booleans as TRUE/FALSE, error
// values as written, and formulas by their cached value. Caps: the decompressed size of
// every part (zip bombs fail as too_large), XML nesting, runs without markup, the shared
// strings' total size, and MaxXLSXCells cells.
type XLSXExtractor struct {
	Limits Limits
	// maxCells and maxShared replace MaxXLSXCells and the shared strings' cap when set
	// (tests reach the caps with small workbooks).
	maxCells  int
	maxShared int64
}

// MaxXLSXCells is the most non-empty cells read from one workbook (Excel's own sheet holds
// 17 billion; the text cap usually ends a big workbook long before this).
const MaxXLSXCells = 10_000_000

// maxSharedStrings bounds the shared strings held in memory (they are read before the
// sheets and looked up by index).
func (e XLSXExtractor) maxSharedStrings() int64 {
	if e.maxShared > 0 {
		return e.maxShared
	}
	if e.Limits.MaxTextBytes <= 0 {
		return 1 << 30
	}
	return max(int64(e.Limits.MaxTextBytes)*2, 16<<20)
}

func (e XLSXExtractor) maxXMLBytes() int64 { return DOCXExtractor{Limits: e.Limits}.maxXMLBytes() }

// zipHas reports whether data is a zip archive holding a part of this name.
func zipHas(data []byte, name string) bool {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return false
	}
	for _, f := range zr.File {
		if f.Name == name {
			return true
		}
	}
	return false
}

type xlsxSheet struct {
	name string
	part *zip.File
}

func (e XLSXExtractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	parts, err := zipParts(FormatXLSX, data)
	if err != nil {
		return document.Document{}, err
	}
	wb := parts["xl/workbook.xml"]
	if wb == nil {
		return document.Document{}, document.Permanentf(document.ReasonUnsupported, "xlsx: archive has no xl/workbook.xml")
	}
	targets := map[string]string{}
	if rels := parts["xl/_rels/workbook.xml.rels"]; rels != nil {
		if err := e.each(rels, func(se xml.StartElement) {
			if se.Name.Local == "Relationship" {
				targets[attr(se, "Id")] = attr(se, "Target")
			}
		}); err != nil {
			return document.Document{}, err
		}
	}
	var sheets []xlsxSheet
	date1904 := false
	err = e.each(wb, func(se xml.StartElement) {
		switch se.Name.Local {
		case "workbookPr":
			v := attr(se, "date1904")
			date1904 = v == "1" || v == "true"
		case "sheet":
			target := targets[attrNS(se, "id")]
			if target != "" {
				target = relTarget("xl", target)
			}
			sheets = append(sheets, xlsxSheet{name: attr(se, "name"), part: parts[target]})
		}
	})
	if err != nil {
		return document.Document{}, err
	}
	var strs []string
	if f := parts["xl/sharedStrings.xml"]; f != nil {
		if strs, err = e.sharedStrings(f); err != nil {
			return document.Document{}, err
		}
	}
	var styles xlsxStyles
	if f := parts["xl/styles.xml"]; f != nil {
		if styles, err = e.styles(f); err != nil {
			return document.Document{}, err
		}
	}
	styles.date1904 = date1904
	b := newBuilder(ctx, FormatXLSX, e.Limits)
	cells := 0
	for _, sh := range sheets {
		if b.full() {
			break
		}
		if sh.part == nil {
			continue // a chart sheet, or a dangling reference: nothing to read
		}
		if err := e.sheet(sh, strs, &styles, b, &cells); err != nil {
			return document.Document{}, err
		}
	}
	return b.done()
}

// each streams one part's start elements to fn, with the depth and run caps.
func (e XLSXExtractor) each(f *zip.File, fn func(xml.StartElement)) error {
	return e.eachIn(FormatXLSX, f, fn)
}

// eachIn streams the start elements of one XML part of format to fn (the caps of each).
func (e XLSXExtractor) eachIn(format string, f *zip.File, fn func(xml.StartElement)) error {
	return eachToken(format, f, e.maxXMLBytes(), false, func(tok xml.Token) error {
		if se, ok := tok.(xml.StartElement); ok {
			fn(se)
		}
		return nil
	})
}

// attrNS is an attribute by local name in a namespace (r:id), falling back to any.
func attrNS(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local && a.Name.Space != "" {
			return a.Value
		}
	}
	return attr(se, local)
}

// sharedStrings reads the shared string table: each <si> is the text of its <t> runs
// (phonetic guides, <rPh>, left out).
func (e XLSXExtractor) sharedStrings(f *zip.File) ([]string, error) {
	var out []string
	var cur strings.Builder
	var total int64
	limit := e.maxSharedStrings()
	inT, inPh := false, 0
	err := eachToken(FormatXLSX, f, e.maxXMLBytes(), false, func(tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				cur.Reset()
			case "t":
				inT = true
			case "rPh":
				inPh++
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				out = append(out, cur.String())
			case "t":
				inT = false
			case "rPh":
				inPh--
			}
		case xml.CharData:
			if inT && inPh == 0 {
				if total += int64(len(t)); total > limit {
					return document.Permanentf(document.ReasonTooLarge, "xlsx: the shared strings are over %d bytes", limit)
				}
				cur.Write(t)
			}
		}
		return nil
	})
	return out, err
}

// xlsxStyles is what the cell styles say about formatting: per cell format (the s
// attribute), its number format code.
type xlsxStyles struct {
	formats  []string // by cellXfs index
	date1904 bool
}

// builtinFormats are the number formats Excel numbers without writing them out (ECMA-376
// part 1, 18.8.30), those that change how a value reads.
var builtinFormats = map[int]string{
	1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 11: "0.00E+00",
	14: "yyyy-mm-dd", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM", 19: "h:mm:ss AM/PM",
	20: "h:mm", 21: "h:mm:ss", 22: "yyyy-mm-dd h:mm", 45: "mm:ss", 46: "[h]:mm:ss", 47: "mm:ss.0",
}

func (e XLSXExtractor) styles(f *zip.File) (xlsxStyles, error) {
	custom := map[int]string{}
	var xfs []int
	inXfs := false
	err := e.each(f, func(se xml.StartElement) {
		switch se.Name.Local {
		case "numFmt":
			if id, err := strconv.Atoi(attr(se, "numFmtId")); err == nil {
				custom[id] = attr(se, "formatCode")
			}
		case "cellXfs":
			inXfs = true
		case "cellStyleXfs", "dxfs":
			inXfs = false
		case "xf":
			if inXfs {
				id, _ := strconv.Atoi(attr(se, "numFmtId"))
				xfs = append(xfs, id)
			}
		}
	})
	var s xlsxStyles
	for _, id := range xfs {
		code, ok := custom[id]
		if !ok {
			code = builtinFormats[id]
		}
		s.formats = append(s.formats, code)
	}
	return s, err
}

// format renders a number as its cell's format would, where that is simple.
func (s *xlsxStyles) format(v float64, style int) string {
	code := ""
	if style >= 0 && style < len(s.formats) {
		code = s.formats[style]
	}
	section, _, _ := strings.Cut(code, ";")
	if kind := dateKind(section); kind != "" {
		if t, ok := excelTime(v, s.date1904); ok {
			switch kind {
			case "date":
				return t.Format("2006-01-02")
			case "time":
				return t.Format("15:04:05")
			default:
				return t.Format("2006-01-02T15:04:05")
			}
		}
	}
	plain := stripLiterals(section)
	switch {
	case strings.Contains(plain, "%"):
		return formatDecimals(v*100, decimals(plain), false) + "%"
	case strings.ContainsAny(plain, "Ee") && strings.Contains(plain, "0"):
		return strconv.FormatFloat(v, 'E', decimals(plain), 64)
	case strings.Contains(plain, "0") || strings.Contains(plain, "#"):
		return formatDecimals(v, decimals(plain), strings.Contains(plain, ","))
	}
	return formatGeneral(v)
}

// stripLiterals removes quoted text, escaped characters and bracketed parts ([Red],
// [$€-407]) from a format section.
func stripLiterals(code string) string {
	var b strings.Builder
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			j := strings.IndexByte(code[i+1:], '"')
			if j < 0 {
				return b.String()
			}
			i += j + 1
		case '\\', '_', '*':
			i++
		case '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				return b.String()
			}
			i += j
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// dateKind is "date", "time" or "datetime" for a date or time format, "" otherwise.
func dateKind(code string) string {
	plain := strings.ToLower(stripLiterals(code))
	if strings.HasPrefix(strings.TrimSpace(code), "[h]") || strings.HasPrefix(strings.TrimSpace(code), "[m") || strings.HasPrefix(strings.TrimSpace(code), "[s") {
		return "" // an elapsed time, not a moment
	}
	date := strings.ContainsAny(plain, "dy") || strings.Contains(plain, "mmm") || (strings.Contains(plain, "m") && !strings.ContainsAny(plain, "hs"))
	tm := strings.ContainsAny(plain, "hs")
	switch {
	case date && tm:
		return "datetime"
	case date:
		return "date"
	case tm:
		return "time"
	}
	return ""
}

// excelTime converts a serial date (days since 1899-12-30, or 1904-01-01) to a time,
// rounded to the second.
func excelTime(v float64, date1904 bool) (time.Time, bool) {
	if math.IsNaN(v) || v < 0 || v > 2958465 { // 9999-12-31
		return time.Time{}, false
	}
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	if date1904 {
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	secs := math.Round(v * 86400)
	return base.Add(time.Duration(secs) * time.Second), true
}

// decimals counts the digit places after the decimal point of a number format.
func decimals(plain string) int {
	_, frac, ok := strings.Cut(plain, ".")
	if !ok {
		return 0
	}
	n := 0
	for _, c := range frac {
		if c == '0' || c == '#' || c == '?' {
			n++
		} else {
			break
		}
	}
	return n
}

func formatDecimals(v float64, places int, thousands bool) string {
	s := strconv.FormatFloat(v, 'f', places, 64)
	if !thousands {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// formatGeneral is Excel's General format, near enough: up to 11 significant digits,
// without trailing zeros.
func formatGeneral(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'g', 11, 64)
	if strings.ContainsAny(s, "e") {
		return s
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// column is the 0-based column of a cell reference ("C7" is 2), or -1.
func column(ref string) int {
	n := 0
	i := 0
	for ; i < len(ref) && ref[i] >= 'A' && ref[i] <= 'Z'; i++ {
		n = n*26 + int(ref[i]-'A'+1)
		if n > 16384 {
			return -1
		}
	}
	if i == 0 {
		return -1
	}
	return n - 1
}

// columnName is the letters of a 0-based column.
func columnName(c int) string {
	var b []byte
	for c++; c > 0; c = (c - 1) / 26 {
		b = append([]byte{byte('A' + (c-1)%26)}, b...)
	}
	return string(b)
}

type xlsxCell struct {
	col int
	val string
}

// sheet streams one worksheet into b.
func (e XLSXExtractor) sheet(sh xlsxSheet, strs []string, styles *xlsxStyles, b *builder, cells *int) error {
	rc, err := openZipPart(FormatXLSX, sh.part, e.maxXMLBytes())
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	var (
		header  []string
		row     []xlsxCell
		depth   int
		nextCol int
		cell    struct {
			col   int
			typ   string
			style int
			v     strings.Builder
			is    strings.Builder
			in    string // "v", "t" (inline) or ""
		}
		blk = &block{b: b}
	)
	flushRow := func() {
		if len(row) == 0 {
			return
		}
		if header == nil {
			b.heading(1, "", sh.name) // an empty sheet adds no heading
			width := 0
			for _, c := range row {
				width = max(width, c.col+1)
			}
			header = make([]string, width)
			for _, c := range row {
				header[c.col] = strings.Join(strings.Fields(c.val), " ")
			}
			// the header row is kept as a block too: it names the columns in the text
			vals := make([]string, len(row))
			for i, c := range row {
				vals[i] = c.val
			}
			blk.WriteString(strings.Join(vals, " | "))
			blk.end()
			row = row[:0]
			return
		}
		for _, c := range row {
			name := "column " + columnName(c.col)
			if c.col < len(header) && header[c.col] != "" {
				name = header[c.col]
			}
			blk.WriteString(name)
			blk.WriteString(": ")
			blk.WriteString(c.val)
			blk.WriteByte('\n')
		}
		blk.end()
		row = row[:0]
	}
	for b.tick() {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return zipXMLErr(FormatXLSX, sh.part.Name, err)
		}
		if err := zipXMLDepth(FormatXLSX, tok, &depth, sh.part.Name); err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "row":
				flushRow()
				nextCol = 0
			case "c":
				cell.col = nextCol
				if ref := attr(t, "r"); ref != "" {
					if c := column(ref); c >= 0 {
						cell.col = c
					}
				}
				nextCol = cell.col + 1
				cell.typ = attr(t, "t")
				cell.style, _ = strconv.Atoi(attr(t, "s"))
				cell.v.Reset()
				cell.is.Reset()
			case "v":
				cell.in = "v"
			case "t":
				cell.in = "t"
			case "rPh":
				cell.in = "" // phonetic guide
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "v", "t":
				cell.in = ""
			case "c":
				val := xlsxValue(cell.typ, cell.v.String(), cell.is.String(), cell.style, strs, styles)
				if strings.TrimSpace(val) == "" {
					continue
				}
				if *cells++; *cells > cmpOr(e.maxCells, MaxXLSXCells) {
					return document.Permanentf(document.ReasonTooLarge, "xlsx: more than %d cells (the cell cap)", cmpOr(e.maxCells, MaxXLSXCells))
				}
				row = append(row, xlsxCell{col: cell.col, val: val})
			case "sheetData":
				flushRow()
			}
		case xml.CharData:
			switch cell.in {
			case "v":
				if cell.v.Len()+len(t) <= MaxBlockBytes {
					cell.v.Write(t)
				}
			case "t":
				if cell.is.Len()+len(t) <= MaxBlockBytes {
					cell.is.Write(t)
				}
			}
		}
	}
	flushRow()
	return nil
}

func xlsxValue(typ, v, inline string, style int, strs []string, styles *xlsxStyles) string {
	switch typ {
	case "s":
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || i < 0 || i >= len(strs) {
			return ""
		}
		return strs[i]
	case "inlineStr":
		return inline
	case "str", "e", "d":
		return v
	case "b":
		if strings.TrimSpace(v) == "1" {
			return "TRUE"
		}
		return "FALSE"
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return v
	}
	return styles.format(f, style)
}
