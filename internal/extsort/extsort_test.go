package extsort

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func sortAll(t testing.TB, recs [][]byte, limit int) ([][]byte, int) {
	s := New(t.TempDir(), limit)
	for _, r := range recs {
		if err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	runs := s.Runs()
	it, err := s.Sort()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out [][]byte
	for it.Next() {
		out = append(out, bytes.Clone(it.Record()))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out, runs
}

// Whatever the records and the limit, the output is the input sorted bytewise, with
// duplicates and empty records kept.
func TestSortsLikeSlicesSort(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		recs := rapid.SliceOf(rapid.SliceOfN(rapid.Byte(), 0, 40)).Draw(rt, "recs")
		limit := rapid.IntRange(1, 2000).Draw(rt, "limit")
		got, _ := sortAll(t, recs, limit)
		want := slices.Clone(recs)
		slices.SortFunc(want, bytes.Compare)
		if len(got) != len(want) {
			rt.Fatalf("%d records out, %d in", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				rt.Fatalf("record %d: %q, want %q", i, got[i], want[i])
			}
		}
	})
}

// The limit counts each record's bytes plus 8: records that take exactly the limit stay
// in memory, one byte more spills a run.
func TestLimit(t *testing.T) {
	recs := [][]byte{[]byte("cc"), []byte("a"), []byte("bbb")} // 6 bytes + 3×8
	got, runs := sortAll(t, recs, 30)
	if runs != 0 || fmt.Sprint(got) != fmt.Sprint([][]byte{[]byte("a"), []byte("bbb"), []byte("cc")}) {
		t.Errorf("at the limit: %d runs, %q", runs, got)
	}
	recs = append(recs, []byte("d")) // 7 + 32 = 39 > 38
	got, runs = sortAll(t, recs, 38)
	if runs != 1 || len(got) != 4 || string(got[3]) != "d" {
		t.Errorf("one past the limit: %d runs, %q", runs, got)
	}
	if err := New("", 1).Add(make([]byte, MaxRecord+1)); err == nil {
		t.Error("a record over MaxRecord was taken")
	}
	if err := New(t.TempDir(), 1<<30).Add(make([]byte, MaxRecord)); err != nil {
		t.Errorf("a record of MaxRecord bytes: %v", err)
	}
}

// Runs leave nothing behind in the folder, even before Close.
func TestRunsAreUnlinked(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, 64)
	for i := range 100 {
		s.Add(fmt.Appendf(nil, "%05d", 100-i))
	}
	if s.Runs() < 10 {
		t.Fatalf("%d runs", s.Runs())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d files left in the folder", len(ents))
	}
	it, _ := s.Sort()
	n := 0
	prev := ""
	for it.Next() {
		if string(it.Record()) < prev {
			t.Fatal("out of order")
		}
		prev = string(it.Record())
		n++
	}
	it.Close()
	if n != 100 {
		t.Errorf("%d records", n)
	}
}

func BenchmarkSort(b *testing.B) {
	recs := make([][]byte, 200000)
	for i := range recs {
		recs[i] = fmt.Appendf(nil, "bucket/docs/%08d/file-%d.pdf\x00etag-%d", (i*7919)%len(recs), i, i)
	}
	b.ResetTimer()
	for range b.N {
		s := New(b.TempDir(), 4<<20)
		for _, r := range recs {
			s.Add(r)
		}
		it, _ := s.Sort()
		for it.Next() {
		}
		it.Close()
	}
}
