package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Location is where documents are read from or outputs are written to, as a command line
// names it: a local folder ("./out") or an S3 bucket and prefix ("s3://bucket/prefix/").
type Location struct {
	// Dir is a local location's folder (absolute); "" for S3.
	Dir string
	// Bucket and Prefix name an S3 location.
	Bucket, Prefix string
}

// ParseLocation reads a folder path or an s3:// URI. Other URI schemes are refused.
func ParseLocation(s string) (Location, error) {
	if strings.HasPrefix(s, "s3://") {
		bucket, prefix, err := ParseS3URI(s)
		if err != nil {
			return Location{}, err
		}
		return Location{Bucket: bucket, Prefix: prefix}, nil
	}
	if strings.Contains(s, "://") {
		return Location{}, fmt.Errorf("%q: a local folder or s3://bucket/prefix", s)
	}
	l, err := NewLocal(s)
	if err != nil {
		return Location{}, err
	}
	return Location{Dir: l.Root()}, nil
}

// IsS3 tells an S3 location from a folder.
func (l Location) IsS3() bool { return l.Bucket != "" }

// String is the location as a URI or a folder path.
func (l Location) String() string {
	if l.IsS3() {
		return "s3://" + l.Bucket + "/" + l.Prefix
	}
	return l.Dir
}

// Lister is anything that lists keys: a store, or S3Buckets.
type Lister interface {
	List(ctx context.Context, prefix string, recursive bool, fn func(ObjectInfo) error) error
}

var errStop = errors.New("stop")

// Probe lists at most one key under prefix. It returns whether anything is there, and an
// error when the location cannot be read at all (no credentials, no such bucket, no such
// folder, access denied), which a command reports before doing any work.
func Probe(ctx context.Context, l Lister, prefix string) (found bool, err error) {
	err = l.List(ctx, prefix, true, func(ObjectInfo) error {
		found = true
		return errStop
	})
	if errors.Is(err, errStop) {
		return true, nil
	}
	return found, err
}
