// Package worker owns the Pipeline that turns one source object into its outputs (fetch,
// extract, clean, chunk, embed, write), the batch runner behind `docingest run`, the output
// layout and record formats of ARCHITECTURE.md, and the small interfaces it consumes:
// Extractor, Chunker, Embedder, and the store methods it calls. The SQS consumer joins it
// in the worker issue.
//
// It is called by cmd/docingest, which builds the extractors, chunkers, embedders and
// stores and hands them in. worker never reads flags, environment or config files, and it
// never deletes an input or a queue message before every output of that input is durably
// written.
package worker
