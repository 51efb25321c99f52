package testenv

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// TextChunks reads the files matching pattern (for benchmarks, the extractor tests'
// golden texts: real manuals) and cuts them into pieces of about n bytes at character
// boundaries. It returns the pieces and their total size.
func TextChunks(t testing.TB, pattern string, n int) ([]string, int) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s (%v)", pattern, err)
	}
	var chunks []string
	size := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for s := string(data); len(s) > 0; {
			k := min(len(s), n)
			for k < len(s) && !utf8.RuneStart(s[k]) {
				k++
			}
			chunks = append(chunks, s[:k])
			size += k
			s = s[k:]
		}
	}
	return chunks, size
}
