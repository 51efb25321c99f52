//go:build onnx

package embedders

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/docingest/docingest/wordpiece"
)

// onnxruntime keeps one environment per process; these guard it. They are the only
// package-level state in docingest, because the library's is.
var (
	ortMu    sync.Mutex
	ortUsers int
	ortLib   string
)

// ONNX runs a sentence-transformer exported to ONNX (a BERT-family encoder whose output is
// last_hidden_state) through onnxruntime: WordPiece tokenization shared with the
// chunkers, each batch padded only to its own longest text (texts of one call are sorted
// by length first, so batches hold similar lengths), attention-masked mean pooling and L2
// normalisation. Safe for concurrent use.
type ONNX struct {
	cfg       ONNXConfig
	tok       *wordpiece.Tokenizer
	maxLen    int
	dims      int
	model     string
	inputs    []string
	session   *ort.DynamicAdvancedSession
	truncated atomic.Int64
	closeOnce sync.Once
	// padTo pads every batch to at least this length (benchmarks measure what dynamic
	// padding saves; 0 in use).
	padTo int
}

// NewONNX loads the model folder.
func NewONNX(cfg ONNXConfig) (*ONNX, error) {
	if cfg.Batch < 1 {
		cfg.Batch = 32
	}
	tok, maxLen, err := loadFolderTokenizer(cfg.Dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.Dir, "model.onnx")
	sum, err := fileHash(path)
	if err != nil {
		return nil, fmt.Errorf("onnx model: %w", err)
	}
	if err := acquireORT(cfg.Library); err != nil {
		return nil, err
	}
	o := &ONNX{cfg: cfg, tok: tok, maxLen: maxLen}
	ok := false
	defer func() {
		if !ok {
			releaseORT()
		}
	}()
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return nil, fmt.Errorf("onnx model %s: %w", path, err)
	}
	for _, in := range ins {
		switch in.Name {
		case "input_ids", "attention_mask", "token_type_ids":
			o.inputs = append(o.inputs, in.Name)
		default:
			return nil, fmt.Errorf("onnx model %s: unexpected input %q (a BERT-style encoder takes input_ids, attention_mask and token_type_ids)", path, in.Name)
		}
	}
	if !slices.Contains(o.inputs, "input_ids") || !slices.Contains(o.inputs, "attention_mask") {
		return nil, fmt.Errorf("onnx model %s: needs input_ids and attention_mask inputs", path)
	}
	var outName string
	for _, out := range outs {
		if out.Name == "last_hidden_state" || outName == "" && len(out.Dimensions) == 3 {
			outName = out.Name
			if d := out.Dimensions; len(d) == 3 && d[2] > 0 {
				o.dims = int(d[2])
			}
		}
	}
	if outName == "" || o.dims == 0 {
		return nil, fmt.Errorf("onnx model %s: no [batch, sequence, hidden] output with a fixed hidden size", path)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("onnx session options: %w", err)
	}
	defer opts.Destroy()
	if cfg.Threads > 0 {
		if err := opts.SetIntraOpNumThreads(cfg.Threads); err != nil {
			return nil, fmt.Errorf("onnx threads: %w", err)
		}
	}
	o.session, err = ort.NewDynamicAdvancedSession(path, o.inputs, []string{outName}, opts)
	if err != nil {
		return nil, fmt.Errorf("onnx model %s: %w", path, err)
	}
	o.model = fmt.Sprintf("onnx:%s@%s/d%d/mean", filepath.Base(filepath.Clean(cfg.Dir)), sum[:16], o.dims)
	ok = true
	return o, nil
}

func acquireORT(lib string) error {
	ortMu.Lock()
	defer ortMu.Unlock()
	if ortUsers > 0 {
		if lib != ortLib {
			return fmt.Errorf("onnxruntime is already loaded from %q; one process uses one library", ortLib)
		}
		ortUsers++
		return nil
	}
	if lib != "" {
		ort.SetSharedLibraryPath(lib)
	}
	if err := ort.InitializeEnvironment(); err != nil {
		return fmt.Errorf("onnxruntime: cannot load the shared library %q (embedding.onnx_library; see README, \"Local ONNX models\"): %w", lib, err)
	}
	ortUsers, ortLib = 1, lib
	return nil
}

func releaseORT() {
	ortMu.Lock()
	defer ortMu.Unlock()
	ortUsers--
	if ortUsers == 0 {
		_ = ort.DestroyEnvironment()
	}
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Model names the folder, the model file's hash and the vector size.
func (o *ONNX) Model() string { return o.model }

// Tokenizer is the folder's WordPiece tokenizer, which the chunkers count with.
func (o *ONNX) Tokenizer() *wordpiece.Tokenizer { return o.tok }

// MaxTokens is the model's input limit, [CLS] and [SEP] included.
func (o *ONNX) MaxTokens() int { return o.maxLen }

// Dimensions is the vector size.
func (o *ONNX) Dimensions() int { return o.dims }

// Truncated counts texts cut to MaxTokens (semantic chunking's sentence windows may be
// longer than a chunk; chunks never are).
func (o *ONNX) Truncated() int64 { return o.truncated.Load() }

// Close releases the session.
func (o *ONNX) Close() {
	o.closeOnce.Do(func() {
		o.session.Destroy()
		releaseORT()
	})
}

func (o *ONNX) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	ids := make([][]int32, len(texts))
	for i, t := range texts {
		var cut bool
		ids[i], cut = o.tok.Encode(t, o.maxLen)
		if cut {
			o.truncated.Add(1)
		}
	}
	return o.embedIDs(ctx, ids)
}

// embedIDs runs encoded sequences ([CLS] … [SEP]) through the model.
func (o *ONNX) embedIDs(ctx context.Context, ids [][]int32) ([][]float32, error) {
	order := make([]int, len(ids))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(ids[a]) - len(ids[b]) })
	out := make([][]float32, len(ids))
	for at := 0; at < len(order); at += o.cfg.Batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		part := order[at:min(len(order), at+o.cfg.Batch)]
		batch := make([][]int32, len(part))
		for k, i := range part {
			batch[k] = ids[i]
		}
		vecs, err := o.run(batch)
		if err != nil {
			return nil, err
		}
		for k, i := range part {
			out[i] = vecs[k]
		}
	}
	return out, nil
}

// run pads the batch to its longest sequence and pools the model's output.
func (o *ONNX) run(batch [][]int32) ([][]float32, error) {
	seq := o.padTo
	for _, s := range batch {
		seq = max(seq, len(s))
	}
	n := len(batch)
	inputIDs := make([]int64, n*seq)
	mask := make([]int64, n*seq)
	_, _, pad := o.tok.Special()
	for b, s := range batch {
		for t := 0; t < seq; t++ {
			if t < len(s) {
				inputIDs[b*seq+t] = int64(s[t])
				mask[b*seq+t] = 1
			} else {
				inputIDs[b*seq+t] = int64(max(pad, 0))
			}
		}
	}
	shape := ort.NewShape(int64(n), int64(seq))
	values := make([]ort.Value, 0, len(o.inputs))
	defer func() {
		for _, v := range values {
			v.Destroy()
		}
	}()
	for _, name := range o.inputs {
		data := inputIDs
		switch name {
		case "attention_mask":
			data = mask
		case "token_type_ids":
			data = make([]int64, n*seq)
		}
		t, err := ort.NewTensor(shape, data)
		if err != nil {
			return nil, fmt.Errorf("onnx input %s: %w", name, err)
		}
		values = append(values, t)
	}
	outputs := []ort.Value{nil}
	if err := o.session.Run(values, outputs); err != nil {
		return nil, fmt.Errorf("onnx run: %w", err)
	}
	defer outputs[0].Destroy()
	hidden, ok := outputs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("onnx output is %T, want a float32 tensor", outputs[0])
	}
	if s := hidden.GetShape(); len(s) != 3 || s[0] != int64(n) || s[1] != int64(seq) || s[2] != int64(o.dims) {
		return nil, fmt.Errorf("onnx output shape %v, want [%d %d %d]", s, n, seq, o.dims)
	}
	return meanPool(hidden.GetData(), mask, n, seq, o.dims), nil
}
