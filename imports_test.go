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
// mod is the module path, with the slash that starts a package path below it.
const mod = "github.com/docingest/docingest/"

func TestImportBoundaries(t *testing.T) {
	t.Parallel()
	forbidden := map[string][]string{
		"extractors/...":   {"worker", "cmd/", "labeling", "storage", "embedders", "chunkers"},
		"chunkers":         {"worker", "cmd/", "labeling", "storage", "embedders", "extractors"},
		"embedders":        {"worker", "cmd/", "labeling", "extractors", "chunkers"},
		"storage":          {"worker", "cmd/", "labeling", "extractors", "chunkers", "embedders"},
		"labeling":         {"worker", "cmd/", "extractors", "chunkers", "embedders"},
		"queue/...":        {"worker", "cmd/", "labeling", "extractors", "chunkers", "embedders", "storage"},
		"review":           {"worker", "cmd/", "extractors", "chunkers", "embedders", "queue"},
		"dataset":          {"worker", "cmd/", "labeling", "extractors", "chunkers", "embedders", "queue", "review"},
		"vectorindex/...":  {"worker", "cmd/", "labeling", "extractors", "chunkers", "embedders", "queue", "review", "storage", "dataset"},
		"inventory":        {"worker", "cmd/", "labeling", "extractors", "chunkers", "embedders", "queue", "review", "dataset"},
		"internal/extsort": {""},
		"layout":           {""}, // standard library only
		"document":         {""},
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

// TestReadmeLayoutTable: the README's "Layout of the code" table names every package (or
// a parent folder of it), and names nothing that is not there.
func TestReadmeLayoutTable(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "## Layout of the code")
	if !ok {
		t.Fatal("README.md has no \"Layout of the code\" section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	var named []string
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.Contains(cells[1], "`") {
			continue
		}
		for i, part := range strings.Split(cells[1], "`") {
			if i%2 == 1 {
				named = append(named, part)
			}
		}
	}
	for _, n := range named {
		if _, err := os.Stat(n); err != nil {
			t.Errorf("README names %s, which is not in the tree", n)
		}
	}
	out, err := exec.Command("go", "list", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(pkg, mod)
		if !ok || rel == "" {
			continue
		}
		covered := false
		for _, n := range named {
			if rel == n || strings.HasPrefix(rel, n+"/") {
				covered = true
			}
		}
		if !covered {
			t.Errorf("package %s is not in the README's layout table", rel)
		}
	}
}
