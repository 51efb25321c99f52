// Package vectorindex writes chunk embeddings into Amazon S3 Vectors (a vector bucket's
// index, which Bedrock Knowledge Bases can also use) and queries them.
package vectorindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/s3vectors"
	"github.com/aws/aws-sdk-go-v2/service/s3vectors/document"
	"github.com/aws/aws-sdk-go-v2/service/s3vectors/types"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"
)

// The service's documented limits (Amazon S3 User Guide, "S3 Vectors: Limitations and
// restrictions"; API reference for PutVectors, DeleteVectors and QueryVectors).
const (
	MaxDimensions         = 4096     // dimension value per vector: 1 to 4,096
	MaxPerPut             = 500      // vectors per PutVectors call
	MaxPerDelete          = 500      // vectors per DeleteVectors call
	MaxPayloadBytes       = 20 << 20 // request payload size: up to 20 MiB
	MaxFilterableMetadata = 2 << 10  // filterable metadata per vector: up to 2 KB
	MaxMetadataKeys       = 50       // total metadata keys per vector: up to 50
	MaxKeyLength          = 1024     // a vector key: 1 to 1,024 characters
	MaxTopK               = 100      // top-K results per QueryVectors request
	// VectorsPerSecond is the documented write quota of one index: combined vectors
	// inserted and deleted per second (2,500), with at most 1,000 PutVectors and
	// DeleteVectors requests per second.
	VectorsPerSecond  = 2500
	RequestsPerSecond = 1000
)

// Client is the part of the S3 Vectors API the index uses.
type Client interface {
	PutVectors(ctx context.Context, in *s3vectors.PutVectorsInput, opts ...func(*s3vectors.Options)) (*s3vectors.PutVectorsOutput, error)
	DeleteVectors(ctx context.Context, in *s3vectors.DeleteVectorsInput, opts ...func(*s3vectors.Options)) (*s3vectors.DeleteVectorsOutput, error)
	QueryVectors(ctx context.Context, in *s3vectors.QueryVectorsInput, opts ...func(*s3vectors.Options)) (*s3vectors.QueryVectorsOutput, error)
}

// Vector is one chunk's embedding with the metadata queries can filter on.
type Vector struct {
	ID          string
	Data        []float32
	Source      string
	Index       int
	Page        int
	HeadingPath []string
	Label       string
}

// Match is a query result.
type Match struct {
	ID       string
	Distance float32
	Source   string
	Index    int
	Page     int
	Heading  []string
	Label    string
}

// Location names an index: s3vectors://<vector bucket>/<index>.
type Location struct{ Bucket, Index string }

// ParseLocation reads s3vectors://<vector bucket>/<index>.
func ParseLocation(s string) (Location, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3vectors" || u.Host == "" {
		return Location{}, fmt.Errorf("%q: want s3vectors://<vector bucket>/<index>", s)
	}
	idx := strings.Trim(u.Path, "/")
	if idx == "" || strings.Contains(idx, "/") {
		return Location{}, fmt.Errorf("%q: want s3vectors://<vector bucket>/<index>", s)
	}
	return Location{Bucket: u.Host, Index: idx}, nil
}

// Index writes to and queries one S3 Vectors index. Its limiter is shared by everything
// in the process that writes (create one Index per process and index).
type Index struct {
	client   Client
	loc      Location
	vectors  *rate.Limiter
	requests *rate.Limiter
}

// New returns an Index whose writes stay under perSecond vectors a second (0: the
// documented quota of one index, VectorsPerSecond; several processes writing to one
// index share it, so each should get its part).
func New(client Client, loc Location, perSecond int) *Index {
	if perSecond <= 0 || perSecond > VectorsPerSecond {
		perSecond = VectorsPerSecond
	}
	return &Index{client: client, loc: loc,
		vectors:  rate.NewLimiter(rate.Limit(perSecond), max(MaxPerPut, MaxPerDelete)),
		requests: rate.NewLimiter(RequestsPerSecond, RequestsPerSecond)}
}

func (x *Index) wait(ctx context.Context, n int) error {
	if err := x.requests.Wait(ctx); err != nil {
		return err
	}
	return x.vectors.WaitN(ctx, n)
}

// metadata is a vector's filterable metadata, within the 2 KB the service allows: the
// heading path loses entries from its end, then long titles are cut, until it fits.
func metadata(v Vector) map[string]any {
	m := map[string]any{"source": v.Source, "chunk_index": v.Index}
	if v.Page > 0 {
		m["page"] = v.Page
	}
	if v.Label != "" {
		m["label"] = v.Label
	}
	size := func() int { b, _ := json.Marshal(m); return len(b) }
	if len(v.HeadingPath) > 0 {
		hp := append([]string(nil), v.HeadingPath...)
		for {
			m["heading_path"] = hp
			if size() <= MaxFilterableMetadata || len(hp) == 0 {
				break
			}
			if len(hp) > 1 {
				hp = hp[:len(hp)-1]
			} else {
				hp[0] = truncate(hp[0], len(hp[0])/2)
				if hp[0] == "" {
					hp = hp[:0]
				}
			}
		}
		if len(hp) == 0 {
			delete(m, "heading_path")
		}
	}
	if size() > MaxFilterableMetadata { // a very long source key: keep its end
		s := v.Source
		m["source"] = s[len(s)-len(truncate(reverse(s), 1000)):]
	}
	return m
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// Upsert writes vectors (an existing key is replaced), in calls of at most 500 vectors
// and 20 MiB. A zero vector (the cosine metric refuses it) is left out and reported.
func (x *Index) Upsert(ctx context.Context, vs []Vector) (skipped []string, err error) {
	var batch []types.PutInputVector
	bytes := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := x.wait(ctx, len(batch)); err != nil {
			return err
		}
		_, err := x.client.PutVectors(ctx, &s3vectors.PutVectorsInput{VectorBucketName: &x.loc.Bucket, IndexName: &x.loc.Index, Vectors: batch})
		batch, bytes = nil, 0
		if err != nil {
			return fmt.Errorf("s3vectors PutVectors to %s/%s: %w", x.loc.Bucket, x.loc.Index, err)
		}
		return nil
	}
	for _, v := range vs {
		if len(v.Data) == 0 || len(v.Data) > MaxDimensions {
			return skipped, fmt.Errorf("vector %s: %d dimensions; S3 Vectors takes 1 to %d", v.ID, len(v.Data), MaxDimensions)
		}
		if zero(v.Data) {
			skipped = append(skipped, v.ID)
			continue
		}
		id := v.ID
		meta := metadata(v)
		size := 64 + len(id) + 16*len(v.Data) + 2*MaxFilterableMetadata // JSON numbers, generously
		if len(batch) == MaxPerPut || bytes+size > MaxPayloadBytes {
			if err := flush(); err != nil {
				return skipped, err
			}
		}
		batch = append(batch, types.PutInputVector{Key: &id, Data: &types.VectorDataMemberFloat32{Value: v.Data}, Metadata: document.NewLazyDocument(meta)})
		bytes += size
	}
	return skipped, flush()
}

func zero(v []float32) bool {
	for _, f := range v {
		if f != 0 {
			return false
		}
	}
	return true
}

// Delete removes vectors by key, in calls of at most 500 keys; missing keys are not an
// error (the service ignores them).
func (x *Index) Delete(ctx context.Context, ids []string) error {
	for len(ids) > 0 {
		n := min(len(ids), MaxPerDelete)
		if err := x.wait(ctx, n); err != nil {
			return err
		}
		if _, err := x.client.DeleteVectors(ctx, &s3vectors.DeleteVectorsInput{VectorBucketName: &x.loc.Bucket, IndexName: &x.loc.Index, Keys: ids[:n]}); err != nil {
			return fmt.Errorf("s3vectors DeleteVectors from %s/%s: %w", x.loc.Bucket, x.loc.Index, err)
		}
		ids = ids[n:]
	}
	return nil
}

// Query returns the k nearest vectors (k at most 100).
func (x *Index) Query(ctx context.Context, vec []float32, k int) ([]Match, error) {
	k = min(max(k, 1), MaxTopK)
	top := int32(k)
	out, err := x.client.QueryVectors(ctx, &s3vectors.QueryVectorsInput{VectorBucketName: &x.loc.Bucket, IndexName: &x.loc.Index,
		QueryVector: &types.VectorDataMemberFloat32{Value: vec}, TopK: &top, ReturnDistance: true, ReturnMetadata: true})
	if err != nil {
		return nil, fmt.Errorf("s3vectors QueryVectors on %s/%s: %w", x.loc.Bucket, x.loc.Index, err)
	}
	var res []Match
	for _, v := range out.Vectors {
		m := Match{}
		if v.Key != nil {
			m.ID = *v.Key
		}
		if v.Distance != nil {
			m.Distance = *v.Distance
		}
		if v.Metadata != nil {
			var meta struct {
				Source      string   `json:"source"`
				Index       int      `json:"chunk_index"`
				Page        int      `json:"page"`
				HeadingPath []string `json:"heading_path"`
				Label       string   `json:"label"`
			}
			if err := v.Metadata.UnmarshalSmithyDocument(&meta); err == nil {
				m.Source, m.Index, m.Page, m.Heading, m.Label = meta.Source, meta.Index, meta.Page, meta.HeadingPath, meta.Label
			}
		}
		res = append(res, m)
	}
	return res, nil
}

// Permanent reports whether an error from the service will not go away by trying again
// (a missing index or bucket, no access, a request the service finds invalid), as
// storage does for S3; throttling and server errors are transient (the SDK's retryer has
// already retried them).
func Permanent(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "AccessDeniedException", "NotFoundException", "ValidationException", "ConflictException":
		return true
	}
	return false
}
