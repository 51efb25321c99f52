package main

import (
	"io"

	"go.yaml.in/yaml/v3"
)

// configDocs documents every key; `config print` writes it above the key.
var configDocs = map[string]string{
	"run":                         "docingest run",
	"run.concurrency":             "documents processed at once (memory is about this many times the per-document caps)",
	"run.memory_per_document":     "soft memory limit of the Go runtime per document in flight (0: no limit; GOMEMLIMIT wins)",
	"limits":                      "per-document caps: a document over one is recorded in failed/ and the run goes on",
	"limits.max_object_bytes":     "largest source object read (bytes, or 100MiB)",
	"limits.max_pages":            "most pages of a paged document (PDF)",
	"limits.max_text_bytes":       "most cleaned text extracted from one document",
	"limits.document_timeout":     "time limit for extracting one document (other than PDF)",
	"limits.pdf_timeout_base":     "time limit for a PDF: this much ...",
	"limits.pdf_timeout_per_page": "... plus this much per page",
	"chunking":                    "how text is cut into chunks",
	"chunking.strategy":           "fixed | recursive | sentence | markdown",
	"chunking.unit":               "tokens (of the embedder's tokenizer) | chars (Unicode code points)",
	"chunking.max_size":           "largest chunk, in units; no chunk is ever larger",
	"chunking.overlap":            "units repeated from the end of one chunk at the start of the next (whole sentences for sentence and markdown)",
	"embedding":                   "how chunks are embedded",
	"embedding.provider":          "hashing: signed feature hashing of words and character n-grams, local and deterministic (lexical, not a neural model)",
	"embedding.dimensions":        "vector size",
	"embedding.char_ngram_min":    "shortest character n-gram hashed from each word",
	"embedding.char_ngram_max":    "longest character n-gram hashed from each word",
	"embedding.batch_size":        "chunks per embedder call",
	"log":                         "logs go to standard error",
	"log.level":                   "debug | info | warn | error",
	"log.format":                  "text | json",
}

// writeConfigYAML writes cfg as YAML with every key documented.
func writeConfigYAML(w io.Writer, cfg Config) error {
	var root yaml.Node
	if err := root.Encode(cfg); err != nil {
		return err
	}
	annotate(&root, "")
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return err
	}
	return enc.Close()
}

func annotate(n *yaml.Node, prefix string) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		path := key.Value
		if prefix != "" {
			path = prefix + "." + key.Value
		}
		if doc, ok := configDocs[path]; ok {
			key.HeadComment = doc
		}
		annotate(val, path)
	}
}
