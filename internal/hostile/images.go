package hostile

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
)

// ImageCase is one hostile image for the OCR path, with the failure reason it must end
// in ("" when it must be read: an image at the pixel cap).
type ImageCase struct {
	Name, File string
	Reason     string
	Write      func(w io.Writer) error
}

// ImageCases lists the images that take OCR pipelines down: decompression bombs that
// declare billions of pixels in a few bytes (PNG, JPEG, TIFF, WebP), truncated files, and
// a blank image right at a 64-megapixel cap that a decoder really expands.
func ImageCases() []ImageCase {
	return []ImageCase{
		{Name: "png-bomb-header", File: "bomb.png", Reason: "too_large", Write: bytesOf(PNGHeader(50000, 50000))},
		{Name: "png-bomb-zlib", File: "zbomb.png", Reason: "too_large", Write: pngZeros(20000, 20000)},
		{Name: "jpeg-bomb-header", File: "bomb.jpg", Reason: "too_large", Write: bytesOf(jpegHeader(65000, 65000))},
		{Name: "tiff-bomb-header", File: "bomb.tiff", Reason: "too_large", Write: bytesOf(tiffHeader(100000, 100000))},
		{Name: "webp-bomb-header", File: "bomb.webp", Reason: "too_large", Write: bytesOf(webpHeader(16383, 16383))},
		{Name: "png-truncated-header", File: "short.png", Reason: "corrupt", Write: bytesOf([]byte("\x89PNG\r\n\x1a\n\x00\x00"))},
		{Name: "png-truncated-data", File: "half.png", Reason: "corrupt", Write: truncatedPNG},
		{Name: "png-blank-at-cap", File: "blank.png", Reason: "no_text_layer", Write: pngZeros(8000, 8000)},
	}
}

func bytesOf(b []byte) func(io.Writer) error {
	return func(w io.Writer) error { _, err := w.Write(b); return err }
}

// PNGHeader is a PNG signature and header declaring w×h grey pixels, and nothing else.
func PNGHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	return pngChunk(b, "IHDR", binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, w), h), 8, 0, 0, 0, 0)
}

func pngChunk(b []byte, typ string, data []byte, more ...byte) []byte {
	data = append(data, more...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	start := len(b)
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

// pngZeros is a complete grey PNG of w×h white pixels: a small file of deflated rows that
// decodes to w×h bytes.
func pngZeros(w, h int) func(io.Writer) error {
	return func(out io.Writer) error {
		img := &image.Gray{Pix: make([]byte, w), Stride: 0, Rect: image.Rect(0, 0, w, h)}
		for i := range img.Pix {
			img.Pix[i] = 0xFF
		}
		// Stride 0: every row is the same w bytes, so encoding holds one row, not w×h.
		return (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(out, img)
	}
}

// truncatedPNG is a noisy 1000×1000 image cut off halfway through its pixel data.
func truncatedPNG(w io.Writer) error {
	img := image.NewGray(image.Rect(0, 0, 1000, 1000))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(r.UintN(256))
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes()[:b.Len()/2])
	return err
}

// jpegHeader is a JPEG start, a JFIF marker and a baseline frame header declaring w×h
// grey pixels, and no image data.
func jpegHeader(w, h uint16) []byte {
	b := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	b = append(b, 0xFF, 0xC0, 0x00, 0x0B, 8)
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	return append(b, 1, 1, 0x11, 0, 0xFF, 0xD9)
}

// tiffHeader is a little-endian TIFF whose one directory declares w×h grey pixels.
func tiffHeader(w, h uint32) []byte {
	b := []byte("II*\x00")
	b = binary.LittleEndian.AppendUint32(b, 8)
	entries := [][3]uint32{{256, 4, w}, {257, 4, h}, {258, 3, 8}, {259, 3, 1}, {262, 3, 1}, {273, 4, 0}, {277, 3, 1}, {278, 4, h}, {279, 4, 0}}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint16(b, uint16(e[0]))
		b = binary.LittleEndian.AppendUint16(b, uint16(e[1]))
		b = binary.LittleEndian.AppendUint32(b, 1)
		if e[1] == 3 {
			b = binary.LittleEndian.AppendUint16(b, uint16(e[2]))
			b = append(b, 0, 0)
		} else {
			b = binary.LittleEndian.AppendUint32(b, e[2])
		}
	}
	return binary.LittleEndian.AppendUint32(b, 0)
}

// webpHeader is an extended WebP (VP8X) declaring a w×h canvas and no image data.
func webpHeader(w, h uint32) []byte {
	chunk := []byte("VP8X")
	chunk = binary.LittleEndian.AppendUint32(chunk, 10)
	chunk = append(chunk, 0, 0, 0, 0)
	chunk = append(chunk, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, uint32(4+len(chunk)))
	b = append(b, "WEBP"...)
	return append(b, chunk...)
}
