package inventory

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// files is an Opener over a map of "bucket/key" to bodies.
type files map[string][]byte

func (f files) Open(_ context.Context, key string) (io.ReadCloser, error) {
	b, ok := f[key]
	if !ok {
		return nil, os.ErrNotExist
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// The schema AWS writes for a versioned CSV report with every optional field.
const csvSchema = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ObjectLockRetainUntilDate, ObjectLockMode, ObjectLockLegalHoldStatus, IntelligentTieringAccessTier, BucketKeyStatus, ChecksumAlgorithm, ObjectAccessControlList, ObjectOwner"

// csvRows are report rows as AWS writes them: every field quoted, keys URL-encoded (a
// space as %20 or +, a plus as %2B), versions and delete markers of a versioned bucket.
var csvRows = [][]string{
	{"uploads", "docs/annual%20report%202026.pdf", "v2", "true", "false", "5120", "2026-11-29T10:00:00.000Z", "3858f62230ac3c915f300c664312c63f", "STANDARD", "false", "", "SSE-S3", "", "", "", "", "DISABLED", "", "", ""},
	{"uploads", "docs/annual%20report%202026.pdf", "v1", "false", "false", "4096", "2026-11-01T10:00:00.000Z", "aaaaf62230ac3c915f300c664312c63f", "STANDARD", "false", "", "SSE-S3", "", "", "", "", "DISABLED", "", "", ""},
	{"uploads", "docs/c%2B%2B+notes.txt", "v9", "true", "false", "17", "2026-11-29T11:00:00.000Z", "d41d8cd98f00b204e9800998ecf8427e-2", "STANDARD", "true", "", "SSE-KMS", "", "", "", "", "ENABLED", "", "", ""},
	{"uploads", "docs/gone.txt", "v3", "true", "true", "", "2026-11-29T12:00:00.000Z", "", "", "", "", "", "", "", "", "", "", "", "", ""},
	{"uploads", "docs/%C3%A9t%C3%A9.md", "null", "true", "false", "3", "2026-11-28T09:00:00.000Z", "0cc175b9c0f1b6a831c399e269772661", "GLACIER", "false", "", "NOT-SSE", "", "", "", "", "DISABLED", "", "", ""},
}

func gzipCSV(t testing.TB, rows [][]string) []byte {
	var raw bytes.Buffer
	for _, r := range rows {
		q := make([]string, len(r))
		for i, f := range r {
			q[i] = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
		raw.WriteString(strings.Join(q, ",") + "\n")
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(raw.Bytes())
	zw.Close()
	return b.Bytes()
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// report writes a manifest.json and its data files into fs.
func report(t testing.TB, fs files, format, schema string, data ...[]byte) *Manifest {
	m := map[string]any{
		"sourceBucket": "uploads", "destinationBucket": "arn:aws:s3:::inventories", "version": "2016-11-30",
		"creationTimestamp": "1764410400000", "fileFormat": format, "fileSchema": schema,
	}
	var list []map[string]any
	for i, d := range data {
		key := fmt.Sprintf("uploads/all/data/file-%d.%s", i, map[string]string{"CSV": "csv.gz", "Parquet": "parquet"}[format])
		fs["inventories/"+key] = d
		list = append(list, map[string]any{"key": key, "size": len(d), "MD5checksum": md5hex(d)})
	}
	m["files"] = list
	b, _ := json.Marshal(m)
	fs["inventories/uploads/all/2025-11-29T10-00Z/manifest.json"] = b
	man, err := ReadManifest(context.Background(), fs, "inventories/uploads/all/2025-11-29T10-00Z/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	return man
}

func collect(t testing.TB, m *Manifest, fs files) ([]Object, error) {
	var out []Object
	err := m.Each(context.Background(), fs, t.TempDir(), func(o Object) error { out = append(out, o); return nil })
	return out, err
}

func TestCSVReport(t *testing.T) {
	fs := files{}
	m := report(t, fs, "CSV", csvSchema, gzipCSV(t, csvRows[:2]), gzipCSV(t, csvRows[2:]))
	if c, _ := m.Created(); !c.Equal(time.Date(2025, 11, 29, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("created %v", c)
	}
	got, err := collect(t, m, fs)
	if err != nil {
		t.Fatal(err)
	}
	want := []Object{
		{Bucket: "uploads", Key: "docs/annual report 2026.pdf", Size: 5120, ETag: "3858f62230ac3c915f300c664312c63f", Modified: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)},
		{Bucket: "uploads", Key: "docs/c++ notes.txt", Size: 17, ETag: "d41d8cd98f00b204e9800998ecf8427e-2", Modified: time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)},
		{Bucket: "uploads", Key: "docs/été.md", Size: 3, ETag: "0cc175b9c0f1b6a831c399e269772661", Modified: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("objects:\n%v\nwant (old versions and delete markers left out)\n%v", got, want)
	}
	if info := got[0].Info(); info.Key != "uploads/docs/annual report 2026.pdf" || info.ETag != want[0].ETag {
		t.Errorf("as a listing: %+v", info)
	}
	// An unversioned report: only the fields asked for, no IsLatest.
	fs = files{}
	m = report(t, fs, "CSV", "Bucket, Key, Size, ETag", gzipCSV(t, [][]string{{"uploads", "a.txt", "1", "e1"}, {"uploads", "b%2Fc.txt", "2", "e2"}}))
	if got, err := collect(t, m, fs); err != nil || len(got) != 2 || got[1].Key != "b/c.txt" {
		t.Errorf("unversioned: %v %v", got, err)
	}
}

func TestBrokenReports(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]struct {
		manifest string
		want     string
	}{
		"ORC":        {`{"sourceBucket":"uploads","destinationBucket":"arn:aws:s3:::inv","creationTimestamp":"1","fileFormat":"ORC","fileSchema":"struct<bucket:string,key:string>","files":[]}`, "ORC, which docingest cannot read"},
		"no ETag":    {`{"sourceBucket":"uploads","destinationBucket":"arn:aws:s3:::inv","creationTimestamp":"1","fileFormat":"CSV","fileSchema":"Bucket, Key, Size","files":[]}`, "no ETag field"},
		"no time":    {`{"sourceBucket":"uploads","destinationBucket":"arn:aws:s3:::inv","creationTimestamp":"yesterday","fileFormat":"CSV","fileSchema":"Bucket, Key, ETag","files":[]}`, "creationTimestamp"},
		"not json":   {`<xml/>`, "manifest.json"},
		"no bucket":  {`{"destinationBucket":"arn:aws:s3:::inv","creationTimestamp":"1","fileFormat":"CSV","fileSchema":"Bucket, Key, ETag"}`, "sourceBucket"},
		"bad format": {`{"sourceBucket":"u","destinationBucket":"arn:aws:s3:::inv","creationTimestamp":"1","fileFormat":"XLSX","fileSchema":"Bucket, Key, ETag"}`, "unknown fileFormat"},
	} {
		if _, err := ParseManifest([]byte(c.manifest)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	schema := "Bucket, Key, ETag"
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"not gzip":      {[]byte("Bucket,Key\n"), "not gzip"},
		"short row":     {gzipCSV(t, [][]string{{"uploads", "a"}}), "wrong number of fields"},
		"other bucket":  {gzipCSV(t, [][]string{{"other", "a", "e"}}), `bucket "other"`},
		"bad encoding":  {gzipCSV(t, [][]string{{"uploads", "a%zz", "e"}}), "not URL-encoded"},
		"long key":      {gzipCSV(t, [][]string{{"uploads", strings.Repeat("k", MaxKeyBytes+1), "e"}}), "key of 1025 bytes"},
		"long field":    {gzipCSV(t, [][]string{{"uploads", "a", strings.Repeat("e", MaxFieldBytes+1)}}), "a field of"},
		"no etag value": {gzipCSV(t, [][]string{{"uploads", "a", ""}}), "no ETag"},
	} {
		fs := files{}
		m := report(t, fs, "CSV", schema, c.data)
		if _, err := collect(t, m, fs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	// At the caps: a key of 1,024 bytes and a field of MaxFieldBytes are read.
	fs := files{}
	m := report(t, fs, "CSV", schema, gzipCSV(t, [][]string{{"uploads", strings.Repeat("k", MaxKeyBytes), strings.Repeat("e", MaxFieldBytes)}}))
	if got, err := collect(t, m, fs); err != nil || len(got) != 1 {
		t.Errorf("at the caps: %v", err)
	}
	// A data file replaced after the manifest was written fails its MD5.
	fs = files{}
	m = report(t, fs, "CSV", schema, gzipCSV(t, [][]string{{"uploads", "a", "e"}}))
	fs["inventories/"+m.Files[0].Key] = gzipCSV(t, [][]string{{"uploads", "b", "e"}})
	if _, err := collect(t, m, fs); err == nil || !strings.Contains(err.Error(), "MD5") {
		t.Errorf("replaced file: %v", err)
	}
	// The manifest's size cap, at the limit and one past it.
	big := files{"inv/m.json": append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), MaxManifestBytes-8)...)}
	big["inv/m.json"] = append(big["inv/m.json"], '"', '}')
	if _, err := ReadManifest(ctx, big, "inv/m.json"); err == nil || strings.Contains(err.Error(), "over") {
		t.Errorf("a manifest of exactly MaxManifestBytes: %v (want a content error, not the size cap)", err)
	}
	big["inv/m.json"] = append(big["inv/m.json"], ' ')
	if _, err := ReadManifest(ctx, big, "inv/m.json"); err == nil || !strings.Contains(err.Error(), "over") {
		t.Errorf("one byte past MaxManifestBytes: %v", err)
	}
}

// awsParquetRow is the schema AWS writes for a Parquet report (every column it can hold
// that has a simple type), so the reader is checked against columns it does not read.
type awsParquetRow struct {
	Bucket            string  `parquet:"bucket"`
	Key               string  `parquet:"key"`
	VersionID         *string `parquet:"version_id,optional"`
	IsLatest          *bool   `parquet:"is_latest,optional"`
	IsDeleteMarker    *bool   `parquet:"is_delete_marker,optional"`
	Size              *int64  `parquet:"size,optional"`
	LastModifiedDate  *int64  `parquet:"last_modified_date,optional,timestamp(millisecond)"`
	ETag              *string `parquet:"e_tag,optional"`
	StorageClass      *string `parquet:"storage_class,optional"`
	IsMultipartUpload *bool   `parquet:"is_multipart_uploaded,optional"`
	EncryptionStatus  *string `parquet:"encryption_status,optional"`
}

func ptr[T any](v T) *T { return &v }

func TestParquetReport(t *testing.T) {
	rows := []awsParquetRow{
		{Bucket: "uploads", Key: "docs/z.pdf", IsLatest: ptr(true), IsDeleteMarker: ptr(false), Size: ptr(int64(99)), LastModifiedDate: ptr(int64(1764410400000)), ETag: ptr("e-z"), StorageClass: ptr("STANDARD")},
		{Bucket: "uploads", Key: "docs/z.pdf", VersionID: ptr("old"), IsLatest: ptr(false), IsDeleteMarker: ptr(false), Size: ptr(int64(98)), ETag: ptr("e-old")},
		{Bucket: "uploads", Key: "docs/deleted.pdf", IsLatest: ptr(true), IsDeleteMarker: ptr(true)},
		{Bucket: "uploads", Key: "docs/a b.txt", Size: ptr(int64(5)), ETag: ptr("e-a")}, // not URL-encoded in Parquet
	}
	var b bytes.Buffer
	w := parquet.NewGenericWriter[awsParquetRow](&b)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	w.Close()
	fs := files{}
	m := report(t, fs, "Parquet", "message s3.inventory { required binary bucket (STRING); required binary key (STRING); optional binary version_id (STRING); optional boolean is_latest; optional boolean is_delete_marker; optional int64 size; optional int64 last_modified_date (TIMESTAMP(MILLIS,true)); optional binary e_tag (STRING); }", b.Bytes())
	got, err := collect(t, m, fs)
	if err != nil {
		t.Fatal(err)
	}
	want := []Object{
		{Bucket: "uploads", Key: "docs/z.pdf", Size: 99, ETag: "e-z", Modified: time.UnixMilli(1764410400000).UTC()},
		{Bucket: "uploads", Key: "docs/a b.txt", Size: 5, ETag: "e-a"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("objects:\n%v\nwant\n%v", got, want)
	}
	// A file that is not Parquet, and one without the e_tag column.
	fs = files{}
	m = report(t, fs, "Parquet", "message s3.inventory { required binary bucket; required binary key; optional binary e_tag; }", []byte("PAR1 but not really"))
	if _, err := collect(t, m, fs); err == nil || !strings.Contains(err.Error(), "parquet") {
		t.Errorf("not Parquet: %v", err)
	}
	type noETag struct {
		Bucket string `parquet:"bucket"`
		Key    string `parquet:"key"`
	}
	b.Reset()
	w2 := parquet.NewGenericWriter[noETag](&b)
	w2.Write([]noETag{{"uploads", "k"}})
	w2.Close()
	fs = files{}
	m = report(t, fs, "Parquet", "message s3.inventory { required binary bucket; required binary key; optional binary e_tag; }", b.Bytes())
	if _, err := collect(t, m, fs); err == nil || !strings.Contains(err.Error(), "e_tag") {
		t.Errorf("no e_tag column: %v", err)
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"sourceBucket":"uploads","destinationBucket":"arn:aws:s3:::inv","creationTimestamp":"1","fileFormat":"CSV","fileSchema":"Bucket, Key, ETag","files":[{"key":"a","size":1,"MD5checksum":"00"}]}`))
	f.Add([]byte(`{"fileFormat":"Parquet","fileSchema":"message s3.inventory { required binary bucket; }"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err == nil && (m.SourceBucket == "" || m.Bucket() == "" || len(m.Files) > MaxFiles) {
			t.Fatalf("accepted an invalid manifest: %+v", m)
		}
	})
}

// Whatever a data file holds, reading it ends with objects or an error, never a panic
// or a hang, and every object passes the checks.
func FuzzCSVData(f *testing.F) {
	f.Add(gzipCSV(f, csvRows))
	f.Add(gzipCSV(f, [][]string{{"uploads", "a", "e"}}))
	f.Add([]byte("not gzip"))
	cols := map[string]int{}
	for i, c := range strings.Split(csvSchema, ", ") {
		cols[c] = i
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		readCSV(bytes.NewReader(data), cols, "uploads", func(o Object) error {
			if check(o, "uploads") != nil {
				t.Fatalf("an object that fails the checks: %+v", o)
			}
			return nil
		})
	})
}
