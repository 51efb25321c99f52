package extractors

import (
	_ "embed"
	"io"
	"strconv"
	"strings"
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

// simpleFontEncoding returns the decoder of a simple font without a ToUnicode map,
// built as PDF readers do (ISO 32000-1 9.6.6 and 9.10.2) where the library falls short:
// the base encoding named by /BaseEncoding (the library ignores it under /Differences),
// or else the built-in encoding of an embedded Type 1 program (TeX's fonts carry their
// encoding there: ligatures, quotes and dashes at codes the library decodes as Latin-1),
// then /Differences through the Adobe Glyph List. It returns nil where the library's
// own decoder is as good (a ToUnicode map, a named encoding, composite fonts).
func simpleFontEncoding(f pdf.Value, fallback pdf.TextEncoding, glyphs func() glyphList) pdf.TextEncoding {
	if !f.Key("ToUnicode").IsNull() {
		return nil
	}
	switch f.Key("Subtype").Name() {
	case "Type1", "MMType1", "TrueType", "Type3":
	default:
		return nil
	}
	enc := f.Key("Encoding")
	var diffs pdf.Value
	base := ""
	switch enc.Kind() {
	case pdf.Name:
		return nil
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
		builtin := type1BuiltinEncoding(f.Key("FontDescriptor").Key("FontFile"))
		if builtin == nil && diffs.IsNull() {
			return nil // nothing better than the library's decoding
		}
		for c := 0; c < 256; c++ {
			t[c] = fallback.Decode(string([]byte{byte(c)}))
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
	return &t
}

// type1BuiltinEncoding reads the /Encoding of an embedded Type 1 font program's clear
// text ("dup 12 /fi put" entries); nil when there is none, or it is StandardEncoding
// (which the library's decoding matches for text).
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
