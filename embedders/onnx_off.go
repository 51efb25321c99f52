//go:build !onnx

package embedders

import (
	"context"
	"errors"

	"github.com/docingest/docingest/wordpiece"
)

// ONNX is only available in binaries built with -tags onnx (it needs cgo and the
// onnxruntime shared library); this build has none.
type ONNX struct{}

// ErrNoONNX says how to get a binary that runs ONNX models.
var ErrNoONNX = errors.New("embedding.provider onnx: this docingest was built without ONNX support; build it with `CGO_ENABLED=1 go build -tags onnx ./cmd/docingest` (README, \"Local ONNX models\")")

// NewONNX reports that this build cannot run ONNX models.
func NewONNX(ONNXConfig) (*ONNX, error) { return nil, ErrNoONNX }

func (*ONNX) Embed(context.Context, []string) ([][]float32, error) { return nil, ErrNoONNX }
func (*ONNX) Model() string                                        { return "" }
func (*ONNX) Tokenizer() *wordpiece.Tokenizer                      { return nil }
func (*ONNX) MaxTokens() int                                       { return 0 }
func (*ONNX) Dimensions() int                                      { return 0 }
func (*ONNX) Close()                                               {}
