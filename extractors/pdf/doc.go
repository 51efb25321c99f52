// Package pdf is docingest's PDF engine: Extractor reads PDFs with
// github.com/ledongthuc/pdf and rebuilds words, lines and paragraphs from positioned
// glyphs (with its own font decoding: simple, CFF and CID fonts, ToUnicode maps, the
// Adobe Glyph List); PDFiumExtractor reads them with PDFium in WebAssembly. Both remove
// running heads and keep page boundaries. extractors/pdfchild runs either in a child
// process; the worker should use that, since nothing in-process can stop a hung parser.
package pdf
