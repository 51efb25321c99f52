// Package extractors turns the bytes of one document into cleaned text with its
// structure (pages, headings): one file per format, plus the cleaning functions they share
// and Detect, which names the format of a byte slice.
//
// The worker's Pipeline calls an extractor through its own one-method interface, under a
// recover and a time limit; extractors honour the Limits they are built with (pages, text
// size) and report bad input as document.PermanentError with a reason from the fixed
// vocabulary. Extract borrows its input: the caller must not modify the bytes while
// Extract runs or after, and the returned Document never points into them (extractors
// may read them as a string without a copy). Extractors never import worker, never do I/O beyond the bytes they are
// given, and never keep state between calls: one value may serve many goroutines.
package extractors
