package dataset

import (
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/format"
)

// codec is zstd for Parquet pages with one encoder shared by every file: EncodeAll may be
// called concurrently and keeps a bounded set of encoder states, each with a window of
// 1 MiB (pages are at most that). parquet-go's own zstd codec keeps encoders in a pool the
// garbage collector empties, and each new one allocates an 8 MiB history: writing 133
// small files at once took 1.1 GB of allocations and 290 MiB of peak RSS that way.
type codec struct {
	enc     *zstd.Encoder
	decOnce sync.Once
	dec     *zstd.Decoder
	decErr  error
}

// NewCodec is the compression of every Parquet file docingest writes: zstd at its fastest
// level (the embedding column is stored uncompressed: float32 mantissas barely compress,
// and compressing them took a third of the time). Share one among many files.
func NewCodec() compress.Codec {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithWindowSize(1<<20),
		zstd.WithLowerEncoderMem(true),
		zstd.WithZeroFrames(true),
		zstd.WithEncoderCRC(false))
	if err != nil {
		panic(err) // only for invalid options, which these are not
	}
	return &codec{enc: enc}
}

func (c *codec) String() string                            { return "ZSTD" }
func (c *codec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *codec) Encode(dst, src []byte) ([]byte, error) {
	return c.enc.EncodeAll(src, dst[:0]), nil
}

func (c *codec) Decode(dst, src []byte) ([]byte, error) {
	c.decOnce.Do(func() { c.dec, c.decErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1)) })
	if c.decErr != nil {
		return nil, c.decErr
	}
	return c.dec.DecodeAll(src, dst[:0])
}
