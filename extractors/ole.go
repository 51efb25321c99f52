package extractors

import (
	"encoding/binary"
	"unicode/utf16"
)

// oleKind tells a legacy Office file apart by the streams its OLE compound file holds
// (Microsoft's [MS-CFB] format): WordDocument is Word, Workbook or Book is Excel,
// "PowerPoint Document" is PowerPoint, EncryptedPackage is an encrypted Office Open XML
// file. It reads only the header, the sector allocation table it names and the directory
// chain, with bounded effort, and returns "" when it cannot tell.
func oleKind(data []byte) string {
	if len(data) < 512 || string(data[:8]) != "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" {
		return ""
	}
	shift := binary.LittleEndian.Uint16(data[0x1E:])
	if shift != 9 && shift != 12 {
		return ""
	}
	size := 1 << shift
	sector := func(n uint32) []byte {
		off := (int64(n) + 1) * int64(size)
		if n >= 0xFFFFFFFA || off+int64(size) > int64(len(data)) {
			return nil
		}
		return data[off : off+int64(size)]
	}
	// the sector allocation table, from the header's first 109 entries (files of up to
	// about 7 MB with 512-byte sectors, 3.5 GB with 4 KiB ones: enough to find the
	// directory, which comes early)
	var fat []uint32
	for i := 0; i < 109; i++ {
		n := binary.LittleEndian.Uint32(data[0x4C+4*i:])
		s := sector(n)
		if s == nil {
			break
		}
		for k := 0; k+4 <= len(s); k += 4 {
			fat = append(fat, binary.LittleEndian.Uint32(s[k:]))
		}
	}
	kind := ""
	dir := binary.LittleEndian.Uint32(data[0x30:])
	for steps := 0; steps < 1024 && kind == ""; steps++ {
		s := sector(dir)
		if s == nil {
			break
		}
		for e := 0; e+128 <= len(s); e += 128 {
			n := int(binary.LittleEndian.Uint16(s[e+0x40:]))
			if n < 2 || n > 64 {
				continue
			}
			u := make([]uint16, n/2-1)
			for i := range u {
				u[i] = binary.LittleEndian.Uint16(s[e+2*i:])
			}
			switch string(utf16.Decode(u)) {
			case "WordDocument":
				kind = FormatDOC
			case "Workbook", "Book":
				kind = FormatXLS
			case "PowerPoint Document":
				kind = FormatPPT
			case "EncryptedPackage":
				return "encrypted"
			}
		}
		if int(dir) >= len(fat) {
			break
		}
		dir = fat[dir]
	}
	return kind
}
