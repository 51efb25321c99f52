package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docingest/docingest/dataset"
	"github.com/docingest/docingest/internal/testenv"
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
	got := testenv.DuckDB(t, fmt.Sprintf("SELECT id, embedding FROM read_parquet('%s/chunks/*.parquet')", filepath.Join(to, res.Prefix)))
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
			f, _ := v.(json.Number).Float64()
			if math.Float32bits(float32(f)) != math.Float32bits(vec[j]) {
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
