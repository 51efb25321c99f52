package worker

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docingest/docingest/storage"
	"pgregory.net/rapid"
)

func TestParseSidecar(t *testing.T) {
	t.Parallel()
	attrs, err := ParseSidecar([]byte(`{"metadataAttributes": {
		"team": "search", "year": 2024, "public": true, "tags": ["a", "b"],
		"owner": {"value": {"type": "STRING", "stringValue": "ana"}, "includeForEmbedding": true},
		"pages": {"value": {"type": "NUMBER", "numberValue": 12}},
		"draft": {"value": {"type": "BOOLEAN", "booleanValue": false}},
		"langs": {"value": {"type": "STRING_LIST", "stringListValue": ["en", "fr"]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(attrs)
	want := `{"draft":false,"langs":["en","fr"],"owner":"ana","pages":12,"public":true,"tags":["a","b"],"team":"search","year":2024}`
	if string(got) != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	for _, bad := range []string{``, `[]`, `{"other": 1}`, `{"metadataAttributes": {"x": {"y": 1}}}`,
		`{"metadataAttributes": {"x": [1, 2]}}`, `{"metadataAttributes": {"x": {"value": {"type": "DATE"}}}}`, `{"metadataAttributes": {"x": null}}`} {
		if _, err := ParseSidecar([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestSidecarJoin: whatever the keys, sources come out in listing order, sidecars never
// do, and each source carries its own sidecar's token.
func TestSidecarJoin(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		names := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"a", "a.pdf", "a.pdf-1", "a.pdf.d/x", "a.pdf.z", "a/b", "ab", "b", "b.txt", "a.pdf.meta"}), 0, 10, rapid.ID[string]).Draw(rt, "names")
		var keys []string
		sidecar := map[string]string{}
		for _, n := range names {
			keys = append(keys, n)
			if rapid.Bool().Draw(rt, "has sidecar "+n) {
				keys = append(keys, n+SidecarSuffix)
				sidecar[n] = "etag-" + n + SidecarSuffix
			}
		}
		sort.Strings(keys)
		var out []Object
		j := &sidecarJoin{emit: func(o Object) error { out = append(out, o); return nil }}
		for _, k := range keys {
			if err := j.add(storage.ObjectInfo{Key: k, ETag: "etag-" + k}); err != nil {
				rt.Fatal(err)
			}
		}
		j.flush()
		var gotKeys []string
		for _, o := range out {
			gotKeys = append(gotKeys, o.Key)
			if o.SidecarETag != sidecar[o.Key] {
				rt.Fatalf("%s: sidecar token %q, want %q", o.Key, o.SidecarETag, sidecar[o.Key])
			}
		}
		want := slices.Clone(names)
		sort.Strings(want)
		if !slices.Equal(gotKeys, want) {
			rt.Fatalf("sources %q, want %q", gotKeys, want)
		}
	})
}

func TestSidecarMetadataInChunks(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "owls.txt"), []byte("Owls hunt at night. They fly without a sound."), 0o644)
	os.WriteFile(filepath.Join(src, "plain.txt"), []byte("A document without metadata."), 0o644)
	sc := filepath.Join(src, "owls.txt"+SidecarSuffix)
	os.WriteFile(sc, []byte(`{"metadataAttributes": {"topic": "birds", "year": 2024}}`), 0o644)
	os.WriteFile(filepath.Join(src, "orphan.txt"+SidecarSuffix), []byte(`{"metadataAttributes": {}}`), 0o644)
	outDir := t.TempDir()
	out, srcStore := newLocal(t, outDir), newLocal(t, src)
	p := newPipeline(t, testConfig(t, "fp"), out)

	first := run(t, p, srcStore, BatchOptions{})
	if first.Listed != 2 || first.Processed != 2 || first.Failed != 0 {
		t.Fatalf("sidecars must not be sources: %+v", first)
	}
	recs := readChunks(t, filepath.Join(outDir, "chunks", "owls.txt.jsonl"))
	if len(recs) == 0 || recs[0].Metadata["topic"] != "birds" || recs[0].Metadata["year"] != float64(2024) {
		t.Fatalf("metadata not carried: %+v", recs)
	}
	if recs := readChunks(t, filepath.Join(outDir, "chunks", "plain.txt.jsonl")); recs[0].Metadata != nil {
		t.Fatalf("metadata on a source without a sidecar: %v", recs[0].Metadata)
	}
	if s := run(t, p, srcStore, BatchOptions{}); s.Processed != 0 {
		t.Fatalf("unchanged: %+v", s)
	}
	// a changed sidecar redoes its source only
	os.WriteFile(sc, []byte(`{"metadataAttributes": {"topic": "raptors"}}`), 0o644)
	later := time.Now().Add(time.Hour)
	os.Chtimes(sc, later, later)
	if s := run(t, p, srcStore, BatchOptions{}); s.Processed != 1 || s.Skipped != 1 {
		t.Fatalf("changed sidecar: %+v", s)
	}
	if recs := readChunks(t, filepath.Join(outDir, "chunks", "owls.txt.jsonl")); recs[0].Metadata["topic"] != "raptors" {
		t.Fatalf("metadata not updated: %v", recs[0].Metadata)
	}
	// a removed sidecar too
	os.Remove(sc)
	if s := run(t, p, srcStore, BatchOptions{}); s.Processed != 1 {
		t.Fatalf("removed sidecar: %+v", s)
	}
	if recs := readChunks(t, filepath.Join(outDir, "chunks", "owls.txt.jsonl")); recs[0].Metadata != nil {
		t.Fatalf("metadata kept after the sidecar went: %v", recs[0].Metadata)
	}
	// a malformed sidecar fails its source with a clear record
	os.WriteFile(sc, []byte(`{"metadataAttributes": [1]}`), 0o644)
	if s := run(t, p, srcStore, BatchOptions{}); s.Failed != 1 {
		t.Fatalf("malformed sidecar: %+v", s)
	}
	body, _ := os.ReadFile(filepath.Join(outDir, "failed", "owls.txt.json"))
	if !strings.Contains(string(body), "metadata sidecar owls.txt.metadata.json") || !strings.Contains(string(body), `"reason": "corrupt"`) {
		t.Fatalf("failure record: %s", body)
	}
}

// More keys than the join holds between a source and its sidecar (a.txt, a.txt-0000 …
// a.txt-4199, a.txt.metadata.json): the source still gets its sidecar, and an unchanged
// folder is not reprocessed (before, it was on every run, without its metadata).
func TestSidecarPastTheJoinWindow(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("The source with metadata."), 0o644)
	os.WriteFile(filepath.Join(src, "a.txt"+SidecarSuffix), []byte(`{"metadataAttributes": {"topic": "far"}}`), 0o644)
	for i := 0; i < maxPendingSources+100; i++ {
		os.WriteFile(filepath.Join(src, fmt.Sprintf("a.txt-%04d", i)), []byte("a sibling"), 0o644)
	}
	outDir := t.TempDir()
	p := newPipeline(t, testConfig(t, "fp"), newLocal(t, outDir))
	if s := run(t, p, newLocal(t, src), BatchOptions{}); s.Failed != 0 {
		t.Fatalf("first run %+v", s)
	}
	if recs := readChunks(t, filepath.Join(outDir, "chunks", "a.txt.jsonl")); recs[0].Metadata["topic"] != "far" {
		t.Fatalf("metadata lost: %v", recs[0].Metadata)
	}
	if s := run(t, p, newLocal(t, src), BatchOptions{}); s.Processed != 0 {
		t.Fatalf("unchanged folder reprocessed: %+v", s)
	}
}
