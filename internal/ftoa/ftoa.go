// Package ftoa prints float32 values as encoding/json does, faster: the shortest decimal
// that reads back as the same float32 (Ulf Adams's Ryū, "Ryū: fast float-to-string
// conversion", PLDI 2018, in its 32-bit form), then the digits laid out as
// strconv.AppendFloat(dst, float64(f), 'f', -1, 32) lays them out. Chunk records carry
// hundreds of vector values each; strconv's general path spent a fifth of a run on them.
//
// The digits are checked against strconv for every float32 by bench/ftoa-exhaustive.sh;
// the package's tests check a random sample, every power of two and ten, and the edges.
package ftoa

import (
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
)

const (
	mantissaBits = 23
	exponentBits = 8
	bias         = 127
	pow5InvBits  = 59
	pow5Bits     = 61
)

// The tables Ryū multiplies by: 2^k/5^q rounded up (q < 31) and 5^i/2^k (i < 48), each
// scaled to pow5InvBits or pow5Bits bits. Computed exactly with math/big once.
var pow5Inv, pow5 = tables()

func tables() (inv [31]uint64, pos [48]uint64) {
	five := big.NewInt(5)
	for q := range inv {
		p := new(big.Int).Exp(five, big.NewInt(int64(q)), nil)
		num := new(big.Int).Lsh(big.NewInt(1), uint(pow5bits(int32(q))-1+pow5InvBits))
		num.Div(num, p)
		inv[q] = num.Uint64() + 1
	}
	for i := range pos {
		p := new(big.Int).Exp(five, big.NewInt(int64(i)), nil)
		shift := int(pow5bits(int32(i))) - pow5Bits
		if shift >= 0 {
			p.Rsh(p, uint(shift))
		} else {
			p.Lsh(p, uint(-shift))
		}
		pos[i] = p.Uint64()
	}
	return
}

// Quantum is the number of steps per unit that the lookup table of AppendJSON covers: the
// float32 values nearest to k/Quantum for 0 <= k <= Quantum, and their negatives.
const Quantum = 10_000

const quantum = Quantum

// quanta holds those values and their text as strconv prints them (the shortest decimal
// that reads back as the same float32, "0.0412"), in fixed 8-byte cells (at most 6 bytes
// are used) that are stored with one move and cut to their length: computed once,
// immutable.
var quanta = quantaTable()

type quantaText struct {
	values [Quantum + 1]float32
	cells  [Quantum + 1][8]byte
	lens   [Quantum + 1]uint8
}

// Quantize returns the float32 nearest to k/Quantum, the value AppendJSON prints from its
// table.
func Quantize(k int) float32 { return float32(float64(k) / Quantum) }

// Quanta is Quantize(k) from the table, for 0 <= k <= Quantum.
func Quanta(k int) float32 { return quanta.values[k] }

func quantaTable() *quantaText {
	t := &quantaText{}
	var buf []byte
	for k := 0; k <= Quantum; k++ {
		t.values[k] = Quantize(k)
		buf = strconv.AppendFloat(buf[:0], float64(t.values[k]), 'f', -1, 32)
		t.lens[k] = uint8(copy(t.cells[k][:], buf))
	}
	return t
}

// quantumOf returns k when abs (|f|) is the table's value for k.
func quantumOf(abs float32) (int, bool) {
	if abs > 1 || abs != abs {
		return 0, false
	}
	k := int(abs*quantum + 0.5)
	return k, quanta.values[k] == abs
}

// appendQuantum appends f, the table's value for k or its negative.
func appendQuantum(dst []byte, f float32, k int) []byte {
	if math.Signbit(float64(f)) {
		dst = append(dst, '-')
	}
	n := len(dst)
	if cap(dst)-n < 8 {
		dst = slices.Grow(dst, 8)
	}
	dst = dst[:n+8]
	*(*[8]byte)(dst[n:]) = quanta.cells[k]
	return dst[:n+int(quanta.lens[k])]
}

// AppendList appends vals as AppendJSON does, separated by commas: vectors in one loop,
// with room for all of them made first. It reports false, and dst as it was, when a value
// is NaN or infinite (encoding/json has no text for them): only values outside the table
// are looked at for that.
func AppendList(dst []byte, vals []float32) ([]byte, bool) {
	if len(vals) == 0 {
		return dst, true
	}
	// A table value is written without a branch on its sign (a coin flip in hashed
	// vectors): '-' is always stored and kept only for negatives, the 8-byte cell is stored
	// whole and cut to its length, and a comma follows every value (the last one is cut).
	// Each takes at most 1+8 bytes of room and keeps at most 1+6+1.
	n := len(dst)
	dst = slices.Grow(dst, 9*len(vals)+8)
	buf := dst[:cap(dst)]
	for _, f := range vals {
		abs := float32(math.Abs(float64(f)))
		k, ok := quantumOf(abs)
		if !ok {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return dst, false
			}
			buf = append(appendShortest(buf[:n], f, abs), ',')
			n = len(buf)
			buf = slices.Grow(buf, 9*len(vals)+8)
			buf = buf[:cap(buf)]
			continue
		}
		buf[n] = '-'
		n += int(math.Float32bits(f) >> 31)
		*(*[8]byte)(buf[n : n+8]) = quanta.cells[k]
		n += int(quanta.lens[k])
		buf[n] = ','
		n++
	}
	return buf[:n-1], true
}

// pow5bits is ceil(log2(5^e)) for e in [1, 3528], and 1 for 0.
func pow5bits(e int32) int32 { return int32((uint32(e)*1217359)>>19) + 1 }

// log10Pow2 is floor(log10(2^e)) for e in [0, 1650].
func log10Pow2(e int32) int32 { return int32((uint32(e) * 78913) >> 18) }

// log10Pow5 is floor(log10(5^e)) for e in [0, 2620].
func log10Pow5(e int32) int32 { return int32((uint32(e) * 732923) >> 20) }

func pow5Factor(v uint32) uint32 {
	n := uint32(0)
	for v%5 == 0 {
		v /= 5
		n++
	}
	return n
}

func multipleOfPow5(v, p uint32) bool { return pow5Factor(v) >= p }
func multipleOfPow2(v, p uint32) bool { return v&(1<<p-1) == 0 }

// mulShift returns (m × factor) >> shift, for shift > 32.
func mulShift(m uint32, factor uint64, shift int32) uint32 {
	hi, lo := bits.Mul64(uint64(m), factor)
	// the product has at most 32+64 bits: shift it right as a 128-bit value
	s := uint(shift)
	if s >= 64 {
		return uint32(hi >> (s - 64))
	}
	return uint32(lo>>s | hi<<(64-s))
}

// Shortest returns the shortest decimal digits and exponent (f = digits × 10^exp) that
// read back as f, for a finite, non-zero f; ties between equally short candidates go to
// the one closest to f, and an exact tie to the even digit.
func Shortest(f float32) (digits uint32, exp int32) {
	b := math.Float32bits(f)
	ieeeMantissa := b & (1<<mantissaBits - 1)
	ieeeExponent := (b >> mantissaBits) & (1<<exponentBits - 1)
	var e2 int32
	var m2 uint32
	if ieeeExponent == 0 {
		e2 = 1 - bias - mantissaBits - 2
		m2 = ieeeMantissa
	} else {
		e2 = int32(ieeeExponent) - bias - mantissaBits - 2
		m2 = 1<<mantissaBits | ieeeMantissa
	}
	acceptBounds := m2&1 == 0
	mv := 4 * m2
	mp := 4*m2 + 2
	mmShift := uint32(0)
	if ieeeMantissa != 0 || ieeeExponent <= 1 {
		mmShift = 1
	}
	mm := 4*m2 - 1 - mmShift

	var vr, vp, vm uint32
	var e10 int32
	vmTrailingZeros, vrTrailingZeros := false, false
	lastRemoved := uint32(0)
	if e2 >= 0 {
		q := log10Pow2(e2)
		e10 = q
		k := pow5InvBits + pow5bits(q) - 1
		i := -e2 + q + k
		vr = mulShift(mv, pow5Inv[q], i)
		vp = mulShift(mp, pow5Inv[q], i)
		vm = mulShift(mm, pow5Inv[q], i)
		if q != 0 && (vp-1)/10 <= vm/10 {
			l := pow5InvBits + pow5bits(q-1) - 1
			lastRemoved = mulShift(mv, pow5Inv[q-1], -e2+q-1+l) % 10
		}
		if q <= 9 {
			switch {
			case mv%5 == 0:
				vrTrailingZeros = multipleOfPow5(mv, uint32(q))
			case acceptBounds:
				vmTrailingZeros = multipleOfPow5(mm, uint32(q))
			case multipleOfPow5(mp, uint32(q)):
				vp--
			}
		}
	} else {
		q := log10Pow5(-e2)
		e10 = q + e2
		i := -e2 - q
		k := pow5bits(i) - pow5Bits
		j := q - k
		vr = mulShift(mv, pow5[i], j)
		vp = mulShift(mp, pow5[i], j)
		vm = mulShift(mm, pow5[i], j)
		if q != 0 && (vp-1)/10 <= vm/10 {
			j = q - 1 - (pow5bits(i+1) - pow5Bits)
			lastRemoved = mulShift(mv, pow5[i+1], j) % 10
		}
		switch {
		case q <= 1:
			vrTrailingZeros = true
			if acceptBounds {
				vmTrailingZeros = mmShift == 1
			} else {
				vp--
			}
		case q < 31:
			vrTrailingZeros = multipleOfPow2(mv, uint32(q-1))
		}
	}

	removed := int32(0)
	var output uint32
	if vmTrailingZeros || vrTrailingZeros {
		for vp/10 > vm/10 {
			vmTrailingZeros = vmTrailingZeros && vm%10 == 0
			vrTrailingZeros = vrTrailingZeros && lastRemoved == 0
			lastRemoved = vr % 10
			vr, vp, vm = vr/10, vp/10, vm/10
			removed++
		}
		if vmTrailingZeros {
			for vm%10 == 0 {
				vrTrailingZeros = vrTrailingZeros && lastRemoved == 0
				lastRemoved = vr % 10
				vr, vp, vm = vr/10, vp/10, vm/10
				removed++
			}
		}
		if vrTrailingZeros && lastRemoved == 5 && vr%2 == 0 {
			lastRemoved = 4 // an exact tie: round to even
		}
		output = vr
		if (vr == vm && (!acceptBounds || !vmTrailingZeros)) || lastRemoved >= 5 {
			output++
		}
	} else {
		for vp/10 > vm/10 {
			lastRemoved = vr % 10
			vr, vp, vm = vr/10, vp/10, vm/10
			removed++
		}
		output = vr
		if vr == vm || lastRemoved >= 5 {
			output++
		}
	}
	return output, e10 + removed
}

// AppendJSON appends f as encoding/json writes a float32: the shortest decimal that
// reads back as f, in positional form from 1e-6 to below 1e21 and in exponent form
// outside (e-7, not e-07). f must be finite.
func AppendJSON(dst []byte, f float32) []byte {
	abs := float32(math.Abs(float64(f))) // compared as float32, as encoding/json does
	if k, ok := quantumOf(abs); ok {
		// the nearest float32 to a multiple of 1/10,000 (the hashing embedder rounds its
		// vectors to those): its text is looked up
		return appendQuantum(dst, f, k)
	}
	return appendShortest(dst, f, abs)
}

// appendShortest is AppendJSON by computing the digits; abs is |f|.
func appendShortest(dst []byte, f float32, abs float32) []byte {
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		// rare in vectors: strconv's exponent form, with encoding/json's cleanup
		dst = strconv.AppendFloat(dst, float64(f), 'e', -1, 32)
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
		return dst
	}
	if math.Float32bits(f)&(1<<mantissaBits-1) == 0 && f != 0 {
		// A power of two: its lower neighbour is closer than its upper one, and where two
		// shortest candidates tie, strconv (Dragonbox) rounds up where Ryū rounds to even
		// (2^-12 is 0.000244140625: strconv prints 0.00024414063). One value in 2^23.
		return strconv.AppendFloat(dst, float64(f), 'f', -1, 32)
	}
	// The layout is built in a fixed array and appended once: a sign, at most 21 digits
	// before the point (below 1e21) or "0." and 5 zeros and 9 digits after it.
	var out [32]byte
	k := 0
	if math.Signbit(float64(f)) {
		out[0] = '-'
		k = 1
	}
	if f == 0 {
		out[k] = '0'
		return append(dst, out[:k+1]...)
	}
	d, e := Shortest(f)
	var dig [10]byte
	n := len(dig)
	for d >= 100 {
		q := d / 100
		r := d - q*100
		n -= 2
		dig[n], dig[n+1] = pairs[2*r], pairs[2*r+1]
		d = q
	}
	if d >= 10 {
		n -= 2
		dig[n], dig[n+1] = pairs[2*d], pairs[2*d+1]
	} else {
		n--
		dig[n] = byte('0' + d)
	}
	digits := dig[n:]
	point := len(digits) + int(e) // digits before the decimal point
	switch {
	case point <= 0:
		out[k], out[k+1] = '0', '.'
		k += 2
		for ; point < 0; point++ {
			out[k] = '0'
			k++
		}
		k += copy(out[k:], digits)
	case point >= len(digits):
		k += copy(out[k:], digits)
		for i := len(digits); i < point; i++ {
			out[k] = '0'
			k++
		}
	default:
		k += copy(out[k:], digits[:point])
		out[k] = '.'
		k++
		k += copy(out[k:], digits[point:])
	}
	return append(dst, out[:k]...)
}

const pairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
