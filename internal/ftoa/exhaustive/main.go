// Command exhaustive compares ftoa.AppendJSON with encoding/json's own way of printing a
// float32 (strconv.AppendFloat, 'f' or 'e' by magnitude, e-07 written e-7) for every
// finite float32: 2^32 bit patterns less NaNs and infinities, split over the cores.
// bench/ftoa-exhaustive.sh runs it (a few minutes on 2 cores); it prints the first
// mismatches and exits 1 if there is any.
package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docingest/docingest/internal/ftoa"
)

// reference is encoding/json's float32 encoder (encoding/json/encode.go, floatEncoder).
func reference(dst []byte, f float32) []byte {
	abs := float32(math.Abs(float64(f)))
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, float64(f), format, -1, 32)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

func main() {
	start := time.Now()
	workers := runtime.GOMAXPROCS(0)
	const total = 1 << 32
	var bad, done atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var a, b []byte
			for x := uint64(w); x < total; x += uint64(workers) {
				f := math.Float32frombits(uint32(x))
				if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
					continue
				}
				a, b = ftoa.AppendJSON(a[:0], f), reference(b[:0], f)
				if !bytes.Equal(a, b) {
					if bad.Add(1) <= 10 {
						mu.Lock()
						fmt.Printf("bits %#08x: ftoa %s, encoding/json %s\n", uint32(x), a, b)
						mu.Unlock()
					}
				}
				if x&(1<<26-1) == uint64(w) {
					if n := done.Add(1); n%8 == 0 {
						fmt.Fprintf(os.Stderr, "%d%% ", n*100/int64(64*workers))
					}
				}
			}
		}()
	}
	wg.Wait()
	fmt.Fprintln(os.Stderr)
	const finite = total - 1<<24 // less 2^24 - 2 NaNs and 2 infinities
	fmt.Printf("%d finite float32 values compared in %s on %d cores: %d mismatches\n", finite, time.Since(start).Round(time.Second), workers, bad.Load())
	if bad.Load() > 0 {
		os.Exit(1)
	}
}
