package hugepage

import (
	"crypto/sha256"
	"runtime/debug"
	"testing"
)

// BenchmarkFreshBuffer makes a 40 MB buffer from memory the process has given back to the
// system, fills it, hashes it and copies it into a second new buffer, as a large
// document's read buffer and text are made: in small pages and with Advise.
func BenchmarkFreshBuffer(b *testing.B) {
	const n = 40 << 20
	src := make([]byte, n)
	for i := range src {
		src[i] = byte(i * 7)
	}
	for _, huge := range []bool{false, true} {
		name := "small pages"
		if huge {
			name = "huge pages"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(n)
			for b.Loop() {
				b.StopTimer()
				debug.FreeOSMemory() // the last round's buffers go back to the system
				b.StartTimer()
				buf := make([]byte, n)
				if huge {
					Advise(buf)
				}
				copy(buf, src)
				sum := sha256.Sum256(buf)
				out := make([]byte, n)
				if huge {
					Advise(out)
				}
				copy(out, buf)
				if out[n-1] != src[n-1] || sum == [32]byte{} {
					b.Fatal("copy lost bytes")
				}
			}
		})
	}
}
