package embedders

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/docingest/docingest/wordpiece"
)

// ONNXConfig points at a sentence-transformer exported to ONNX.
type ONNXConfig struct {
	// Dir holds model.onnx and tokenizer.json or vocab.txt (and optionally
	// sentence_bert_config.json with max_seq_length).
	Dir string
	// Library is the onnxruntime shared library (libonnxruntime.so); empty means the
	// system's.
	Library string
	// Batch is the most texts per model run.
	Batch int
	// Threads for the model's operators (0: onnxruntime's default).
	Threads int
}

// loadFolderTokenizer reads the folder's tokenizer and its input limit.
func loadFolderTokenizer(dir string) (*wordpiece.Tokenizer, int, error) {
	name := filepath.Base(filepath.Clean(dir))
	var tok *wordpiece.Tokenizer
	if f, err := os.Open(filepath.Join(dir, "tokenizer.json")); err == nil {
		tok, err = wordpiece.FromJSON(f, name)
		f.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", dir, err)
		}
	} else if f, err := os.Open(filepath.Join(dir, "vocab.txt")); err == nil {
		tok, err = wordpiece.FromVocab(f, wordpiece.Options{Name: name, Lowercase: true, StripAccents: true})
		f.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", dir, err)
		}
	} else {
		return nil, 0, fmt.Errorf("%s: no tokenizer.json or vocab.txt", dir)
	}
	maxLen := 512
	var sb struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sentence_bert_config.json")); err == nil {
		if err := json.Unmarshal(b, &sb); err != nil {
			return nil, 0, fmt.Errorf("%s: sentence_bert_config.json: %w", dir, err)
		}
		if sb.MaxSeqLength > 0 {
			maxLen = sb.MaxSeqLength
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, 0, err
	}
	return tok, maxLen, nil
}

// meanPool averages the hidden states of the attended tokens of each sequence and
// L2-normalises the result: hidden is [batch, seq, dim] flattened, mask [batch, seq].
func meanPool(hidden []float32, mask []int64, batch, seq, dim int) [][]float32 {
	out := make([][]float32, batch)
	acc := make([]float64, dim)
	for b := 0; b < batch; b++ {
		clear(acc)
		n := 0
		for t := 0; t < seq; t++ {
			if mask[b*seq+t] == 0 {
				continue
			}
			n++
			row := hidden[(b*seq+t)*dim : (b*seq+t+1)*dim]
			for d, x := range row {
				acc[d] += float64(x)
			}
		}
		var norm float64
		for d := range acc {
			acc[d] /= float64(max(n, 1))
			norm += acc[d] * acc[d]
		}
		norm = math.Sqrt(norm)
		v := make([]float32, dim)
		for d := range acc {
			if norm > 0 {
				v[d] = float32(acc[d] / norm)
			}
		}
		out[b] = v
	}
	return out
}
