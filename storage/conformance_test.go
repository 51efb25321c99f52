package storage_test

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/storage/storagetest"
)

// TestLocalPutGetListDelete runs the store conformance suite on a folder, and checks no
// temporary file is left behind.
func TestLocalPutGetListDelete(t *testing.T) {
	t.Parallel()
	storagetest.Run(t, func(t *testing.T) storagetest.Store {
		root := t.TempDir()
		t.Cleanup(func() {
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(d.Name(), storage.TmpPrefix) {
					t.Errorf("temporary file left: %s", p)
				}
				return nil
			})
		})
		l, err := storage.NewLocal(root)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}, storagetest.Options{Conditional: true})
}
