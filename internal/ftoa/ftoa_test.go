package ftoa

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"pgregory.net/rapid"
)

// want is encoding/json's bytes for f.
func want(t testing.TB, f float32) string {
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func check(t testing.TB, f float32) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return
	}
	if got, w := string(AppendJSON(nil, f)), want(t, f); got != w {
		t.Fatalf("%v (bits %#08x): %s, encoding/json %s", f, math.Float32bits(f), got, w)
	}
}

// Every power of two and of ten, their neighbours, the edges of the positional form and
// of the float32 range, and zeros: the places where rounding and layout change.
func TestEdges(t *testing.T) {
	var fs []float32
	for e := -149; e <= 127; e++ {
		fs = append(fs, float32(math.Ldexp(1, e)))
	}
	for e := -45; e <= 38; e++ {
		fs = append(fs, float32(math.Pow(10, float64(e))))
	}
	fs = append(fs, 0, float32(math.Copysign(0, -1)), 1e-6, 9.999999e-7, 1e21, 9.99999e20, math.MaxFloat32, math.SmallestNonzeroFloat32, 1.0/3, 0.1, 0.3, 2.5, 16777216, 16777217)
	for _, f := range fs {
		for _, g := range []float32{f, math.Nextafter32(f, 0), math.Nextafter32(f, float32(math.Inf(1))), -f} {
			check(t, g)
		}
	}
}

// The looked-up values: every multiple of 1/Quantum in [-1, 1], its float32 neighbours
// (which must miss the table), and the values just past 1.
func TestQuanta(t *testing.T) {
	for k := 0; k <= Quantum; k++ {
		f := Quantize(k)
		if k > 0 && f != float32(float64(k)/Quantum) {
			t.Fatalf("Quantize(%d) = %v", k, f)
		}
		for _, g := range []float32{f, -f, math.Nextafter32(f, 0), math.Nextafter32(f, 2), -math.Nextafter32(f, 2)} {
			check(t, g)
		}
	}
	if got := string(AppendJSON(nil, Quantize(412))); got != "0.0412" {
		t.Fatalf("Quantize(412) prints %s", got)
	}
}

// AppendList gives encoding/json's text of a []float32 (without the brackets), for
// vectors of table values, of others, and of both.
func TestAppendList(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := range 600 {
		vals := make([]float32, n%40)
		for i := range vals {
			switch r.IntN(3) {
			case 0:
				vals[i] = Quantize(r.IntN(Quantum + 1))
			case 1:
				vals[i] = -Quantize(r.IntN(Quantum + 1))
			default:
				vals[i] = math.Float32frombits(r.Uint32())
				if math.IsNaN(float64(vals[i])) || math.IsInf(float64(vals[i]), 0) {
					vals[i] = 0.25
				}
			}
		}
		b, err := json.Marshal(vals)
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("x")
		got, ok := AppendList(prefix, vals)
		if want := "x" + string(b[1:len(b)-1]); string(got) != want || !ok {
			t.Fatalf("AppendList(%v) = %s, %v; want %s", vals, got, ok, want)
		}
		if n := len(vals); n > 0 {
			bad := slices.Clone(vals)
			bad[r.IntN(n)] = [...]float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[r.IntN(3)]
			if got, ok := AppendList(prefix, bad); ok || string(got) != "x" {
				t.Fatalf("AppendList(%v) = %s, %v; want x, false", bad, got, ok)
			}
		}
	}
}

// Values outside the table print longer than the room AppendList makes for each value at
// first (9 bytes): a long run of them, then table values, must grow its buffer as it goes.
func TestAppendListLongValues(t *testing.T) {
	vals := make([]float32, 0, 3000)
	for i := range 2000 {
		vals = append(vals, -1.2345678e-07*float32(i+1))
	}
	for i := range 1000 {
		vals = append(vals, -Quantize(i))
	}
	b, err := json.Marshal(vals)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := AppendList(nil, vals); !ok || string(got) != string(b[1:len(b)-1]) {
		t.Fatalf("AppendList of %d long values and %d table values differs from encoding/json", 2000, 1000)
	}
}

// Random bit patterns (every float32 is as likely as any other) and random vector values.
func TestRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2_000_000 {
		check(t, math.Float32frombits(r.Uint32()))
		check(t, float32(r.NormFloat64()*0.08))
		check(t, Quantize(r.IntN(Quantum+1)))
	}
	rapid.Check(t, func(rt *rapid.T) { check(t, rapid.Float32().Draw(rt, "f")) })
}

// Shortest gives strconv's digits for the values whose layout AppendJSON leaves to
// strconv too (below 1e-6 and subnormals).
func TestShortestSmall(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200_000 {
		f := math.Float32frombits(r.Uint32() & 0x35ffffff) // exponents up to about 1e-6
		if f == 0 || math.IsNaN(float64(f)) {
			continue
		}
		d, e := Shortest(f)
		if got, w := strconv.FormatFloat(float64(d)*math.Pow(10, float64(e)), 'e', -1, 32), strconv.FormatFloat(float64(f), 'e', -1, 32); got != w {
			t.Fatalf("%v: %de%d (%s), strconv %s", f, d, e, got, w)
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	vs := make([]float32, 4096)
	for i := range vs {
		vs[i] = float32(r.NormFloat64() * 0.08)
	}
	buf := make([]byte, 0, 64)
	b.Run("ftoa", func(b *testing.B) {
		for i := range b.N {
			buf = AppendJSON(buf[:0], vs[i%len(vs)])
		}
	})
	qs := make([]float32, len(vs))
	for i, v := range vs {
		qs[i] = Quantize(int(math.Round(math.Abs(float64(v)) * Quantum)))
	}
	b.Run("quantized", func(b *testing.B) {
		for i := range b.N {
			buf = AppendJSON(buf[:0], qs[i%len(qs)])
		}
	})
	signed := make([]float32, len(qs)) // as vectors are: the signs of hashed features are coin flips
	for i, q := range qs {
		signed[i] = float32(math.Copysign(float64(q), float64(vs[i])))
	}
	b.Run("list", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			buf, _ = AppendList(buf[:0], signed[i%16*256:i%16*256+256])
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*256), "ns/value")
	})
	b.Run("strconv", func(b *testing.B) {
		for i := range b.N {
			buf = strconv.AppendFloat(buf[:0], float64(vs[i%len(vs)]), 'f', -1, 32)
		}
	})
}
