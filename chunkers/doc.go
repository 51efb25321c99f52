// Package chunkers cuts a document's cleaned text into spans sized in a pluggable unit:
// characters (Unicode code points) or the tokens of a tokenizer. One file per strategy:
// fixed, recursive, sentence, markdown.
//
// Every strategy guarantees, for any input: no span over Config.Max units (a word longer
// than the max is cut at rune or token boundaries); Text[Start:End] is the span's text,
// trimmed of surrounding white space; spans are in order and together cover every
// non-space character; the same input gives the same spans. fixed and recursive overlap
// consecutive spans by exactly Config.Overlap units; sentence and markdown by the whole
// sentences that fit in it.
//
// Chunkers are values without state: safe for concurrent use. They never import worker
// and do no I/O.
package chunkers
