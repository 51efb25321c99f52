package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/docingest/docingest/dataset"
	"github.com/docingest/docingest/internal/testenv"
	"github.com/docingest/docingest/storage"
)

// The chunks a real run writes, exported and read back by DuckDB: as many rows as lines,
// and every vector bit for bit.
func TestExportRunOutputReadByDuckDB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, to := filepath.Join(dir, "out"), filepath.Join(dir, "dataset")
	if code, _, stderr := cli(t, nil, "run", "../../testdata/docs", "--out", out); code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := cli(t, nil, "export", "--out", out, "--to", to, "--json")
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	var res dataset.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("export --json: %v\n%s", err, stdout)
	}
	want := map[string][]float32{}
	files, _ := filepath.Glob(filepath.Join(out, "chunks", "*.jsonl"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var rec struct {
				ID        string    `json:"id"`
				Embedding []float32 `json:"embedding"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatal(err)
			}
			want[rec.ID] = rec.Embedding
		}
		fh.Close()
	}
	if len(want) < 100 || res.Manifest.Tables["chunks"].Rows != int64(len(want)) {
		t.Fatalf("manifest says %d rows; the chunk files hold %d", res.Manifest.Tables["chunks"].Rows, len(want))
	}
	got := testenv.DuckDB(t, fmt.Sprintf("SELECT id, list_transform(embedding, x -> CAST(x AS VARCHAR)) AS embedding FROM read_parquet('%s/chunks/*.parquet')", filepath.Join(to, res.Prefix)))
	if len(got.Rows) != len(want) {
		t.Fatalf("DuckDB read %d rows, want %d", len(got.Rows), len(want))
	}
	for _, r := range got.Rows {
		vec := want[r["id"].(string)]
		gv := r["embedding"].([]any)
		if len(gv) != len(vec) || len(vec) != 384 {
			t.Fatalf("%s: %d values, want %d", r["id"], len(gv), len(vec))
		}
		for j, v := range gv {
			f, err := strconv.ParseFloat(v.(string), 32) // DuckDB prints the shortest form that reads back exactly
			if err != nil || math.Float32bits(float32(f)) != math.Float32bits(vec[j]) {
				t.Fatalf("%s: embedding[%d] = %v, want %v", r["id"], j, v, vec[j])
			}
		}
	}
	// unchanged: nothing written; usage errors exit 2
	if code, stdout, _ := cli(t, nil, "export", "--out", out, "--to", to); code != 0 || !strings.Contains(stdout, "unchanged since the last export") {
		t.Errorf("second export: exit %d: %s", code, stdout)
	}
	if code, _, stderr := cli(t, nil, "export", "--out", out, "--to", to, "--format", "csv"); code != 2 {
		t.Errorf("--format csv: exit %d: %s", code, stderr)
	}
	if code, _, stderr := cli(t, nil, "export", "--out", out, "--to", out); code != 2 {
		t.Errorf("--to = --out: exit %d: %s", code, stderr)
	}
	if code, _, stderr := cli(t, nil, "export", "--out", filepath.Join(dir, "empty"), "--to", to); code != 2 {
		t.Errorf("empty --out: exit %d: %s", code, stderr)
	}
}

// output.chunks_format: parquet writes the same chunks as JSON Lines, as Parquet files
// DuckDB reads; the same input gives the same bytes; switching formats leaves one file
// per source; export and query read either.
func TestParquetChunkFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jsonl, pq, again := filepath.Join(dir, "jsonl"), filepath.Join(dir, "parquet"), filepath.Join(dir, "again")
	parquetEnv := []string{"DOCINGEST_OUTPUT_CHUNKS_FORMAT=parquet"}
	if code, _, stderr := cli(t, nil, "run", "../../testdata/docs", "--out", jsonl); code != 0 {
		t.Fatalf("jsonl run: exit %d: %s", code, stderr)
	}
	for _, out := range []string{pq, again} {
		if code, _, stderr := cli(t, parquetEnv, "run", "../../testdata/docs", "--out", out); code != 0 {
			t.Fatalf("parquet run: exit %d: %s", code, stderr)
		}
	}
	ctx := context.Background()
	rowsOf := func(out, suffix string) map[string]dataset.ChunkRow {
		st, err := storage.NewLocal(out)
		if err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(out, "chunks", "*"+suffix))
		if len(files) < 8 {
			t.Fatalf("%d %s chunk files in %s", len(files), suffix, out)
		}
		rows := map[string]dataset.ChunkRow{}
		for _, f := range files {
			err := dataset.EachChunk(ctx, st, "chunks/"+filepath.Base(f), func(r dataset.ChunkRow) error {
				r.Pipeline = "" // the fingerprint names the format
				r.ID = fmt.Sprint(r.Source.URI, "#", r.Index)
				r.ParentID = nil
				rows[r.ID] = r
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		return rows
	}
	want, got := rowsOf(jsonl, ".jsonl"), rowsOf(pq, ".parquet")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("parquet chunk files differ from JSON Lines (-jsonl +parquet):\n%s", diff)
	}
	a, _ := os.ReadFile(filepath.Join(pq, "chunks", "notes.txt.parquet"))
	b, _ := os.ReadFile(filepath.Join(again, "chunks", "notes.txt.parquet"))
	if len(a) == 0 || string(a) != string(b) {
		t.Fatalf("two runs wrote different Parquet bytes (%d, %d)", len(a), len(b))
	}
	n := testenv.DuckDB(t, fmt.Sprintf("SELECT count(*) AS n, min(len(embedding)) AS d FROM read_parquet('%s/chunks/*.parquet')", pq))
	if fmt.Sprint(n.Rows[0]["n"]) != fmt.Sprint(len(want)) || fmt.Sprint(n.Rows[0]["d"]) != "384" {
		t.Fatalf("DuckDB: %v, want %d rows of 384 values", n.Rows, len(want))
	}
	// export and query read Parquet chunk files
	if code, stdout, stderr := cli(t, nil, "export", "--out", pq, "--to", filepath.Join(dir, "ds")); code != 0 || !strings.Contains(stdout, fmt.Sprintf("chunks: %d rows", len(want))) {
		t.Fatalf("export of a parquet output: exit %d: %s %s", code, stdout, stderr)
	}
	if code, stdout, stderr := cli(t, parquetEnv, "query", notesPassage, "--out", pq, "--k", "1"); code != 0 || !strings.Contains(stdout, "notes.txt #") {
		t.Fatalf("query: exit %d: %s %s", code, stdout, stderr)
	}
	// back to JSON Lines: the Parquet files go
	if code, _, stderr := cli(t, nil, "run", "../../testdata/docs", "--out", pq); code != 0 {
		t.Fatalf("jsonl run over a parquet output: exit %d: %s", code, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(pq, "chunks", "*.parquet")); len(left) != 0 {
		t.Fatalf("parquet files left after switching to jsonl: %v", left)
	}
}
