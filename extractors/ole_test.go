package extractors

import (
	"encoding/binary"
	"testing"
	"unicode/utf16"
)

// cfbWith builds a compound file ([MS-CFB], version 3: 512-byte sectors) whose directory
// holds streams of the given names, its directory chain spread over two sectors so that
// the allocation table is followed.
func cfbWith(names ...string) []byte {
	const size = 512
	data := make([]byte, size*4) // header, FAT, two directory sectors
	copy(data, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")
	binary.LittleEndian.PutUint16(data[0x1A:], 3)
	binary.LittleEndian.PutUint16(data[0x1C:], 0xFFFE)
	binary.LittleEndian.PutUint16(data[0x1E:], 9)
	binary.LittleEndian.PutUint32(data[0x2C:], 1) // one FAT sector
	binary.LittleEndian.PutUint32(data[0x30:], 1) // the directory starts at sector 1
	for i := 0; i < 109; i++ {
		binary.LittleEndian.PutUint32(data[0x4C+4*i:], 0xFFFFFFFF)
	}
	binary.LittleEndian.PutUint32(data[0x4C:], 0) // the FAT is sector 0
	fat := data[size : 2*size]
	for k := 0; k < size; k += 4 {
		binary.LittleEndian.PutUint32(fat[k:], 0xFFFFFFFF)
	}
	binary.LittleEndian.PutUint32(fat[0:], 0xFFFFFFFD) // sector 0: the FAT itself
	binary.LittleEndian.PutUint32(fat[4:], 2)          // sector 1 → sector 2
	binary.LittleEndian.PutUint32(fat[8:], 0xFFFFFFFE) // sector 2: end of the chain
	entries := append([]string{"Root Entry", "\x01CompObj", "SummaryInformation", "Data"}, names...)
	for i, name := range entries {
		e := data[2*size+128*i:]
		u := utf16.Encode([]rune(name))
		for k, c := range u {
			binary.LittleEndian.PutUint16(e[2*k:], c)
		}
		binary.LittleEndian.PutUint16(e[0x40:], uint16(2*len(u)+2))
	}
	return data
}

func TestOLEKind(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"WordDocument", "1Table"}, FormatDOC},
		{[]string{"Workbook"}, FormatXLS},
		{[]string{"Book"}, FormatXLS},
		{[]string{"PowerPoint Document", "Current User"}, FormatPPT},
		{[]string{"EncryptionInfo", "EncryptedPackage"}, "encrypted"},
		{[]string{"Contents"}, ""},
	} {
		data := cfbWith(c.names...)
		if got := oleKind(data); got != c.want {
			t.Errorf("%v: %q, want %q", c.names, got, c.want)
		}
		want := c.want
		if want == "encrypted" {
			want = ""
		}
		// by content, whatever the name
		if got := Detect("upload", data); got != want {
			t.Errorf("Detect(%v) = %q, want %q", c.names, got, want)
		}
	}
	// a directory chain that loops ends within its bound
	data := cfbWith("Contents")
	binary.LittleEndian.PutUint32(data[512+8:], 1)
	if got := oleKind(data); got != "" {
		t.Errorf("a looping chain: %q", got)
	}
}

func FuzzOLEKind(f *testing.F) {
	f.Add(cfbWith("WordDocument"))
	f.Add(cfbWith("Workbook")[:600])
	f.Fuzz(func(t *testing.T, data []byte) {
		switch oleKind(data) {
		case "", FormatDOC, FormatXLS, FormatPPT, "encrypted":
		default:
			t.Fatal("an unknown kind")
		}
	})
}
