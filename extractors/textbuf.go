package extractors

import (
	"unsafe"

	"github.com/docingest/docingest/internal/hugepage"
)

// textBuffer is strings.Builder for a document's text, but that Grow asks for huge pages
// for a large text (internal/hugepage): the text of a 40 MB file is written once into a
// buffer made for it, and in small pages every 4 KiB of it was a page fault.
type textBuffer struct{ buf []byte }

// Grow makes room for n more bytes.
func (t *textBuffer) Grow(n int) {
	if cap(t.buf)-len(t.buf) >= n {
		return
	}
	nb := make([]byte, len(t.buf), len(t.buf)+n)
	hugepage.Advise(nb[:cap(nb)])
	copy(nb, t.buf)
	t.buf = nb
}

func (t *textBuffer) WriteString(s string) { t.buf = append(t.buf, s...) }
func (t *textBuffer) Len() int             { return len(t.buf) }

// String returns the text so far without copying it: like strings.Builder's, it shares
// the buffer, whose written bytes are never changed (later writes go after them).
func (t *textBuffer) String() string { return unsafe.String(unsafe.SliceData(t.buf), len(t.buf)) }
