package labeling

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docingest/docingest/chunkers"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	r := NewRedactor(AllRedactions())
	for _, tc := range []struct{ in, want string }{
		{"Write to jane.doe+tag@example.co.uk today.", "Write to [EMAIL] today."},
		{"Card 4111 1111 1111 1111 expires", "Card [CARD] expires"},
		{"Card 4111 1111 1111 1112 is not Luhn-valid", "Card 4111 1111 1111 1112 is not Luhn-valid"},
		{"IBAN GB82 WEST 1234 5698 7654 32 please", "IBAN [IBAN] please"},
		// a failed check leaves the number to the next kind: phone-like digits are redacted
		{"IBAN GB82 WEST 1234 5698 7654 33 wrong check", "IBAN GB82 WEST [PHONE] wrong check"},
		{"SSN 123-45-6789 on file", "SSN [SSN] on file"},
		{"not an SSN: 666-12-3456", "not an SSN: [PHONE]"},
		{"ratio 3:2 and time 12:30:45 stay", "ratio 3:2 and time 12:30:45 stay"},
		{"server 192.168.10.254 and 2001:db8::8a2e:370:7334 down", "server [IP] and [IP] down"},
		{"version 1.2.3.999 is not an address", "version 1.2.3.999 is not an address"},
		{"call +44 20 7946 0958 or (555) 123-4567 or 555-123-4567", "call [PHONE] or [PHONE] or [PHONE]"},
		{"In 2024 we had 1500 users and 37 servers.", "In 2024 we had 1500 users and 37 servers."},
		// the formats that leaked (issue 14, section 5)
		{"call 555.123.4567 now", "call [PHONE] now"},
		{"call 5551234567 now", "call [PHONE] now"},
		{"call 555–123–4567 now", "call [PHONE] now"},
		{"Tel. 030/1234567 bitte", "Tel. [PHONE] bitte"},
		{"ext 555-1234 only", "ext [PHONE] only"},
		{"card 4111.1111.1111.1111 ok", "card [CARD] ok"},
		{"card 4111–1111–1111–1111 ok", "card [CARD] ok"},
		{"card 4111 1111\n1111 1111 ok", "card [CARD] ok"},
		{"SSN 123456789 here", "SSN [SSN] here"},
		{"SSN 123.45.6789 here", "SSN [SSN] here"},
		{"iban gb82west12345698765432 here", "iban [IBAN] here"},
		{"IBAN GB82-WEST-1234-5698-7654-32 here", "IBAN [IBAN] here"},
		{"mail jöhn@exämple.de now", "mail [EMAIL] now"},
		{"host 192.168.001.020 down", "host [IP] down"},
		// and what must stay
		{"on 2024-11-30 at 3.5 km, pi is 3.14159265, v1.2.3", "on 2024-11-30 at 3.5 km, pi is 3.14159265, v1.2.3"},
		{"order 12345678 shipped", "order 12345678 shipped"},
	} {
		got, found := r.Redact(tc.in)
		if got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if (got != tc.in) != (len(found) > 0) {
			t.Errorf("%q: found %v", tc.in, found)
		}
	}
	// each kind can be turned off
	off := NewRedactor(RedactConfig{Emails: true})
	got, found := off.Redact("a@b.org 4111 1111 1111 1111")
	if got != "[EMAIL] 4111 1111 1111 1111" || found["email"] != 1 || len(found) != 1 {
		t.Fatalf("%q %v", got, found)
	}
}

// A number cut by a chunk boundary is redacted in both halves when each is redacted with
// its neighbours' text (before, a fixed chunker of 12 characters sent both halves as they
// were).
func TestRedactWithinBoundary(t *testing.T) {
	t.Parallel()
	r := NewRedactor(AllRedactions())
	doc := "Call me at 555-123-4567 or write to jane@example.org, card 4111 1111 1111 1111."
	for size := 3; size <= 20; size++ {
		var sent strings.Builder
		for i := 0; i < len(doc); i += size {
			end := min(len(doc), i+size)
			before, after := doc[max(0, i-64):i], doc[end:min(len(doc), end+64)]
			red, _ := r.RedactWithin(before, doc[i:end], after)
			sent.WriteString(red + "|")
		}
		for _, secret := range []string{"555", "4567", "jane", "example", "4111", "1111"} {
			if strings.Contains(sent.String(), secret) {
				t.Errorf("chunks of %d characters leak %q: %s", size, secret, sent.String())
			}
		}
	}
	// the neighbours are context only: nothing of them is returned
	if got, _ := r.RedactWithin("555-", "123-4567 ok", ""); got != "[PHONE] ok" {
		t.Errorf("got %q", got)
	}
	if got, _ := r.RedactWithin("before ", "plain text", " after"); got != "plain text" {
		t.Errorf("got %q", got)
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("mail a@b.co, card 4111-1111-1111-1111, ip ::1, +1 (555) 010-9999")
	f.Add("GB82WEST12345698765432 123-45-6789")
	r := NewRedactor(AllRedactions())
	f.Fuzz(func(t *testing.T, s string) {
		out, found := r.Redact(s)
		n := 0
		for _, c := range found {
			n += c
		}
		if strings.Count(out, "[")-strings.Count(s, "[") != n {
			t.Fatalf("%d redactions recorded, %d markers added", n, strings.Count(out, "[")-strings.Count(s, "["))
		}
		if again, more := r.Redact(out); again != out && len(more) > 0 && strings.Contains(s, "[") == false {
			t.Fatalf("redacting twice changed %q into %q", out, again)
		}
	})
}

// Invariant 5 end to end: a fixed chunker of 12 characters cuts every number in two, and
// nothing of them reaches the labeling spool (before, each half went to humans as it was).
func TestPendingItemsRedactedAcrossChunkBoundaries(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.Threshold = 1e-9 // every chunk is uncertain: all of them go to the spool
	out, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLabeler(ctx, cfg, out, features, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	p := pipelineFor(t, l, out)
	p, err = worker.NewPipeline(withChunker(p, chunkers.Fixed{Config: chunkers.Config{Max: 12}, Sizer: chunkers.CharSizer{}}, l), out)
	if err != nil {
		t.Fatal(err)
	}
	doc := "Ring 555-123-4567 or mail jane.doe@example.org; card 4111 1111 1111 1111; SSN 123-45-6789."
	src := worker.ObjectAt("pii.txt")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pii.txt"), []byte(doc), 0o644)
	local, _ := storage.NewLocal(dir)
	if res, err := p.Process(ctx, local, src, 1); err != nil || res.Failure != nil {
		t.Fatalf("%+v %v", res, err)
	}
	var sent strings.Builder
	n := 0
	out.List(ctx, "labeling/pending/", true, func(o storage.ObjectInfo) error {
		b, _ := out.Get(ctx, o.Key)
		var it PendingItem
		json.Unmarshal(b, &it)
		sent.WriteString(it.Text + "|")
		n++
		return nil
	})
	if n < 5 {
		t.Fatalf("%d pending items", n)
	}
	for _, secret := range []string{"555", "123", "4567", "jane", "example", "4111", "1111", "6789"} {
		if strings.Contains(sent.String(), secret) {
			t.Errorf("the spool holds %q: %s", secret, sent.String())
		}
	}
}

// withChunker is the configuration of p with another chunker.
func withChunker(p *worker.Pipeline, c worker.Chunker, l *Labeler) worker.PipelineConfig {
	emb, _ := embedders.NewHashing(embedders.DefaultHashing())
	lim := extractors.Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}
	return worker.PipelineConfig{
		Detect:     extractors.Detect,
		Extractors: map[string]worker.Extractor{extractors.FormatText: extractors.TextExtractor{Limits: lim}},
		ChunkerFor: func(string, string) worker.Chunker { return c },
		Tokenizer:  "chars", Embedder: emb, EmbedBatch: 32, Fingerprint: p.Fingerprint(), NoETag: true, Labeler: asWorker{l},
		Limits: worker.Limits{MaxObjectBytes: 100 << 20, DocumentTimeout: time.Minute},
	}
}
