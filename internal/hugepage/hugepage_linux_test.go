package hugepage

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// vmFlags returns the VmFlags of the mapping that holds p, from /proc/self/smaps.
func vmFlags(t *testing.T, p uintptr) []string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok {
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				in = uint64(p) >= a && uint64(p) < b
				continue
			}
		}
		if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("no mapping holds %#x", p)
	return nil
}

func advised(t *testing.T, b []byte) bool {
	// the middle of the buffer is inside its aligned huge pages, if it has any
	mid := uintptr(unsafe.Pointer(unsafe.SliceData(b))) + uintptr(len(b)/2)
	for _, f := range vmFlags(t, mid) {
		if f == "hg" {
			return true
		}
	}
	return false
}

// Advise marks buffers of MinBytes and more for huge pages (VmFlags "hg" in smaps), and
// leaves smaller ones alone.
func TestAdvise(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage"); err != nil {
		t.Skip("this kernel has no transparent huge pages: Advise has nothing to ask for")
	}
	small := make([]byte, MinBytes-1)
	Advise(small)
	if advised(t, small) {
		t.Errorf("a buffer of %d bytes (one under MinBytes) was advised", len(small))
	}
	for _, n := range []int{MinBytes, 64 << 20} {
		b := make([]byte, n)
		Advise(b)
		if !advised(t, b) {
			t.Errorf("a buffer of %d bytes was not advised", n)
		}
		b[0], b[n-1] = 1, 2 // still an ordinary buffer
		if b[0] != 1 || b[n-1] != 2 {
			t.Fatal("buffer changed")
		}
	}
}
