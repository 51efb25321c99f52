package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docingest/docingest/internal/emulators"
)

// reindex --inventory plans from an S3 Inventory report in AWS's format (manifest.json
// and a gzipped CSV data file) instead of listing the bucket.
func TestReindexFromInventoryReport(t *testing.T) {
	t.Parallel()
	s3URL := emulators.GoFakeS3(t)
	c := emulators.S3Client(s3URL)
	ctx := context.Background()
	for _, b := range []string{"uploads", "out", "inventories"} {
		emulators.CreateBucket(t, c, b)
	}
	put := func(bucket, key string, body []byte) string {
		t.Helper()
		res, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Trim(aws.ToString(res.ETag), `"`)
	}
	var rows bytes.Buffer
	for i, key := range []string{"docs/first note.txt", "docs/second+note.txt", "docs/third.txt"} {
		etag := put("uploads", key, []byte(fmt.Sprintf("note %d of the inventory test", i)))
		enc := strings.NewReplacer(" ", "%20", "+", "%2B").Replace(key)
		fmt.Fprintf(&rows, "\"uploads\",\"%s\",\"%d\",\"2026-11-29T10:00:00.000Z\",\"%s\"\n", enc, 27, etag)
	}
	put("uploads", "docs/after the report.txt", []byte("not in the report"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(rows.Bytes())
	zw.Close()
	put("inventories", "uploads/all/data/part-0.csv.gz", gz.Bytes())
	sum := md5.Sum(gz.Bytes())
	manifest := func(format, source string) string {
		m, _ := json.Marshal(map[string]any{"sourceBucket": source, "destinationBucket": "arn:aws:s3:::inventories", "version": "2016-11-30",
			"creationTimestamp": "1764410400000", "fileFormat": format, "fileSchema": "Bucket, Key, Size, LastModifiedDate, ETag",
			"files": []map[string]any{{"key": "uploads/all/data/part-0.csv.gz", "size": gz.Len(), "MD5checksum": hex.EncodeToString(sum[:])}}})
		key := "uploads/all/" + format + "-" + source + "/manifest.json"
		put("inventories", key, m)
		return "s3://inventories/" + key
	}
	env := s3Env(s3URL)
	code, out := cliProcess(t, env, "reindex", "s3://uploads/docs/", "--out", "s3://out/v1", "--inventory", manifest("CSV", "uploads"))
	if code != 0 || !strings.Contains(out, "plan: new 3 ") || !strings.Contains(out, "reindex: 3 processed") {
		t.Fatalf("from the report: exit %d\n%s", code, out)
	}
	// the objects the report names were processed, the one uploaded after it was not
	for key, want := range map[string]bool{"docs/first note.txt": true, "docs/second+note.txt": true, "docs/after the report.txt": false} {
		_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("out"), Key: aws.String("v1/chunks/uploads/" + key + ".jsonl")})
		if (err == nil) != want {
			t.Errorf("%s: chunks written %v, want %v", key, err == nil, want)
		}
	}
	if code, out := cliProcess(t, env, "reindex", "s3://uploads/docs/", "--out", "s3://out/v1", "--inventory", manifest("CSV", "elsewhere"), "--dry-run"); code != exitUsage || !strings.Contains(out, `the report is of bucket "elsewhere"`) {
		t.Errorf("another bucket's report: exit %d: %s", code, out)
	}
	if code, out := cliProcess(t, env, "reindex", "s3://uploads/docs/", "--out", "s3://out/v1", "--inventory", manifest("ORC", "uploads"), "--dry-run"); code == 0 || !strings.Contains(out, "ORC") {
		t.Errorf("an ORC report: exit %d: %s", code, out)
	}
	if code, _, stderr := cli(t, nil, "reindex", "s3://uploads/docs/", "--out", "s3://out/v1", "--inventory", "s3://inventories/nothing.json", "--dry-run"); code != exitUsage || !strings.Contains(stderr, "manifest.json") {
		t.Errorf("not a manifest: exit %d: %s", code, stderr)
	}
}
