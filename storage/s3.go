package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/docingest/docingest/document"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Options tune writes to S3.
type S3Options struct {
	// KMSKeyID, when set, encrypts every object written with SSE-KMS under this key.
	KMSKeyID string
	// PartSize is the multipart part size for large outputs (default 8 MiB).
	PartSize int64
}

// S3 is a prefix of one bucket, used as an output store: keys are relative to the prefix.
// Writes stream: large outputs go up as multipart uploads, small ones as one PutObject.
type S3 struct {
	client   *s3.Client
	uploader *transfermanager.Client
	bucket   string
	prefix   string
	opts     S3Options
}

// NewS3 returns the store for s3://bucket/prefix. prefix may be empty; a non-empty one
// is used with a trailing slash.
func NewS3(client *s3.Client, bucket, prefix string, opts S3Options) *S3 {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if opts.PartSize <= 0 {
		opts.PartSize = 8 << 20
	}
	up := transfermanager.New(client, func(o *transfermanager.Options) {
		o.PartSizeBytes = opts.PartSize
		o.MultipartUploadThreshold = opts.PartSize
		o.Concurrency = 2
	})
	return &S3{client: client, uploader: up, bucket: bucket, prefix: prefix, opts: opts}
}

// ParseS3URI splits "s3://bucket/prefix" into bucket and prefix.
func ParseS3URI(uri string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URI", uri)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket", uri)
	}
	return bucket, prefix, nil
}

func (s *S3) List(ctx context.Context, prefix string, recursive bool, fn func(ObjectInfo) error) error {
	return listS3(ctx, s.client, s.bucket, s.prefix+prefix, recursive, func(o ObjectInfo) error {
		o.Key = strings.TrimPrefix(o.Key, s.prefix)
		return fn(o)
	})
}

// ListAfter lists the keys under prefix that sort after startAfter (recursively, in S3's
// order: UTF-8 binary), starting the listing there rather than at the prefix.
func (s *S3) ListAfter(ctx context.Context, prefix, startAfter string, fn func(ObjectInfo) error) error {
	return listS3After(ctx, s.client, s.bucket, s.prefix+prefix, s.prefix+startAfter, true, func(o ObjectInfo) error {
		o.Key = strings.TrimPrefix(o.Key, s.prefix)
		return fn(o)
	})
}

func listS3(ctx context.Context, client *s3.Client, bucket, prefix string, recursive bool, fn func(ObjectInfo) error) error {
	return listS3After(ctx, client, bucket, prefix, "", recursive, fn)
}

func listS3After(ctx context.Context, client *s3.Client, bucket, prefix, startAfter string, recursive bool, fn func(ObjectInfo) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if !recursive {
		in.Delimiter = aws.String("/")
	}
	if startAfter > prefix {
		in.StartAfter = aws.String(startAfter)
	}
	pages := s3.NewListObjectsV2Paginator(client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("s3: list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			info := ObjectInfo{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ETag: strings.Trim(aws.ToString(o.ETag), `"`)}
			if o.LastModified != nil {
				info.Modified = *o.LastModified
			}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	return openS3(ctx, s.client, s.bucket, s.prefix+key)
}

func openS3(ctx context.Context, client *s3.Client, bucket, key string) (io.ReadCloser, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, s3Err("get", bucket, key, err)
	}
	return out.Body, nil
}

func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	rc, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("s3: read s3://%s/%s%s: %w", s.bucket, s.prefix, key, err)
	}
	return b, nil
}

// Put streams r to the object. It returns once S3 has acknowledged the whole object, so
// the object is durable when Put returns nil.
//
// Bodies up to smallObject bytes go up as one PutObject from memory; larger ones stream
// as a multipart upload, so memory per Put stays at a few parts whatever the size.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) error {
	head := make([]byte, 0, 64<<10)
	for len(head) < smallObject {
		if len(head) == cap(head) {
			head = append(head, 0)[:len(head)]
		}
		n, err := r.Read(head[len(head):cap(head)])
		head = head[:len(head)+n]
		if err == io.EOF {
			return s.putSmall(ctx, key, head)
		}
		if err != nil {
			return s3Err("put", s.bucket, s.prefix+key, err)
		}
	}
	in := &transfermanager.UploadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key), Body: io.MultiReader(bytes.NewReader(head), r)}
	if s.opts.KMSKeyID != "" {
		in.ServerSideEncryption = "aws:kms"
		in.SSEKMSKeyID = aws.String(s.opts.KMSKeyID)
	}
	if _, err := s.uploader.UploadObject(ctx, in); err != nil {
		return s3Err("put", s.bucket, s.prefix+key, err)
	}
	return nil
}

// smallObject is the size below which an output is sent in one PutObject request.
const smallObject = 4 << 20

func (s *S3) putSmall(ctx context.Context, key string, body []byte) error {
	in := &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key), Body: bytes.NewReader(body)}
	if s.opts.KMSKeyID != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(s.opts.KMSKeyID)
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return s3Err("put", s.bucket, s.prefix+key, err)
	}
	return nil
}

func (s *S3) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
	if err != nil && !errors.Is(s3Err("delete", s.bucket, key, err), ErrNotFound) {
		return s3Err("delete", s.bucket, s.prefix+key, err)
	}
	return nil
}

// s3Err wraps an SDK error with the object named; missing keys and buckets wrap ErrNotFound.
func s3Err(op, bucket, key string, err error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var api smithy.APIError
	if errors.As(err, &nsk) || errors.As(err, &nf) || (errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NoSuchBucket")) {
		return fmt.Errorf("s3: %s s3://%s/%s: %w (%v)", op, bucket, key, ErrNotFound, err)
	}
	if errors.As(err, &api) && api.ErrorCode() == "KeyTooLongError" {
		return document.Permanentf(document.ReasonUnsupported, "s3: %s s3://%s/%s: the key is over S3's 1,024 bytes: %w (%v)", op, bucket, key, ErrNameTooLong, err)
	}
	if errors.As(err, &api) && (api.ErrorCode() == "PreconditionFailed" || api.ErrorCode() == "ConditionalRequestConflict") {
		return fmt.Errorf("s3: %s s3://%s/%s: %w (%v)", op, bucket, key, ErrPrecondition, err)
	}
	return fmt.Errorf("s3: %s s3://%s/%s: %w", op, bucket, key, err)
}

// S3Buckets reads objects of any bucket by keys of the form "bucket/key": the source of
// the worker, whose events may name several buckets, and of `run s3://bucket/prefix`.
type S3Buckets struct {
	client *s3.Client
}

// NewS3Buckets returns the source.
func NewS3Buckets(client *s3.Client) *S3Buckets { return &S3Buckets{client: client} }

// List lists the objects under prefix ("bucket/some/prefix"); keys keep the bucket.
func (b *S3Buckets) List(ctx context.Context, prefix string, recursive bool, fn func(ObjectInfo) error) error {
	bucket, p, _ := strings.Cut(prefix, "/")
	if bucket == "" {
		return errors.New("s3: listing needs a bucket")
	}
	return listS3(ctx, b.client, bucket, p, recursive, func(o ObjectInfo) error {
		o.Key = bucket + "/" + o.Key
		return fn(o)
	})
}

// ListAfter lists "bucket/prefix" from after "bucket/startAfter" (see S3.ListAfter).
func (b *S3Buckets) ListAfter(ctx context.Context, prefix, startAfter string, fn func(ObjectInfo) error) error {
	bucket, p, _ := strings.Cut(prefix, "/")
	if bucket == "" {
		return errors.New("s3: listing needs a bucket")
	}
	after, in := strings.CutPrefix(startAfter, bucket+"/")
	if !in {
		if startAfter > bucket+"/" {
			return nil // every key of the bucket sorts before startAfter
		}
		after = ""
	}
	return listS3After(ctx, b.client, bucket, p, after, true, func(o ObjectInfo) error {
		o.Key = bucket + "/" + o.Key
		return fn(o)
	})
}

// Open reads "bucket/key".
func (b *S3Buckets) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	bucket, k, ok := strings.Cut(key, "/")
	if !ok || bucket == "" || k == "" {
		return nil, fmt.Errorf("s3: %q is not bucket/key", key)
	}
	return openS3(ctx, b.client, bucket, k)
}

// OpenInfo reads "bucket/key" and reports its size, ETag and version from the same
// response.
func (b *S3Buckets) OpenInfo(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	bucket, k, ok := strings.Cut(key, "/")
	if !ok || bucket == "" || k == "" {
		return nil, ObjectInfo{}, fmt.Errorf("s3: %q is not bucket/key", key)
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
	if err != nil {
		return nil, ObjectInfo{}, s3Err("get", bucket, k, err)
	}
	info := ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ETag: strings.Trim(aws.ToString(out.ETag), `"`), VersionID: aws.ToString(out.VersionId)}
	if out.LastModified != nil {
		info.Modified = *out.LastModified
	}
	return out.Body, info, nil
}

// Stat returns the current size, ETag and version of "bucket/key".
func (b *S3Buckets) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	bucket, k, ok := strings.Cut(key, "/")
	if !ok {
		return ObjectInfo{}, fmt.Errorf("s3: %q is not bucket/key", key)
	}
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
	if err != nil {
		return ObjectInfo{}, s3Err("head", bucket, k, err)
	}
	info := ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ETag: strings.Trim(aws.ToString(out.ETag), `"`), VersionID: aws.ToString(out.VersionId)}
	if out.LastModified != nil {
		info.Modified = *out.LastModified
	}
	return info, nil
}

// GetVersion returns a small object with its ETag, for a later PutIf.
func (s *S3) GetVersion(ctx context.Context, key string) ([]byte, string, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
	if err != nil {
		return nil, "", s3Err("get", s.bucket, s.prefix+key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, "", fmt.Errorf("s3: read s3://%s/%s%s: %w", s.bucket, s.prefix, key, err)
	}
	return b, aws.ToString(out.ETag), nil
}

// PutIf writes a small object only if it does not exist (ifMatch "": If-None-Match: *) or
// if its ETag is still ifMatch: S3's conditional writes, so that of two writers racing
// exactly one succeeds; the other gets ErrPrecondition.
func (s *S3) PutIf(ctx context.Context, key string, body []byte, ifMatch string) error {
	in := &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key), Body: bytes.NewReader(body)}
	if ifMatch == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(ifMatch)
	}
	if s.opts.KMSKeyID != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(s.opts.KMSKeyID)
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "NotImplemented" {
			return fmt.Errorf("s3: conditional put s3://%s/%s%s: %w (%v)", s.bucket, s.prefix, key, ErrNoConditionalWrites, err)
		}
		return s3Err("conditional put", s.bucket, s.prefix+key, err)
	}
	return nil
}

// URI returns the s3:// address of a key of this store.
func (s *S3) URI(key string) string { return "s3://" + s.bucket + "/" + s.prefix + key }
