// Package hugepage asks the kernel to back large buffers with transparent huge pages.
//
// A buffer of tens of megabytes (a large document read whole, its extracted text) is
// written once from start to end right after it is made. In 4 KiB pages that is a page
// fault every 4 KiB, and on a virtual machine each fault is dear: on the 2-core VM the
// benchmarks run on, filling a new 40 MB buffer, hashing it and copying it into another
// took 610-760 ms in small pages and 84-114 ms with Advise (BenchmarkFreshBuffer, three
// runs each). Linux gives a process huge pages without asking only when
// transparent_hugepage is "always"; under "madvise", the default of many distributions,
// a range must ask (MADV_HUGEPAGE), which the Go runtime does not do for its heap.
package hugepage

// MinBytes is the smallest buffer Advise asks for: below it the huge pages would be too
// few to matter (a 2 MiB page holds 512 small ones).
const MinBytes = 4 << 20

// Advise asks for huge pages for the whole 2 MiB-aligned pages inside b, best effort: the
// kernel may refuse or have none free, and nothing changes but speed. Call it on a new
// buffer before writing to it (pages written already stay small until the kernel's
// khugepaged merges them). It does nothing for buffers below MinBytes, or on systems
// without transparent huge pages.
func Advise(b []byte) {
	if len(b) >= MinBytes {
		advise(b)
	}
}
