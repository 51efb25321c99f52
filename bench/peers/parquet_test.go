package peers

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	aparquet "github.com/apache/arrow-go/v18/parquet"
	acompress "github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"

	"github.com/docingest/docingest/dataset"
	"github.com/docingest/docingest/embedders"
)

// pqRow is the part of the chunk record both writers get: strings, a list of strings and
// the 384 float32 values.
type pqRow struct {
	ID          string    `parquet:"id"`
	Source      string    `parquet:"source"`
	Index       int64     `parquet:"index"`
	HeadingPath []string  `parquet:"heading_path,list"`
	Text        string    `parquet:"text"`
	Embedding   []float32 `parquet:"embedding,list,uncompressed"`
	Model       string    `parquet:"embedding_model"`
}

// parquetRows cuts BENCH_CORPUS (default: bench/throughput.sh's 40 MB text) into
// 1,200-byte chunks and embeds them with the hashing embedder.
func parquetRows(t testing.TB, n int) []pqRow {
	path := os.Getenv("BENCH_CORPUS")
	if path == "" {
		path = "../corpus/throughput/text40/all.txt"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("%v: run bench/throughput.sh once to build the corpus", err)
	}
	h, _ := embedders.NewHashing(embedders.DefaultHashing())
	text := string(b)
	var rows []pqRow
	for i := 0; len(rows) < n && (i+1)*1200 <= len(text); i++ {
		chunk := strings.ToValidUTF8(text[i*1200:(i+1)*1200], "")
		v, _ := h.Embed(context.Background(), []string{chunk})
		rows = append(rows, pqRow{ID: fmt.Sprintf("%032x", i), Source: "text40/all.txt", Index: int64(i),
			HeadingPath: []string{"Part", fmt.Sprint(i / 100)}, Text: chunk, Embedding: v[0], Model: h.Model()})
	}
	return rows
}

// peakHeap runs f and reports its time, the bytes it allocated and the highest heap in use
// seen (sampled every millisecond).
func peakHeap(f func()) (time.Duration, uint64, uint64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	start := time.Now()
	f()
	took := time.Since(start)
	close(done)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return took, after.TotalAlloc - before.TotalAlloc, peak.Load() - min(peak.Load(), before.HeapInuse)
}

// TestParquetWriters writes the same rows with parquet-go (as docingest does) and with
// arrow-go's pqarrow, both zstd at the fastest level with the embedding column
// uncompressed and row groups of 8,192 rows, and prints time, allocation, peak heap and
// size. BENCH=1 runs it: go test -run TestParquetWriters -v . (BENCH_ROWS, default 20,000).
func TestParquetWriters(t *testing.T) {
	if os.Getenv("BENCH") == "" {
		t.Skip("a benchmark: BENCH=1")
	}
	n := 20000
	if v := os.Getenv("BENCH_ROWS"); v != "" {
		fmt.Sscan(v, &n)
	}
	rows := parquetRows(t, n)
	raw := 0
	for _, r := range rows {
		raw += len(r.Text) + 4*len(r.Embedding)
	}
	var outGo, outArrow bytes.Buffer
	writeGo := func() {
		outGo.Reset()
		w := parquet.NewGenericWriter[pqRow](&outGo, parquet.Compression(dataset.NewCodec()), parquet.MaxRowsPerRowGroup(8192))
		for i := 0; i < len(rows); i += 256 {
			if _, err := w.Write(rows[i:min(i+256, len(rows))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "source", Type: arrow.BinaryTypes.String},
		{Name: "index", Type: arrow.PrimitiveTypes.Int64}, {Name: "heading_path", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "text", Type: arrow.BinaryTypes.String}, {Name: "embedding", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
		{Name: "embedding_model", Type: arrow.BinaryTypes.String},
	}, nil)
	writeArrow := func() {
		outArrow.Reset()
		props := aparquet.NewWriterProperties(aparquet.WithCompression(acompress.Codecs.Zstd),
			aparquet.WithCompressionLevel(1), aparquet.WithCompressionFor("embedding.list.element", acompress.Codecs.Uncompressed),
			aparquet.WithMaxRowGroupLength(8192))
		fw, err := pqarrow.NewFileWriter(schema, &outArrow, props, pqarrow.DefaultWriterProps())
		if err != nil {
			t.Fatal(err)
		}
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer b.Release()
		for i := 0; i < len(rows); i += 256 {
			for _, r := range rows[i:min(i+256, len(rows))] {
				b.Field(0).(*array.StringBuilder).Append(r.ID)
				b.Field(1).(*array.StringBuilder).Append(r.Source)
				b.Field(2).(*array.Int64Builder).Append(r.Index)
				hp := b.Field(3).(*array.ListBuilder)
				hp.Append(true)
				for _, s := range r.HeadingPath {
					hp.ValueBuilder().(*array.StringBuilder).Append(s)
				}
				b.Field(4).(*array.StringBuilder).Append(r.Text)
				eb := b.Field(5).(*array.ListBuilder)
				eb.Append(true)
				eb.ValueBuilder().(*array.Float32Builder).AppendValues(r.Embedding, nil)
				b.Field(6).(*array.StringBuilder).Append(r.Model)
			}
			rec := b.NewRecordBatch()
			if err := fw.WriteBuffered(rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		f    func()
		out  *bytes.Buffer
	}{{"parquet-go", writeGo, &outGo}, {"arrow-go pqarrow", writeArrow, &outArrow}, {"parquet-go", writeGo, &outGo}, {"arrow-go pqarrow", writeArrow, &outArrow}} {
		took, alloc, peak := peakHeap(c.f)
		t.Logf("%-17s %6d rows: %6.1f MB/s of raw values, %5.0f MB allocated, peak heap +%4.0f MiB, %5.1f MB written (%.2fx raw)",
			c.name, len(rows), float64(raw)/1e6/took.Seconds(), float64(alloc)/1e6, float64(peak)/(1<<20), float64(c.out.Len())/1e6, float64(c.out.Len())/float64(raw))
	}
}
