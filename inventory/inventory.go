// Package inventory reads Amazon S3 Inventory reports: the way AWS advises to enumerate a
// large bucket instead of listing it. A report is a manifest.json naming its data files
// (gzipped CSV, Apache ORC or Apache Parquet) and their columns; this package reads CSV and
// Parquet reports and yields the current objects they list. ORC is refused with a clear
// error: no ORC reader for Go could be installed here.
//
// Format reference: Amazon S3 User Guide, "Locating your inventory list" (the manifest) and
// "Amazon S3 Inventory list" (the fields; in CSV the key is URL-encoded).
package inventory

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docingest/docingest/storage"
	"github.com/parquet-go/parquet-go"
)

// Limits on what a report may hold, so that a hostile or broken report cannot exhaust
// memory or disk.
const (
	// MaxManifestBytes bounds manifest.json (AWS splits large reports into many files, so
	// even a billion objects makes a manifest of a few MB).
	MaxManifestBytes = 64 << 20
	// MaxFiles bounds the data files of one report.
	MaxFiles = 100000
	// MaxKeyBytes is S3's own limit on a key's length.
	MaxKeyBytes = 1024
	// MaxFieldBytes bounds any one CSV field (an encoded key of 1,024 bytes is at most
	// 3,072 bytes).
	MaxFieldBytes = 8 << 10
)

// Manifest is manifest.json.
type Manifest struct {
	SourceBucket      string `json:"sourceBucket"`
	DestinationBucket string `json:"destinationBucket"`
	Version           string `json:"version"`
	// CreationTimestamp is milliseconds since the epoch, as a string: when the report
	// began scanning the bucket.
	CreationTimestamp string `json:"creationTimestamp"`
	FileFormat        string `json:"fileFormat"`
	FileSchema        string `json:"fileSchema"`
	Files             []File `json:"files"`
}

// File is one data file of a report.
type File struct {
	Key         string `json:"key"`
	Size        int64  `json:"size"`
	MD5Checksum string `json:"MD5checksum"`
}

// Created is when the report began scanning the bucket: objects written later may be
// missing from it, and a source's state written later is newer than the report.
func (m *Manifest) Created() (time.Time, error) {
	ms, err := strconv.ParseInt(m.CreationTimestamp, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("inventory: creationTimestamp %q: %w", m.CreationTimestamp, err)
	}
	return time.UnixMilli(ms).UTC(), nil
}

// Bucket is the destination bucket's name (the manifest gives its ARN).
func (m *Manifest) Bucket() string {
	return strings.TrimPrefix(m.DestinationBucket, "arn:aws:s3:::")
}

// Object is one current object of the report.
type Object struct {
	Bucket   string
	Key      string
	Size     int64
	ETag     string
	Modified time.Time
}

// Opener reads objects by "bucket/key" (storage.S3Buckets).
type Opener interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// ReadManifest reads and checks manifest.json at "bucket/key".
func ReadManifest(ctx context.Context, store Opener, path string) (*Manifest, error) {
	rc, err := store.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, MaxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("inventory: read %s: %w", path, err)
	}
	if len(body) > MaxManifestBytes {
		return nil, fmt.Errorf("inventory: %s is over %d bytes", path, MaxManifestBytes)
	}
	return ParseManifest(body)
}

// ParseManifest parses and checks a manifest.json.
func ParseManifest(body []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("inventory: manifest.json: %w", err)
	}
	switch {
	case m.SourceBucket == "":
		return nil, errors.New("inventory: manifest.json has no sourceBucket")
	case m.Bucket() == "":
		return nil, errors.New("inventory: manifest.json has no destinationBucket")
	case len(m.Files) > MaxFiles:
		return nil, fmt.Errorf("inventory: manifest.json lists %d files, over %d", len(m.Files), MaxFiles)
	}
	if _, err := m.Created(); err != nil {
		return nil, err
	}
	switch m.FileFormat {
	case "CSV", "Parquet":
	case "ORC":
		return nil, errors.New("inventory: the report is ORC, which docingest cannot read (no ORC reader for Go is available to it): configure the inventory as CSV or Parquet")
	default:
		return nil, fmt.Errorf("inventory: unknown fileFormat %q (want CSV or Parquet)", m.FileFormat)
	}
	for _, f := range m.Files {
		if f.Key == "" {
			return nil, errors.New("inventory: manifest.json lists a file without a key")
		}
	}
	if _, err := m.columns(); err != nil {
		return nil, err
	}
	return &m, nil
}

// The fields a report must have: without the ETag, a changed object cannot be told from
// an unchanged one.
var requiredFields = []string{"Bucket", "Key", "ETag"}

// columns maps the CSV field names of fileSchema to their positions. For Parquet the
// schema is a Parquet message; its fields are read by name instead.
func (m *Manifest) columns() (map[string]int, error) {
	cols := map[string]int{}
	if m.FileFormat == "Parquet" {
		for _, f := range requiredFields {
			if !strings.Contains(m.FileSchema, parquetName(f)) {
				return nil, fmt.Errorf("inventory: the report has no %s field: add it to the inventory configuration", f)
			}
		}
		return cols, nil
	}
	for i, f := range strings.Split(m.FileSchema, ",") {
		cols[strings.TrimSpace(f)] = i
	}
	for _, f := range requiredFields {
		if _, ok := cols[f]; !ok {
			return nil, fmt.Errorf("inventory: fileSchema %q has no %s field: add it to the inventory configuration", m.FileSchema, f)
		}
	}
	return cols, nil
}

// parquetName is a field's column name in Parquet and ORC reports (snake case).
func parquetName(field string) string {
	switch field {
	case "ETag":
		return "e_tag"
	case "VersionId":
		return "version_id"
	}
	var b strings.Builder
	for i, r := range field {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Each calls fn for every current object of the report (the latest version of each key,
// delete markers left out), file after file, in the files' order; a report's files are
// not promised to be sorted. Each data file's MD5 is checked against the manifest.
// TempDir holds a Parquet file while it is read (Parquet is read from its end).
func (m *Manifest) Each(ctx context.Context, store Opener, tempDir string, fn func(Object) error) error {
	cols, err := m.columns()
	if err != nil {
		return err
	}
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		path := m.Bucket() + "/" + f.Key
		rc, err := store.Open(ctx, path)
		if err != nil {
			return fmt.Errorf("inventory: %w", err)
		}
		sum := md5.New()
		body := io.TeeReader(rc, sum)
		if m.FileFormat == "CSV" {
			err = readCSV(body, cols, m.SourceBucket, fn)
		} else {
			err = readParquet(body, tempDir, m.SourceBucket, fn)
		}
		if err == nil {
			_, err = io.Copy(io.Discard, body) // the rest of the file, for the checksum
		}
		rc.Close()
		if err != nil {
			return fmt.Errorf("inventory: %s: %w", path, err)
		}
		if err := checkMD5(sum, f.MD5Checksum); err != nil {
			return fmt.Errorf("inventory: %s: %w", path, err)
		}
	}
	return nil
}

func checkMD5(sum hash.Hash, want string) error {
	if want == "" {
		return nil
	}
	if got := hex.EncodeToString(sum.Sum(nil)); !strings.EqualFold(got, want) {
		return fmt.Errorf("MD5 %s, the manifest says %s: the file is damaged or was replaced", got, want)
	}
	return nil
}

// current reports whether a row describes the object a listing would show: the latest
// version and not a delete marker (fields absent from unversioned reports).
func current(isLatest, isDeleteMarker string) bool {
	return (isLatest == "" || strings.EqualFold(isLatest, "true")) && !strings.EqualFold(isDeleteMarker, "true")
}

func readCSV(r io.Reader, cols map[string]int, bucket string, fn func(Object) error) error {
	gz, err := gzip.NewReader(bufio.NewReaderSize(r, 256<<10))
	if err != nil {
		return fmt.Errorf("not gzip: %w", err)
	}
	cr := csv.NewReader(gz)
	cr.FieldsPerRecord = len(cols)
	cr.ReuseRecord = true
	field := func(rec []string, name string) string {
		if i, ok := cols[name]; ok {
			return rec[i]
		}
		return ""
	}
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("csv: %w", err)
		}
		for _, f := range rec {
			if len(f) > MaxFieldBytes {
				return fmt.Errorf("csv line %d: a field of %d bytes", line, len(f))
			}
		}
		if !current(field(rec, "IsLatest"), field(rec, "IsDeleteMarker")) {
			continue
		}
		key, err := url.QueryUnescape(field(rec, "Key"))
		if err != nil {
			return fmt.Errorf("csv line %d: key %q is not URL-encoded: %w", line, field(rec, "Key"), err)
		}
		o := Object{Bucket: field(rec, "Bucket"), Key: key, ETag: field(rec, "ETag")}
		if s := field(rec, "Size"); s != "" {
			if o.Size, err = strconv.ParseInt(s, 10, 64); err != nil {
				return fmt.Errorf("csv line %d: size %q", line, s)
			}
		}
		if s := field(rec, "LastModifiedDate"); s != "" {
			if o.Modified, err = time.Parse(time.RFC3339Nano, s); err != nil {
				return fmt.Errorf("csv line %d: last modified %q", line, s)
			}
		}
		if err := check(o, bucket); err != nil {
			return fmt.Errorf("csv line %d: %w", line, err)
		}
		if err := fn(o); err != nil {
			return err
		}
	}
}

func check(o Object, bucket string) error {
	switch {
	case o.Bucket != bucket:
		return fmt.Errorf("object of bucket %q in the report of %q", o.Bucket, bucket)
	case o.Key == "" || len(o.Key) > MaxKeyBytes:
		return fmt.Errorf("key of %d bytes", len(o.Key))
	case o.ETag == "":
		return fmt.Errorf("%s has no ETag", o.Key)
	case o.Size < 0:
		return fmt.Errorf("%s has a negative size", o.Key)
	}
	return nil
}

// parquetRow holds the columns of a Parquet report that docingest uses (AWS's schema
// names; the other columns are not read).
type parquetRow struct {
	Bucket         string `parquet:"bucket"`
	Key            string `parquet:"key"`
	IsLatest       *bool  `parquet:"is_latest,optional"`
	IsDeleteMarker *bool  `parquet:"is_delete_marker,optional"`
	Size           *int64 `parquet:"size,optional"`
	// LastModifiedDate is TIMESTAMP(MILLIS) in AWS's schema.
	LastModifiedDate *int64  `parquet:"last_modified_date,optional"`
	ETag             *string `parquet:"e_tag,optional"`
}

func readParquet(r io.Reader, tempDir, bucket string, fn func(Object) error) error {
	// Parquet's footer is at the end: spool the file to disk (unlinked at once).
	f, err := os.CreateTemp(tempDir, "docingest-inventory-*")
	if err != nil {
		return err
	}
	os.Remove(f.Name())
	defer f.Close()
	size, err := io.Copy(f, r)
	if err != nil {
		return err
	}
	pf, err := parquet.OpenFile(f, size)
	if err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	for _, name := range []string{"bucket", "key", "e_tag"} {
		if _, ok := pf.Schema().Lookup(name); !ok {
			return fmt.Errorf("parquet: no %s column", name)
		}
	}
	rows := parquet.NewGenericReader[parquetRow](pf)
	defer rows.Close()
	buf := make([]parquetRow, 512)
	for {
		n, err := rows.Read(buf)
		for _, row := range buf[:n] {
			latest, deleted := "", ""
			if row.IsLatest != nil {
				latest = strconv.FormatBool(*row.IsLatest)
			}
			if row.IsDeleteMarker != nil {
				deleted = strconv.FormatBool(*row.IsDeleteMarker)
			}
			if !current(latest, deleted) {
				continue
			}
			o := Object{Bucket: row.Bucket, Key: row.Key}
			if row.ETag != nil {
				o.ETag = *row.ETag
			}
			if row.Size != nil {
				o.Size = *row.Size
			}
			if row.LastModifiedDate != nil {
				o.Modified = time.UnixMilli(*row.LastModifiedDate).UTC()
			}
			if cerr := check(o, bucket); cerr != nil {
				return fmt.Errorf("parquet: %w", cerr)
			}
			if ferr := fn(o); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
	}
}

// Info is an object as a listing of the source would give it ("bucket/key", as
// storage.S3Buckets lists).
func (o Object) Info() storage.ObjectInfo {
	return storage.ObjectInfo{Key: o.Bucket + "/" + o.Key, Size: o.Size, ETag: strings.Trim(o.ETag, `"`), Modified: o.Modified}
}
