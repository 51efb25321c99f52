package document

import (
	"errors"
	"fmt"
)

// Reason is the fixed vocabulary of failure records (ARCHITECTURE.md, "Failure record").
type Reason string

// The failure reasons. Every failure record carries exactly one of them.
const (
	ReasonUnsupported    Reason = "unsupported"
	ReasonEmpty          Reason = "empty"
	ReasonEncrypted      Reason = "encrypted"
	ReasonNoTextLayer    Reason = "no_text_layer"
	ReasonTooLarge       Reason = "too_large"
	ReasonTooManyPages   Reason = "too_many_pages"
	ReasonTimeout        Reason = "timeout"
	ReasonMemory         Reason = "memory"
	ReasonCorrupt        Reason = "corrupt"
	ReasonMalformedEvent Reason = "malformed_event"
	ReasonInternal       Reason = "internal"
)

// PermanentError marks an error that will recur however often the same input is retried:
// bad or unsupported input, or a cap it exceeds. The worker records it and drops the input;
// every other error is transient.
type PermanentError struct {
	Reason Reason
	Err    error
}

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a permanent failure with the given reason.
func Permanent(reason Reason, err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Reason: reason, Err: err}
}

// Permanentf is Permanent with a formatted error; %w in format wraps as usual.
func Permanentf(reason Reason, format string, args ...any) error {
	return &PermanentError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// Classify is the one place that decides what an error means for the input that caused it:
// its failure reason and whether retrying can ever help. Errors not marked permanent are
// transient with reason internal.
func Classify(err error) (reason Reason, permanent bool) {
	var p *PermanentError
	if errors.As(err, &p) {
		return p.Reason, true
	}
	return ReasonInternal, false
}
