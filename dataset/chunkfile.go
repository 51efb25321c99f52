package dataset

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
)

// Opener streams an object.
type Opener interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// ChunkRowGroup is the row group size of a per-source Parquet chunk file
// (output.chunks_format: parquet): a document's chunks are few, and readers of one file
// want it whole.
const ChunkRowGroup = 8192

// NewChunkWriter writes a Parquet chunk file with codec (from NewCodec): the same columns
// as the exported chunks table.
func NewChunkWriter(w io.Writer, codec compress.Codec) *parquet.GenericWriter[ChunkRow] {
	return parquet.NewGenericWriter[ChunkRow](w,
		parquet.Compression(codec),
		parquet.MaxRowsPerRowGroup(ChunkRowGroup),
		parquet.PageBufferSize(64<<10),
		parquet.CreatedBy("docingest", "", ""))
}

// EachChunk calls fn with every chunk of a chunk file, JSON Lines or Parquet as its name
// says, naming the file (and line) in errors.
func EachChunk(ctx context.Context, src Opener, key string, fn func(ChunkRow) error) error {
	rc, err := src.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	if strings.HasSuffix(key, ".parquet") {
		b, err := io.ReadAll(rc)
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
		r := parquet.NewGenericReader[ChunkRow](bytes.NewReader(b))
		defer r.Close()
		for {
			rows := make([]ChunkRow, 256) // fresh: a reader may reuse what rows hold
			n, err := r.Read(rows)
			for _, row := range rows[:n] {
				if row.HeadingPath == nil {
					row.HeadingPath = []string{}
				}
				if err := fn(row); err != nil {
					return err
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", key, err)
			}
		}
	}
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		row, err := ParseChunk(sc.Bytes())
		if err != nil {
			return fmt.Errorf("%s, line %d: %w", key, n, err)
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	return nil
}
