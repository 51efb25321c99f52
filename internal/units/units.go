// Package units holds the two value types the configuration file writes in human units:
// Duration ("90s", "2m") and ByteSize ("100MiB", "1.5GB", "100mb"). Both read YAML and
// print back in the same units, so `config print` shows what a user would write.
package units

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/dustin/go-humanize"
	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as "120s" or "2m" in YAML (a bare number is seconds).
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration reads Go's duration syntax ("1m30s", "250ms"); a plain number is seconds.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(n, 0) && !math.IsNaN(n) && math.Abs(n) < 1e9 {
		return time.Duration(n * float64(time.Second)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (like 30s, 2m or 1h30m)", s)
	}
	return v, nil
}

// ByteSize is a byte count: 104857600, "100MiB", "100MB", "1.5GB", "64kib", "100 mb".
// Units are SI (kB, MB, GB: powers of 1000) or IEC (KiB, MiB, GiB: powers of 1024), in
// any case.
type ByteSize int64

// String writes the size in the largest unit that keeps it exact: 100MiB, 100MB, 1500kB.
func (b ByteSize) String() string {
	n := int64(b)
	if n <= 0 {
		return strconv.FormatInt(n, 10)
	}
	for _, u := range []struct {
		s string
		n int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"TB", 1e12}, {"GB", 1e9}, {"MiB", 1 << 20}, {"MB", 1e6}, {"KiB", 1 << 10}, {"kB", 1e3}} {
		if n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10)
}

func (b ByteSize) MarshalYAML() (any, error) {
	if s := b.String(); strings.IndexFunc(s, unicode.IsLetter) >= 0 {
		return s, nil
	}
	return int64(b), nil
}

func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = ByteSize(v)
	return nil
}

// maxBytes bounds sizes well inside int64, so that products of caps cannot overflow.
const maxBytes = 1 << 50

// ParseByteSize reads a byte count with an optional unit (see ByteSize).
func ParseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a byte size (like 104857600, 100MiB, 1.5GB or 100mb)", s)
	if t == "" || strings.HasPrefix(t, "-") {
		return 0, bad
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n > maxBytes {
			return 0, fmt.Errorf("%q is over the largest size, 1PiB", s)
		}
		return n, nil
	}
	if strings.IndexFunc(t, unicode.IsLetter) < 0 {
		return 0, bad // a fraction of a byte, or not a number
	}
	v, err := humanize.ParseBigBytes(t)
	if err != nil {
		return 0, bad
	}
	if !v.IsInt64() || v.Int64() > maxBytes {
		return 0, fmt.Errorf("%q is over the largest size, 1PiB", s)
	}
	return v.Int64(), nil
}
