// Package embedders turns chunk text into vectors. This file set holds the zero-setup
// default: a signed feature-hashing embedder over word and character n-grams, pure Go and
// deterministic, and the word tokenizer it counts with, which chunkers use as their token
// unit when it is the configured embedder.
//
// The hashing embedder is lexical: texts that share words and word fragments land near
// each other, synonyms and paraphrases do not. It is not a neural model, and the docs
// and outputs say so. Embedders are safe for concurrent use and never import worker.
package embedders
