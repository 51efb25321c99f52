// Command vectorcmp compares the vectors of two docingest outputs of the same input (the
// same chunks, embedded by two builds or two models): for sample chunks used as queries it
// ranks every chunk by cosine similarity under each output and reports how many of the
// top k agree, and how far the cosines moved. bench/quantize.sh runs it.
//
//	vectorcmp -k 10 -queries 200 OUT_A OUT_B
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/docingest/docingest/labeling"
)

type record struct {
	Source struct {
		URI string `json:"uri"`
	} `json:"source"`
	Index     int       `json:"index"`
	Embedding []float32 `json:"embedding"`
}

// load reads every chunk record under out/chunks, by source and index (a chunk's id
// depends on the model, which differs).
func load(out string) (map[string][]float32, error) {
	vecs := map[string][]float32{}
	err := filepath.WalkDir(filepath.Join(out, "chunks"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".jsonl") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var r record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			vecs[fmt.Sprintf("%s#%d", r.Source.URI, r.Index)] = r.Embedding
		}
		return sc.Err()
	})
	return vecs, err
}

func topK(q []float32, ids []string, vecs map[string][]float32, k int, self string) ([]string, map[string]float64) {
	type hit struct {
		id  string
		cos float64
	}
	hits := make([]hit, 0, len(ids))
	all := make(map[string]float64, len(ids))
	for _, id := range ids {
		if id == self {
			continue
		}
		c := labeling.Cosine(q, vecs[id])
		hits = append(hits, hit{id, c})
		all[id] = c
	}
	sort.Slice(hits, func(i, j int) bool {
		return hits[i].cos > hits[j].cos || hits[i].cos == hits[j].cos && hits[i].id < hits[j].id
	})
	var top []string
	for _, h := range hits[:min(k, len(hits))] {
		top = append(top, h.id)
	}
	return top, all
}

func main() {
	k := flag.Int("k", 10, "neighbours compared per query")
	queries := flag.Int("queries", 200, "sample chunks used as queries")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: vectorcmp [-k 10] [-queries 200] OUT_A OUT_B")
		os.Exit(2)
	}
	a, err := load(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	b, err := load(flag.Arg(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var ids []string
	for id := range a {
		if _, ok := b[id]; ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(ids) == 0 || len(ids) != len(a) || len(ids) != len(b) {
		fmt.Fprintf(os.Stderr, "the outputs do not hold the same chunks: %d and %d, %d shared\n", len(a), len(b), len(ids))
		os.Exit(1)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var agree, total int
	var maxMove, sumMove float64
	moves := 0
	for range *queries {
		q := ids[r.IntN(len(ids))]
		ta, ca := topK(a[q], ids, a, *k, q)
		tb, cb := topK(b[q], ids, b, *k, q)
		for _, id := range ta {
			if slices.Contains(tb, id) {
				agree++
			}
		}
		total += len(ta)
		for id, c := range ca {
			d := math.Abs(c - cb[id])
			maxMove = max(maxMove, d)
			sumMove += d
			moves++
		}
	}
	fmt.Printf("%d chunks, %d queries: top-%d agreement %.4f (%d of %d); cosine moved by %.2g on average, %.2g at most\n",
		len(ids), *queries, *k, float64(agree)/float64(total), agree, total, sumMove/float64(moves), maxMove)
}
