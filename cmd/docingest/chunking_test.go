package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type chunkLine struct {
	HeadingPath []string       `json:"heading_path"`
	ParentID    string         `json:"parent_id"`
	ID          string         `json:"id"`
	Tokens      int            `json:"tokens"`
	Tokenizer   string         `json:"tokenizer"`
	Metadata    map[string]any `json:"metadata"`
}

func chunkLines(t *testing.T, path string) []chunkLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []chunkLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var c chunkLine
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// TestChunkingPerFormatAndPrefix: auto picks markdown for Markdown and recursive for the
// rest, an override switches a prefix to another strategy with its own size, and every
// chunk respects its size in the tokenizer it names.
func TestChunkingPerFormatAndPrefix(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	guide, _ := os.ReadFile("../../testdata/docs/guide.md")
	os.WriteFile(filepath.Join(src, "guide.md"), guide, 0o644)
	long := strings.Repeat("Owls hunt at night and sleep by day. Their feathers make no sound in flight. ", 60)
	os.MkdirAll(filepath.Join(src, "manuals"), 0o755)
	os.WriteFile(filepath.Join(src, "manuals", "owls.txt"), []byte(long), 0o644)
	os.WriteFile(filepath.Join(src, "plain.txt"), []byte(long), 0o644)
	os.WriteFile(filepath.Join(src, "plain.txt.metadata.json"), []byte(`{"metadataAttributes": {"shelf": "B2"}}`), 0o644)
	cfgPath := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfgPath, []byte(`chunking:
  strategy: auto
  max_size: 64
  overlap: 8
  overrides:
    - prefix: manuals/
      strategy: hierarchical
      max_size: 40
`), 0o644)
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := cli(t, nil, "run", src, "--out", out, "--config", cfgPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "3 documents: 3 processed") {
		t.Fatalf("summary (the sidecar is not a document): %s", stderr)
	}
	md := chunkLines(t, filepath.Join(out, "chunks", "guide.md.jsonl"))
	if len(md) == 0 || len(md[0].HeadingPath) == 0 {
		t.Fatalf("markdown chunks without heading paths: %+v", md)
	}
	kids, parents := 0, map[string]bool{}
	for _, c := range chunkLines(t, filepath.Join(out, "chunks", "manuals", "owls.txt.jsonl")) {
		if c.ParentID != "" {
			kids++
			if !parents[c.ParentID] {
				t.Fatalf("child before its parent or unknown parent %s", c.ParentID)
			}
			if c.Tokens > 40 {
				t.Fatalf("child of %d tokens", c.Tokens)
			}
		} else {
			parents[c.ID] = true
		}
	}
	if kids == 0 || len(parents) == 0 {
		t.Fatalf("hierarchical override not applied: %d parents, %d children", len(parents), kids)
	}
	plain := chunkLines(t, filepath.Join(out, "chunks", "plain.txt.jsonl"))
	for _, c := range plain {
		if c.ParentID != "" || c.Tokens > 64 || c.Tokenizer != "words" || c.Metadata["shelf"] != "B2" {
			t.Fatalf("plain chunk %+v", c)
		}
	}
}

func TestChunkingConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ yaml, want string }{
		{"chunking:\n  strategy: semantic\n  semantic_threshold: median\n", "chunking.semantic_threshold"},
		{"chunking:\n  parent_size: 100\n", "chunking.parent_size"},
		{"chunking:\n  overrides:\n    - prefix: a/\n      strategy: nope\n", "chunking.overrides[0].strategy"},
		{"chunking:\n  overrides:\n    - strategy: fixed\n", "chunking.overrides[0].prefix"},
		{"chunking:\n  overrides:\n    - prefix: a/\n      strategy: fixed\n      max_size: 10\n      overlap: 10\n", "chunking.overrides[0].overlap"},
	} {
		p := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(p, []byte(tc.yaml), 0o644)
		code, _, stderr := cli(t, nil, "run", t.TempDir(), "--out", t.TempDir(), "--config", p)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %s; want an error naming %s", tc.yaml, code, stderr, tc.want)
		}
	}
}
