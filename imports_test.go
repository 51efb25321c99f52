package docingest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportBoundaries fails when a lower package imports a higher one: the stages,
// storage and labeling must never depend on worker or cmd (ARCHITECTURE.md, "Packages"),
// and the leaf packages depend on nothing of ours but document.
func TestImportBoundaries(t *testing.T) {
	t.Parallel()
	const mod = "github.com/docingest/docingest/"
	forbidden := map[string][]string{
		"extractors": {"worker", "cmd/", "labeling", "storage", "embedders", "chunkers"},
		"chunkers":   {"worker", "cmd/", "labeling", "storage", "embedders", "extractors"},
		"embedders":  {"worker", "cmd/", "labeling", "extractors", "chunkers"},
		"storage":    {"worker", "cmd/", "labeling", "extractors", "chunkers", "embedders"},
		"labeling":   {"worker", "cmd/", "extractors", "chunkers", "embedders"},
		"layout":     {""}, // standard library only
		"document":   {""},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Dir}} {{join .GoFiles \" \"}}", "./"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps ./%s: %v", pkg, err)
		}
		var deps []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			deps = append(deps, f[0])
			if strings.HasPrefix(f[0], mod) {
				// Open our sources so that go test's cache sees them: a changed import
				// reruns the test instead of replaying a cached pass.
				// The folder is opened too, so that a new file counts.
				for _, name := range append([]string{"."}, f[2:]...) {
					if fh, err := os.Open(filepath.Join(f[1], name)); err == nil {
						fh.Close()
					}
				}
			}
		}
		if len(deps) < 2 {
			t.Fatalf("go list -deps ./%s listed %d packages: the check would prove nothing", pkg, len(deps))
		}
		for _, dep := range deps {
			rest, ours := strings.CutPrefix(dep, mod)
			if !ours || rest == pkg {
				continue
			}
			for _, b := range bad {
				if strings.HasPrefix(rest, b) {
					t.Errorf("%s imports %s (directly or through another package)", pkg, dep)
				}
			}
		}
	}
}
