package worker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docingest/docingest/dataset"
	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/internal/hugepage"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// sourceMeta is what fetching learned about the content.
type sourceMeta struct {
	sha256 string
	etag   string
	// the metadata sidecar's change token and attributes, when there is one
	sidecarETag string
	attrs       map[string]any
	// pipeline is the fingerprint of the document's format, once it is known
	pipeline string
}

// pipelineOf is the fingerprint a document's records carry: its format's, or the plain
// one when it failed before its format was known.
func (p *Pipeline) pipelineOf(meta *sourceMeta) string {
	if meta == nil || meta.pipeline == "" {
		return p.cfg.Fingerprint
	}
	return meta.pipeline
}

// fetch reads the object under the size cap. When the source reports metadata with the
// content, obj is updated to what was actually read.
func (p *Pipeline) fetch(ctx context.Context, src Source, obj *Object, res *Result) ([]byte, *sourceMeta, error) {
	t := time.Now()
	defer func() { res.Fetch = time.Since(t) }()
	limit := p.cfg.Limits.MaxObjectBytes
	if obj.Size > limit {
		return nil, nil, document.Permanentf(document.ReasonTooLarge, "%s: %d bytes, over the object cap of %d", obj.Key, obj.Size, limit)
	}
	var rc io.ReadCloser
	var err error
	if io, ok := src.(InfoOpener); ok {
		var info storage.ObjectInfo
		rc, info, err = io.OpenInfo(ctx, obj.Key)
		if err == nil {
			obj.Size, obj.ETag, obj.VersionID = info.Size, info.ETag, info.VersionID
		}
	} else {
		rc, err = src.Open(ctx, obj.Key)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("fetch %s: %w", obj.Key, err)
	}
	defer rc.Close()
	if obj.Size > limit {
		return nil, nil, document.Permanentf(document.ReasonTooLarge, "%s: %d bytes, over the object cap of %d", obj.Key, obj.Size, limit)
	}
	data, err := readCapped(rc, obj.Size, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch %s: %w", obj.Key, err)
	}
	n := int64(len(data))
	if n > limit {
		return nil, nil, document.Permanentf(document.ReasonTooLarge, "%s: over the object cap of %d bytes", obj.Key, limit)
	}
	res.Bytes = n
	sum := sha256.Sum256(data)
	meta := &sourceMeta{sha256: hex.EncodeToString(sum[:]), etag: obj.ETag}
	if p.cfg.NoETag {
		meta.etag = ""
	}
	if n == 0 {
		return nil, meta, document.Permanentf(document.ReasonEmpty, "%s: empty file", obj.Key)
	}
	return data, meta, nil
}

// readCapped reads r to its end, or to limit+1 bytes, into one buffer sized from the
// object's reported size: a 40 MB document is read into 40 MB, not into a buffer grown
// past it (bytes.Buffer's ReadFrom doubles it to keep 512 bytes free at the end: a second
// allocation, a copy, and a clearing of memory the garbage collector cannot interrupt).
// A wrong size only costs growth.
func readCapped(r io.Reader, size, limit int64) ([]byte, error) {
	c := int64(64 << 10)
	if size > 0 {
		c = min(size, limit) + 1 // one more byte to see the end (or the cap passed)
	}
	buf := make([]byte, 0, c)
	hugepage.Advise(buf[:c]) // a large object is written whole: see internal/hugepage
	for int64(len(buf)) <= limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // the size was wrong: grow
		}
		end := min(int64(cap(buf)), limit+1)
		n, err := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// extract detects the format and runs its extractor under a recover and a deadline. A
// panic or a deadline is a permanent failure naming the document and the cap.
func (p *Pipeline) extract(ctx context.Context, key string, data []byte, res *Result) (document.Document, string, error) {
	t := time.Now()
	defer func() { res.Extract = time.Since(t) }()
	format := p.cfg.Detect(key, data)
	doc, err := p.extractAs(ctx, key, format, data)
	return doc, format, err
}

// extractAs runs the extractor of format, the format Detect named (extract returns it:
// its fingerprint is the document's).
func (p *Pipeline) extractAs(ctx context.Context, key, format string, data []byte) (document.Document, error) {
	ex, ok := p.cfg.Extractors[format]
	if format == "" || !ok {
		return document.Document{}, document.Permanentf(document.ReasonUnsupported, "%s: unsupported file type (%s)", key, sniffName(data))
	}
	timeout := p.cfg.Limits.DocumentTimeout
	if format == "pdf" && p.cfg.Limits.PDFTimeoutBase > 0 {
		pages := 0
		if p.cfg.PageHint != nil {
			pages = p.cfg.PageHint(format, data)
		}
		timeout = p.cfg.Limits.PDFTimeoutBase + time.Duration(pages)*p.cfg.Limits.PDFTimeoutPerPage
	}
	if slices.Contains(p.cfg.OCRFormats, format) {
		timeout += p.cfg.Limits.OCRTimeoutPerPage
	}
	ectx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The extractor runs here, not in a goroutine left behind at the deadline: every
	// extractor checks its context as it goes (PDF children are killed), so the work has
	// really ended when this returns, and the caller's slot is free only then.
	doc, err := runExtractor(ectx, ex, key, format, data)
	if reason, _ := document.Classify(err); format == "pdf" && reason == document.ReasonCorrupt && p.cfg.DetectNotPDF != nil && ectx.Err() == nil {
		if alt := p.cfg.DetectNotPDF(key, data); alt != "" && alt != format && p.cfg.Extractors[alt] != nil {
			p.cfg.Logger.Info("not a readable PDF: read as its name says", "source", key, "format", alt, "pdf_error", err)
			format = alt
			doc, err = runExtractor(ectx, p.cfg.Extractors[alt], key, alt, data)
		}
	}
	var steps OCRSteps
	if format == "pdf" {
		steps = p.ocr()
	}
	if reason, _ := document.Classify(err); format == "pdf" && reason == document.ReasonNoTextLayer && ectx.Err() == nil {
		if steps.Scan == nil {
			if steps.Off != "" {
				err = document.Permanentf(document.ReasonNoTextLayer, "%w; OCR is off: %s", err, steps.Off)
			}
		} else {
			// a scan: OCR, with a time limit of its own (pages × the per-page allowance)
			pages := 1
			if p.cfg.PageHint != nil {
				pages = max(1, p.cfg.PageHint(format, data))
			}
			timeout = p.cfg.Limits.DocumentTimeout + time.Duration(pages)*p.cfg.Limits.OCRTimeoutPerPage
			octx, ocancel := context.WithTimeout(ctx, timeout)
			defer ocancel()
			ectx = octx
			doc, err = runExtractor(octx, extractorFunc(steps.Scan), key, "pdf", data)
		}
	}
	if err == nil && format == "pdf" && steps.Pages != nil && len(doc.OCR) == 0 {
		// a text document may hold scanned pages: OCR reads those, with a time limit of
		// its own (as for a scan, an allowance for every page, an upper bound)
		timeout = p.cfg.Limits.DocumentTimeout + time.Duration(max(1, len(doc.Pages)))*p.cfg.Limits.OCRTimeoutPerPage
		octx, ocancel := context.WithTimeout(ctx, timeout)
		defer ocancel()
		ectx = octx
		base := doc
		doc, err = runExtractor(octx, extractorFunc(func(ctx context.Context, data []byte) (document.Document, error) {
			return steps.Pages(ctx, data, base)
		}), key, "pdf", data)
	}
	if err != nil {
		if ctx.Err() != nil {
			return document.Document{}, ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) || ectx.Err() != nil {
			return document.Document{}, document.Permanentf(document.ReasonTimeout, "%s: extraction exceeded the %s time limit", key, timeout)
		}
		return document.Document{}, fmt.Errorf("%s: %w", key, err)
	}
	return doc, nil
}

// extractorFunc adapts a function to an Extractor.
type extractorFunc func(ctx context.Context, data []byte) (document.Document, error)

func (f extractorFunc) Extract(ctx context.Context, data []byte) (document.Document, error) {
	return f(ctx, data)
}

// runExtractor calls the extractor under a recover: a parser's panic is a permanent
// corrupt failure naming the file.
func runExtractor(ctx context.Context, ex Extractor, key, format string, data []byte) (doc document.Document, err error) {
	defer func() {
		if v := recover(); v != nil {
			doc, err = document.Document{}, document.Permanentf(document.ReasonCorrupt, "%s: %s parser failed: %v", key, format, v)
		}
	}()
	return ex.Extract(ctx, data)
}

// sniffName describes unsupported bytes for the failure message.
func sniffName(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG")):
		return "PNG image"
	case bytes.HasPrefix(data, []byte("\xFF\xD8\xFF")):
		return "JPEG image"
	case bytes.HasPrefix(data, []byte("GIF8")):
		return "GIF image"
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return "zip archive that is not a Word document"
	case bytes.HasPrefix(data, []byte("\xD0\xCF\x11\xE0")):
		return "legacy or encrypted Office file"
	case bytes.HasPrefix(data, []byte("\x1F\x8B")):
		return "gzip archive"
	}
	return "binary content"
}

// write streams text/ and chunks/ for one document. The chunk file is produced while the
// embedder works through batches, so memory holds one batch of vectors at a time.
func (p *Pipeline) write(ctx context.Context, obj Object, meta *sourceMeta, doc document.Document, spans []document.Span, res *Result) error {
	t := time.Now()
	if err := p.out.Put(ctx, layout.Text(obj.Key), strings.NewReader(doc.Text)); err != nil {
		return fmt.Errorf("write text of %s: %w", obj.Key, err)
	}
	pr, pw := io.Pipe()
	var embedTime, encodeTime, waitTime time.Duration
	var labels LabelCounts
	encoded := make(chan error, 1)
	go func() {
		bw, _ := p.chunkBufs.Get().(*bufio.Writer)
		if bw == nil {
			bw = bufio.NewWriterSize(pw, 256<<10)
		} else {
			bw.Reset(pw)
		}
		err := p.encodeChunks(ctx, bw, obj, meta, doc, spans, &embedTime, &encodeTime, &waitTime, &labels)
		if err == nil {
			err = bw.Flush()
		}
		bw.Reset(nil) // unflushed bytes and errors go; the pipe is no longer held
		p.chunkBufs.Put(bw)
		pw.CloseWithError(err)
		encoded <- err
	}()
	key, other := layout.Chunks(obj.Key), layout.ChunksParquet(obj.Key)
	if p.cfg.ChunksFormat == ChunksParquet {
		key, other = other, key
	}
	err := p.out.Put(ctx, key, pr)
	pr.CloseWithError(errors.New("chunk writer stopped")) // unblock the encoder if Put gave up
	encErr := <-encoded
	res.Embed, res.Encode, res.Labels = embedTime, encodeTime, labels
	res.Write = time.Since(t) - waitTime - encodeTime // the embedder works alongside
	if _, permanent := document.Classify(encErr); permanent {
		return encErr // the document's own fault (the output bound): not the store's
	}
	if err != nil {
		return fmt.Errorf("write chunks of %s: %w", obj.Key, err)
	}
	if err := p.out.Delete(ctx, other); err != nil { // written in the other format before
		return fmt.Errorf("remove old chunks of %s: %w", obj.Key, err)
	}
	return nil
}

// The output bound (ARCHITECTURE.md, invariant 6): the text and chunk files of one
// document together hold at most OutputPerTextByte bytes per byte of its text plus
// OutputPerChunk bytes and OutputPerDimension bytes per vector dimension for each chunk.
// The per-chunk part covers a record's fixed fields, its heading path (titles are capped
// at 256 bytes) and its metadata (sidecars are capped at 16 KiB), so that small chunks
// with large vectors stay legal; the per-byte part covers the text itself, JSON escaping
// and overlapping or nested chunks. A document that would write more fails as too_large
// while it is being written.
const (
	OutputPerTextByte  = 16
	OutputPerChunk     = 48 << 10
	OutputPerDimension = 32
)

// boundedWriter counts what the chunk file takes and fails once the output bound is passed.
type boundedWriter struct {
	w               io.Writer
	key             string
	written, budget int64
}

func (b *boundedWriter) allow(n int64) { b.budget += n }

func (b *boundedWriter) Write(p []byte) (int, error) {
	if b.written += int64(len(p)); b.written > b.budget {
		return 0, document.Permanentf(document.ReasonTooLarge,
			"%s: outputs would exceed the bound of %d bytes per text byte plus %d bytes and %d per vector dimension per chunk (%d bytes)",
			b.key, OutputPerTextByte, OutputPerChunk, OutputPerDimension, b.budget)
	}
	return b.w.Write(p)
}

func (p *Pipeline) encodeChunks(ctx context.Context, w io.Writer, obj Object, meta *sourceMeta, doc document.Document, spans []document.Span, embedTime, encodeTime, waitTime *time.Duration, counts *LabelCounts) error {
	ref := SourceRef{URI: p.cfg.SourceURI(obj.Key), ETag: meta.etag, VersionID: obj.VersionID, SHA256: meta.sha256}
	bw := &boundedWriter{w: w, key: obj.Key, budget: int64(OutputPerTextByte-1) * int64(len(doc.Text))} // the text file is one of the bytes
	w = bw
	model := p.cfg.Embedder.Model()
	fp := p.pipelineOf(meta)
	metadata := chunkMetadata(doc.Metadata, meta.attrs)
	var session LabelSession
	var inputs []document.LabelInput
	if p.cfg.Labeler != nil {
		session = p.cfg.Labeler.Begin(obj.Key)
	}
	var sink chunkSink
	if p.cfg.ChunksFormat == ChunksParquet {
		sink = &parquetSink{w: dataset.NewChunkWriter(w, p.codec)}
	} else {
		enc, err := newChunkEncoder(ref, metadata, p.cfg.Tokenizer, model, p.pipelineOf(meta))
		if err != nil {
			return fmt.Errorf("%s: %w", obj.Key, err)
		}
		sink = &jsonlSink{enc: enc, w: w}
	}
	// The embedder works one batch ahead of the labeling and encoding of the batch before,
	// so that a large document keeps two cores busy; memory holds two batches of vectors.
	ectx, stop := context.WithCancel(ctx)
	ahead := make(chan embedded, 1)
	go p.embedAhead(ectx, doc.Text, spans, ahead)
	defer func() {
		// Return only once the embedder has: a document that stops early (an error, the
		// output bound) must not leave an Embed call running after its slot is free, or
		// after the run closes the embedder (an ONNX session).
		stop()
		for range ahead {
		}
	}()
	for b := 0; b < len(spans); b += p.cfg.EmbedBatch {
		batch := spans[b:min(len(spans), b+p.cfg.EmbedBatch)]
		tw := time.Now()
		e, ok := <-ahead
		*waitTime += time.Since(tw)
		if !ok {
			return ctx.Err()
		}
		texts, vecs, err := e.texts, e.vecs, e.err
		*embedTime += e.took
		if err != nil {
			return fmt.Errorf("embed %s: %w", obj.Key, err)
		}
		if len(vecs) != len(batch) {
			return fmt.Errorf("embed %s: %d vectors for %d texts", obj.Key, len(vecs), len(batch))
		}
		var labels []document.Label
		if session != nil {
			inputs = inputs[:0]
			for i := range batch {
				s := batch[i]
				inputs = append(inputs, document.LabelInput{ID: chunkID(obj.Key, b+i, fp), Index: b + i, Text: texts[i], Embedding: vecs[i],
					Before: doc.Text[runeStart(doc.Text, s.Start-document.LabelContext):s.Start], After: doc.Text[s.End:runeStart(doc.Text, s.End+document.LabelContext)],
					HeadingPath: headingPath(&doc, s)})
			}
			if labels, err = session.Label(ctx, inputs); err != nil {
				return fmt.Errorf("label %s: %w", obj.Key, err)
			}
		}
		for i, s := range batch {
			idx := b + i
			rec := ChunkRecord{
				Schema:         ChunkSchema,
				ID:             chunkID(obj.Key, idx, fp),
				Source:         ref,
				Index:          idx,
				Start:          s.Start,
				End:            s.End,
				PageStart:      doc.PageAt(s.Start),
				PageEnd:        doc.PageAt(max(s.Start, s.End-1)),
				HeadingPath:    headingPath(&doc, s),
				Tokens:         s.Tokens,
				Tokenizer:      p.cfg.Tokenizer,
				Text:           texts[i],
				Embedding:      vecs[i],
				EmbeddingModel: model,
				Metadata:       metadata,
				OCRConfidence:  doc.OCRConfidence(s.Start, s.End),
				Pipeline:       fp,
			}
			if labels != nil {
				rec.Label = &labels[i]
				counts.add(labels[i].Status)
			}
			if s.Parent >= 0 {
				rec.ParentID = chunkID(obj.Key, s.Parent, fp)
			}
			bw.allow(OutputPerChunk + OutputPerDimension*int64(len(vecs[i])))
			te := time.Now()
			err = sink.add(&rec)
			*encodeTime += time.Since(te)
			if err != nil {
				return fmt.Errorf("encode chunk %d of %s: %w", idx, obj.Key, err)
			}
		}
	}
	te := time.Now()
	err := sink.close()
	*encodeTime += time.Since(te)
	if err != nil {
		return fmt.Errorf("encode chunks of %s: %w", obj.Key, err)
	}
	if session != nil {
		if err := session.Finish(ctx); err != nil {
			return fmt.Errorf("label %s: %w", obj.Key, err)
		}
	}
	return nil
}

// embedded is one batch of chunk texts and their vectors.
type embedded struct {
	texts []string
	vecs  [][]float32
	took  time.Duration
	err   error
}

// embedAhead embeds the spans batch by batch into out, in order, and closes it; it stops
// at the first error (sent) or when ctx ends.
func (p *Pipeline) embedAhead(ctx context.Context, text string, spans []document.Span, out chan<- embedded) {
	defer close(out)
	for b := 0; b < len(spans); b += p.cfg.EmbedBatch {
		batch := spans[b:min(len(spans), b+p.cfg.EmbedBatch)]
		texts := make([]string, len(batch))
		for i, s := range batch {
			texts[i] = text[s.Start:s.End]
		}
		t := time.Now()
		vecs, err := p.cfg.Embedder.Embed(ctx, texts)
		select {
		case out <- embedded{texts: texts, vecs: vecs, took: time.Since(t), err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// runeStart returns the start of the character holding byte i of s, clamped to s.
func runeStart(s string, i int) int {
	if i <= 0 {
		return 0
	}
	if i >= len(s) {
		return len(s)
	}
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}

// headingPath is a chunk's heading path: the chunker's, else the headings enclosing its
// start, else empty (never null in the record).
func headingPath(doc *document.Document, s document.Span) []string {
	if s.HeadingPath != nil {
		return s.HeadingPath
	}
	if p := doc.HeadingPath(s.Start); p != nil {
		return p
	}
	return []string{}
}

// chunkMetadata is what every chunk of a document carries as metadata: what its format
// said (an e-mail's sender), under the attributes of its sidecar, which win.
func chunkMetadata(fromDoc map[string]string, sidecar map[string]any) map[string]any {
	if len(fromDoc) == 0 {
		return sidecar
	}
	out := make(map[string]any, len(fromDoc)+len(sidecar))
	for k, v := range fromDoc {
		out[k] = v
	}
	for k, v := range sidecar {
		out[k] = v
	}
	return out
}
