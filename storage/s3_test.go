package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/docingest/docingest/internal/emulators"
	"github.com/docingest/docingest/storage"
	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) {
	code := m.Run()
	emulators.Stop()
	os.Exit(code)
}

// TestS3Store runs the same checks against every S3 server we test with.
func TestS3Store(t *testing.T) {
	for name, start := range map[string]func(testing.TB) string{
		"gofakes3":  emulators.GoFakeS3,
		"versitygw": emulators.Versitygw,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			client := emulators.S3Client(start(t))
			emulators.CreateBucket(t, client, "out")
			st := storage.NewS3(client, "out", "v1", storage.S3Options{PartSize: 5 << 20})

			big := bytes.Repeat([]byte("0123456789abcdef"), (12<<20)/16) // 12 MiB: a multipart upload
			objects := map[string][]byte{
				"text/a.txt":           []byte("alpha"),
				"text/dir/b c+d é.txt": []byte("beta"),
				"chunks/big.jsonl":     big,
			}
			for k, v := range objects {
				// a reader that is not seekable, as the pipeline's streamed outputs are
				if err := st.Put(ctx, k, io.MultiReader(bytes.NewReader(v))); err != nil {
					t.Fatalf("put %s: %v", k, err)
				}
			}
			for k, v := range objects {
				got, err := st.Get(ctx, k)
				if err != nil || !bytes.Equal(got, v) {
					t.Fatalf("get %s: %d bytes, %v", k, len(got), err)
				}
			}
			list := func(prefix string, rec bool) []string {
				var keys []string
				if err := st.List(ctx, prefix, rec, func(o storage.ObjectInfo) error {
					keys = append(keys, o.Key)
					if o.ETag == "" || o.Size != int64(len(objects[o.Key])) {
						t.Errorf("%s: etag %q size %d", o.Key, o.ETag, o.Size)
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				return keys
			}
			if diff := cmp.Diff([]string{"text/a.txt", "text/dir/b c+d é.txt"}, list("text/", true)); diff != "" {
				t.Errorf("recursive list:\n%s", diff)
			}
			if diff := cmp.Diff([]string{"text/a.txt"}, list("text/", false)); diff != "" {
				t.Errorf("list with delimiter:\n%s", diff)
			}
			if err := st.Delete(ctx, "text/a.txt"); err != nil {
				t.Fatal(err)
			}
			if err := st.Delete(ctx, "text/never-existed"); err != nil {
				t.Fatalf("deleting a missing key: %v", err)
			}
			if _, err := st.Get(ctx, "text/a.txt"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("get after delete: %v", err)
			}
			src := storage.NewS3Buckets(client)
			info, err := src.Stat(ctx, "out/v1/chunks/big.jsonl")
			if err != nil || info.Size != int64(len(big)) {
				t.Fatalf("stat of a multipart object: %+v %v", info, err)
			}
		})
	}
}
