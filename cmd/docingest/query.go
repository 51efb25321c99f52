package main

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/docingest/docingest/dataset"
	"github.com/docingest/docingest/labeling"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/vectorindex"
	"github.com/docingest/docingest/worker"
)

// hit is one query result.
type hit struct {
	score   float64 // cosine similarity
	id      string
	source  string
	index   int
	heading []string
	text    string
}

type hits []hit

func (h hits) Len() int           { return len(h) }
func (h hits) Less(i, j int) bool { return h[i].score < h[j].score }
func (h hits) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hits) Push(x any)        { *h = append(*h, x.(hit)) }
func (h *hits) Pop() any          { old := *h; x := old[len(old)-1]; *h = old[:len(old)-1]; return x }

func (a *app) queryCommand() *cobra.Command {
	var out string
	var k int
	cmd := &cobra.Command{
		Use:   "query TEXT --out DST [--k 10]",
		Short: "Embed a text and print the nearest chunks, to check retrieval",
		Long: `query embeds TEXT with the configured embedder and prints the k nearest chunks by cosine
similarity: from the S3 Vectors index when output.vector_index is set, else by a scan of
the output's chunk files (every chunk is read: fine for checking, not for serving).`,
		Example: "  docingest query \"how do I rotate the logs\" --out out\n  DOCINGEST_OUTPUT_VECTOR_INDEX=s3vectors://vectors/docs docingest query \"refund policy\" --out s3://docs-out/v1 --k 5",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := a.loadConfig(cmd)
			if err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return usageErr(fmt.Errorf("invalid configuration:\n%w", err))
			}
			if k < 1 || k > vectorindex.MaxTopK {
				return usageErr(fmt.Errorf("--k: must be between 1 and %d", vectorindex.MaxTopK))
			}
			loc, err := parseLocation("--out", out)
			if err != nil {
				return err
			}
			var clients *awsClients
			st, err := a.store(ctx, cfg, loc, &clients)
			if err != nil {
				return err
			}
			em, err := newEmbedding(ctx, cfg, st, func() (*awsClients, error) { return a.aws(ctx, cfg, &clients) })
			if err != nil {
				return usageErr(err)
			}
			defer em.Close()
			if err := worker.CheckEmbeddingModel(ctx, st, worker.ModelRecord{EmbeddingModel: em.emb.Model(), Dimensions: em.dims}, false, true); err != nil {
				return usageErr(err)
			}
			vecs, err := em.emb.Embed(ctx, []string{args[0]})
			if err != nil {
				return fmt.Errorf("embed the query: %w", err)
			}
			q := vecs[0]
			var res []hit
			if cfg.Output.VectorIndex != "" {
				vloc, _ := vectorindex.ParseLocation(cfg.Output.VectorIndex)
				c, err := a.aws(ctx, cfg, &clients)
				if err != nil {
					return err
				}
				ms, err := vectorindex.New(c.s3vectors(), vloc, 0).Query(ctx, q, k)
				if err != nil {
					return err
				}
				for _, m := range ms {
					h := hit{score: 1 - float64(m.Distance), id: m.ID, source: m.Source, index: m.Index, heading: m.Heading}
					if cr, ok := st.(chunkReader); ok {
						h.text = chunkText(ctx, cr, m.Source, m.ID)
					}
					res = append(res, h)
				}
			} else {
				cr, ok := st.(chunkReader)
				if !ok {
					return errors.New("query: the output store cannot stream files")
				}
				if res, err = scan(ctx, cr, q, k); err != nil {
					return err
				}
			}
			if len(res) == 0 {
				fmt.Fprintln(a.stdout, "no chunks found")
				return nil
			}
			for i, h := range res {
				where := h.source + fmt.Sprintf(" #%d", h.index)
				if len(h.heading) > 0 {
					where += " (" + strings.Join(h.heading, " > ") + ")"
				}
				text := strings.Join(strings.Fields(h.text), " ")
				if len(text) > 200 {
					text = text[:200] + "…"
				}
				fmt.Fprintf(a.stdout, "%2d. %.3f  %s\n    %s\n", i+1, h.score, where, text)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the output to search (a folder or s3://bucket/prefix)")
	cmd.Flags().IntVar(&k, "k", 10, "how many chunks to print (at most 100)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// chunkReader is the store the scan reads chunk files from.
type chunkReader interface {
	List(ctx context.Context, prefix string, recursive bool, fn func(storage.ObjectInfo) error) error
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// scan reads every chunk file and keeps the k most similar chunks.
func scan(ctx context.Context, st chunkReader, q []float32, k int) ([]hit, error) {
	var keys []string
	if err := st.List(ctx, layout.ChunksRoot, true, func(o storage.ObjectInfo) error {
		if strings.HasSuffix(o.Key, ".jsonl") || strings.HasSuffix(o.Key, ".parquet") {
			keys = append(keys, o.Key)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list chunks: %w", err)
	}
	h := &hits{}
	for _, key := range keys {
		err := eachChunk(ctx, st, key, func(r dataset.ChunkRow) bool {
			if len(r.Embedding) != len(q) {
				return true // not this model's vector: the output's one-model rule keeps these out
			}
			s := labeling.Cosine(q, r.Embedding)
			if h.Len() < k || s > (*h)[0].score {
				heap.Push(h, hit{score: s, id: r.ID, source: sourceOf(r), index: int(r.Index), heading: r.HeadingPath, text: r.Text})
				if h.Len() > k {
					heap.Pop(h)
				}
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]hit, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(hit)
	}
	return out, nil
}

func sourceOf(r dataset.ChunkRow) string { return strings.TrimPrefix(r.Source.URI, "s3://") }

func eachChunk(ctx context.Context, st chunkReader, key string, fn func(dataset.ChunkRow) bool) error {
	stop := errors.New("stop")
	err := dataset.EachChunk(ctx, st, key, func(r dataset.ChunkRow) error {
		if !fn(r) {
			return stop
		}
		return nil
	})
	if errors.Is(err, stop) || errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

// chunkText finds a chunk's text in its source's chunk file ("" when it is gone).
func chunkText(ctx context.Context, st chunkReader, source, id string) string {
	text := ""
	for _, key := range layout.ChunkFiles(source) {
		_ = eachChunk(ctx, st, key, func(r dataset.ChunkRow) bool {
			if r.ID == id {
				text = r.Text
				return false
			}
			return true
		})
	}
	return text
}
