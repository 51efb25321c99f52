// Package labeling classifies every chunk, sends the uncertain ones to human labelers and
// brings their labels back:
//
//   - a classifier in pure Go (logistic regression over hashed word and character n-grams,
//     plus the embedding of a semantic embedder), trained from the configured class
//     descriptions and seed examples and from every human label, versioned by a hash of
//     what it learned from and stored under labeling/classifier/;
//   - uncertainty (least confidence, margin or entropy) against a threshold: confident
//     chunks go to labeled/auto/<source>.jsonl in Ground Truth output-manifest form,
//     uncertain ones to the spool labeling/pending/<source>/<text hash>.json, redacted;
//   - a dispatcher that claims pending items with conditional writes and creates a
//     labeling job under a deterministic name, within a per-job and per-day budget;
//   - a collector that reads finished jobs' output manifests into labeled/human/<job>.jsonl
//     and labeling/human/<text hash>.json and retrains the classifier.
//
// The labeling service is behind Backend; SageMaker Ground Truth is the one built.
package labeling
