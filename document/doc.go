// Package document holds the plain value types that pass between the stages of the
// pipeline: the cleaned text of a document with its structure (pages, headings), the
// spans a chunker cuts from it, and the failure reasons that every stage reports in.
//
// It is imported by extractors, chunkers, embedders and worker alike so that none of them
// has to import another. It must stay free of behaviour beyond small helpers on these
// types: no I/O, no configuration, no dependencies outside the standard library.
package document
