package hugepage

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

const pageSize = 2 << 20

func advise(b []byte) {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := (p + pageSize - 1) &^ (pageSize - 1)
	end := (p + uintptr(len(b))) &^ (pageSize - 1)
	if end <= start {
		return
	}
	// the error (EINVAL without CONFIG_TRANSPARENT_HUGEPAGE) only means no huge pages
	_ = unix.Madvise(b[start-p:end-p], unix.MADV_HUGEPAGE)
}
