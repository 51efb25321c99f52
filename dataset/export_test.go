package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"go.yaml.in/yaml/v3"

	"github.com/docingest/docingest/internal/testenv"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// edgeFloats are values whose bits a reader must keep: signed zero, the smallest
// subnormal, values printed in exponent form, the largest float32.
var edgeFloats = []float32{float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, 1e-7, -3.4028235e38, 0.1, 1.0 / 3}

type source struct {
	key    string
	chunks []map[string]any
}

func chunkLine(src string, i int, text string, vec []float32) map[string]any {
	m := map[string]any{
		"schema": 1, "id": fmt.Sprintf("%s-%d", src, i), "source": map[string]any{"uri": src, "sha256": "ab" + src},
		"index": i, "start": i * 10, "end": i*10 + len(text), "heading_path": []string{"Top", "Part " + strconv.Itoa(i)},
		"tokens": len(strings.Fields(text)), "tokenizer": "words", "text": text, "embedding": vec,
		"embedding_model": "docingest-hashing-v4/d8/c3-5", "pipeline": "fp1",
	}
	return m
}

func writeOutput(t *testing.T, dir string, sources []source, labels map[string][]map[string]any) {
	t.Helper()
	for _, s := range sources {
		var b strings.Builder
		for _, c := range s.chunks {
			line, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(line)
			b.WriteByte('\n')
		}
		write(t, filepath.Join(dir, layout.Chunks(s.key)), b.String())
	}
	for key, lines := range labels {
		var b strings.Builder
		for _, l := range lines {
			line, _ := json.Marshal(l)
			b.Write(line)
			b.WriteByte('\n')
		}
		write(t, filepath.Join(dir, key), b.String())
	}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func autoLabel(text, chunkID, src, class string, conf float64) map[string]any {
	return map[string]any{"source": text, "docingest-id": "h-" + chunkID, "docingest-chunk-id": chunkID, "docingest-source": src,
		"topic": 0, "topic-metadata": map[string]any{"human-annotated": "no", "creation-date": "2026-11-01T00:00:00Z",
			"job-name": "labeling-job/docingest-auto-1", "classifier": "clf-1", "class-name": class, "confidence": conf,
			"type": "groundtruth/text-classification"}}
}

func humanLabel(text, hash, class string) map[string]any {
	return map[string]any{"source": text, "docingest-id": hash, "topic": 1, "topic-metadata": map[string]any{
		"human-annotated": "yes", "creation-date": "2026-11-02T00:00:00Z", "job-name": "labeling-job/docingest-7",
		"class-name": class, "type": "groundtruth/text-classification", "docingest-reviewers": []string{"ann", "bob"}}}
}

func fixture() ([]source, map[string][]map[string]any) {
	a := source{key: "docs/a.txt"}
	for i := 0; i < 5; i++ {
		vec := make([]float32, 8)
		for j := range vec {
			vec[j] = float32(math.Sin(float64(i*8+j))) / 3
		}
		copy(vec[2:], edgeFloats[:min(len(edgeFloats), i+1)])
		a.chunks = append(a.chunks, chunkLine(a.key, i, fmt.Sprintf("Chunk %d of a: \"quoted\" <b>text</b> é 日本", i), vec))
	}
	a.chunks[1]["page_start"], a.chunks[1]["page_end"] = 2, 3
	a.chunks[2]["parent_id"] = "docs/a.txt-0"
	a.chunks[3]["metadata"] = map[string]any{"team": "rivers", "year": 2026, "tags": []string{"x", "y"}}
	a.chunks[4]["label"] = map[string]any{"class": "field", "confidence": 0.93, "uncertainty": 0.07, "measure": "least_confidence", "status": "auto", "classifier": "clf-1"}
	a.chunks[0]["source"].(map[string]any)["etag"] = `"e1"`
	b := source{key: "other/b.md"}
	for i := 0; i < 3; i++ {
		b.chunks = append(b.chunks, chunkLine(b.key, i, "Chunk of b "+strconv.Itoa(i), []float32{1, 0, 0, 0, 0, 0, 0, float32(i)}))
	}
	b.chunks[0]["heading_path"] = []string{}
	labels := map[string][]map[string]any{
		layout.AutoLabels("docs/a.txt"): {autoLabel("Chunk 4 of a", "docs/a.txt-4", "docs/a.txt", "field", 0.93)},
		layout.HumanDataset("docingest-7"): {humanLabel("Some text", "h1", "office"), humanLabel("Other text", "h2", "field"),
			{"source": "failed", "docingest-id": "h3", "topic-metadata": map[string]any{"failure-reason": "ClientError", "job-name": "labeling-job/docingest-7"}}},
	}
	return []source{a, b}, labels
}

func clock(ts ...string) func() time.Time {
	i := 0
	return func() time.Time {
		v, _ := time.Parse(time.RFC3339, ts[min(i, len(ts)-1)])
		i++
		return v
	}
}

func open(t *testing.T, dir string) *storage.Local {
	t.Helper()
	l, err := storage.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestExportParquetReadByDuckDB(t *testing.T) {
	ctx := context.Background()
	outDir, toDir := t.TempDir(), t.TempDir()
	sources, labels := fixture()
	writeOutput(t, outDir, sources, labels)
	res, err := Export(ctx, open(t, outDir), open(t, toDir), Options{Attribute: "topic", Now: clock("2026-12-01T10:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged || res.Manifest.Tables["chunks"].Rows != 8 || res.Manifest.Tables["labels"].Rows != 3 {
		t.Fatalf("export: %+v", res.Manifest.Tables)
	}
	latest, err := os.ReadFile(filepath.Join(toDir, LatestKey))
	if err != nil || strings.TrimSpace(string(latest)) != res.Prefix {
		t.Fatalf("latest = %q, %v; want %s", latest, err, res.Prefix)
	}
	snap := filepath.Join(toDir, res.Prefix)

	// the schema, as DuckDB sees it
	desc := testenv.DuckDB(t, fmt.Sprintf("DESCRIBE SELECT * FROM read_parquet('%s/chunks/*.parquet')", snap))
	types := map[string]string{}
	for _, r := range desc.Rows {
		types[r["column_name"].(string)] = r["column_type"].(string)
	}
	for col, want := range map[string]string{"embedding": "FLOAT[]", "heading_path": "VARCHAR[]", "text": "VARCHAR", "index": "BIGINT",
		"page_start": "BIGINT", "metadata": "VARCHAR", "ocr_confidence": "DOUBLE",
		"source":    "STRUCT(uri VARCHAR, etag VARCHAR, version_id VARCHAR, sha256 VARCHAR)",
		"label":     "STRUCT(\"class\" VARCHAR, classes VARCHAR[], confidence DOUBLE, uncertainty DOUBLE, measure VARCHAR, status VARCHAR, classifier VARCHAR)",
		"parent_id": "VARCHAR"} {
		if types[col] != want {
			t.Errorf("column %s: DuckDB type %q, want %q", col, types[col], want)
		}
	}

	// every value, compared with the JSON Lines (vectors bit for bit)
	got := testenv.DuckDB(t, fmt.Sprintf(`SELECT id, source.uri AS uri, source.etag AS etag, "index", page_start, page_end, heading_path, text,
		list_transform(embedding, x -> CAST(x AS VARCHAR)) AS embedding, parent_id, metadata, label.class AS class, label.confidence AS confidence, pipeline
		FROM read_parquet('%s/chunks/*.parquet') ORDER BY id`, snap))
	var want []map[string]any
	for _, s := range sources {
		want = append(want, s.chunks...)
	}
	sort.Slice(want, func(i, j int) bool { return want[i]["id"].(string) < want[j]["id"].(string) })
	if len(got.Rows) != len(want) {
		t.Fatalf("DuckDB read %d rows, want %d", len(got.Rows), len(want))
	}
	for i, w := range want {
		g := got.Rows[i]
		if g["id"] != w["id"] || g["uri"] != w["source"].(map[string]any)["uri"] || g["text"] != w["text"] || g["pipeline"] != "fp1" {
			t.Errorf("row %d: %v, want %v", i, g, w)
		}
		if fmt.Sprint(g["index"]) != fmt.Sprint(w["index"]) { // BIGINT comes as a string
			t.Errorf("row %d: index %v", i, g["index"])
		}
		vec := w["embedding"].([]float32)
		gv, _ := g["embedding"].([]any)
		if len(gv) != len(vec) {
			t.Fatalf("row %d: embedding of %d values, want %d", i, len(gv), len(vec))
		}
		for j, v := range gv {
			f, err := strconv.ParseFloat(v.(string), 32) // DuckDB prints the shortest form that reads back exactly
			if err != nil || math.Float32bits(float32(f)) != math.Float32bits(vec[j]) {
				t.Errorf("row %d: embedding[%d] = %v, want %v (bit for bit)", i, j, v, vec[j])
			}
		}
		hp, _ := w["heading_path"].([]string)
		if fmt.Sprint(g["heading_path"]) != fmt.Sprint(toAny(hp)) {
			t.Errorf("row %d: heading_path %v, want %v", i, g["heading_path"], hp)
		}
	}
	byID := map[string]map[string]any{}
	for _, r := range got.Rows {
		byID[r["id"].(string)] = r
	}
	if r := byID["docs/a.txt-1"]; fmt.Sprint(r["page_start"], "/", r["page_end"]) != "2/3" {
		t.Errorf("pages: %v %v", r["page_start"], r["page_end"])
	}
	if r := byID["docs/a.txt-0"]; r["etag"] != `"e1"` || r["page_start"] != nil || r["parent_id"] != nil || r["metadata"] != nil {
		t.Errorf("chunk 0: etag %v, page %v, parent %v, metadata %v", r["etag"], r["page_start"], r["parent_id"], r["metadata"])
	}
	if r := byID["docs/a.txt-2"]; r["parent_id"] != "docs/a.txt-0" {
		t.Errorf("parent_id: %v", r["parent_id"])
	}
	var meta map[string]any
	if err := json.Unmarshal([]byte(byID["docs/a.txt-3"]["metadata"].(string)), &meta); err != nil || meta["team"] != "rivers" || meta["year"] != 2026.0 {
		t.Errorf("metadata: %v (%v)", byID["docs/a.txt-3"]["metadata"], err)
	}
	if r := byID["docs/a.txt-4"]; r["class"] != "field" || r["confidence"].(json.Number).String() != "0.93" {
		t.Errorf("label: %v %v", r["class"], r["confidence"])
	}

	// labels: auto and human, the failed item left out
	lab := testenv.DuckDB(t, fmt.Sprintf("SELECT status, class, chunk_id, reviewers, job FROM read_parquet('%s/labels/*.parquet') ORDER BY status, class", snap))
	if fmt.Sprint(lab.Rows) != "[map[chunk_id:docs/a.txt-4 class:field job:docingest-auto-1 reviewers:[] status:auto] map[chunk_id:<nil> class:field job:docingest-7 reviewers:[ann bob] status:human] map[chunk_id:<nil> class:office job:docingest-7 reviewers:[ann bob] status:human]]" {
		t.Errorf("labels: %v", lab.Rows)
	}
}

func toAny(s []string) []any {
	out := []any{}
	for _, v := range s {
		out = append(out, v)
	}
	return out
}

func TestExportIsIncrementalAndAtomic(t *testing.T) {
	ctx := context.Background()
	outDir, toDir := t.TempDir(), t.TempDir()
	sources, labels := fixture()
	writeOutput(t, outDir, sources, labels)
	now := clock("2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z", "2026-12-01T12:00:00Z", "2026-12-01T13:00:00Z")
	opt := Options{Attribute: "topic", Now: now}
	first, err := Export(ctx, open(t, outDir), open(t, toDir), opt)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Export(ctx, open(t, outDir), open(t, toDir), opt)
	if err != nil || !again.Unchanged || again.Prefix != first.Prefix {
		t.Fatalf("unchanged output exported again: %+v, %v", again, err)
	}
	// a source removed: its rows are gone from the next snapshot, the old one is kept
	if err := os.Remove(filepath.Join(outDir, layout.Chunks("other/b.md"))); err != nil {
		t.Fatal(err)
	}
	second, err := Export(ctx, open(t, outDir), open(t, toDir), opt)
	if err != nil || second.Unchanged || second.Prefix == first.Prefix {
		t.Fatalf("after a removal: %+v, %v", second, err)
	}
	if n := rows(t, filepath.Join(toDir, second.Prefix, "chunks")); n != 5 {
		t.Errorf("second snapshot: %d chunk rows, want 5", n)
	}
	if _, err := os.Stat(filepath.Join(toDir, first.Prefix, ManifestName)); err != nil {
		t.Errorf("the previous snapshot is gone: %v", err)
	}
	// a third snapshot: the first is removed (keep 2)
	if err := os.Remove(filepath.Join(outDir, layout.AutoLabels("docs/a.txt"))); err != nil {
		t.Fatal(err)
	}
	third, err := Export(ctx, open(t, outDir), open(t, toDir), opt)
	if err != nil || len(third.Removed) != 1 {
		t.Fatalf("third export: removed %v, %v", third.Removed, err)
	}
	var left []string
	_ = filepath.WalkDir(filepath.Join(toDir, first.Prefix), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("the oldest snapshot still has files: %v", left)
	}
	if m, err := Latest(ctx, open(t, toDir)); err != nil || m.Snapshot != third.Manifest.Snapshot || m.Tables["labels"].Rows != 2 {
		t.Errorf("latest: %+v, %v", m, err)
	}
}

// rows counts the rows of the Parquet files under dir with parquet-go's reader.
func rows(t *testing.T, dir string) int64 {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	var n int64
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := fh.Stat()
		pf, err := parquet.OpenFile(fh, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		n += pf.NumRows()
		fh.Close()
	}
	return n
}

func TestExportFileSizeAndPartitions(t *testing.T) {
	ctx := context.Background()
	outDir, toDir := t.TempDir(), t.TempDir()
	var sources []source
	for s := 0; s < 3; s++ {
		src := source{key: fmt.Sprintf("p%d/doc.txt", s)}
		for i := 0; i < 300; i++ {
			vec := make([]float32, 64)
			for j := range vec {
				vec[j] = float32(math.Sin(float64(s*1000 + i*64 + j)))
			}
			src.chunks = append(src.chunks, chunkLine(src.key, i, strings.Repeat(fmt.Sprintf("word%d ", i), 20), vec))
		}
		sources = append(sources, src)
	}
	writeOutput(t, outDir, sources, nil)
	res, err := Export(ctx, open(t, outDir), open(t, toDir), Options{PartitionBySource: true, FileBytes: 40 << 10, RowGroupRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	tab := res.Manifest.Tables["chunks"]
	parts := map[string]int{}
	for _, f := range tab.Files {
		parts[filepath.Dir(f.Path)]++
		if f.Bytes > 40<<10+64<<10 { // at most a batch of row groups past the threshold
			t.Errorf("%s: %d bytes for a 40 KiB target", f.Path, f.Bytes)
		}
	}
	if tab.Rows != 900 || len(parts) != 3 || parts["chunks/source_prefix=p1"] < 2 {
		t.Fatalf("rows %d, files per partition %v", tab.Rows, parts)
	}
	got := testenv.DuckDB(t, fmt.Sprintf("SELECT source_prefix, count(*) AS n FROM read_parquet('%s/chunks/*/*.parquet', hive_partitioning = true) GROUP BY 1 ORDER BY 1",
		filepath.Join(toDir, res.Prefix)))
	if fmt.Sprint(got.Rows) != "[map[n:300 source_prefix:p0] map[n:300 source_prefix:p1] map[n:300 source_prefix:p2]]" {
		t.Errorf("partitions as DuckDB reads them: %v", got.Rows)
	}
}

func TestExportHuggingFace(t *testing.T) {
	ctx := context.Background()
	outDir, toDir := t.TempDir(), t.TempDir()
	var human []map[string]any
	classes := []string{"field", "office"}
	for i := 0; i < 200; i++ {
		human = append(human, humanLabel(fmt.Sprintf("text %d", i), fmt.Sprintf("h%03d", i), classes[i%2]))
	}
	writeOutput(t, outDir, nil, map[string][]map[string]any{layout.HumanDataset("docingest-7"): human})
	res, err := Export(ctx, open(t, outDir), open(t, toDir), Options{Format: FormatHF, Attribute: "topic", ClassNames: classes})
	if err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(toDir, res.Prefix)
	files, _ := filepath.Glob(filepath.Join(snap, "data", "*.parquet"))
	names := []string{}
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	if fmt.Sprint(names) != "[test-00000-of-00001.parquet train-00000-of-00001.parquet validation-00000-of-00001.parquet]" {
		t.Fatalf("files: %v", names)
	}
	card, err := os.ReadFile(filepath.Join(snap, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var front struct {
		Configs []struct {
			DataFiles []struct{ Split, Path string } `yaml:"data_files"`
		} `yaml:"configs"`
		DatasetInfo struct {
			Features []struct {
				Name  string
				Dtype any
			}
			Splits []struct {
				Name        string
				NumExamples int `yaml:"num_examples"`
			}
		} `yaml:"dataset_info"`
	}
	parts := strings.SplitN(string(card), "---\n", 3)
	if len(parts) != 3 {
		t.Fatalf("no YAML front matter:\n%s", card)
	}
	if err := yaml.Unmarshal([]byte(parts[1]), &front); err != nil {
		t.Fatalf("dataset card: %v\n%s", err, parts[1])
	}
	total := 0
	for _, s := range front.DatasetInfo.Splits {
		n := testenv.DuckDB(t, fmt.Sprintf("SELECT count(*) AS n FROM read_parquet('%s/data/%s-*.parquet')", snap, s.Name))
		if fmt.Sprint(n.Rows[0]["n"]) != strconv.Itoa(s.NumExamples) {
			t.Errorf("split %s: card says %d rows, DuckDB reads %v", s.Name, s.NumExamples, n.Rows[0]["n"])
		}
		for _, h := range human {
			if Split(h["docingest-id"].(string)) == s.Name {
				s.NumExamples--
			}
		}
		if s.NumExamples != 0 {
			t.Errorf("split %s does not follow the id hash", s.Name)
		}
		total += len(s.Name)
	}
	if len(front.DatasetInfo.Splits) != 3 || len(front.Configs) != 1 || len(front.Configs[0].DataFiles) != 3 {
		t.Fatalf("card: %+v", front)
	}
	label := fmt.Sprint(front.DatasetInfo.Features[1].Dtype)
	if !strings.Contains(label, "0:field 1:office") {
		t.Errorf("label names in the card: %s", label)
	}
	labels := testenv.DuckDB(t, fmt.Sprintf("SELECT label, count(*) AS n FROM read_parquet('%s/data/*.parquet') GROUP BY 1 ORDER BY 1", snap))
	if fmt.Sprint(labels.Rows) != "[map[label:field n:100] map[label:office n:100]]" {
		t.Errorf("labels: %v", labels.Rows)
	}
}

func TestExportRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	outDir, toDir := t.TempDir(), t.TempDir()
	write(t, filepath.Join(outDir, "chunks/a.txt.jsonl"), "{\"id\":\"x\",\"source\":{\"uri\":\"a\"}}\nnot json\n")
	_, err := Export(ctx, open(t, outDir), open(t, toDir), Options{})
	if err == nil || !strings.Contains(err.Error(), "chunks/a.txt.jsonl, line 2") {
		t.Fatalf("bad line: %v", err)
	}
	if _, err := os.Stat(filepath.Join(toDir, LatestKey)); !os.IsNotExist(err) {
		t.Fatalf("latest written by a failed export: %v", err)
	}
	if _, err := Export(ctx, open(t, outDir), open(t, toDir), Options{Format: "csv"}); err == nil {
		t.Fatal("format csv accepted")
	}
}

func FuzzParseChunk(f *testing.F) {
	f.Add([]byte(`{"id":"a","source":{"uri":"u"},"embedding":[1,2],"label":{"class":"x"}}`))
	f.Add([]byte(`{"id":"a","source":{"uri":"u"},"metadata":{"a":[1,{"b":null}]}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseChunk(line)
		if err == nil && (r.ID == "" || r.HeadingPath == nil) {
			t.Fatalf("accepted a row without an id or heading path: %+v", r)
		}
	})
}

func FuzzParseLabel(f *testing.F) {
	b, _ := json.Marshal(autoLabel("t", "c", "s", "x", 0.5))
	f.Add(b)
	f.Add([]byte(`{"source":"t","topic":[0,1],"topic-metadata":{"class-map":{"0":"a","1":"b"},"confidence-map":{"0":0.5}}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, ok, err := ParseLabel(line, "topic")
		if ok && (err != nil || r.Classes == nil || (r.Status != "auto" && r.Status != "human")) {
			t.Fatalf("bad row: %+v, %v", r, err)
		}
	})
}
