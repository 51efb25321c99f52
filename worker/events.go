package worker

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// EventKind is what happened to an object.
type EventKind int

const (
	ObjectCreated EventKind = iota + 1
	ObjectRemoved
)

func (k EventKind) String() string {
	switch k {
	case ObjectCreated:
		return "created"
	case ObjectRemoved:
		return "removed"
	}
	return "unknown"
}

// Event is one object event, whatever envelope carried it. Key is decoded.
type Event struct {
	Kind   EventKind
	Name   string // the original event name ("ObjectCreated:Put", "Object Deleted")
	Bucket string
	Key    string
	// AltKey is the other spelling of the key (form-encoded or decoded) when it differs:
	// tried when no object is found under Key, since envelopes disagree on encoding.
	AltKey    string
	Size      int64
	ETag      string
	VersionID string
	Sequencer string
}

// Message is a parsed queue message body.
type Message struct {
	// Test is set for s3:TestEvent, which S3 sends when notifications are configured.
	Test bool
	// Events holds the object events to act on.
	Events []Event
	// Ignored counts records of other kinds (restores, replication, lifecycle transitions).
	Ignored int
}

// ErrMalformed wraps every reason a body is not an event this worker understands.
var ErrMalformed = errors.New("malformed event")

// ParseMessage reads an SQS message body: an S3 event notification (several records per
// message), the same wrapped in an SNS notification (or delivered raw by SNS), an
// EventBridge "Object Created"/"Object Deleted" event, or s3:TestEvent. S3 notification
// keys are URL-decoded the S3 way ("+" is a space, "%2B" a plus), with the key as sent
// kept as the alternative spelling; EventBridge keys are kept as they are, with their
// form-decoded spelling as the alternative. Lifecycle expirations are removals.
func ParseMessage(body string) (Message, error) {
	return parseMessage([]byte(body), 0)
}

func parseMessage(body []byte, depth int) (Message, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return Message{}, fmt.Errorf("%w: not a JSON object: %v", ErrMalformed, err)
	}
	switch {
	case top["Type"] != nil && top["Message"] != nil && depth == 0:
		var typ, inner string
		if json.Unmarshal(top["Type"], &typ) != nil || json.Unmarshal(top["Message"], &inner) != nil {
			return Message{}, fmt.Errorf("%w: SNS envelope with non-string Type or Message", ErrMalformed)
		}
		if typ != "Notification" {
			return Message{}, fmt.Errorf("%w: SNS message of type %q", ErrMalformed, typ)
		}
		return parseMessage([]byte(inner), depth+1)
	case top["Records"] != nil:
		return parseS3Records(top["Records"])
	case top["Event"] != nil:
		var ev string
		_ = json.Unmarshal(top["Event"], &ev)
		if ev == "s3:TestEvent" {
			return Message{Test: true}, nil
		}
		return Message{}, fmt.Errorf("%w: unknown Event %q", ErrMalformed, ev)
	case top["detail-type"] != nil:
		return parseEventBridge(body)
	}
	return Message{}, fmt.Errorf("%w: neither an S3, SNS nor EventBridge event", ErrMalformed)
}

type s3Record struct {
	EventSource string `json:"eventSource"`
	EventName   string `json:"eventName"`
	S3          *struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string      `json:"key"`
			Size      json.Number `json:"size"`
			ETag      string      `json:"eTag"`
			VersionID string      `json:"versionId"`
			Sequencer string      `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`
}

func parseS3Records(raw json.RawMessage) (Message, error) {
	var recs []s3Record
	if err := json.Unmarshal(raw, &recs); err != nil {
		return Message{}, fmt.Errorf("%w: Records: %v", ErrMalformed, err)
	}
	if len(recs) == 0 {
		return Message{}, fmt.Errorf("%w: no Records", ErrMalformed)
	}
	var m Message
	for i, r := range recs {
		if r.EventSource != "aws:s3" || r.S3 == nil {
			return Message{}, fmt.Errorf("%w: record %d is not an S3 event (eventSource %q)", ErrMalformed, i, r.EventSource)
		}
		var kind EventKind
		switch {
		case strings.HasPrefix(r.EventName, "ObjectCreated:"):
			kind = ObjectCreated
		case strings.HasPrefix(r.EventName, "ObjectRemoved:"), strings.HasPrefix(r.EventName, "LifecycleExpiration:"):
			kind = ObjectRemoved // a lifecycle rule's expiry removes the object (or hides it behind a delete marker)
		default:
			m.Ignored++
			continue
		}
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return Message{}, fmt.Errorf("%w: record %d: key %q: %v", ErrMalformed, i, r.S3.Object.Key, err)
		}
		ev := Event{
			Kind: kind, Name: r.EventName, Bucket: r.S3.Bucket.Name, Key: key, AltKey: altKey(key, r.S3.Object.Key),
			ETag: strings.Trim(r.S3.Object.ETag, `"`), VersionID: r.S3.Object.VersionID, Sequencer: r.S3.Object.Sequencer,
		}
		if r.S3.Object.Size != "" {
			if n, err := r.S3.Object.Size.Int64(); err == nil {
				ev.Size = n
			}
		}
		if err := ev.validate(); err != nil {
			return Message{}, fmt.Errorf("%w: record %d: %v", ErrMalformed, i, err)
		}
		m.Events = append(m.Events, ev)
	}
	return m, nil
}

func parseEventBridge(body []byte) (Message, error) {
	var e struct {
		DetailType string `json:"detail-type"`
		Source     string `json:"source"`
		Detail     struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key       string `json:"key"`
				Size      int64  `json:"size"`
				ETag      string `json:"etag"`
				VersionID string `json:"version-id"`
				Sequencer string `json:"sequencer"`
			} `json:"object"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return Message{}, fmt.Errorf("%w: EventBridge event: %v", ErrMalformed, err)
	}
	if e.Source != "aws.s3" {
		return Message{}, fmt.Errorf("%w: EventBridge event from %q, not aws.s3", ErrMalformed, e.Source)
	}
	var kind EventKind
	switch e.DetailType {
	case "Object Created":
		kind = ObjectCreated
	case "Object Deleted":
		kind = ObjectRemoved
	default:
		return Message{Ignored: 1}, nil
	}
	o := e.Detail.Object
	// EventBridge's documentation does not say whether the key is URL-encoded, and it has
	// been seen both ways: the key as given first, its form-decoded spelling second.
	alt := ""
	if dec, err := url.QueryUnescape(o.Key); err == nil {
		alt = altKey(o.Key, dec)
	}
	ev := Event{Kind: kind, Name: e.DetailType, Bucket: e.Detail.Bucket.Name, Key: o.Key, AltKey: alt, Size: o.Size,
		ETag: strings.Trim(o.ETag, `"`), VersionID: o.VersionID, Sequencer: o.Sequencer}
	if err := ev.validate(); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return Message{Events: []Event{ev}}, nil
}

// altKey returns other when it is a different spelling of key worth trying, else "".
func altKey(key, other string) string {
	if other == key || other == "" {
		return ""
	}
	return other
}

func (e Event) validate() error {
	switch {
	case e.Bucket == "":
		return errors.New("no bucket name")
	case e.Key == "":
		return errors.New("no object key")
	case e.Size < 0:
		return fmt.Errorf("negative size %d", e.Size)
	}
	return nil
}

// SequencerLess reports whether sequencer a is older than b. S3 sequencers are hex strings
// of varying length; as the S3 User Guide's event message structure says, the shorter is
// right-padded with zeros, then they compare as strings. An empty sequencer is older than
// any other.
func SequencerLess(a, b string) bool {
	if a == "" || b == "" {
		return a == "" && b != ""
	}
	a, b = strings.ToUpper(a), strings.ToUpper(b)
	if n := len(b) - len(a); n > 0 {
		a += strings.Repeat("0", n)
	} else if n < 0 {
		b += strings.Repeat("0", -n)
	}
	return a < b
}
