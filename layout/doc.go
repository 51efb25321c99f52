// Package layout owns the output layout (ARCHITECTURE.md, "Output layout"): every key the
// worker, the labeling and the embedding cache write under an output prefix is built here,
// so that one rule maps a source key to the paths of its outputs.
//
// Its one rule, SourcePath (segment by segment, EscapeSegment), is one-to-one and fuzzed:
// two sources never share an output, and no output escapes the output prefix. The package
// is a leaf: standard library only, no I/O.
package layout
