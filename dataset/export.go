package dataset

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// Source is the output an export reads.
type Source interface {
	List(ctx context.Context, prefix string, recursive bool, fn func(storage.ObjectInfo) error) error
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// Target is where datasets are written.
type Target interface {
	List(ctx context.Context, prefix string, recursive bool, fn func(storage.ObjectInfo) error) error
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, r io.Reader) error
	Delete(ctx context.Context, key string) error
}

// The export formats.
const (
	FormatParquet = "parquet"
	FormatHF      = "hf"
)

// Options shape an export.
type Options struct {
	// Format is FormatParquet (chunks and labels tables) or FormatHF (the labeled data
	// as Hugging Face `datasets` lays it out).
	Format string
	// Attribute is the label attribute of the labeled datasets (labeling.attribute).
	Attribute string
	// ClassNames, when known, are the label names in the dataset card, in order.
	ClassNames []string
	// PartitionBySource writes chunks/source_prefix=<first folder of the source>/ (Hive
	// style) instead of one folder, for outputs whose sources are spread over prefixes
	// that readers filter on.
	PartitionBySource bool
	// FileBytes is the size at which a Parquet file is closed and the next begun (128 MiB).
	FileBytes int64
	// RowGroupRows is the number of rows per row group (8,192: about 20 MiB of 384-wide
	// float32 vectors and text before compression, a unit readers scan well).
	RowGroupRows int64
	// Keep is how many snapshots stay, the new one included (2: a reader that has just
	// read the old pointer can still finish).
	Keep int
	// Force writes a new snapshot even when nothing changed since the last one.
	Force bool
	// Now names the snapshot; nil means time.Now.
	Now func() time.Time
	// Progress, when set, is told the bytes of input read so far.
	Progress func(read int64)
}

// Manifest is _manifest.json at the root of a snapshot.
type Manifest struct {
	Format   string    `json:"format"`
	Snapshot string    `json:"snapshot"`
	Created  time.Time `json:"created"`
	// InputDigest names what the snapshot was made from (the keys and change tokens of
	// the chunk and label files): an export of an unchanged output writes nothing.
	InputDigest string `json:"input_digest"`
	// Pipelines are the pipeline fingerprints of the chunks, EmbeddingModels their models.
	Pipelines       []string         `json:"pipelines"`
	EmbeddingModels []string         `json:"embedding_models"`
	Tables          map[string]Table `json:"tables"`
}

// Table is one table of a snapshot.
type Table struct {
	Rows   int64  `json:"rows"`
	Files  []File `json:"files"`
	Schema string `json:"schema"`
}

// File is one Parquet file of a table, relative to the snapshot.
type File struct {
	Path  string `json:"path"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// Result is what an export did.
type Result struct {
	Manifest Manifest
	// Unchanged is set when the output had not changed since the snapshot latest names,
	// which stays.
	Unchanged bool
	// Prefix is the snapshot's folder in the target ("snapshots/<id>/").
	Prefix string
	// Removed lists the old snapshots deleted.
	Removed []string
}

// The target's layout: snapshots/<id>/ holds one export; latest names the current one and
// is written last, so that a reader never sees half an export.
const (
	SnapshotsRoot = "snapshots/"
	LatestKey     = "latest"
	ManifestName  = "_manifest.json"
)

func (o *Options) defaults() error {
	if o.Format == "" {
		o.Format = FormatParquet
	}
	if o.Format != FormatParquet && o.Format != FormatHF {
		return fmt.Errorf("format %q: want parquet or hf", o.Format)
	}
	if o.Attribute == "" {
		o.Attribute = "label"
	}
	if o.FileBytes <= 0 {
		o.FileBytes = 128 << 20
	}
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = 8192
	}
	if o.Keep < 1 {
		o.Keep = 2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Export writes a snapshot of what src holds now: every current chunk and every
// automatic and human label. Removed sources are gone from it because their files are.
func Export(ctx context.Context, src Source, dst Target, opt Options) (Result, error) {
	if err := opt.defaults(); err != nil {
		return Result{}, err
	}
	chunkFiles, labelFiles, digest, err := listInputs(ctx, src, opt.Format)
	if err != nil {
		return Result{}, err
	}
	if prev, err := Latest(ctx, dst); err == nil && !opt.Force && prev.InputDigest == digest && prev.Format == opt.Format {
		return Result{Manifest: prev, Unchanged: true, Prefix: SnapshotsRoot + prev.Snapshot + "/"}, nil
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return Result{}, err
	}
	now := opt.Now().UTC()
	id := now.Format("20060102T150405Z") + "-" + digest[:8]
	prefix := SnapshotsRoot + id + "/"
	m := Manifest{Format: opt.Format, Snapshot: id, Created: now, InputDigest: digest, Tables: map[string]Table{}}
	e := &exporter{ctx: ctx, src: src, dst: dst, opt: opt, prefix: prefix, pipelines: map[string]bool{}, models: map[string]bool{}, codec: NewCodec()}
	if opt.Format == FormatParquet {
		if m.Tables["chunks"], err = e.chunks(chunkFiles); err != nil {
			return Result{}, err
		}
		if m.Tables["labels"], err = e.labels(labelFiles); err != nil {
			return Result{}, err
		}
	} else if m.Tables["labels"], err = e.hf(labelFiles, &m); err != nil {
		return Result{}, err
	}
	m.Pipelines, m.EmbeddingModels = sortedKeys(e.pipelines), sortedKeys(e.models)
	body, _ := json.MarshalIndent(m, "", "  ")
	if err := dst.Put(ctx, prefix+ManifestName, strings.NewReader(string(body)+"\n")); err != nil {
		return Result{}, fmt.Errorf("write manifest: %w", err)
	}
	if err := dst.Put(ctx, LatestKey, strings.NewReader(prefix+"\n")); err != nil {
		return Result{}, fmt.Errorf("write %s: %w", LatestKey, err)
	}
	res := Result{Manifest: m, Prefix: prefix}
	res.Removed, err = prune(ctx, dst, id, opt.Keep)
	return res, err
}

// Latest reads the manifest of the snapshot latest names (storage.ErrNotFound when there
// is none).
func Latest(ctx context.Context, dst Target) (Manifest, error) {
	b, err := dst.Get(ctx, LatestKey)
	if err != nil {
		return Manifest{}, err
	}
	p := strings.TrimSpace(string(b))
	if !strings.HasPrefix(p, SnapshotsRoot) || strings.Contains(p, "..") {
		return Manifest{}, fmt.Errorf("%s holds %q, not a snapshot folder", LatestKey, p)
	}
	mb, err := dst.Get(ctx, p+ManifestName)
	if err != nil {
		return Manifest{}, fmt.Errorf("manifest of the latest snapshot: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return Manifest{}, fmt.Errorf("manifest of the latest snapshot %s: %w", p, err)
	}
	return m, nil
}

// listInputs lists the chunk and label files in key order and digests their change tokens.
func listInputs(ctx context.Context, src Source, format string) (chunks, labels []storage.ObjectInfo, digest string, err error) {
	h := sha256.New()
	add := func(dst *[]storage.ObjectInfo, suffix string) func(storage.ObjectInfo) error {
		return func(o storage.ObjectInfo) error {
			if !strings.HasSuffix(o.Key, suffix) {
				return nil
			}
			*dst = append(*dst, o)
			fmt.Fprintf(h, "%s\x00%d\x00%s\n", o.Key, o.Size, o.ETag)
			return nil
		}
	}
	if format == FormatParquet {
		err := src.List(ctx, layout.ChunksRoot, true, func(o storage.ObjectInfo) error {
			if strings.HasSuffix(o.Key, ".parquet") { // output.chunks_format: parquet
				return add(&chunks, ".parquet")(o)
			}
			return add(&chunks, ".jsonl")(o)
		})
		if err != nil {
			return nil, nil, "", fmt.Errorf("list chunks: %w", err)
		}
	}
	for _, root := range []string{layout.LabeledRoot + "auto/", layout.LabeledRoot + "human/"} {
		if err := src.List(ctx, root, true, add(&labels, ".jsonl")); err != nil {
			return nil, nil, "", fmt.Errorf("list labels: %w", err)
		}
	}
	return chunks, labels, hex.EncodeToString(h.Sum(nil)), nil
}

type exporter struct {
	ctx               context.Context
	src               Source
	dst               Target
	opt               Options
	prefix            string
	read              int64
	pipelines, models map[string]bool
	codec             compress.Codec
}

// lines calls fn with every non-empty line of a file, naming the file and line in errors.
func (e *exporter) lines(key string, fn func([]byte) error) error {
	rc, err := e.src.Open(e.ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // removed since the listing: it is not part of the output any more
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	for n := 1; sc.Scan(); n++ {
		e.read += int64(len(sc.Bytes()) + 1)
		if len(strings.TrimSpace(string(sc.Bytes()))) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s, line %d: %w", key, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if e.opt.Progress != nil {
		e.opt.Progress(e.read)
	}
	return nil
}

// partition is the Hive partition of a chunk file: the first folder of its source path.
func partition(key string) string {
	rest := strings.TrimPrefix(key, layout.ChunksRoot)
	if i := strings.IndexByte(rest, '/'); i > 0 {
		return "source_prefix=" + rest[:i]
	}
	return "source_prefix=%"
}

func (e *exporter) chunks(files []storage.ObjectInfo) (Table, error) {
	t := Table{Files: []File{}, Schema: parquet.SchemaOf(ChunkRow{}).String()}
	var w *fileWriter[ChunkRow]
	var part string
	n := map[string]int{}
	closeFile := func() error {
		if w == nil {
			return nil
		}
		f, err := w.close()
		w = nil
		if err != nil {
			return err
		}
		t.Files = append(t.Files, f)
		t.Rows += f.Rows
		return nil
	}
	batch := make([]ChunkRow, 0, 64)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := w.write(batch); err != nil {
			return err
		}
		batch = batch[:0]
		if w.bytes() >= e.opt.FileBytes {
			return closeFile()
		}
		return nil
	}
	for _, f := range files {
		p := "chunks"
		if e.opt.PartitionBySource {
			p += "/" + partition(f.Key)
		}
		err := EachChunk(e.ctx, e.src, f.Key, func(r ChunkRow) error {
			e.pipelines[r.Pipeline], e.models[r.EmbeddingModel] = true, true
			if w == nil || p != part {
				if err := flush(); err != nil {
					return err
				}
				if err := closeFile(); err != nil {
					return err
				}
				part = p
				w = openFile[ChunkRow](e, fmt.Sprintf("%s/part-%05d.parquet", p, n[p]))
				n[p]++
			}
			batch = append(batch, r)
			if len(batch) == cap(batch) {
				return flush()
			}
			return nil
		})
		if errors.Is(err, storage.ErrNotFound) {
			err = nil // removed since the listing: not part of the output any more
		}
		if err == nil {
			err = flush()
		}
		e.read += f.Size
		if e.opt.Progress != nil {
			e.opt.Progress(e.read)
		}
		if err != nil {
			if w != nil {
				w.abort(err)
			}
			return t, err
		}
	}
	return t, closeFile()
}

func (e *exporter) labelRows(files []storage.ObjectInfo, fn func(LabelRow) error) error {
	for _, f := range files {
		err := e.lines(f.Key, func(line []byte) error {
			r, ok, err := ParseLabel(line, e.opt.Attribute)
			if err != nil || !ok {
				return err
			}
			return fn(r)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *exporter) labels(files []storage.ObjectInfo) (Table, error) {
	t := Table{Files: []File{}, Schema: parquet.SchemaOf(LabelRow{}).String()}
	var w *fileWriter[LabelRow]
	n := 0
	err := e.labelRows(files, func(r LabelRow) error {
		if w == nil {
			w = openFile[LabelRow](e, fmt.Sprintf("labels/part-%05d.parquet", n))
			n++
		}
		if err := w.write([]LabelRow{r}); err != nil {
			return err
		}
		if w.bytes() >= e.opt.FileBytes {
			f, err := w.close()
			w = nil
			if err != nil {
				return err
			}
			t.Files, t.Rows = append(t.Files, f), t.Rows+f.Rows
		}
		return nil
	})
	if err != nil {
		if w != nil {
			w.abort(err)
		}
		return t, err
	}
	if w != nil {
		f, err := w.close()
		if err != nil {
			return t, err
		}
		t.Files, t.Rows = append(t.Files, f), t.Rows+f.Rows
	}
	return t, nil
}

// Split names a labeled item's split by a hash of its id (the chunk id, else the text
// hash): 80% train, 10% validation, 10% test, the same on every export.
func Split(id string) string {
	sum := sha256.Sum256([]byte(id))
	switch v := binary.BigEndian.Uint64(sum[:8]) % 100; {
	case v < 80:
		return "train"
	case v < 90:
		return "validation"
	}
	return "test"
}

// HFRow is a row of the Hugging Face layout: the text, its class (single-label) or
// classes, and where the label came from.
type HFRow struct {
	Text       string   `parquet:"text"`
	Label      *string  `parquet:"label,optional"`
	Labels     []string `parquet:"labels,list"`
	Status     string   `parquet:"status"`
	Confidence *float64 `parquet:"confidence,optional"`
	ChunkID    *string  `parquet:"chunk_id,optional"`
	Source     *string  `parquet:"source,optional"`
}

func hfID(r LabelRow) string {
	if r.ChunkID != nil {
		return *r.ChunkID
	}
	return r.TextHash
}

var hfSplits = []string{"train", "validation", "test"}

// hf writes data/<split>-NNNNN-of-NNNNN.parquet and a dataset card. The shard count of a
// split is known before writing (a first pass sizes the splits), and a row's shard is a
// hash of its id, so a name never changes after it is written.
func (e *exporter) hf(files []storage.ObjectInfo, m *Manifest) (Table, error) {
	t := Table{Files: []File{}, Schema: parquet.SchemaOf(HFRow{}).String()}
	size, rows := map[string]int64{}, map[string]int64{}
	classes := map[string]int64{}
	multi := false
	if err := e.labelRows(files, func(r LabelRow) error {
		s := Split(hfID(r))
		size[s] += int64(len(r.Text)) + 64
		rows[s]++
		for _, c := range r.Classes {
			classes[c]++
		}
		multi = multi || r.Class == nil
		return nil
	}); err != nil {
		return t, err
	}
	shards := map[string]int{}
	writers := map[string][]*fileWriter[HFRow]{}
	for _, s := range hfSplits {
		if rows[s] > 0 {
			shards[s] = int(max(1, (size[s]+e.opt.FileBytes-1)/e.opt.FileBytes))
			writers[s] = make([]*fileWriter[HFRow], shards[s])
		}
	}
	abort := func(err error) {
		for _, ws := range writers {
			for _, w := range ws {
				if w != nil {
					w.abort(err)
				}
			}
		}
	}
	err := e.labelRows(files, func(r LabelRow) error {
		id := hfID(r)
		s := Split(id)
		sum := sha256.Sum256([]byte("shard\x00" + id))
		k := int(binary.BigEndian.Uint64(sum[:8]) % uint64(shards[s]))
		if writers[s][k] == nil {
			writers[s][k] = openFile[HFRow](e, fmt.Sprintf("data/%s-%05d-of-%05d.parquet", s, k, shards[s]))
		}
		row := HFRow{Text: r.Text, Label: r.Class, Labels: r.Classes, Status: r.Status, Confidence: r.Confidence, ChunkID: r.ChunkID, Source: r.Source}
		return writers[s][k].write([]HFRow{row})
	})
	if err != nil {
		abort(err)
		return t, err
	}
	for _, s := range hfSplits {
		for _, w := range writers[s] {
			if w == nil {
				continue // a shard no row hashed to: the card lists the files there are
			}
			f, err := w.close()
			if err != nil {
				return t, err
			}
			t.Files, t.Rows = append(t.Files, f), t.Rows+f.Rows
		}
	}
	card := datasetCard(e.opt.ClassNames, classes, rows, t.Files, multi)
	if err := e.dst.Put(e.ctx, e.prefix+"README.md", strings.NewReader(card)); err != nil {
		return t, fmt.Errorf("write dataset card: %w", err)
	}
	return t, nil
}

// datasetCard is the README.md Hugging Face reads: YAML front matter naming the splits'
// files and the label names, then a short description with the counts.
func datasetCard(names []string, classes map[string]int64, rows map[string]int64, files []File, multi bool) string {
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	var extra []string
	for c := range classes {
		if !known[c] {
			extra = append(extra, c)
		}
	}
	sort.Strings(extra)
	names = append(append([]string{}, names...), extra...)
	var b strings.Builder
	b.WriteString("---\nconfigs:\n- config_name: default\n  data_files:\n")
	for _, s := range hfSplits {
		if rows[s] == 0 {
			continue
		}
		fmt.Fprintf(&b, "  - split: %s\n    path: \"data/%s-*.parquet\"\n", s, s)
	}
	b.WriteString("dataset_info:\n  features:\n  - name: text\n    dtype: string\n")
	if multi {
		b.WriteString("  - name: labels\n    sequence: string\n")
	} else {
		b.WriteString("  - name: label\n    dtype:\n      class_label:\n        names:\n")
		for i, n := range names {
			fmt.Fprintf(&b, "          '%d': %s\n", i, yamlQuote(n))
		}
	}
	b.WriteString("  splits:\n")
	for _, s := range hfSplits {
		if rows[s] > 0 {
			fmt.Fprintf(&b, "  - name: %s\n    num_examples: %d\n", s, rows[s])
		}
	}
	b.WriteString("---\n\n# Labeled chunks exported by docingest\n\n")
	b.WriteString("Each row is a chunk of text and its label: `auto` rows were labeled by the classifier where its measured accuracy met the target, `human` rows by people. Splits are assigned by a hash of the chunk id, so a chunk stays in its split on every export.\n\n")
	b.WriteString("| class | rows |\n|---|---|\n")
	for _, n := range names {
		fmt.Fprintf(&b, "| %s | %d |\n", strings.ReplaceAll(n, "|", `\|`), classes[n])
	}
	b.WriteString("\n| split | rows |\n|---|---|\n")
	for _, s := range hfSplits {
		fmt.Fprintf(&b, "| %s | %d |\n", s, rows[s])
	}
	return b.String()
}

func yamlQuote(s string) string {
	b, _ := json.Marshal(s) // a JSON string is a YAML double-quoted scalar
	return string(b)
}

// prune deletes all but the newest keep snapshots (the one just written always stays).
func prune(ctx context.Context, dst Target, current string, keep int) ([]string, error) {
	ids := map[string]bool{}
	err := dst.List(ctx, SnapshotsRoot, true, func(o storage.ObjectInfo) error {
		rest := strings.TrimPrefix(o.Key, SnapshotsRoot)
		if i := strings.IndexByte(rest, '/'); i > 0 {
			ids[rest[:i]] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var older []string
	for id := range ids {
		if id < current {
			older = append(older, id)
		}
	}
	sort.Strings(older)
	var removed []string
	for len(older) > keep-1 {
		id := older[0]
		older = older[1:]
		var keys []string
		if err := dst.List(ctx, SnapshotsRoot+id+"/", true, func(o storage.ObjectInfo) error {
			keys = append(keys, o.Key)
			return nil
		}); err != nil {
			return removed, err
		}
		for _, k := range keys {
			if err := dst.Delete(ctx, k); err != nil {
				return removed, fmt.Errorf("remove old snapshot %s: %w", id, err)
			}
		}
		removed = append(removed, id)
	}
	return removed, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// fileWriter streams one Parquet file into the target.
type fileWriter[T any] struct {
	key  string
	rel  string
	pw   *io.PipeWriter
	cw   *countingWriter
	w    *parquet.GenericWriter[T]
	done chan error
	rows int64
	// groupRows is the row group size, inGroup the rows of the current one.
	groupRows, inGroup int64
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func openFile[T any](e *exporter, rel string) *fileWriter[T] {
	pr, pw := io.Pipe()
	f := &fileWriter[T]{key: e.prefix + rel, rel: rel, pw: pw, done: make(chan error, 1), groupRows: e.opt.RowGroupRows}
	go func() {
		err := e.dst.Put(e.ctx, f.key, pr)
		pr.CloseWithError(errors.New("dataset writer stopped")) // unblock the writer if Put gave up
		f.done <- err
	}()
	f.cw = &countingWriter{w: bufio.NewWriterSize(pw, 1<<20)}
	f.w = parquet.NewGenericWriter[T](f.cw,
		parquet.Compression(e.codec),
		parquet.MaxRowsPerRowGroup(e.opt.RowGroupRows),
		parquet.WriteBufferSize(0), // ours is below the byte count
		parquet.CreatedBy("docingest", "", ""))
	return f
}

func (f *fileWriter[T]) write(rows []T) error {
	for len(rows) > 0 {
		n := min(int64(len(rows)), f.groupRows-f.inGroup)
		if _, err := f.w.Write(rows[:n]); err != nil {
			return fmt.Errorf("write %s: %w", f.key, err)
		}
		rows, f.rows, f.inGroup = rows[n:], f.rows+n, f.inGroup+n
		if f.inGroup == f.groupRows {
			// end the row group: its pages go to the file now, so memory holds one row
			// group and the file's size is known as it grows
			if err := f.w.Flush(); err != nil {
				return fmt.Errorf("write %s: %w", f.key, err)
			}
			f.inGroup = 0
		}
	}
	return nil
}

// bytes is what has reached the file so far (row groups are written as they fill).
func (f *fileWriter[T]) bytes() int64 { return f.cw.n }

func (f *fileWriter[T]) close() (File, error) {
	err := f.w.Close()
	if err == nil {
		err = f.cw.w.(*bufio.Writer).Flush()
	}
	f.pw.CloseWithError(err)
	if perr := <-f.done; err == nil && perr != nil {
		err = fmt.Errorf("write %s: %w", f.key, perr)
	}
	if err != nil {
		return File{}, err
	}
	return File{Path: path.Clean(f.rel), Rows: f.rows, Bytes: f.cw.n}, nil
}

func (f *fileWriter[T]) abort(err error) {
	f.pw.CloseWithError(err)
	<-f.done
}
