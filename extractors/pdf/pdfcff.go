package pdf

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"io"
	"strings"
)

// cffStandardStrings are the CFF standard strings by SID; standardEncoding the glyph
// names of StandardEncoding by code (agl/NOTICE).
//
//go:embed agl/cff-standard-strings.txt
var cffStandardStrings string

//go:embed agl/standard-encoding.txt
var standardEncodingNames string

// cffMaxFont caps the size of an embedded CFF program read for its encoding.
const cffMaxFont = 8 << 20

var errCFF = errors.New("cff: malformed")

// cffBuiltinEncoding reads the built-in encoding of a bare CFF font program (FontFile3
// /Type1C, as Ghostscript writes fonts): code → glyph id (Encoding) → string id (charset)
// → glyph name. Nil when the program cannot be read or is a CID font.
func cffBuiltinEncoding(data []byte) (enc *[256]string) {
	defer func() {
		if recover() != nil { // an offset out of range in a damaged font
			enc = nil
		}
	}()
	if len(data) < 4 || data[0] != 1 {
		return nil
	}
	pos := int(data[2]) // header size
	_, pos, ok := cffIndex(data, pos)
	if !ok {
		return nil
	}
	top, pos, ok := cffIndex(data, pos) // Top DICT INDEX
	if !ok || len(top) == 0 {
		return nil
	}
	strs, _, ok := cffIndex(data, pos) // String INDEX
	if !ok {
		return nil
	}
	dict := cffDict(top[0])
	if _, cid := dict[12<<8|30]; cid { // ROS: a CID-keyed font, decoded through its CMap
		return nil
	}
	charStrings := cffInt(dict, 17, 0)
	if charStrings <= 0 || charStrings >= len(data) {
		return nil
	}
	glyphs, _, ok := cffIndex(data, charStrings)
	if !ok {
		return nil
	}
	nGlyphs := len(glyphs)
	standard := strings.Split(cffStandardStrings, "\n")
	name := func(sid int) string {
		switch {
		case sid < len(standard)-1:
			return standard[sid]
		case sid-391 >= 0 && sid-391 < len(strs):
			return string(strs[sid-391])
		}
		return ""
	}
	// charset: glyph id → string id
	sids := make([]int, nGlyphs)
	switch off := cffInt(dict, 15, 0); off {
	case 0: // ISOAdobe: SID = GID
		for g := range sids {
			sids[g] = g
		}
	case 1, 2: // Expert charsets: no text names worth mapping
		return nil
	default:
		p := off
		format := int(data[p])
		p++
		for g := 1; g < nGlyphs; {
			switch format {
			case 0:
				sids[g] = int(binary.BigEndian.Uint16(data[p:]))
				p += 2
				g++
			case 1, 2:
				first := int(binary.BigEndian.Uint16(data[p:]))
				var left int
				if format == 1 {
					left = int(data[p+2])
					p += 3
				} else {
					left = int(binary.BigEndian.Uint16(data[p+2:]))
					p += 4
				}
				for k := 0; k <= left && g < nGlyphs; k++ {
					sids[g] = first + k
					g++
				}
			default:
				return nil
			}
		}
	}
	var out [256]string
	switch off := cffInt(dict, 16, 0); off {
	case 0: // StandardEncoding
		return standardEncoding()
	case 1: // ExpertEncoding
		return nil
	default:
		p := off
		format := data[p]
		p++
		switch format & 0x7f {
		case 0:
			n := int(data[p])
			p++
			for g := 1; g <= n && g < nGlyphs; g++ {
				out[data[p+g-1]] = name(sids[g])
			}
			p += n
		case 1:
			n := int(data[p])
			p++
			g := 1
			for r := 0; r < n; r++ {
				first, left := int(data[p]), int(data[p+1])
				p += 2
				for k := 0; k <= left && g < nGlyphs && first+k < 256; k++ {
					out[first+k] = name(sids[g])
					g++
				}
			}
		default:
			return nil
		}
		if format&0x80 != 0 { // supplements: more codes for glyphs already encoded
			n := int(data[p])
			p++
			for s := 0; s < n; s++ {
				out[data[p]] = name(int(binary.BigEndian.Uint16(data[p+1:])))
				p += 3
			}
		}
	}
	return &out
}

// cffIndex reads an INDEX at pos: its entries and the position after it.
func cffIndex(data []byte, pos int) ([][]byte, int, bool) {
	if pos+2 > len(data) {
		return nil, 0, false
	}
	count := int(binary.BigEndian.Uint16(data[pos:]))
	if count == 0 {
		return nil, pos + 2, true
	}
	if pos+3 > len(data) {
		return nil, 0, false
	}
	offSize := int(data[pos+2])
	if offSize < 1 || offSize > 4 {
		return nil, 0, false
	}
	offs := pos + 3
	base := offs + (count+1)*offSize - 1
	if base >= len(data) {
		return nil, 0, false
	}
	off := func(i int) int {
		v := 0
		for _, b := range data[offs+i*offSize : offs+(i+1)*offSize] {
			v = v<<8 | int(b)
		}
		return v
	}
	entries := make([][]byte, count)
	for i := range entries {
		a, b := base+off(i), base+off(i+1)
		if a < base+1 || b < a || b > len(data) {
			return nil, 0, false
		}
		entries[i] = data[a:b]
	}
	return entries, base + off(count), true
}

// cffDict reads a DICT into operator → operands (two-byte operators as 12<<8|b1).
func cffDict(d []byte) map[int][]float64 {
	out := map[int][]float64{}
	var ops []float64
	for i := 0; i < len(d); {
		b := d[i]
		switch {
		case b <= 21:
			op := int(b)
			i++
			if b == 12 && i < len(d) {
				op = 12<<8 | int(d[i])
				i++
			}
			out[op] = ops
			ops = nil
		case b == 28 && i+2 < len(d):
			ops = append(ops, float64(int16(binary.BigEndian.Uint16(d[i+1:]))))
			i += 3
		case b == 29 && i+4 < len(d):
			ops = append(ops, float64(int32(binary.BigEndian.Uint32(d[i+1:]))))
			i += 5
		case b == 30: // real: nibbles up to 0xf; the value is not needed here
			i++
			for i < len(d) && d[i]&0x0f != 0x0f && d[i]>>4 != 0x0f {
				i++
			}
			i++
			ops = append(ops, 0)
		case b >= 32 && b <= 246:
			ops = append(ops, float64(int(b)-139))
			i++
		case b >= 247 && b <= 250 && i+1 < len(d):
			ops = append(ops, float64((int(b)-247)*256+int(d[i+1])+108))
			i += 2
		case b >= 251 && b <= 254 && i+1 < len(d):
			ops = append(ops, float64(-(int(b)-251)*256-int(d[i+1])-108))
			i += 2
		default:
			i++
		}
	}
	return out
}

func cffInt(dict map[int][]float64, op, def int) int {
	if v := dict[op]; len(v) > 0 {
		return int(v[len(v)-1])
	}
	return def
}

// readFontProgram reads an embedded font stream, at most cffMaxFont bytes.
func readFontProgram(r io.Reader) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, cffMaxFont))
	return b
}
