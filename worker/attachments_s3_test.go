package worker_test

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"

	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/internal/emulators"
	"github.com/docingest/docingest/worker"
)

// An e-mail uploaded to S3 and announced by an event: the worker writes its attachment's
// outputs beside it (a key with '#' in both buckets), a reindex leaves them alone (no
// orphan, nothing to do), and the removal event takes them away with the mail.
func TestAttachmentsThroughTheWorker(t *testing.T) {
	e := newEnv(t, 30*time.Second, 0, func(c *worker.PipelineConfig) {
		c.Extractors[extractors.FormatEML] = extractors.EMLExtractor{Limits: extractors.Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}}
	})
	var mail bytes.Buffer
	mail.WriteString("From: ana@example.org\r\nSubject: counts\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n")
	mail.WriteString("--B\r\nContent-Type: text/plain\r\n\r\nThe counts are attached.\r\n")
	mail.WriteString("--B\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"counts #2.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	mail.WriteString(base64.StdEncoding.EncodeToString([]byte("Forty-two herons near the old mill.")) + "\r\n--B--\r\n")
	e.put("inbox/a.eml", mail.Bytes())
	e.send(s3Event("ObjectCreated:Put", "inbox/a.eml", "00000000000000000A"))
	stop := serve(t, e.consumer(worker.ConsumerConfig{}))
	const att = "chunks/uploads/inbox/a.eml#1-counts #2.txt.jsonl"
	emulators.Eventually(t, 60*time.Second, "the mail's and its attachment's chunks", func() bool {
		return e.exists("chunks/uploads/inbox/a.eml.jsonl") && e.exists(att) && depth(t, e.sqs, e.queue) == 0
	})
	plan := map[string]worker.ReindexAction{}
	sum := e.reindex(worker.ReindexOptions{Prefix: "uploads/inbox/", OnPlan: func(k string, a worker.ReindexAction) { plan[k] = a }})
	if len(plan) != 1 || plan["uploads/inbox/a.eml"] != worker.ReindexUnchanged || sum.Removed != 0 {
		t.Fatalf("reindex planned %v, removed %d", plan, sum.Removed)
	}
	if !e.exists(att) {
		t.Fatal("the reindex took the attachment's outputs away")
	}
	e.del("inbox/a.eml")
	e.send(s3Event("ObjectRemoved:Delete", "inbox/a.eml", "00000000000000000B"))
	emulators.Eventually(t, 60*time.Second, "the mail and its attachment removed", func() bool {
		return !e.exists("chunks/uploads/inbox/a.eml.jsonl") && !e.exists(att) && !e.exists("text/uploads/inbox/a.eml#1-counts #2.txt.txt") && depth(t, e.sqs, e.queue) == 0
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
