package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/docingest/docingest/internal/emulators"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/storage/storagetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	emulators.Stop()
	os.Exit(code)
}

// TestS3Store runs the store conformance suite against every S3 server we test with,
// with objects past the multipart threshold.
func TestS3Store(t *testing.T) {
	for name, srv := range map[string]struct {
		start       func(testing.TB) string
		conditional bool
	}{
		"gofakes3":  {emulators.GoFakeS3, false},
		"versitygw": {emulators.Versitygw, true},
	} {
		t.Run(name, func(t *testing.T) {
			client := emulators.S3Client(srv.start(t))
			n := 0
			storagetest.Run(t, func(t *testing.T) storagetest.Store {
				n++
				bucket := fmt.Sprintf("out%d", n)
				emulators.CreateBucket(t, client, bucket)
				return storage.NewS3(client, bucket, "v1/", storage.S3Options{PartSize: 5 << 20})
			}, storagetest.Options{BigObject: 12 << 20, Conditional: srv.conditional})
		})
	}
}

// TestS3BucketsStat: a source across buckets reports a multipart object's size.
func TestS3BucketsStat(t *testing.T) {
	ctx := context.Background()
	client := emulators.S3Client(emulators.GoFakeS3(t))
	emulators.CreateBucket(t, client, "out")
	st := storage.NewS3(client, "out", "v1/", storage.S3Options{PartSize: 5 << 20})
	big := bytes.Repeat([]byte("0123456789abcdef"), (12<<20)/16)
	if err := st.Put(ctx, "chunks/big.jsonl", io.MultiReader(bytes.NewReader(big))); err != nil {
		t.Fatal(err)
	}
	info, err := storage.NewS3Buckets(client).Stat(ctx, "out/v1/chunks/big.jsonl")
	if err != nil || info.Size != int64(len(big)) {
		t.Fatalf("stat of a multipart object: %+v %v", info, err)
	}
}
