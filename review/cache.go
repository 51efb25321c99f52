package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/docingest/docingest/labeling"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// folderCache keeps what was decoded of each object under a folder with its change token,
// so that a page lists the folder and reads only the objects that are new or changed: the
// Review page of an output with many labels costs a listing, not a read per label.
type folderCache[T any] struct {
	mu   sync.Mutex
	seen map[string]cachedObject[T]
}

type cachedObject[T any] struct {
	etag string
	v    T
}

// load returns the decoded objects under prefix by key. An object that cannot be decoded
// is an error naming it.
func (c *folderCache[T]) load(ctx context.Context, store labeling.Store, prefix string, decode func([]byte) (T, error)) (map[string]T, error) {
	var infos []storage.ObjectInfo
	if err := store.List(ctx, prefix, true, func(o storage.ObjectInfo) error {
		infos = append(infos, o)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	out := make(map[string]T, len(infos))
	fresh := make(map[string]cachedObject[T], len(infos))
	for _, o := range infos {
		c.mu.Lock()
		co, ok := c.seen[o.Key]
		c.mu.Unlock()
		if !ok || o.ETag == "" || co.etag != o.ETag {
			body, err := store.Get(ctx, o.Key)
			if errors.Is(err, storage.ErrNotFound) {
				continue // removed since the listing
			}
			if err != nil {
				return nil, err
			}
			v, err := decode(body)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.Key, err)
			}
			co = cachedObject[T]{etag: o.ETag, v: v}
		}
		fresh[o.Key] = co
		out[o.Key] = co.v
	}
	c.mu.Lock()
	c.seen = fresh // what was removed is forgotten
	c.mu.Unlock()
	return out, nil
}

// caches are the Server's folder caches.
type caches struct {
	human   folderCache[labeling.HumanLabel]
	pending folderCache[labeling.PendingItem]
	auto    folderCache[[]int] // automatic labels per class index, per source file
}

// humanLabels are the human labels by text hash.
func (s *Server) humanLabels(ctx context.Context) (map[string]labeling.HumanLabel, error) {
	byKey, err := s.caches.human.load(ctx, s.Store, layout.HumanLabelRoot, func(b []byte) (labeling.HumanLabel, error) {
		var h labeling.HumanLabel
		err := json.Unmarshal(b, &h)
		return h, err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]labeling.HumanLabel, len(byKey))
	for _, h := range byKey {
		out[h.ID] = h
	}
	return out, nil
}

// pendingItems are the items waiting for a job (their embeddings dropped).
func (s *Server) pendingItems(ctx context.Context) ([]labeling.PendingItem, error) {
	byKey, err := s.caches.pending.load(ctx, s.Store, layout.PendingRoot, func(b []byte) (labeling.PendingItem, error) {
		var it labeling.PendingItem
		err := json.Unmarshal(b, &it)
		it.Embedding = nil
		return it, err
	})
	if err != nil {
		return nil, err
	}
	out := make([]labeling.PendingItem, 0, len(byKey))
	for _, it := range byKey {
		out = append(out, it)
	}
	return out, nil
}
