package pdf

import (
	_ "embed"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
	"golang.org/x/text/encoding/charmap"
)

// aglText is the Adobe Glyph List (agl/NOTICE): glyph name to Unicode.
//
//go:embed agl/glyphlist.txt
var aglText string

// glyphList maps glyph names to text: the Adobe Glyph List, plus the uniXXXX and
// uXXXX[XX] forms and suffixes (".sc", "_" ligatures) of the AGL specification.
type glyphList map[string]string

func parseGlyphList() glyphList {
	g := make(glyphList, 4400)
	for _, line := range strings.Split(aglText, "\n") {
		name, codes, ok := strings.Cut(line, ";")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		var s strings.Builder
		for _, c := range strings.Fields(codes) {
			if v, err := strconv.ParseUint(c, 16, 32); err == nil {
				s.WriteRune(rune(v))
			}
		}
		g[name] = s.String()
	}
	return g
}

// text returns the text of a glyph name, ok false when the name means nothing known.
func (g glyphList) text(name string) (string, bool) {
	if t, ok := g[name]; ok {
		return t, true
	}
	if i := strings.IndexByte(name, '.'); i > 0 { // "a.sc", "one.oldstyle"
		return g.text(name[:i])
	}
	if strings.Contains(name, "_") { // "f_f_i"
		var b strings.Builder
		for _, part := range strings.Split(name, "_") {
			t, ok := g.text(part)
			if !ok {
				return "", false
			}
			b.WriteString(t)
		}
		return b.String(), true
	}
	if hex, ok := strings.CutPrefix(name, "uni"); ok && len(hex) >= 4 && len(hex)%4 == 0 {
		var b strings.Builder
		for i := 0; i < len(hex); i += 4 {
			v, err := strconv.ParseUint(hex[i:i+4], 16, 16)
			if err != nil || (v >= 0xD800 && v <= 0xDFFF) {
				return "", false
			}
			b.WriteRune(rune(v))
		}
		return b.String(), true
	}
	if hex, ok := strings.CutPrefix(name, "u"); ok && len(hex) >= 4 && len(hex) <= 6 {
		if v, err := strconv.ParseUint(hex, 16, 32); err == nil && utf8.ValidRune(rune(v)) {
			return string(rune(v)), true
		}
	}
	return "", false
}

// tableEncoding decodes one-byte codes through a table. A glyph whose name means
// nothing known keeps the code itself (as pdftotext does; control characters are
// removed by cleaning).
type tableEncoding [256]string

func (t *tableEncoding) Decode(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		b.WriteString(t[raw[i]])
	}
	return b.String()
}

// simpleFontEncoding returns the decoder of a simple font (one-byte codes), built as PDF
// readers do (ISO 32000-1 9.6.6 and 9.10.2) where the library falls short:
//   - a ToUnicode map comes first, for the codes it maps (the library ignores it when the
//     font also has an /Encoding, and drops the codes it does not map);
//   - then the encoding: the base named by /BaseEncoding (the library ignores it under
//     /Differences), or else the built-in encoding of the embedded font program (Type 1
//     clear text or CFF: TeX's and Ghostscript's fonts carry their encoding there, with
//     ligatures, quotes and dashes at codes the library decodes as Latin-1), then
//     /Differences, glyph names going to text through the Adobe Glyph List.
//
// It returns nil where the library's own decoder is as good (a named encoding without a
// ToUnicode map, no encoding information at all, composite fonts).
func simpleFontEncoding(f pdf.Value, fallback pdf.TextEncoding, glyphs func() glyphList) pdf.TextEncoding {
	switch f.Key("Subtype").Name() {
	case "Type1", "MMType1", "TrueType", "Type3":
	default:
		return nil
	}
	toUnicode := f.Key("ToUnicode")
	var tu *[256]string
	if toUnicode.Kind() == pdf.Stream {
		tu = parseToUnicode(toUnicode.Reader(), glyphs)
	}
	enc := f.Key("Encoding")
	var diffs pdf.Value
	base := ""
	switch enc.Kind() {
	case pdf.Name:
		if tu == nil {
			return nil
		}
		base = enc.Name()
	case pdf.Dict:
		diffs = enc.Key("Differences")
		base = enc.Key("BaseEncoding").Name()
	case pdf.Null:
	default:
		return nil
	}
	var t tableEncoding
	switch base {
	case "WinAnsiEncoding", "MacRomanEncoding":
		cm := charmap.Windows1252
		if base == "MacRomanEncoding" {
			cm = charmap.Macintosh
		}
		for c := 0; c < 256; c++ {
			if r := cm.DecodeByte(byte(c)); r != utf8.RuneError && r >= 0x20 {
				t[c] = string(r)
			}
		}
	default:
		var builtin *[256]string
		if base == "StandardEncoding" {
			builtin = standardEncoding()
		} else {
			desc := f.Key("FontDescriptor")
			builtin = type1BuiltinEncoding(desc.Key("FontFile"))
			if ff := desc.Key("FontFile3"); builtin == nil && ff.Kind() == pdf.Stream && ff.Key("Subtype").Name() == "Type1C" {
				builtin = cffBuiltinEncoding(readFontProgram(ff.Reader()))
			}
		}
		if builtin == nil && diffs.IsNull() && tu == nil {
			return nil // nothing better than the library's decoding
		}
		for c := 0; c < 256; c++ {
			if tu == nil {
				t[c] = fallback.Decode(string([]byte{byte(c)}))
			} else {
				t[c] = string(rune(c)) // the library's decoder is the ToUnicode map
			}
		}
		if builtin != nil {
			g := glyphs()
			for c, name := range builtin {
				if name == "" {
					continue
				}
				if text, ok := g.text(name); ok {
					t[c] = text
				}
			}
		}
	}
	if diffs.Kind() == pdf.Array {
		g := glyphs()
		code := -1
		for i := 0; i < diffs.Len() && i < 4096; i++ {
			v := diffs.Index(i)
			switch v.Kind() {
			case pdf.Integer:
				code = int(v.Int64())
			case pdf.Name:
				if code >= 0 && code < 256 {
					if text, ok := g.text(v.Name()); ok {
						t[code] = text
					} else {
						t[code] = string(rune(code))
					}
				}
				code++
			}
		}
	}
	if tu != nil {
		for c, s := range tu {
			if s != "" {
				t[c] = s
			}
		}
	}
	return &t
}

// parseToUnicode reads the one-byte codes of a ToUnicode CMap (bfchar and bfrange
// entries; UTF-16BE targets, or glyph names); nil when it maps none.
func parseToUnicode(r io.Reader, glyphs func() glyphList) *[256]string {
	lx := newCSLexer(io.LimitReader(r, 4<<20))
	lx.maxArgs = cmapMaxOperands
	var out [256]string
	mapped := false
	set := func(code string, text string) {
		if len(code) == 1 && text != "" {
			out[code[0]], mapped = text, true
		}
	}
	target := func(v csOperand) string {
		switch v.kind {
		case csString:
			return utf16BE(v.str)
		case csName:
			t, _ := glyphs().text(v.str)
			return t
		}
		return ""
	}
	for {
		op, args, err := lx.next()
		if err != nil {
			break
		}
		switch op {
		case "endbfchar":
			for i := 0; i+1 < len(args); i += 2 {
				if args[i].kind == csString {
					set(args[i].str, target(args[i+1]))
				}
			}
		case "endbfrange":
			for i := 0; i+2 < len(args); i += 3 {
				lo, hi, dst := args[i], args[i+1], args[i+2]
				if lo.kind != csString || hi.kind != csString || len(lo.str) != 1 || len(hi.str) != 1 || hi.str[0] < lo.str[0] {
					continue
				}
				for c := int(lo.str[0]); c <= int(hi.str[0]); c++ {
					k := c - int(lo.str[0])
					switch dst.kind {
					case csString:
						if dst.str == "" {
							continue
						}
						b := []byte(dst.str)
						b[len(b)-1] += byte(k) // the last byte counts up
						set(string([]byte{byte(c)}), utf16BE(string(b)))
					case csArray:
						if k < len(dst.arr) {
							set(string([]byte{byte(c)}), target(dst.arr[k]))
						}
					}
				}
			}
		}
	}
	if !mapped {
		return nil
	}
	return &out
}

// utf16BE decodes a ToUnicode target; an unpaired surrogate or NUL gives "".
func utf16BE(s string) string {
	if len(s)%2 != 0 {
		return ""
	}
	u := make([]uint16, len(s)/2)
	for i := range u {
		u[i] = uint16(s[2*i])<<8 | uint16(s[2*i+1])
	}
	rs := utf16.Decode(u)
	for _, r := range rs {
		if r == utf8.RuneError || r == 0 {
			return ""
		}
	}
	return string(rs)
}

// type1BuiltinEncoding reads the /Encoding of an embedded Type 1 font program's clear
// text ("dup 12 /fi put" entries, or StandardEncoding); nil when there is none.
func type1BuiltinEncoding(file pdf.Value) *[256]string {
	if file.Kind() != pdf.Stream {
		return nil
	}
	clear := file.Key("Length1").Int64()
	if clear <= 0 || clear > 1<<20 {
		clear = 1 << 20
	}
	b, err := io.ReadAll(io.LimitReader(file.Reader(), clear))
	if err != nil && len(b) == 0 {
		return nil
	}
	s := string(b)
	i := strings.Index(s, "/Encoding")
	if i < 0 {
		return nil
	}
	s = s[i+len("/Encoding"):]
	if strings.HasPrefix(strings.TrimSpace(s), "StandardEncoding") {
		return standardEncoding()
	}
	if end := strings.Index(s, "readonly def"); end >= 0 {
		s = s[:end]
	} else if end := strings.Index(s, "eexec"); end >= 0 {
		s = s[:end]
	}
	f := strings.Fields(s)
	var enc [256]string
	found := false
	for k := 0; k+3 < len(f); k++ {
		if f[k] != "dup" || f[k+3] != "put" || !strings.HasPrefix(f[k+2], "/") {
			continue
		}
		c, err := strconv.Atoi(f[k+1])
		if err != nil || c < 0 || c > 255 {
			continue
		}
		if name := f[k+2][1:]; name != ".notdef" {
			enc[c], found = name, true
		}
		k += 3
	}
	if !found {
		return nil
	}
	return &enc
}

// standardEncoding is Adobe StandardEncoding as glyph names by code.
func standardEncoding() *[256]string {
	var out [256]string
	for c, n := range strings.Split(standardEncodingNames, "\n") {
		if c < 256 && n != ".notdef" {
			out[c] = n
		}
	}
	return &out
}
