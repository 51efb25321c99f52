package worker

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readEvent(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseMessage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file string
		want Message
	}{
		{"s3-put.json", Message{Events: []Event{
			{Kind: ObjectCreated, Name: "ObjectCreated:Put", Bucket: "uploads", Key: "reports/Q3 report + annex été.pdf",
				AltKey: "reports/Q3+report+%2B+annex+%C3%A9t%C3%A9.pdf", Size: 1024,
				ETag: "d41d8cd98f00b204e9800998ecf8427e", VersionID: "096fKKXTRTtl3on89fVO.nfljtsv6qko", Sequencer: "0055AED6DCD90281E5"},
			{Kind: ObjectRemoved, Name: "ObjectRemoved:Delete", Bucket: "uploads", Key: "old/notes.txt", Sequencer: "0055AED6DCD90281E6"},
		}}},
		{"sns-wrapped.json", Message{Events: []Event{
			{Kind: ObjectCreated, Name: "ObjectCreated:CompleteMultipartUpload", Bucket: "uploads", Key: "big/manual v2.pdf", AltKey: "big/manual%20v2.pdf", Size: 20971520,
				ETag: "5f363e0e58a95f06cbe9bbc662c5dfb6-4", Sequencer: "0062E99A88DC407460"},
		}}},
		{"eventbridge-created.json", Message{Events: []Event{
			{Kind: ObjectCreated, Name: "Object Created", Bucket: "uploads", Key: "raw/2026-11-25T10:00:00 notes+draft.txt",
				AltKey: "raw/2026-11-25T10:00:00 notes draft.txt", Size: 5,
				ETag: "b1946ac92492d2347c6235b4d2611184", VersionID: "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e", Sequencer: "00617F08299329D189"},
		}}},
		{"eventbridge-deleted.json", Message{Events: []Event{
			{Kind: ObjectRemoved, Name: "Object Deleted", Bucket: "uploads", Key: "raw/old.txt", Sequencer: "00617F0A1B2C3D4E5F"},
		}}},
		{"s3-test-event.json", Message{Test: true}},
	}
	for _, tc := range cases {
		got, err := ParseMessage(readEvent(t, tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s:\n%s", tc.file, diff)
		}
	}
	// SNS raw delivery is the S3 notification itself.
	if m, err := ParseMessage(readEvent(t, "s3-put.json")); err != nil || len(m.Events) != 2 {
		t.Errorf("raw delivery: %v %v", m, err)
	}
}

func TestParseMessageMalformed(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		``, `not json`, `[]`, `{}`, `{"Records":[]}`, `{"Records":"x"}`,
		`{"Records":[{"eventSource":"aws:sqs","eventName":"ObjectCreated:Put"}]}`,
		`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"bad%zzescape"}}}]}`,
		`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":""},"object":{"key":"k"}}}]}`,
		`{"Type":"SubscriptionConfirmation","Message":"{}"}`,
		`{"Type":"Notification","Message":"{\"Type\":\"Notification\",\"Message\":\"{}\"}"}`,
		`{"detail-type":"Object Created","source":"aws.ec2","detail":{}}`,
		`{"Event":"s3:Something"}`,
	} {
		if _, err := ParseMessage(body); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: error %v, want ErrMalformed", body, err)
		}
	}
	// Other S3 event kinds are counted and ignored, not errors.
	m, err := ParseMessage(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRestore:Completed","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`)
	if err != nil || m.Ignored != 1 || len(m.Events) != 0 {
		t.Errorf("restore event: %+v %v", m, err)
	}
}

// Lifecycle expirations remove the object as a delete does (S3 sends them as
// LifecycleExpiration:Delete and :DeleteMarkerCreated, not ObjectRemoved:*).
func TestParseLifecycleExpiration(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"LifecycleExpiration:Delete", "LifecycleExpiration:DeleteMarkerCreated"} {
		m, err := ParseMessage(`{"Records":[{"eventSource":"aws:s3","eventName":"` + name + `","s3":{"bucket":{"name":"b"},"object":{"key":"old/x.txt","sequencer":"0A"}}}]}`)
		if err != nil || len(m.Events) != 1 || m.Events[0].Kind != ObjectRemoved || m.Events[0].Key != "old/x.txt" {
			t.Errorf("%s: %+v %v", name, m, err)
		}
	}
}

// An EventBridge key that arrives form-encoded keeps its decoded spelling as the one to
// try next (users report encoded keys there although the examples show raw ones).
func TestParseEventBridgeEncodedKey(t *testing.T) {
	t.Parallel()
	body := `{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"incoming/name+with+spaces+%2B+plus+%E2%80%94+%E6%97%A5%E6%9C%AC.txt","size":3}}}`
	m, err := ParseMessage(body)
	if err != nil || len(m.Events) != 1 {
		t.Fatalf("%+v %v", m, err)
	}
	ev := m.Events[0]
	if ev.Key != "incoming/name+with+spaces+%2B+plus+%E2%80%94+%E6%97%A5%E6%9C%AC.txt" || ev.AltKey != "incoming/name with spaces + plus — 日本.txt" {
		t.Errorf("key %q, alternative %q", ev.Key, ev.AltKey)
	}
}

func TestSequencerLess(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"0055AED6DCD90281E5", "0055AED6DCD90281E6", true},
		{"0055AED6DCD90281E6", "0055AED6DCD90281E5", false},
		{"FF", "0100", false}, // shorter is right-padded (S3 User Guide): FF00 > 0100
		{"0100", "FF", true},
		// the case that left a deleted object's outputs behind under left-padding: a
		// later delete with a shorter sequencer
		{"00620000000000000001", "0063000000000000", true},
		{"0063000000000000", "00620000000000000001", false},
		{"0063", "00630000", false}, // equal once padded
		{"00630000", "0063", false},
		{"", "00", true},
		{"abc", "ABC", false},
	} {
		if got := SequencerLess(tc.a, tc.b); got != tc.want {
			t.Errorf("SequencerLess(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func FuzzParseEvent(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "events", "*.json"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(string(b))
	}
	f.Add(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a+b%2Bc","size":"12"}}}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		m, err := ParseMessage(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		for _, e := range m.Events {
			if e.Bucket == "" || e.Key == "" || (e.Kind != ObjectCreated && e.Kind != ObjectRemoved) || e.Size < 0 {
				t.Fatalf("invalid event accepted: %+v", e)
			}
		}
		if !json.Valid([]byte(body)) {
			t.Fatal("invalid JSON accepted")
		}
	})
}
