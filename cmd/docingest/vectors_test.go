package main

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/docingest/docingest/vectorindex/vectorstest"
)

// chunkVectors reads every chunk file of an output: id → embedding and source.
func chunkVectors(t *testing.T, out string) map[string][]float32 {
	t.Helper()
	got := map[string][]float32{}
	_ = filepath.Walk(filepath.Join(out, "chunks"), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var r struct {
				ID        string    `json:"id"`
				Embedding []float32 `json:"embedding"`
			}
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			got[r.ID] = r.Embedding
		}
		return nil
	})
	return got
}

// checkIndex compares the index with the output's chunk files: the same keys, the same
// vectors bit for bit.
func checkIndex(t *testing.T, srv *vectorstest.Server, out string) map[string]vectorstest.Stored {
	t.Helper()
	idx, want := srv.Index("chunks"), chunkVectors(t, out)
	var missing, extra []string
	for id := range want {
		if _, ok := idx[id]; !ok {
			missing = append(missing, id)
		}
	}
	for id, v := range idx {
		w, ok := want[id]
		if !ok {
			extra = append(extra, id)
			continue
		}
		for i := range w {
			if math.Float32bits(w[i]) != math.Float32bits(v.Data[i]) {
				t.Fatalf("%s: index value %d is %v, the chunk file's %v", id, i, v.Data[i], w[i])
			}
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 || len(want) == 0 {
		t.Fatalf("index and chunk files differ: %d chunks; missing %v; extra %v", len(want), missing, extra)
	}
	return idx
}

func TestVectorIndexFollowsOutputs(t *testing.T) {
	t.Parallel()
	srv := vectorstest.New("vb", 384)
	defer srv.Close()
	srv.ThrottleNext = 2 // the SDK's retryer must ride over the write quota's 429s
	env := []string{"AWS_ENDPOINT_URL_S3VECTORS=" + srv.URL, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "DOCINGEST_OUTPUT_VECTOR_INDEX=s3vectors://vb/chunks"}
	dir := t.TempDir()
	src, out := filepath.Join(dir, "src"), filepath.Join(dir, "out")
	for _, name := range []string{"notes.txt", "guide.md", "page.html"} {
		b, err := os.ReadFile(filepath.Join("../../testdata/docs", name))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(src, name), string(b))
	}
	long := strings.Repeat("The survey team walked the east bank and counted herons near the mill. ", 400)
	write(t, filepath.Join(src, "long.txt"), long)

	if code, log := cliProcess(t, env, "run", src, "--out", out); code != 0 {
		t.Fatalf("run: exit %d:\n%s", code, log)
	}
	idx := checkIndex(t, srv, out)
	if srv.Throttled != 2 {
		t.Errorf("%d throttled requests, want 2", srv.Throttled)
	}
	for id, v := range idx {
		if v.Metadata["source"] == nil || v.Metadata["chunk_index"] == nil {
			t.Fatalf("%s: metadata %v", id, v.Metadata)
		}
	}
	before := len(idx)

	// a source re-chunked into fewer chunks: its surplus vectors go
	write(t, filepath.Join(src, "long.txt"), long[:len(long)/4])
	if code, log := cliProcess(t, env, "run", src, "--out", out); code != 0 {
		t.Fatalf("second run: exit %d:\n%s", code, log)
	}
	if after := len(checkIndex(t, srv, out)); after >= before {
		t.Fatalf("index has %d vectors after the source shrank, %d before", after, before)
	}

	// the index failing after the commit: the run fails, and the next one brings the index
	// up to date (the state has no marker, so the source is not skipped: its state is
	// committed again, which updates the index)
	write(t, filepath.Join(src, "long.txt"), long[:len(long)/2])
	srv.SetFailWrites(true)
	if code, log := cliProcess(t, env, "run", src, "--out", out, "--json"); code != 1 {
		t.Fatalf("run with the index failing: exit %d, want 1:\n%s", code, log)
	}
	srv.SetFailWrites(false)
	code, log := cliProcess(t, env, "run", src, "--out", out)
	if code != 0 {
		t.Fatalf("run after the index is back: exit %d:\n%s", code, log)
	}
	checkIndex(t, srv, out)

	// a removed source: reindex deletes its outputs and its vectors, also when the index
	// fails the first time (the tombstone remembers what to delete)
	if err := os.Remove(filepath.Join(src, "guide.md")); err != nil {
		t.Fatal(err)
	}
	srv.SetFailWrites(true)
	if code, log := cliProcess(t, env, "reindex", src, "--out", out); code != 1 {
		t.Fatalf("reindex with the index failing: exit %d, want 1:\n%s", code, log)
	}
	srv.SetFailWrites(false)
	if code, log := cliProcess(t, env, "reindex", src, "--out", out); code != 0 {
		t.Fatalf("reindex: exit %d:\n%s", code, log)
	}
	checkIndex(t, srv, out)
	for _, v := range srv.Index("chunks") {
		if v.Metadata["source"] == "guide.md" {
			t.Fatal("vectors of the removed guide.md are still in the index")
		}
	}

	// query through the index and by a scan: the same nearest chunk
	code, viaIndex := cliProcess(t, env, "query", notesPassage, "--out", out, "--k", "3")
	if code != 0 || !strings.Contains(viaIndex, " 1. ") || !strings.Contains(strings.SplitN(viaIndex, "\n 2.", 2)[0], "notes.txt") {
		t.Fatalf("query via the index: exit %d:\n%s", code, viaIndex)
	}
	if srv.Requests["QueryVectors"] != 1 {
		t.Fatalf("%d QueryVectors requests", srv.Requests["QueryVectors"])
	}
	code, viaScan := cliProcess(t, nil, "query", notesPassage, "--out", out, "--k", "3")
	if code != 0 || strings.SplitN(viaScan, "\n", 2)[0] != strings.SplitN(viaIndex, "\n", 2)[0] {
		t.Fatalf("query by a scan: exit %d:\n%s\nvia the index:\n%s", code, viaScan, viaIndex)
	}
}

// notesPassage is the first paragraph of testdata/docs/notes.txt: a query long enough
// that hash collisions do not decide which chunk comes first. With a phrase of a few words
// they can: docingest-hashing-v4 put page.html first for "forty-two herons and one
// kingfisher" (0.178 against 0.144), and long.txt's repeated survey sentence is close to
// any phrase about the survey.
const notesPassage = "Field notes on the river survey. The survey team walked the east bank on Monday. " +
	"Water was clear and the current slow. They counted forty-two herons and one kingfisher near the old mill."

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
