package testenv

import (
	"os"
	"strings"
	"testing"
)

// Golden compares got with the golden file, or rewrites it when update is set (review
// the diff before committing); a difference names its first line.
func Golden(t testing.TB, got, golden string, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (regenerate it: see the test)", err)
	}
	if got == string(want) {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("differs from %s at line %d:\n got: %q\nwant: %q\n(regenerate it: see the test, and review the diff)", golden, i+1, g, w)
		}
	}
}
