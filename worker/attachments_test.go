package worker

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/vectorindex"
)

// mail is an e-mail with a plain text body (empty for none) and attachments given as
// name → content, in order.
func mail(body string, atts ...[2]string) []byte {
	var b bytes.Buffer
	b.WriteString("From: Ana <ana@example.org>\r\nTo: team@example.org\r\nSubject: field notes\r\nDate: Tue, 3 Mar 2026 08:00:00 +0000\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n")
	b.WriteString("--XX\r\nContent-Type: text/plain\r\n\r\n" + body + "\r\n")
	for _, a := range atts {
		b.WriteString("--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"" + a[0] + "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		if strings.HasPrefix(a[1], "!") {
			b.WriteString(a[1] + "\r\n") // not base64
			continue
		}
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(a[1])) + "\r\n")
	}
	b.WriteString("--XX--\r\n")
	return b.Bytes()
}

// recordingIndex is a VectorIndex that keeps what it holds.
type recordingIndex struct {
	mu  sync.Mutex
	ids map[string]string // id → source
}

func (r *recordingIndex) Upsert(_ context.Context, vs []vectorindex.Vector) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range vs {
		r.ids[v.ID] = v.Source
	}
	return nil, nil
}

func (r *recordingIndex) Delete(_ context.Context, ids []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		delete(r.ids, id)
	}
	return nil
}

// sources counts the index's vectors by source.
func (r *recordingIndex) sources() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, s := range r.ids {
		out[s]++
	}
	return out
}

// An e-mail's attachments are documents of their own under the mail's key: outputs or a
// failure record each, committed, done again and removed with the mail, never orphans,
// and in the vector index while they are in the output.
func TestAttachments(t *testing.T) {
	dir := t.TempDir()
	srcDir, outDir := filepath.Join(dir, "src"), filepath.Join(dir, "out")
	put := func(name string, b []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(srcDir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(srcDir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testConfig(t, "fp1")
	lim := extractors.Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}
	cfg.Extractors[extractors.FormatEML] = extractors.EMLExtractor{Limits: lim}
	idx := &recordingIndex{ids: map[string]string{}}
	cfg.Vectors = idx
	out := newLocal(t, outDir)
	p := newPipeline(t, cfg, out)
	src := newLocal(t, srcDir)
	exists := func(key string) bool {
		_, err := os.Stat(filepath.Join(outDir, key))
		return err == nil
	}
	const (
		notes = "inbox/a.eml#1-notes.txt"
		csv   = "inbox/a.eml#2-counts.csv"
		bad   = "inbox/a.eml#4-broken.txt"
	)

	put("inbox/a.eml", mail("Counts from the east bank are attached.",
		[2]string{"notes.txt", "Forty-two herons near the old mill; the weir was flooded."},
		[2]string{"counts.csv", "site,herons\nmill,42\nweir,13\n"},
		[2]string{"photo.bin", "\x00\x01\x02 not a document format"},
		[2]string{"broken.txt", "!!!not base64!!!"}))
	sum := run(t, p, src, BatchOptions{})
	if sum.Processed != 1 || sum.Failed != 0 || sum.Attachments != 3 || sum.AttachmentsFailed != 1 || sum.FailedBy["corrupt"] != 1 {
		t.Fatalf("first run: %+v", sum)
	}
	for _, k := range []string{layout.Chunks("inbox/a.eml"), layout.Chunks(notes), layout.Text(notes), layout.Chunks(csv), layout.Failed(bad)} {
		if !exists(k) {
			t.Errorf("%s missing", k)
		}
	}
	if exists(layout.Chunks("inbox/a.eml#3-photo.bin")) || exists(layout.Failed("inbox/a.eml#3-photo.bin")) {
		t.Error("an attachment of a format docingest does not read got outputs or a failure record")
	}
	recs := readChunks(t, filepath.Join(outDir, layout.Chunks(notes)))
	if len(recs) == 0 || !strings.Contains(recs[0].Text, "Forty-two herons") || recs[0].Source.URI != notes {
		t.Fatalf("attachment chunks: %+v", recs)
	}
	if md := recs[0].Metadata; md["attachment_of"] != "inbox/a.eml" || md["from"] != "Ana <ana@example.org>" || md["subject"] != "field notes" || md["attachments"] != nil {
		t.Errorf("attachment chunk metadata %v", md)
	}
	var fr FailureRecord
	if b, err := os.ReadFile(filepath.Join(outDir, layout.Failed(bad))); err != nil || json.Unmarshal(b, &fr) != nil {
		t.Fatalf("failure record: %v", err)
	}
	if fr.Parent != "inbox/a.eml" || fr.Reason != "corrupt" || !fr.Permanent {
		t.Errorf("attachment failure record %+v", fr)
	}
	st, found, err := p.CurrentState(context.Background(), "inbox/a.eml")
	if err != nil || !found || len(st.Attachments) != 3 || st.Attachments[2].Status != statusFailed || st.Attachments[0].Chunks != len(recs) {
		t.Fatalf("state %+v %v", st, err)
	}
	if got := idx.sources(); got["inbox/a.eml"] == 0 || got[notes] != len(recs) || got[csv] == 0 || len(got) != 3 {
		t.Errorf("vector index by source %v", got)
	}

	// unchanged: skipped, nothing rewritten
	before := snapshot(t, outDir)
	if sum := run(t, p, src, BatchOptions{}); sum.Skipped != 1 || sum.Attachments != 0 {
		t.Fatalf("second run: %+v", sum)
	}
	if after := snapshot(t, outDir); !mapsEqual(before, after) {
		t.Error("an unchanged mail changed its outputs")
	}

	// retrying failures re-runs the mail of the failed attachment
	if sum := run(t, p, src, BatchOptions{RetryFailed: true}); sum.Processed != 1 || sum.Attachments != 3 {
		t.Fatalf("retry: %+v", sum)
	}

	// a new version without the CSV and with the broken file fixed: the CSV's outputs and
	// vectors go, the failure record goes
	put("inbox/a.eml", mail("Counts from the east bank are attached.",
		[2]string{"notes.txt", "Forty-two herons near the old mill; the weir was flooded."},
		[2]string{"broken.txt", "fixed now"}))
	if sum := run(t, p, src, BatchOptions{}); sum.Processed != 1 || sum.Attachments != 2 || sum.AttachmentsFailed != 0 {
		t.Fatalf("third run: %+v", sum)
	}
	const fixed = "inbox/a.eml#2-broken.txt"
	if exists(layout.Chunks(csv)) || exists(layout.Text(csv)) || exists(layout.Failed(bad)) || !exists(layout.Chunks(fixed)) {
		t.Error("the attachments of the old version are still there, or the new one is missing")
	}
	if got := idx.sources(); got[csv] != 0 || got[fixed] == 0 {
		t.Errorf("vector index by source after the change %v", got)
	}

	// a mail that is only its attachments
	put("inbox/b.eml", bytes.Replace(mail("", [2]string{"only.txt", "The attachment is all there is."}), []byte("Subject: field notes\r\n"), nil, 1))
	if sum := run(t, p, src, BatchOptions{}); sum.Failed != 0 || sum.Attachments != 1 {
		t.Fatalf("attachments only: %+v", sum)
	}
	if exists(layout.Chunks("inbox/b.eml")) || !exists(layout.Chunks("inbox/b.eml#1-only.txt")) {
		t.Error("a mail without body text: want no chunks of its own and its attachment's")
	}

	// the mail turns into one that fails: its attachments' outputs go with its own
	put("inbox/b.eml", []byte("From: x@example.org\r\nSubject: \r\n\r\n   \r\n"))
	if sum := run(t, p, src, BatchOptions{}); sum.Failed != 1 {
		t.Fatalf("failing mail: %+v", sum)
	}
	if exists(layout.Chunks("inbox/b.eml#1-only.txt")) || exists(layout.Text("inbox/b.eml#1-only.txt")) {
		t.Error("the attachment of a mail that now fails is still there")
	}

	// the mail is removed: a reindex sees no orphan among the attachments, and removes
	// them with the mail
	if err := os.Remove(filepath.Join(srcDir, "inbox/a.eml")); err != nil {
		t.Fatal(err)
	}
	put("inbox/c.eml", mail("A new mail.", [2]string{"c.txt", "Its attachment, read by the reindex."}, [2]string{"bad.txt", "!!!"}))
	var plan []string
	rsum, err := p.Reindex(context.Background(), ReindexOptions{Source: src, Concurrency: 2, OnPlan: func(key string, a ReindexAction) {
		plan = append(plan, key+" "+string(a))
	}})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(plan)
	if want := []string{"inbox/a.eml orphan", "inbox/b.eml unchanged", "inbox/c.eml new"}; !slices.Equal(plan, want) || rsum.Removed != 1 ||
		rsum.Attachments != 2 || rsum.AttachmentsFailed != 1 || rsum.FailedBy["corrupt"] != 1 {
		t.Fatalf("reindex planned %v (%+v), want %v", plan, rsum, want)
	}
	var left []string
	filepath.Walk(outDir, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.Contains(path, "a.eml") && !strings.Contains(path, "/state/") {
			left = append(left, path)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("outputs of the removed mail and its attachments left: %v", left)
	}
	for s := range idx.sources() {
		if strings.HasPrefix(s, "inbox/a.eml") {
			t.Errorf("vectors of %s are still in the index", s)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
