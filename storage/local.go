package storage

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docingest/docingest/document"
)

// ErrNotFound is returned (wrapped) for keys that hold no object.
var ErrNotFound = fs.ErrNotExist

// ErrNameTooLong is returned (wrapped) for a key longer than the store allows (a file name
// over 255 bytes, an S3 key over 1,024).
var ErrNameTooLong = syscall.ENAMETOOLONG

// ErrNoConditionalWrites is returned (wrapped) by PutIf on a server that does not
// implement conditional writes (an older S3-compatible server).
var ErrNoConditionalWrites = errors.New("conditional writes not implemented by the server")

// ErrPrecondition is returned by a conditional write that found the object not as the
// writer expected (present when it should be absent, or changed since it was read).
var ErrPrecondition = errors.New("precondition failed")

// ObjectInfo describes one stored object as a listing reports it.
type ObjectInfo struct {
	Key  string
	Size int64
	// ETag is the store's change token: S3's ETag, or for local files a token built from
	// size and modification time (cheap to list; a changed token means "look again").
	ETag      string
	VersionID string
	Modified  time.Time
}

// Local is a folder on the local file system.
type Local struct {
	root string
	// skip is a folder under root that listings leave out (the output folder when it
	// lies inside the source folder).
	skip string
	// copyBufs are put's copy buffers (*[]byte of 32 KiB), reused: a new one per object,
	// zeroed and often faulted in, was about 3% of the CPU time of small documents.
	copyBufs sync.Pool
}

const tmpPrefix = ".docingest-tmp-"

// NewLocal returns the folder at root; it need not exist yet (Put creates it).
func NewLocal(root string) (*Local, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("local store %q: %w", root, err)
	}
	return &Local{root: abs}, nil
}

// Root returns the absolute folder.
func (l *Local) Root() string { return l.root }

// Exclude leaves the folder dir out of listings when it lies inside the root.
func (l *Local) Exclude(dir string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return
	}
	if rel, err := filepath.Rel(l.root, abs); err == nil && rel != "." && !leavesRoot(rel) {
		l.skip = abs
	}
}

// path maps a key to a file path inside the root, refusing keys that could leave it. A
// backslash is an ordinary character of a name on Unix and a separator on Windows only.
func (l *Local) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.ContainsRune(key, 0) || (filepath.Separator == '\\' && strings.Contains(key, "\\")) {
		return "", document.Permanentf(document.ReasonUnsupported, "local store: unsafe key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", document.Permanentf(document.ReasonUnsupported, "local store: unsafe key %q", key)
		}
	}
	p := filepath.Join(l.root, filepath.FromSlash(key))
	if rel, err := filepath.Rel(l.root, p); err != nil || leavesRoot(rel) {
		return "", document.Permanentf(document.ReasonUnsupported, "local store: key %q leaves the root", key)
	}
	return p, nil
}

// leavesRoot reports whether a path relative to the root points outside it ("..", "../x";
// not "...", a name like any other).
func leavesRoot(rel string) bool {
	return rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// checkLink refuses a key whose file is a symbolic link (or lies under one) leading out of
// the root: a source folder's links are followed only within it.
func (l *Local) checkLink(key, p string) error {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil // missing or dangling: the open that follows reports it
	}
	root, err := filepath.EvalSymlinks(l.root)
	if err != nil {
		return nil
	}
	if rel, err := filepath.Rel(root, real); err != nil || leavesRoot(rel) {
		return document.Permanentf(document.ReasonUnsupported, "%s is a symbolic link to %s, outside the folder: not followed", key, real)
	}
	return nil
}

// List calls fn for every object whose key starts with prefix, in lexical order of the
// file tree. With recursive false it lists only the objects directly under prefix (prefix
// must then end in "/" or be empty). A missing folder lists nothing.
func (l *Local) List(ctx context.Context, prefix string, recursive bool, fn func(ObjectInfo) error) error {
	dir := l.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		p, err := l.path(prefix[:i])
		if err != nil {
			return err
		}
		dir = p
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (!recursive || p == l.skip) {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		rel, err := filepath.Rel(l.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := os.Stat(p) // follows symbolic links to files
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a dangling symbolic link, or a file removed since the walk saw it
		}
		if err != nil {
			return fmt.Errorf("local store: %s: %w", key, err)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		return fn(ObjectInfo{
			Key:      key,
			Size:     info.Size(),
			ETag:     localToken(info),
			Modified: info.ModTime(),
		})
	})
	if err != nil {
		return fmt.Errorf("local store: list %q: %w", prefix, err)
	}
	return nil
}

// Open returns the object's content; the caller closes it. A symbolic link is followed
// only when it stays inside the folder.
func (l *Local) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	if err := l.checkLink(key, p); err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("local store: open %s: %w", key, err)
	}
	return f, nil
}

// OpenInfo returns the object's content with its size and change token (the token List
// reports), so that a reader learns the version it read.
func (l *Local) OpenInfo(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	rc, err := l.Open(ctx, key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	info, err := rc.(*os.File).Stat()
	if err != nil {
		rc.Close()
		return nil, ObjectInfo{}, fmt.Errorf("local store: stat %s: %w", key, err)
	}
	return rc, ObjectInfo{Key: key, Size: info.Size(), ETag: localToken(info), Modified: info.ModTime()}, nil
}

// Get returns the whole object.
func (l *Local) Get(ctx context.Context, key string) ([]byte, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("local store: get %s: %w", key, err)
	}
	return b, nil
}

// Put writes the object atomically and durably: into a temporary file beside it, synced,
// then renamed over the key. On error nothing is left behind.
func (l *Local) Put(ctx context.Context, key string, r io.Reader) (err error) {
	return l.put(ctx, key, r, true)
}

// PutHint writes the object atomically but not durably (no fsync): for objects that only
// speed up a later read and are rebuilt when a crash loses them (state markers: a lost one
// makes planning do a source again).
func (l *Local) PutHint(ctx context.Context, key string, r io.Reader) error {
	return l.put(ctx, key, r, false)
}

func (l *Local) put(ctx context.Context, key string, r io.Reader, durable bool) (err error) {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("local store: put %s: %w", key, err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("local store: put %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bp, _ := l.copyBufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 32<<10)
		bp = &b
	}
	// the file is wrapped so that io.CopyBuffer uses the buffer: *os.File's ReadFrom would
	// copy through a new one of its own
	_, err = io.CopyBuffer(struct{ io.Writer }{f}, ctxReader{ctx, r}, *bp)
	l.copyBufs.Put(bp)
	if err != nil {
		return fmt.Errorf("local store: put %s: %w", key, err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("local store: put %s: sync: %w", key, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("local store: put %s: %w", key, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("local store: put %s: %w", key, err)
	}
	if !durable {
		return nil
	}
	return syncDir(dir)
}

// Delete removes the object; a missing object is not an error.
func (l *Local) Delete(ctx context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local store: delete %s: %w", key, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	_ = d.Sync() // not supported everywhere; the rename is what matters
	return nil
}

// ctxReader stops a copy when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// GetVersion returns a small object with its version tag (the MD5 of its content).
func (l *Local) GetVersion(ctx context.Context, key string) ([]byte, string, error) {
	b, err := l.Get(ctx, key)
	if err != nil {
		return nil, "", err
	}
	sum := md5.Sum(b)
	return b, hex.EncodeToString(sum[:]), nil
}

// PutIf writes a small object only if it does not exist (ifMatch "") or still has the
// version ifMatch, under an exclusive lock (flock) on the object's folder, so writers in
// several processes on one machine serialise per folder; the loser gets ErrPrecondition.
func (l *Local) PutIf(ctx context.Context, key string, body []byte, ifMatch string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("local store: %w", err)
	}
	lock, err := os.Open(filepath.Dir(p))
	if err != nil {
		return fmt.Errorf("local store: lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("local store: lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	_, tag, err := l.GetVersion(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		if ifMatch != "" {
			return fmt.Errorf("local store: %s is gone: %w", key, ErrPrecondition)
		}
	case err != nil:
		return err
	case ifMatch == "":
		return fmt.Errorf("local store: %s exists: %w", key, ErrPrecondition)
	case tag != ifMatch:
		return fmt.Errorf("local store: %s changed: %w", key, ErrPrecondition)
	}
	return l.Put(ctx, key, bytes.NewReader(body))
}

// URI returns the file:// address of a key of this folder.
func (l *Local) URI(key string) string {
	return "file://" + filepath.ToSlash(filepath.Join(l.root, key)) + map[bool]string{true: "/", false: ""}[key == "" || strings.HasSuffix(key, "/")]
}

// localToken is a local file's change token: its size and modification time, a planning
// shortcut (a file touched without a change is reprocessed to the same outputs; a file
// changed within the clock's resolution at the same size is missed until the next
// change). It is named so that nobody takes it for a content hash.
func localToken(info fs.FileInfo) string {
	return fmt.Sprintf("size-mtime:%x-%x", info.Size(), info.ModTime().UnixNano())
}
