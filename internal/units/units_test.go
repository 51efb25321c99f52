package units

import (
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseByteSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"0": 0, "104857600": 104857600, "100MiB": 100 << 20, "100MB": 100e6, "100mb": 100e6,
		"1.5GB": 1.5e9, "1.5GiB": 3 << 29, "64kib": 64 << 10, "64 KiB": 64 << 10, "10kB": 10e3,
		"10KB": 10e3, "7B": 7, "1PiB": 1 << 50,
	} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "-1MB", "ten", "1.5", "MB", "1PiB1", "1025TiB", "1125899906842625"} {
		if got, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestByteSizeRoundTrip(t *testing.T) {
	t.Parallel()
	for in, printed := range map[string]string{
		"100MB": "100MB", "100MiB": "100MiB", "1.5GB": "1500MB", "104857600": "100MiB",
		"160MiB": "160MiB", "7": "7", "0": "0", "2GiB": "2GiB", "1500": "1500", "1.5kB": "1500",
	} {
		var b ByteSize
		if err := yaml.Unmarshal([]byte(in), &b); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		out, err := yaml.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(out); got != printed+"\n" {
			t.Errorf("%q prints as %q, want %q", in, got, printed)
		}
		var back ByteSize
		if err := yaml.Unmarshal(out, &back); err != nil || back != b {
			t.Errorf("%q: printed %q reads back as %d (%v), want %d", in, out, back, err, b)
		}
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "2m": 2 * time.Minute, "30": 30 * time.Second, "0.5": 500 * time.Millisecond, "1h30m": 90 * time.Minute} {
		var d Duration
		if err := yaml.Unmarshal([]byte(in), &d); err != nil || d.D() != want {
			t.Errorf("%q = %s, %v; want %s", in, d, err, want)
		}
	}
	for _, in := range []string{"soon", "1e300", "10 parsecs"} {
		var d Duration
		if err := yaml.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("%q read as %s, want an error", in, d)
		}
	}
}

func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"100MiB", "1.5GB", "1e3", "-0", " 1 kb ", "1PiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseByteSize(s)
		if err != nil {
			return
		}
		if n < 0 || n > maxBytes {
			t.Fatalf("ParseByteSize(%q) = %d, outside [0, 1PiB]", s, n)
		}
		back, err := ParseByteSize(ByteSize(n).String())
		if err != nil || back != n {
			t.Fatalf("%q = %d prints as %q, which reads back as %d (%v)", s, n, ByteSize(n).String(), back, err)
		}
	})
}
