// Package extsort sorts more records than fit in memory. Records are byte strings, ordered
// bytewise (bytes.Compare); a Sorter holds up to its memory limit of them, sorts them and
// spills the sorted run to a temporary file, and its Iter merges the runs. Peak memory is
// the limit plus one read buffer per run, whatever the number of records.
//
// Run files are unlinked as soon as they are created, so the kernel frees them when the
// process ends, however it ends (kill -9 included).
package extsort

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// refSize is what one record costs beside its bytes (its offset and length).
const refSize = 8

// readBuffer is each run's read buffer during the merge.
const readBuffer = 64 << 10

// MaxRecord is the longest record a Sorter takes.
const MaxRecord = 1 << 20

type ref struct{ off, n uint32 }

// Sorter collects records. Not safe for concurrent use.
type Sorter struct {
	dir   string
	limit int
	arena []byte
	refs  []ref
	runs  []*os.File
	n     int64
	done  bool
}

// New returns a Sorter that spills to dir ("" for the system's temporary folder) whenever
// the records it holds would take more than limit bytes (each record counts its length
// plus 8 bytes).
func New(dir string, limit int) *Sorter {
	return &Sorter{dir: dir, limit: max(limit, 1)}
}

// Len is the number of records added.
func (s *Sorter) Len() int64 { return s.n }

// Runs is the number of runs spilled to disk so far.
func (s *Sorter) Runs() int { return len(s.runs) }

// Add copies rec into the sorter.
func (s *Sorter) Add(rec []byte) error {
	if s.done {
		return errors.New("extsort: Add after Sort")
	}
	if len(rec) > MaxRecord {
		return fmt.Errorf("extsort: record of %d bytes is over %d", len(rec), MaxRecord)
	}
	if len(s.refs) > 0 && len(s.arena)+len(rec)+(len(s.refs)+1)*refSize > s.limit {
		if err := s.spill(); err != nil {
			return err
		}
	}
	if len(s.arena)+len(rec) > cap(s.arena) {
		// grow by doubling, but never past the limit: append's own growth could hold
		// twice the limit at the last doubling
		s.arena = slices.Grow(s.arena, min(max(2*cap(s.arena), len(s.arena)+len(rec), 4096), max(s.limit, len(s.arena)+len(rec)))-len(s.arena))
	}
	if len(s.refs) == cap(s.refs) {
		s.refs = slices.Grow(s.refs, min(max(2*cap(s.refs), 256), max(s.limit/refSize, len(s.refs)+1))-len(s.refs))
	}
	s.refs = append(s.refs, ref{uint32(len(s.arena)), uint32(len(rec))})
	s.arena = append(s.arena, rec...)
	s.n++
	return nil
}

func (s *Sorter) rec(r ref) []byte { return s.arena[r.off : r.off+r.n] }

func (s *Sorter) sortMemory() {
	slices.SortFunc(s.refs, func(a, b ref) int { return bytes.Compare(s.rec(a), s.rec(b)) })
}

// spill writes the records held as one sorted run and empties the memory.
func (s *Sorter) spill() (err error) {
	s.sortMemory()
	f, err := os.CreateTemp(s.dir, "docingest-sort-*")
	if err != nil {
		return fmt.Errorf("extsort: %w", err)
	}
	os.Remove(f.Name()) // freed when closed, or when the process dies
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	w := bufio.NewWriterSize(f, 256<<10)
	var hdr [binary.MaxVarintLen32]byte
	for _, r := range s.refs {
		n := binary.PutUvarint(hdr[:], uint64(r.n))
		w.Write(hdr[:n])
		w.Write(s.rec(r))
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("extsort: write run: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("extsort: %w", err)
	}
	s.runs = append(s.runs, f)
	s.arena, s.refs = s.arena[:0], s.refs[:0]
	return nil
}

// Sort ends the input and returns the records in order. Close the Iter to free the runs.
func (s *Sorter) Sort() (*Iter, error) {
	if s.done {
		return nil, errors.New("extsort: Sort called twice")
	}
	s.done = true
	if len(s.runs) == 0 {
		s.sortMemory()
		return &Iter{mem: s, pos: -1}, nil
	}
	if len(s.refs) > 0 {
		if err := s.spill(); err != nil {
			s.closeRuns()
			return nil, err
		}
	}
	s.arena, s.refs = nil, nil
	it := &Iter{sorter: s}
	for _, f := range s.runs {
		r := &run{r: bufio.NewReaderSize(f, readBuffer)}
		ok, err := r.next()
		if err != nil {
			s.closeRuns()
			return nil, err
		}
		if ok {
			it.h = append(it.h, r)
		}
	}
	heap.Init(&it.h)
	return it, nil
}

func (s *Sorter) closeRuns() {
	for _, f := range s.runs {
		f.Close()
	}
	s.runs = nil
}

// Iter walks the sorted records.
type Iter struct {
	mem    *Sorter // all records in memory
	pos    int
	sorter *Sorter
	h      runHeap
	cur    []byte
	err    error
	last   *run
}

// Next advances to the next record and reports whether there is one.
func (it *Iter) Next() bool {
	if it.err != nil {
		return false
	}
	if it.mem != nil {
		it.pos++
		if it.pos >= len(it.mem.refs) {
			return false
		}
		it.cur = it.mem.rec(it.mem.refs[it.pos])
		return true
	}
	// Advance the run the previous record came from, then take the smallest head.
	if it.last != nil {
		ok, err := it.last.next()
		if err != nil {
			it.err = err
			return false
		}
		if ok {
			heap.Fix(&it.h, 0)
		} else {
			heap.Pop(&it.h)
		}
		it.last = nil
	}
	if len(it.h) == 0 {
		return false
	}
	it.last = it.h[0]
	it.cur = it.last.cur
	return true
}

// Record is the current record, valid until the next call to Next.
func (it *Iter) Record() []byte { return it.cur }

// Err is the error that stopped the iteration, if any.
func (it *Iter) Err() error { return it.err }

// Close frees the runs.
func (it *Iter) Close() error {
	if it.sorter != nil {
		it.sorter.closeRuns()
	}
	it.h = nil
	return nil
}

type run struct {
	r   *bufio.Reader
	cur []byte
}

func (r *run) next() (bool, error) {
	n, err := binary.ReadUvarint(r.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil || n > MaxRecord {
		return false, fmt.Errorf("extsort: read run: bad record length (%d): %v", n, err)
	}
	if cap(r.cur) < int(n) {
		r.cur = make([]byte, n, max(int(n), 2*cap(r.cur)))
	}
	r.cur = r.cur[:n]
	if _, err := io.ReadFull(r.r, r.cur); err != nil {
		return false, fmt.Errorf("extsort: read run: %w", err)
	}
	return true, nil
}

type runHeap []*run

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return bytes.Compare(h[i].cur, h[j].cur) < 0 }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*run)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
