// Package labeling will own the classifier, the uncertainty measures, the labeled dataset
// in Ground Truth output-manifest form, the dispatcher of SageMaker Ground Truth labeling
// jobs and the collection of their results (issue 5). Nothing is built here yet: the
// pipeline writes chunk records without a label until then.
package labeling
