package labeling

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/docingest/docingest/internal/emulators"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// clock is a test clock moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// localOutput is a folder output with n pending items (of two sources) and a local
// backend with workers answers per item.
func localOutput(t *testing.T, n, workers int) (VersionedStore, Config, *Backends, *clock) {
	t.Helper()
	out, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return localOutputOn(t, out, n, workers)
}

// localOutputOn is localOutput on a given store.
func localOutputOn(t *testing.T, out VersionedStore, n, workers int) (VersionedStore, Config, *Backends, *clock) {
	t.Helper()
	cfg := testConfig()
	cfg.Backend, cfg.WorkersPerObject, cfg.AuditShare = BackendLocal, workers, 0
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	for i := range n {
		src := fmt.Sprintf("s3://in/doc-%d.txt", i%2)
		text := fmt.Sprintf("passage %d about apt and services", i)
		it := PendingItem{ID: TextHash(text), Source: src, ChunkID: fmt.Sprintf("c%d", i), Index: i, Text: text,
			Predicted: []string{"administration"}, Confidence: 0.5, Uncertainty: 0.9 - float64(i)/100, Measure: LeastConfidence, Classifier: "clf-test",
			Top: []ClassScore{{Class: "administration", Probability: 0.5}, {Class: "packaging", Probability: 0.3}}, HeadingPath: []string{"Chapter 1", "Services"}}
		b, _ := json.Marshal(it)
		if err := out.Put(context.Background(), layout.Pending(src)+it.ID+".json", bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	loc := &Local{Store: out, Config: cfg, Now: clk.now}
	return out, cfg, &Backends{Local: loc, Create: BackendLocal}, clk
}

func submitLocal(t *testing.T, out VersionedStore, cfg Config, b *Backends, clk *clock, audit int) SubmitResult {
	t.Helper()
	d := &Dispatcher{Config: cfg, Store: out, Backend: b, Now: clk.now, AuditItems: audit}
	res, err := d.Submit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestLocalJobFromUploadToLabels(t *testing.T) {
	ctx := context.Background()
	out, cfg, b, clk := localOutput(t, 6, 2)
	res := submitLocal(t, out, cfg, b, clk, 0)
	if res.Job == "" || res.Items != 6 {
		t.Fatalf("a local job on a folder output: %+v", res)
	}
	if n := countKeys(t, out, layout.PendingRoot); n != 0 {
		t.Fatalf("%d items still pending after the job took them", n)
	}
	st, err := b.Status(ctx, res.Job)
	if err != nil || st.Status != StatusInProgress || st.Remaining != 6 || st.Backend != BackendLocal {
		t.Fatalf("status %+v, %v", st, err)
	}
	// two reviewers at once are never shown the same item
	ta, ok, err := b.Local.Next(ctx, res.Job, "alice")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	tb, ok, err := b.Local.Next(ctx, res.Job, "bob")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ta.Item.ID == tb.Item.ID {
		t.Fatalf("alice and bob were both given %s", ta.Item.ID)
	}
	if again, _, _ := b.Local.Next(ctx, res.Job, "alice"); again.Item.ID != ta.Item.ID {
		t.Fatalf("a reload gave alice %s, not the item she holds (%s)", again.Item.ID, ta.Item.ID)
	}
	if len(ta.Item.Top) == 0 || len(ta.Item.HeadingPath) != 2 {
		t.Fatalf("the task lacks the classifier's classes or the heading path: %+v", ta.Item)
	}
	// each labels every item; bob disagrees on one
	answered := map[string]int{}
	for progress := true; progress; {
		progress = false
		for _, who := range []string{"alice", "bob"} {
			task, ok, err := b.Local.Next(ctx, res.Job, who)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				continue
			}
			progress = true
			class := "administration"
			if who == "bob" && task.Item.Index == 3 {
				class = "packaging"
			}
			if err := b.Local.Answer(ctx, res.Job, Answer{Item: task.Item.ID, Reviewer: who, Classes: []string{class}}); err != nil {
				t.Fatal(err)
			}
			answered[who]++
			clk.add(time.Second)
		}
	}
	if answered["alice"] != 6 || answered["bob"] != 6 {
		t.Fatalf("answers per reviewer: %v", answered)
	}
	p, err := b.Local.Progress(ctx, res.Job)
	if err != nil || p.Done != 6 || p.Disagreements != 1 || !slices.Equal(p.Reviewers, []string{"alice", "bob"}) {
		t.Fatalf("progress: done %d, disagreements %d, reviewers %v, %v", p.Done, p.Disagreements, p.Reviewers, err)
	}
	// collect: the job completes, its labels become human labels with their reviewers
	c := &Collector{Config: cfg, Store: out, Backend: b, Now: clk.now, Features: features}
	results, _, err := c.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Status != StatusCompleted || results[0].Labels != 6 {
		t.Fatalf("collect: %+v", results)
	}
	human, err := LoadHumanLabels(ctx, out)
	if err != nil || len(human) != 6 {
		t.Fatalf("%d human labels, %v", len(human), err)
	}
	flagged := 0
	for _, h := range human {
		rs := slices.Sorted(slices.Values(h.Reviewers))
		if !slices.Equal(rs, []string{"alice", "bob"}) || h.Job != res.Job {
			t.Fatalf("human label %+v", h)
		}
		if h.Disagreement {
			flagged++
			// a tie between two goes to the answer given first
			want := map[string]string{"alice": "administration", "bob": "packaging"}[h.Reviewers[0]]
			if !slices.Equal(h.Classes, []string{want}) {
				t.Fatalf("tie consolidated to %v; first answer was %s's", h.Classes, h.Reviewers[0])
			}
		}
	}
	if flagged != 1 {
		t.Fatalf("%d labels flagged as disagreements, want 1", flagged)
	}
	// the dataset file is Ground Truth's output-manifest form, as for Ground Truth jobs
	body, err := out.Get(ctx, layout.HumanDataset(res.Job))
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		meta := rec["label-metadata"].(map[string]any)
		idx := slices.Index(cfg.ClassNames(), meta["class-name"].(string))
		if meta["human-annotated"] != "yes" || meta["type"] != "groundtruth/text-classification" || idx < 0 || rec["label"] != float64(idx) {
			t.Fatalf("dataset line %s", sc.Bytes())
		}
		lines++
	}
	if lines != 6 {
		t.Fatalf("%d dataset lines", lines)
	}
	if err := b.Local.Answer(ctx, res.Job, Answer{Item: ta.Item.ID, Reviewer: "carol", Classes: []string{"legal"}}); !errors.Is(err, ErrJobClosed) {
		t.Fatalf("an answer to a completed job: %v", err)
	}
}

func TestLocalAnswersAtTheSameMomentAreAllKept(t *testing.T) {
	ctx := context.Background()
	out, cfg, b, clk := localOutput(t, 1, 9)
	res := submitLocal(t, out, cfg, b, clk, 0)
	claim, err := ReadClaim(ctx, out, res.Job)
	if err != nil {
		t.Fatal(err)
	}
	item := claim.Items[0].ID
	var wg sync.WaitGroup
	errs := make(chan error, 9)
	for i := range 9 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- b.Local.Answer(ctx, res.Job, Answer{Item: item, Reviewer: fmt.Sprintf("r%d", i), Classes: []string{[]string{"administration", "packaging", "legal"}[i%3]}})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := b.Local.Progress(ctx, res.Job)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Items[0].Answers); got != 9 || !p.Items[0].Done {
		t.Fatalf("%d of 9 answers kept", got)
	}
}

func TestLocalLeaseExpires(t *testing.T) {
	ctx := context.Background()
	out, cfg, b, clk := localOutput(t, 1, 1)
	res := submitLocal(t, out, cfg, b, clk, 0)
	if _, ok, _ := b.Local.Next(ctx, res.Job, "alice"); !ok {
		t.Fatal("alice got nothing")
	}
	if _, ok, _ := b.Local.Next(ctx, res.Job, "bob"); ok {
		t.Fatal("bob was given the item alice holds")
	}
	clk.add(10*time.Minute + time.Second)
	if _, ok, _ := b.Local.Next(ctx, res.Job, "bob"); !ok {
		t.Fatal("bob was not given the item once alice's lease expired")
	}
	// alice's late answer still counts: answers are never refused for a lease
	claim, _ := ReadClaim(ctx, out, res.Job)
	if err := b.Local.Answer(ctx, res.Job, Answer{Item: claim.Items[0].ID, Reviewer: "alice", Classes: []string{"legal"}}); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.Status(ctx, res.Job); st.Status != StatusCompleted {
		t.Fatalf("status %s after the one answer needed", st.Status)
	}
}

func TestLocalUndoSkipStop(t *testing.T) {
	ctx := context.Background()
	out, cfg, b, clk := localOutput(t, 4, 1)
	res := submitLocal(t, out, cfg, b, clk, 0)
	first, _, _ := b.Local.Next(ctx, res.Job, "alice")
	if err := b.Local.Answer(ctx, res.Job, Answer{Item: first.Item.ID, Reviewer: "alice", Classes: []string{"packaging"}}); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Second)
	// the page after an answer leases alice the next item; undo shows the undone one instead
	if next, _, _ := b.Local.Next(ctx, res.Job, "alice"); next.Item.ID == first.Item.ID {
		t.Fatal("the answered item was offered again")
	}
	item, ok, err := b.Local.Undo(ctx, res.Job, "alice")
	if err != nil || !ok || item != first.Item.ID {
		t.Fatalf("undo: %s %v %v", item, ok, err)
	}
	if again, _, _ := b.Local.Next(ctx, res.Job, "alice"); again.Item.ID != first.Item.ID {
		t.Fatalf("after undo alice got %s, not the item she undid", again.Item.ID)
	}
	if _, ok, _ := b.Local.Undo(ctx, res.Job, "alice"); ok {
		t.Fatal("a second undo found an answer")
	}
	// answer two, skip one, stop: the two are labels, the other two go back to pending
	for i := 0; i < 3; i++ {
		task, ok, err := b.Local.Next(ctx, res.Job, "alice")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		a := Answer{Item: task.Item.ID, Reviewer: "alice", Classes: []string{"legal"}}
		if i == 2 {
			a = Answer{Item: task.Item.ID, Reviewer: "alice", Skipped: true}
		}
		if err := b.Local.Answer(ctx, res.Job, a); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Second)
	}
	if _, ok, _ := b.Local.Next(ctx, res.Job, "alice"); !ok {
		t.Fatal("the fourth item was not offered")
	}
	if err := b.Stop(ctx, res.Job); err != nil {
		t.Fatal(err)
	}
	c := &Collector{Config: cfg, Store: out, Backend: b, Now: clk.now, Features: features}
	results, _, err := c.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Status != StatusStopped || results[0].Labels != 2 || results[0].Returned != 2 {
		t.Fatalf("collect of a stopped local job: %+v", results)
	}
	if n := countKeys(t, out, layout.PendingRoot); n != 2 {
		t.Fatalf("%d items back in pending, want 2", n)
	}
}

func TestLocalAnswerChecks(t *testing.T) {
	ctx := context.Background()
	out, cfg, b, clk := localOutput(t, 1, 1)
	res := submitLocal(t, out, cfg, b, clk, 0)
	claim, _ := ReadClaim(ctx, out, res.Job)
	id := claim.Items[0].ID
	for name, a := range map[string]Answer{
		"no class":        {Item: id, Reviewer: "a"},
		"unknown class":   {Item: id, Reviewer: "a", Classes: []string{"billing"}},
		"two classes":     {Item: id, Reviewer: "a", Classes: []string{"legal", "packaging"}},
		"item not in job": {Item: "0123", Reviewer: "a", Classes: []string{"legal"}},
		"no reviewer":     {Item: id, Classes: []string{"legal"}},
	} {
		if err := b.Local.Answer(ctx, res.Job, a); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := b.Local.Answer(ctx, "docingest-nosuchjob", Answer{Item: id, Reviewer: "a", Classes: []string{"legal"}}); !errors.Is(err, ErrNotLocal) {
		t.Errorf("a job that does not exist: %v", err)
	}
}

func TestConsolidate(t *testing.T) {
	classes := []string{"a", "b", "c"}
	ans := func(sets ...[]string) []Answer {
		var out []Answer
		for _, s := range sets {
			out = append(out, Answer{Classes: s})
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		multi     bool
		answers   []Answer
		want      []string
		agreement float64
		disagree  bool
	}{
		{"unanimous", false, ans([]string{"b"}, []string{"b"}, []string{"b"}), []string{"b"}, 1, false},
		{"majority", false, ans([]string{"c"}, []string{"b"}, []string{"b"}), []string{"b"}, 2.0 / 3, true},
		{"tie goes to the first answer", false, ans([]string{"c"}, []string{"a"}), []string{"c"}, 0.5, true},
		{"multi: more than half", true, ans([]string{"a", "b"}, []string{"a"}, []string{"a", "c"}), []string{"a"}, 1.0 / 3, true},
		{"multi: none has a majority", true, ans([]string{"a"}, []string{"b"}), []string{"a", "b"}, 0, true},
		{"multi: same sets", true, ans([]string{"b", "c"}, []string{"c", "b"}), []string{"b", "c"}, 1, false},
	} {
		got, agr, dis := Consolidate(tc.answers, classes, tc.multi)
		sort.Strings(got)
		if !slices.Equal(got, tc.want) || agr != tc.agreement || dis != tc.disagree {
			t.Errorf("%s: %v %.3f %v, want %v %.3f %v", tc.name, got, agr, dis, tc.want, tc.agreement, tc.disagree)
		}
	}
}

func TestAuditJobTakesOnlyAutomaticLabels(t *testing.T) {
	ctx := context.Background()
	out, cfg, b, clk := localOutput(t, 6, 1)
	if res := submitLocal(t, out, cfg, b, clk, 3); res.Job != "" {
		t.Fatalf("an audit job with no automatic labels: %+v", res)
	}
	// three automatic labels kept for audits
	for i := range 3 {
		text := fmt.Sprintf("automatically labeled passage %d", i)
		it := PendingItem{ID: TextHash(text), Source: "s3://in/auto.txt", Index: i, Text: text, Predicted: []string{"legal"}, Auto: true, Audit: true, Uncertainty: 0.01}
		body, _ := json.Marshal(it)
		if err := out.Put(ctx, layout.Pending(it.Source)+it.ID+".json", bytes.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	res := submitLocal(t, out, cfg, b, clk, 2)
	if res.Items != 2 {
		t.Fatalf("audit job: %+v", res)
	}
	claim, _ := ReadClaim(ctx, out, res.Job)
	for _, it := range claim.Items {
		if !it.Auto {
			t.Fatalf("the audit job took an item that was not labeled automatically: %+v", it)
		}
	}
	j, _, err := b.Local.Job(ctx, res.Job)
	if err != nil || !j.Audit || !claim.Audit {
		t.Fatalf("the job is not marked as an audit: %+v %v", j, err)
	}
	// a person disagrees with one: collect counts the audit
	for i, it := range claim.Items {
		class := "legal"
		if i == 0 {
			class = "packaging"
		}
		if err := b.Local.Answer(ctx, res.Job, Answer{Item: it.ID, Reviewer: "auditor", Classes: []string{class}}); err != nil {
			t.Fatal(err)
		}
	}
	results, _, err := (&Collector{Config: cfg, Store: out, Backend: b, Now: clk.now, Features: features}).Collect(ctx)
	if err != nil || len(results) != 1 || results[0].Audited != 2 || results[0].AuditAgreed != 1 {
		t.Fatalf("collect of the audit: %+v %v", results, err)
	}
}

// TestUndoTakesTheLatestAnswer: dates compare as times, not as text (".12Z" is before
// ".123Z", though it sorts after it as text).
func TestUndoTakesTheLatestAnswer(t *testing.T) {
	ctx := context.Background()
	out, cfg, b, clk := localOutput(t, 2, 1)
	res := submitLocal(t, out, cfg, b, clk, 0)
	claim, _ := ReadClaim(ctx, out, res.Job)
	early := Answer{Item: claim.Items[0].ID, Reviewer: "alice", Classes: []string{"legal"}, Date: "2026-12-01T10:00:00.12Z"}
	late := Answer{Item: claim.Items[1].ID, Reviewer: "alice", Classes: []string{"legal"}, Date: "2026-12-01T10:00:00.123Z"}
	for _, a := range []Answer{late, early} {
		if err := b.Local.Answer(ctx, res.Job, a); err != nil {
			t.Fatal(err)
		}
	}
	if item, ok, err := b.Local.Undo(ctx, res.Job, "alice"); err != nil || !ok || item != late.Item {
		t.Fatalf("undo removed %s (%v, %v), not the latest answer %s", item, ok, err, late.Item)
	}
}

// TestLocalJobsOnS3: on an S3 output (versitygw, which has S3's conditional writes) leases
// keep two reviewers apart and answers given at the same moment are all kept.
func TestLocalJobsOnS3(t *testing.T) {
	ctx := context.Background()
	c := emulators.S3Client(emulators.Versitygw(t))
	emulators.CreateBucket(t, c, "out")
	out, cfg, b, clk := localOutputOn(t, storage.NewS3(c, "out", "v1/", storage.S3Options{}), 3, 4)
	res := submitLocal(t, out, cfg, b, clk, 0)
	if res.Job == "" || res.Items != 3 {
		t.Fatalf("submit on S3: %+v", res)
	}
	seen := map[string]string{}
	for _, who := range []string{"alice", "bob", "carol", "dave"} {
		task, ok, err := b.Local.Next(ctx, res.Job, who)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			if other, taken := seen[task.Item.ID]; taken {
				t.Fatalf("%s and %s were both given %s", other, who, task.Item.ID)
			}
			seen[task.Item.ID] = who
		}
	}
	if len(seen) != 3 {
		t.Fatalf("3 items went to %d of 4 reviewers", len(seen))
	}
	claim, _ := ReadClaim(ctx, out, res.Job)
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(claim.Items))
	for _, it := range claim.Items {
		for _, who := range []string{"alice", "bob", "carol", "dave"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- b.Local.Answer(ctx, res.Job, Answer{Item: it.ID, Reviewer: who, Classes: []string{"legal"}})
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	results, _, err := (&Collector{Config: cfg, Store: out, Backend: b, Now: clk.now, Features: features}).Collect(ctx)
	if err != nil || len(results) != 1 || results[0].Labels != 3 {
		t.Fatalf("collect on S3: %+v %v", results, err)
	}
	human, _ := LoadHumanLabels(ctx, out)
	for _, h := range human {
		if len(h.Reviewers) != 4 {
			t.Fatalf("%s has %d reviewers' answers, want 4", h.ID, len(h.Reviewers))
		}
	}
}
