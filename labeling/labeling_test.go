package labeling

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docingest/docingest/extractors/pdf"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docingest/docingest/chunkers"
	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/embedders"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/internal/emulators"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
)

// classFiles are documents whose class is known by origin: two Debian manuals and three
// free-software licences.
var classFiles = map[string][]string{
	"administration": {"../testdata/real/ch01.en.html", "../testdata/real/ch03.en.html"},
	"packaging":      {"../testdata/real/developers-reference-resources.html", "../testdata/docs/developers-reference.pdf"},
	"legal":          {"testdata/licences/GPL-3", "testdata/licences/Apache-2.0", "testdata/licences/MPL-2.0"},
}

func testConfig() Config {
	c := DefaultConfig()
	c.Enabled = true
	c.Classes = []Class{
		{Name: "administration", Description: "Running a Debian system: booting, services, packages installed with apt, network, files and users.",
			Examples: []string{"Use systemctl to start and stop services at boot.", "The apt-get command installs packages from the archive."}},
		{Name: "packaging", Description: "Making and maintaining Debian packages: developers, uploads, the archive, bugs and maintainers.",
			Examples: []string{"A Debian developer uploads new package versions to the archive.", "Maintainers close bugs in the changelog of an upload."}},
		{Name: "legal", Description: "Software licence terms: copyright, permission to copy and distribute, warranty and liability.",
			Examples: []string{"You may convey verbatim copies of the Program's source code.", "THERE IS NO WARRANTY FOR THE PROGRAM, TO THE EXTENT PERMITTED BY APPLICABLE LAW."}},
	}
	c.GroundTruth.WorkteamARN = "arn:aws:sagemaker:eu-west-1:111122223333:workteam/private-crowd/docs-team"
	c.GroundTruth.RoleARN = "arn:aws:iam::111122223333:role/docingest-ground-truth"
	return c
}

type labeledChunk struct {
	text, class string
}

// smallClassFiles is what humans label in the end-to-end test: at least two documents of
// every class, so cross-validation by document can measure accuracy on unseen documents.
var smallClassFiles = map[string][]string{
	"administration": {"../testdata/real/ch01.en.html", "../testdata/real/ch03.en.html"},
	"packaging":      {"../testdata/real/developers-reference-resources.html", "../testdata/docs/developers-reference.pdf"},
	"legal":          {"testdata/licences/Apache-2.0", "testdata/licences/MPL-2.0", "testdata/licences/GPL-3", "testdata/licences/LGPL-2.1"},
}

// newLegalFiles are licences the end-to-end test's classifier never saw.
var newLegalFiles = []string{"testdata/licences/GPL-2", "testdata/licences/LGPL-3", "testdata/licences/MPL-1.1", "testdata/licences/Artistic"}

// corpus extracts and chunks every class file (about 120 words a chunk), keeping chunks
// of at least minTokens words.
func corpus(t testing.TB, files map[string][]string, minTokens int) []labeledChunk {
	var out []labeledChunk
	for _, class := range []string{"administration", "packaging", "legal"} {
		for _, f := range files[class] {
			for _, c := range corpusSized(t, class, f, 120) {
				if c.tokens >= minTokens {
					out = append(out, c.labeledChunk)
				}
			}
		}
	}
	return out
}

// extracted caches the test documents' text: several tests and benchmarks chunk them.
var extracted sync.Map // file -> document.Document

type sizedChunk struct {
	labeledChunk
	tokens int
}

// corpusSized extracts a class file and cuts it into chunks of at most size words.
func corpusSized(t testing.TB, class, f string, size int) []sizedChunk {
	v, ok := extracted.Load(f)
	if !ok {
		lim := extractors.Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc document.Document
		switch extractors.Detect(f, data) {
		case extractors.FormatHTML:
			doc, err = extractors.HTMLExtractor{Limits: lim}.Extract(context.Background(), data)
		case extractors.FormatPDF:
			doc, err = pdf.Extractor{Limits: lim}.Extract(context.Background(), data)
		default:
			doc, err = extractors.TextExtractor{Limits: lim}.Extract(context.Background(), data)
		}
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		v, _ = extracted.LoadOrStore(f, doc)
	}
	doc := v.(document.Document)
	spans, _ := chunkers.Recursive{Config: chunkers.Config{Max: size}, Sizer: embedders.WordTokenizer{}}.Chunk(context.Background(), doc)
	out := make([]sizedChunk, 0, len(spans))
	for _, s := range spans {
		out = append(out, sizedChunk{labeledChunk{doc.Text[s.Start:s.End], class}, s.Tokens})
	}
	return out
}

var features = Features{HashDims: DefaultHashDims}

// TestClassifierQuality trains from the descriptions and seeds alone, then reports the
// share sent to humans and the accuracy of the automatic labels at uncertainty 0.5,
// and again after humans labeled what was uncertain.
func TestClassifierQuality(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	all := corpus(t, classFiles, 40)
	// even chunks are the ones humans may label, odd ones are held out for scoring
	var pool, held []labeledChunk
	for i, it := range all {
		if i%2 == 0 {
			pool = append(pool, it)
		} else {
			held = append(held, it)
		}
	}
	examples := make([]Example, len(held))
	for i, it := range held {
		examples[i] = Example{Text: it.text, Classes: []string{it.class}}
	}
	m, err := Train(context.Background(), DefaultTraining(cfg, features), trainingSet(cfg, nil), "2026-11-25T00:00:00")
	if err != nil {
		t.Fatal(err)
	}
	cold := Simulate(m, examples, []float64{0.5}, 0)[0]
	t.Logf("cold start (3 descriptions + 6 seeds), %d held-out chunks: %.0f%% to humans, auto-label accuracy %.1f%% (%d auto)", len(held), 100*cold.ToHumans, 100*cold.AutoAccuracy, cold.Auto)
	// humans label the uncertain chunks of the pool; the retrained model is scored on the
	// held-out chunks, which it never saw
	human := map[string]HumanLabel{}
	for _, it := range pool {
		d := m.Decide(m.Probabilities(it.text, nil), cfg.Measure)
		if d.Uncertainty > 0.5 {
			human[TextHash(it.text)] = HumanLabel{ID: TextHash(it.text), Classes: []string{it.class}, Text: it.text}
		}
	}
	m2, err := Train(context.Background(), DefaultTraining(cfg, features), trainingSet(cfg, human), "2026-11-25T00:00:00")
	if err != nil {
		t.Fatal(err)
	}
	warm := Simulate(m2, examples, []float64{0.5}, 0)[0]
	t.Logf("after %d human labels: %.0f%% of held-out chunks to humans, auto-label accuracy %.1f%% (%d auto)", len(human), 100*warm.ToHumans, 100*warm.AutoAccuracy, warm.Auto)
	if cold.Auto == 0 || cold.AutoAccuracy < 0.8 {
		t.Fatalf("cold start: %+v", cold)
	}
	if warm.ToHumans >= cold.ToHumans || warm.AutoAccuracy < 0.9 {
		t.Fatalf("human labels did not help: cold %+v, warm %+v", cold, warm)
	}
}

func TestTrainingIsDeterministic(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	exs := trainingSet(cfg, nil)
	a, _ := Train(context.Background(), DefaultTraining(cfg, features), exs, "x")
	rev := append([]Example{}, exs...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	b, _ := Train(context.Background(), DefaultTraining(cfg, features), rev, "x")
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if a.Version != b.Version || !bytes.Equal(ja, jb) {
		t.Fatal("the same examples in another order gave another model")
	}
	if _, err := Train(context.Background(), DefaultTraining(cfg, features), []Example{{Text: "x", Classes: []string{"nope"}}}, ""); err == nil {
		t.Fatal("an unknown class was accepted")
	}
}

func TestUncertaintyMeasures(t *testing.T) {
	t.Parallel()
	m := &Model{Classes: []string{"a", "b", "c"}}
	for _, measure := range []string{LeastConfidence, Margin, Entropy} {
		sure := m.Decide([]float64{0.98, 0.01, 0.01}, measure)
		unsure := m.Decide([]float64{0.34, 0.33, 0.33}, measure)
		if sure.Uncertainty > 0.2 || unsure.Uncertainty < 0.9 || sure.Classes[0] != "a" {
			t.Errorf("%s: sure %.3f unsure %.3f", measure, sure.Uncertainty, unsure.Uncertainty)
		}
	}
	multi := &Model{Classes: []string{"a", "b"}, MultiLabel: true}
	d := multi.Decide([]float64{0.99, 0.55}, LeastConfidence)
	if len(d.Classes) != 2 || d.Uncertainty < 0.8 || d.ConfidenceMap["b"] != 0.55 {
		t.Errorf("multi-label: the least certain class must decide: %+v", d)
	}
}

// s3Store is an output prefix in an in-process S3 emulator (gofakes3), and the client
// the fake labeling service reads it with.
func s3Store(t *testing.T) (*storage.S3, *s3.Client) {
	ep := emulators.GoFakeS3(t)
	c := emulators.S3Client(ep)
	emulators.CreateBucket(t, c, "out")
	return storage.NewS3(c, "out", "v1/", storage.S3Options{}), c
}

// pipelineFor wires the real pipeline (extractors, recursive chunker, hashing embedder)
// with the labeler.
func pipelineFor(t *testing.T, l *Labeler, out worker.Store) *worker.Pipeline {
	emb, _ := embedders.NewHashing(embedders.DefaultHashing())
	lim := extractors.Limits{MaxPages: 5000, MaxTextBytes: 50 << 20}
	chunker := chunkers.Recursive{Config: chunkers.Config{Max: 120}, Sizer: embedders.WordTokenizer{}}
	cfg := worker.PipelineConfig{
		Detect: extractors.Detect,
		Extractors: map[string]worker.Extractor{
			extractors.FormatPDF: pdf.Extractor{Limits: lim}, extractors.FormatHTML: extractors.HTMLExtractor{Limits: lim},
			extractors.FormatText: extractors.TextExtractor{Limits: lim},
		},
		ChunkerFor: func(string, string) worker.Chunker { return chunker },
		Tokenizer:  "words", Embedder: emb, EmbedBatch: 32, Fingerprint: "fp-" + l.Version(), NoETag: true, Labeler: asWorker{l},
		Limits: worker.Limits{MaxObjectBytes: 100 << 20, DocumentTimeout: time.Minute},
	}
	p, err := worker.NewPipeline(cfg, out)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sourceFolder(t *testing.T, classFiles map[string][]string) string {
	dir := t.TempDir()
	for class, files := range classFiles {
		os.MkdirAll(filepath.Join(dir, class), 0o755)
		for _, f := range files {
			b, _ := os.ReadFile(f)
			name := filepath.Base(f)
			if !strings.Contains(name, ".") {
				name += ".txt"
			}
			os.WriteFile(filepath.Join(dir, class, name), b, 0o644)
		}
	}
	return dir
}

func countKeys(t *testing.T, s Store, prefix string) int {
	n := 0
	if err := s.List(context.Background(), prefix, true, func(storage.ObjectInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLabelingEndToEnd: documents of three classes through the pipeline; the uncertain
// chunks become one Ground Truth job whose request the fake service validates; collect
// merges the human labels and retrains, and the next run sends fewer chunks to humans.
func TestLabelingEndToEnd(t *testing.T) {
	ctx := context.Background()
	out, s3c := s3Store(t)
	cfg := testConfig()
	cfg.MaxItemsPerJob, cfg.MaxItemsPerDay = 5000, 10000
	cfg.AuditSampleRate = 0.5 // half the automatic labels are candidates for the audit
	// the oracle stands in for the human labelers: it knows each chunk's class by origin
	classOf := map[string]string{}
	red := NewRedactor(cfg.Redact)
	for _, it := range corpus(t, smallClassFiles, 0) {
		r, _ := red.Redact(it.text)
		classOf[r] = it.class
	}
	for _, it := range corpus(t, map[string][]string{"legal": newLegalFiles}, 0) {
		r, _ := red.Redact(it.text)
		classOf[r] = it.class
	}
	src, err := storage.NewLocal(sourceFolder(t, smallClassFiles))
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }
	l, err := NewLabeler(ctx, cfg, out, features, now)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := pipelineFor(t, l, out).RunBatch(ctx, worker.BatchOptions{Source: src, Concurrency: 2})
	if err != nil || sum.Failed != 0 {
		t.Fatalf("run: %+v %v", sum, err)
	}
	// the cold-start classifier has no human labels to show its accuracy: every chunk waits
	pending1 := countKeys(t, out, layout.PendingRoot)
	if auto := countKeys(t, out, "labeled/auto/"); pending1 == 0 || auto != 0 || l.Model().Gate.Open {
		t.Fatalf("cold start: %d pending, %d auto files, gate %+v", pending1, auto, l.Model().Gate)
	}
	// chunk records carry their label
	body, _ := out.Get(ctx, "chunks/legal/MPL-2.0.jsonl")
	var rec worker.ChunkRecord
	json.Unmarshal(bytes.SplitN(body, []byte("\n"), 2)[0], &rec)
	if rec.Label == nil || rec.Label.Classifier != l.Version() || rec.Label.Status != "pending" {
		t.Fatalf("chunk label %+v", rec.Label)
	}

	gt, client := newGTServer(t, s3c, nil)
	gt.oracle = func(text string) string { return classOf[text] }
	gt.throttle = 1 // the first request is throttled; the SDK retries
	backend, err := NewGroundTruth(client, "eu-west-1", cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := &Dispatcher{Config: cfg, Store: out, Backend: backend, Now: now}
	res, err := d.Submit(ctx)
	if err != nil || res.Job == "" {
		t.Fatalf("submit: %+v %v", res, err)
	}
	if !regexp.MustCompile(`^docingest-[0-9a-f]{16}$`).MatchString(res.Job) || gt.creates != 1 || countKeys(t, out, layout.PendingRoot) != 0 {
		t.Fatalf("job %q, %d creates, %d still pending", res.Job, gt.creates, countKeys(t, out, layout.PendingRoot))
	}
	req := gt.requests[len(gt.requests)-1]
	if str(req, "LabelAttributeName") != "label" || str(req, "HumanTaskConfig", "WorkteamArn") != cfg.GroundTruth.WorkteamARN {
		t.Fatalf("request %v", req)
	}
	cats, _ := out.Get(ctx, "labeling/jobs/"+res.Job+"/label-categories.json")
	if !bytes.Contains(cats, []byte(`"document-version": "2018-11-28"`)) || !bytes.Contains(cats, []byte(`"label": "legal"`)) {
		t.Fatalf("label categories %s", cats)
	}
	if again, _ := d.Submit(ctx); again.Job != "" || again.Reason != "no pending items" {
		t.Fatalf("second submit: %+v", again)
	}

	col := &Collector{Config: cfg, Store: out, Backend: backend, Features: features, Now: now}
	if results, m, err := col.Collect(ctx); err != nil || m != nil || results[0].Status != "InProgress" {
		t.Fatalf("first collect: %+v %v %v", results, m, err)
	}
	results, m2, err := col.Collect(ctx)
	if err != nil || m2 == nil || results[0].Status != "Completed" || results[0].Labels == 0 {
		t.Fatalf("second collect: %+v %v", results, err)
	}
	t.Logf("job %s: %d items, %d human labels, %d failed", res.Job, res.Items, results[0].Labels, results[0].Failed)
	if m2.Version == l.Version() || countKeys(t, out, "labeled/human/") != 1 {
		t.Fatalf("classifier not retrained (%s) or dataset missing", m2.Version)
	}
	// the next run, over the same documents and new ones of the same topics: texts humans
	// labeled are never sent again, and most new chunks are labeled automatically
	l2, err := NewLabeler(ctx, cfg, out, features, now)
	if err != nil || l2.Version() != m2.Version || !l2.Model().Gate.Open {
		t.Fatalf("reload: %v %s %+v", err, l2.Version(), l2.Model().Gate)
	}
	second := map[string][]string{"legal": newLegalFiles}
	for class, files := range smallClassFiles {
		second[class] = append(second[class], files...)
	}
	src2, err := storage.NewLocal(sourceFolder(t, second))
	if err != nil {
		t.Fatal(err)
	}
	sum2, err := pipelineFor(t, l2, out).RunBatch(ctx, worker.BatchOptions{Source: src2, Concurrency: 2})
	if err != nil || sum2.Failed != 0 {
		t.Fatalf("second run: %+v %v", sum2, err)
	}
	statuses := map[document.LabelStatus]int{}
	right := 0
	for _, f := range newLegalFiles {
		name := filepath.Base(f)
		if !strings.Contains(name, ".") {
			name += ".txt"
		}
		body, _ := out.Get(ctx, "chunks/legal/"+name+".jsonl")
		for _, b := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
			var rec worker.ChunkRecord
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			statuses[rec.Label.Status]++
			if rec.Label.Status == "auto" && rec.Label.Class == "legal" {
				right++
			}
		}
	}
	acc := float64(right) / float64(max(1, statuses["auto"]))
	t.Logf("new licences: %v, automatic labels %.1f%% right (gate %+v)", statuses, 100*acc, l2.Model().Gate)
	if statuses["auto"] == 0 || 2*statuses["auto"] < statuses["pending"] || acc < 0.95 {
		t.Fatalf("new documents' chunks: %v, %.3f right", statuses, acc)
	}
	// an auto record is in Ground Truth output-manifest form
	autoBody, _ := out.Get(ctx, "labeled/auto/legal/GPL-2.txt.jsonl")
	var line map[string]any
	json.Unmarshal(bytes.SplitN(autoBody, []byte("\n"), 2)[0], &line)
	meta, _ := line["label-metadata"].(map[string]any)
	if _, ok := line["label"].(float64); !ok || meta["human-annotated"] != "no" || meta["class-name"] == nil || meta["creation-date"] != "2026-11-25T12:00:00.000000" ||
		!strings.HasPrefix(meta["job-name"].(string), "labeling-job/docingest-auto-") {
		t.Fatalf("auto manifest line %v", line)
	}
	// new documents of the same topics: the retrained classifier sends fewer of their
	// chunks to humans than the cold-start one would have
	var fresh []Example
	for _, it := range corpus(t, map[string][]string{"legal": newLegalFiles}, 0) {
		fresh = append(fresh, Example{Text: it.text, Classes: []string{it.class}})
	}
	var after SimRow
	for _, r := range Simulate(l2.Model(), fresh, nil, 0) {
		if r.Chosen {
			after = r
		}
	}
	t.Logf("%d chunks of unseen documents: all to humans before collecting, %.0f%% after (auto-label accuracy %.1f%%, lower bound %.1f%%)", len(fresh), 100*after.ToHumans, 100*after.AutoAccuracy, 100*after.AutoAccuracyLower)
	if after.ToHumans >= 1 || after.Auto == 0 || after.AutoAccuracy < 0.95 {
		t.Fatalf("after %+v", after)
	}
	// the next job audits automatic labels: humans check a random sample of them
	res2, err := d.Submit(ctx)
	if err != nil || res2.Job == "" {
		t.Fatalf("second submit: %+v %v", res2, err)
	}
	col.Collect(ctx) // InProgress
	results, _, err = col.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var audited, agreed int
	for _, r := range results {
		audited += r.Audited
		agreed += r.AuditAgreed
	}
	t.Logf("second job %s: %d items, %d of them audited automatic labels (%d agreed)", res2.Job, res2.Items, audited, agreed)
	if audited == 0 || audited > res2.Items || agreed != audited {
		t.Fatalf("audit: %+v", results)
	}
}

// TestTwoDispatchersOneJob: concurrent dispatchers over the same pending items create one
// job and move every item once.
func TestTwoDispatchersOneJob(t *testing.T) {
	ctx := context.Background()
	out, s3c := s3Store(t)
	cfg := testConfig()
	for i := 0; i < 40; i++ {
		it := PendingItem{ID: TextHash(string(rune('a'+i%26)) + strings.Repeat("x", i)), Source: "docs/a.txt", Text: strings.Repeat("word ", i+1), Predicted: []string{"legal"}}
		b, _ := json.Marshal(it)
		out.Put(ctx, layout.Pending(it.Source)+it.ID+".json", bytes.NewReader(b))
	}
	gt, client := newGTServer(t, s3c, func(string) string { return "legal" })
	backend, _ := NewGroundTruth(client, "eu-west-1", cfg)
	// the dispatchers' clock names the budget file: the test reads it by the same clock, so
	// that a run across UTC midnight cannot look for another day's file
	clock := time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC)
	var wg sync.WaitGroup
	results := make([]SubmitResult, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &Dispatcher{Config: cfg, Store: out, Backend: backend, Now: func() time.Time { return clock }}
			results[i], errs[i] = d.Submit(ctx)
		}()
	}
	wg.Wait()
	jobs := 0
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if results[i].Job != "" {
			jobs++
		}
	}
	if gt.creates != 1 || jobs != 1 || countKeys(t, out, layout.PendingRoot) != 0 {
		t.Fatalf("%d jobs created, %d reported, %d items left: %+v", gt.creates, jobs, countKeys(t, out, layout.PendingRoot), results)
	}
	claim, _ := out.Get(ctx, "labeling/jobs/"+gt.requests[0]["LabelingJobName"].(string)+"/claim.json")
	var c Claim
	json.Unmarshal(claim, &c)
	if len(c.Items) != 40 {
		t.Fatalf("claim holds %d of 40 items", len(c.Items))
	}
	// the budget was spent once
	if b, _ := out.Get(ctx, "labeling/budget/2026-11-30.json"); !bytes.Contains(b, []byte(`"items":40`)) {
		t.Fatalf("budget %s", b)
	}
}

// TestResumeAfterCrash: a dispatcher that claimed items and died before creating the job
// is finished by the next, under the same name; a job that already exists is success.
func TestResumeAfterCrash(t *testing.T) {
	ctx := context.Background()
	out, s3c := s3Store(t)
	cfg := testConfig()
	it := PendingItem{ID: "abc", Source: "a.txt", Text: "some text"}
	claim := Claim{Job: "docingest-0123456789abcdef", Items: []PendingItem{it}, Keys: []string{layout.Pending("a.txt") + "abc.json"}}
	b, _ := json.Marshal(claim)
	out.PutIf(ctx, "labeling/jobs/"+claim.Job+"/claim.json", b, "")
	ib, _ := json.Marshal(it)
	out.Put(ctx, claim.Keys[0], bytes.NewReader(ib))
	gt, client := newGTServer(t, s3c, func(string) string { return "legal" })
	backend, _ := NewGroundTruth(client, "eu-west-1", cfg)
	d := &Dispatcher{Config: cfg, Store: out, Backend: backend}
	res, err := d.Submit(ctx)
	if err != nil || res.Job != claim.Job || gt.creates != 1 {
		t.Fatalf("%+v %v creates %d", res, err, gt.creates)
	}
	// a retry of the creation itself: ResourceInUse on our own name is success
	if err := backend.Start(ctx, JobSpec{Name: claim.Job, ManifestURI: out.URI("labeling/jobs/" + claim.Job + "/manifest.jsonl"),
		CategoriesURI: out.URI("labeling/jobs/" + claim.Job + "/label-categories.json"), TemplateURI: out.URI("labeling/jobs/" + claim.Job + "/template.liquid.html"),
		OutputURI: out.URI("labeling/jobs/" + claim.Job + "/output/"), Items: 1}); err != nil || gt.creates != 1 {
		t.Fatalf("second create: %v (%d creates)", err, gt.creates)
	}
}

// A dispatcher that dies after the service has the job, before or after its items left
// the spool, is finished by the next one: one job, the budget spent once, no item sent
// twice (before, a crash after job.json and before the items were removed sent them all
// again in a second job).
func TestDispatcherCrashBetweenSteps(t *testing.T) {
	for _, step := range []string{"started", "moved"} {
		t.Run(step, func(t *testing.T) {
			ctx := context.Background()
			out, s3c := s3Store(t)
			cfg := testConfig()
			for i := 0; i < 12; i++ {
				it := PendingItem{ID: TextHash(strings.Repeat("y", i+1)), Source: "docs/a.txt", Text: strings.Repeat("word ", i+1), Predicted: []string{"legal"}}
				b, _ := json.Marshal(it)
				out.Put(ctx, layout.Pending(it.Source)+it.ID+".json", bytes.NewReader(b))
			}
			gt, client := newGTServer(t, s3c, func(string) string { return "legal" })
			backend, _ := NewGroundTruth(client, "eu-west-1", cfg)
			crashed := errors.New("killed")
			clock := time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC) // one clock for the budget's day
			first := &Dispatcher{Config: cfg, Store: out, Backend: backend, Now: func() time.Time { return clock },
				crashAt: func(s string) error {
					if s == step {
						return crashed
					}
					return nil
				}}
			if _, err := first.Submit(ctx); !errors.Is(err, crashed) {
				t.Fatalf("first dispatcher: %v", err)
			}
			// the first one's lease (10 minutes) has expired when the second one runs
			second := &Dispatcher{Config: cfg, Store: out, Backend: backend, Now: func() time.Time { return clock.Add(11 * time.Minute) }}
			res, err := second.Submit(ctx)
			if err != nil || res.Items != 12 {
				t.Fatalf("second dispatcher: %+v %v", res, err)
			}
			again, err := second.Submit(ctx)
			if err != nil || again.Job != "" {
				t.Fatalf("a third submit made a job: %+v %v", again, err)
			}
			if gt.creates != 1 || countKeys(t, out, layout.PendingRoot) != 0 {
				t.Fatalf("%d jobs created, %d items left pending", gt.creates, countKeys(t, out, layout.PendingRoot))
			}
			if b, _ := out.Get(ctx, "labeling/budget/2026-11-30.json"); !bytes.Contains(b, []byte(`"items":12`)) {
				t.Fatalf("budget %s", b)
			}
		})
	}
}

// Two output prefixes with the same job_prefix and the same pending keys name different
// jobs; and a name taken by a job of another manifest is an error, not success (before,
// the second prefix's items were dropped as "already created").
func TestJobNamesPerOutputPrefix(t *testing.T) {
	ctx := context.Background()
	out1, s3c := s3Store(t)
	out2 := storage.NewS3(s3c, "out", "other/", storage.S3Options{})
	cfg := testConfig()
	for _, out := range []*storage.S3{out1, out2} {
		it := PendingItem{ID: "same", Source: "docs/a.txt", Text: "the same text in both", Predicted: []string{"legal"}}
		b, _ := json.Marshal(it)
		out.Put(ctx, layout.Pending(it.Source)+it.ID+".json", bytes.NewReader(b))
	}
	gt, client := newGTServer(t, s3c, func(string) string { return "legal" })
	backend, _ := NewGroundTruth(client, "eu-west-1", cfg)
	r1, err1 := (&Dispatcher{Config: cfg, Store: out1, Backend: backend}).Submit(ctx)
	r2, err2 := (&Dispatcher{Config: cfg, Store: out2, Backend: backend}).Submit(ctx)
	if err1 != nil || err2 != nil || r1.Job == r2.Job || gt.creates != 2 {
		t.Fatalf("%+v %v / %+v %v, %d creates", r1, err1, r2, err2, gt.creates)
	}
	spec := JobSpec{Name: r1.Job, ManifestURI: out2.URI("labeling/jobs/" + r2.Job + "/manifest.jsonl"),
		CategoriesURI: out2.URI("labeling/jobs/" + r2.Job + "/label-categories.json"), TemplateURI: out2.URI("labeling/jobs/" + r2.Job + "/template.liquid.html"),
		OutputURI: out2.URI("labeling/jobs/" + r2.Job + "/output/"), Items: 1}
	if err := backend.Start(ctx, spec); err == nil || !strings.Contains(err.Error(), "another input manifest") {
		t.Fatalf("a name taken by another manifest: %v", err)
	}
}

// TestCollectRealManifest reads a Ground Truth output manifest shaped like the service's
// (label-metadata objects, a job that completed with labeling errors).
func TestCollectRealManifest(t *testing.T) {
	ctx := context.Background()
	out, _ := s3Store(t)
	cfg := testConfig()
	manifest, err := os.ReadFile("testdata/gt-output.manifest")
	if err != nil {
		t.Fatal(err)
	}
	job := "docingest-5c1d2e3f4a5b6c7d"
	items := claimManifest(t, out, job, manifest, true)
	outKey := "labeling/jobs/" + job + "/output/" + job + "/manifests/output/output.manifest"
	out.Put(ctx, outKey, bytes.NewReader(manifest))
	backend := fakeBackend{status: JobStatus{Name: job, Status: "Completed", OutputURI: out.URI(outKey)}}
	col := &Collector{Config: cfg, Store: out, Backend: backend, Features: features}
	results, m, err := col.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Labels != 4 || results[0].Failed != 1 || m == nil {
		t.Fatalf("%+v (the duplicate gets its representative's label)", results)
	}
	human, _ := LoadHumanLabels(ctx, out)
	if h := human["dup0000000000000000000000000000a"]; len(h.Classes) != 1 || h.Classes[0] != human[items[0].ID].Classes[0] {
		t.Fatalf("duplicate label %+v", h)
	}
	ds, _ := out.Get(ctx, "labeled/human/"+job+".jsonl")
	if bytes.Count(ds, []byte("\n")) != 3 || !bytes.Contains(ds, []byte(`"human-annotated":"yes"`)) {
		t.Fatalf("dataset %s", ds)
	}
	// collected once only
	if results, _, _ := col.Collect(ctx); len(results) != 0 {
		t.Fatalf("collected twice: %+v", results)
	}
}

// claimManifest writes the claim and job record of a job that sent the items of an
// output manifest (with a duplicate of the first item when dup is set).
func claimManifest(t *testing.T, out Store, job string, manifest []byte, dup bool) []PendingItem {
	t.Helper()
	ctx := context.Background()
	var items []PendingItem
	for _, line := range bytes.Split(bytes.TrimSpace(manifest), []byte("\n")) {
		var rec map[string]any
		json.Unmarshal(line, &rec)
		items = append(items, PendingItem{ID: rec["docingest-id"].(string), Source: rec["docingest-source"].(string), Text: rec["source"].(string)})
	}
	claim := Claim{Job: job, Items: items}
	if dup {
		claim.Duplicates = map[string]string{"dup0000000000000000000000000000a": items[0].ID}
	}
	b, _ := json.Marshal(claim)
	rb, _ := json.Marshal(JobRecord{Job: job, Items: len(items), Created: "2026-11-24T09:00:00Z"})
	if err := out.Put(ctx, "labeling/jobs/"+job+"/claim.json", bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if err := out.Put(ctx, "labeling/jobs/"+job+"/job.json", bytes.NewReader(rb)); err != nil {
		t.Fatal(err)
	}
	return items
}

type fakeBackend struct{ status JobStatus }

func (f fakeBackend) Start(context.Context, JobSpec) error { return nil }
func (f fakeBackend) Status(_ context.Context, name string) (JobStatus, error) {
	return f.status, nil
}
func (f fakeBackend) Jobs(context.Context, string) ([]JobStatus, error) {
	return []JobStatus{f.status}, nil
}
func (f fakeBackend) Stop(context.Context, string) error {
	return errors.New("fakeBackend: unexpected stop")
}

func TestLambdaARNsAndPrice(t *testing.T) {
	t.Parallel()
	pre, acs, err := LambdaARNs("ap-southeast-2", true)
	if err != nil || pre != "arn:aws:lambda:ap-southeast-2:454466003867:function:PRE-TextMultiClassMultiLabel" || acs != "arn:aws:lambda:ap-southeast-2:454466003867:function:ACS-TextMultiClassMultiLabel" {
		t.Fatalf("%s %s %v", pre, acs, err)
	}
	if _, _, err := LambdaARNs("sa-east-1", false); err == nil {
		t.Fatal("a region without Ground Truth was accepted")
	}
	p := price(0.036)
	if *p.Dollars != 0 || *p.Cents != 3 || *p.TenthFractionsOfACent != 6 {
		t.Fatalf("price %+v", p)
	}
	cfg := testConfig()
	cfg.GroundTruth.WorkteamARN = "arn:aws:sagemaker:eu-west-1:394669845002:workteam/public-crowd/default"
	cfg.GroundTruth.TaskAvailabilitySeconds = 43200 // the public workforce's limit (TestGroundTruthLimitsPerWorkforce)
	if errs := cfg.Validate(); len(errs) != 2 || !strings.Contains(errs[0].Error(), "task_price_usd") || !strings.Contains(errs[1].Error(), "free_of_pii") {
		t.Fatalf("public workforce without a price or a declaration: %v", errs)
	}
	cfg.GroundTruth.TaskPriceUSD, cfg.GroundTruth.FreeOfPII = 0.036, true
	if errs := cfg.Validate(); len(errs) != 0 {
		t.Fatalf("public workforce with both: %v", errs)
	}
	// the content classifier is the user's declaration, not docingest's
	gt := &GroundTruth{cfg: cfg, region: "eu-west-1"}
	spec := JobSpec{Name: "j", ManifestURI: "s3://b/m", OutputURI: "s3://b/o", CategoriesURI: "s3://b/c", TemplateURI: "s3://b/t", Items: 3}
	if in := gt.Request(spec); in.InputConfig.DataAttributes == nil || len(in.InputConfig.DataAttributes.ContentClassifiers) != 1 {
		t.Fatalf("declared free of PII: %+v", in.InputConfig.DataAttributes)
	}
	gt.cfg.GroundTruth.FreeOfPII = false
	if in := gt.Request(spec); in.InputConfig.DataAttributes != nil {
		t.Fatalf("not declared, yet sent: %+v", in.InputConfig.DataAttributes)
	}
}

// asWorker hands the labeler to a worker Pipeline, as cmd/docingest's wiring does.
type asWorker struct{ *Labeler }

func (a asWorker) Begin(source string) worker.LabelSession { return a.Labeler.Begin(source) }

// TestCollectStoppedKeepsResults: a Stopped job's results obtained before the stop are
// kept (AWS writes them to the output location) and only the unlabeled items go back to
// pending; a job stopped before any result was written returns every item.
func TestCollectStoppedKeepsResults(t *testing.T) {
	ctx := context.Background()
	manifest, err := os.ReadFile("testdata/gt-output.manifest")
	if err != nil {
		t.Fatal(err)
	}
	for _, withOutput := range []bool{true, false} {
		out, _ := s3Store(t)
		job := "docingest-5c1d2e3f4a5b6c7d"
		items := claimManifest(t, out, job, manifest, false)
		if withOutput {
			// where Ground Truth writes it; the stopped job's description names no output
			out.Put(ctx, "labeling/jobs/"+job+"/output/"+job+"/manifests/output/output.manifest", bytes.NewReader(manifest))
		}
		col := &Collector{Config: testConfig(), Store: out, Backend: fakeBackend{status: JobStatus{Name: job, Status: "Stopped"}}, Features: features}
		results, _, err := col.Collect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		out.List(ctx, "labeling/pending/", true, func(storage.ObjectInfo) error { pending++; return nil })
		human, _ := LoadHumanLabels(ctx, out)
		switch {
		case len(results) != 1:
			t.Fatalf("results %+v", results)
		case withOutput && (results[0].Labels != 3 || results[0].Returned != 1 || pending != 1 || len(human) != 3):
			t.Errorf("stopped with results: %+v, %d pending, %d human labels; want 3 kept and 1 returned", results[0], pending, len(human))
		case !withOutput && (results[0].Labels != 0 || results[0].Returned != len(items) || pending != len(items)):
			t.Errorf("stopped before any result: %+v, %d pending; want all %d returned", results[0], pending, len(items))
		}
	}
}

// TestTemplateIsAWSs: the worker UI is AWS's text classification template with only the
// header and instructions changed (the element's name, pre-wrap text).
func TestTemplateIsAWSs(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	single := Template(cfg)
	cfg.MultiLabel = true
	multi := Template(cfg)
	for _, tc := range []struct{ tpl, element string }{{single, "crowd-classifier"}, {multi, "crowd-classifier-multi-select"}} {
		if !strings.Contains(tc.tpl, "<"+tc.element+` name="`+tc.element+`"`) || !strings.Contains(tc.tpl, `<classification-target style="white-space: pre-wrap">`) ||
			!strings.Contains(tc.tpl, "</"+tc.element+">") {
			t.Errorf("template for %s:\n%s", tc.element, tc.tpl)
		}
	}
}

// TestGroundTruthLimitsPerWorkforce: task availability at most 12 hours for the public
// workforce (43,200 s), 30 days for private ones; at most 50 classes when multi-label.
// Each limit at the limit and one past it.
func TestGroundTruthLimitsPerWorkforce(t *testing.T) {
	t.Parallel()
	check := func(name string, tweak func(*Config), wantErr string) {
		t.Helper()
		c := testConfig()
		tweak(&c)
		errs := c.Validate()
		got := errors.Join(errs...)
		if wantErr == "" && got != nil || wantErr != "" && (got == nil || !strings.Contains(got.Error(), wantErr)) {
			t.Errorf("%s: %v, want %q", name, got, wantErr)
		}
	}
	public := func(c *Config) {
		c.GroundTruth.WorkteamARN = "arn:aws:sagemaker:eu-west-1:394669845002:workteam/public-crowd/default"
		c.GroundTruth.TaskPriceUSD, c.GroundTruth.FreeOfPII = 0.036, true
	}
	check("public at 12 h", func(c *Config) { public(c); c.GroundTruth.TaskAvailabilitySeconds = 43200 }, "")
	check("public past 12 h", func(c *Config) { public(c); c.GroundTruth.TaskAvailabilitySeconds = 43201 }, "task_availability_seconds: the public workforce")
	check("public with the default", public, "task_availability_seconds")
	check("private at 30 days", func(c *Config) { c.GroundTruth.TaskAvailabilitySeconds = 2592000 }, "")
	check("private past 30 days", func(c *Config) { c.GroundTruth.TaskAvailabilitySeconds = 2592001 }, "task_availability_seconds")
	classes := func(n int) func(*Config) {
		return func(c *Config) {
			c.MultiLabel = true
			c.Classes = nil
			for i := 0; i < n; i++ {
				c.Classes = append(c.Classes, Class{Name: fmt.Sprintf("c%d", i), Description: "class"})
			}
		}
	}
	check("multi-label at 50 classes", classes(50), "")
	check("multi-label past 50 classes", classes(51), "at most 50 label categories")
}

// TestCollectStopsJobsPastMaxRuntime: labeling collect stops a job still running past
// max_runtime_seconds (CreateLabelingJob has no such limit), and once stopped its items
// go back to pending.
func TestCollectStopsJobsPastMaxRuntime(t *testing.T) {
	ctx := context.Background()
	out, s3c := s3Store(t)
	srv, client := newGTServer(t, s3c, func(string) string { return "legal" })
	srv.hold = true
	cfg := testConfig()
	backend, err := NewGroundTruth(client, "eu-west-1", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"You may copy and distribute verbatim copies.", "The archive keeps every upload of a package.", "Restart the network service after the change."} {
		it := PendingItem{ID: TextHash(text), Source: "docs/a.txt", Text: text, Predicted: []string{"legal"}}
		b, _ := json.Marshal(it)
		out.Put(ctx, layout.Pending(it.Source)+it.ID+".json", bytes.NewReader(b))
	}
	d := &Dispatcher{Config: cfg, Store: out, Backend: backend}
	res, err := d.Submit(ctx)
	if err != nil || res.Job == "" || res.Items != 3 {
		t.Fatalf("submit: %+v %v", res, err)
	}
	pending := func() int {
		n := 0
		out.List(ctx, "labeling/pending/", true, func(storage.ObjectInfo) error { n++; return nil })
		return n
	}
	st, err := backend.Status(ctx, res.Job)
	if err != nil {
		t.Fatal(err)
	}
	start := st.Created
	col := &Collector{Config: cfg, Store: out, Backend: backend, Features: features}
	for _, tc := range []struct {
		after time.Duration
		want  string
	}{
		{time.Duration(cfg.GroundTruth.MaxRuntimeSeconds) * time.Second, "InProgress"}, // at the limit: left running
		{time.Duration(cfg.GroundTruth.MaxRuntimeSeconds+60) * time.Second, "Stopping"},
		{time.Duration(cfg.GroundTruth.MaxRuntimeSeconds+120) * time.Second, "Stopped"},
	} {
		col.Now = func() time.Time { return start.Add(tc.after) }
		results, _, err := col.Collect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(results) != 1 || results[0].Status != tc.want {
			t.Fatalf("after %s: %+v, want %s", tc.after, results, tc.want)
		}
	}
	if srv.stops != 1 || pending() != 3 {
		t.Fatalf("%d StopLabelingJob calls, %d items pending; want 1 and all 3 back", srv.stops, pending())
	}
}

// TestSubmitDryRunWritesNothing: a dry run names the job and its items as Submit would
// and leaves the output and the service untouched; the cost counts tasks and, for the
// public workforce, what it is paid.
func TestSubmitDryRunWritesNothing(t *testing.T) {
	ctx := context.Background()
	out, s3c := s3Store(t)
	srv, client := newGTServer(t, s3c, func(string) string { return "legal" })
	cfg := testConfig()
	backend, _ := NewGroundTruth(client, "eu-west-1", cfg)
	for _, text := range []string{"You may copy and distribute verbatim copies.", "The archive keeps every upload of a package."} {
		it := PendingItem{ID: TextHash(text), Source: "docs/a.txt", Text: text, Predicted: []string{"legal"}}
		b, _ := json.Marshal(it)
		out.Put(ctx, layout.Pending(it.Source)+it.ID+".json", bytes.NewReader(b))
	}
	before := keysUnder(t, out)
	plan, err := (&Dispatcher{Config: cfg, Store: out, Backend: backend, Features: features, DryRun: true}).Submit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after := keysUnder(t, out); !slices.Equal(before, after) || srv.creates != 0 {
		t.Fatalf("a dry run wrote %v (was %v), %d jobs created", after, before, srv.creates)
	}
	res, err := (&Dispatcher{Config: cfg, Store: out, Backend: backend, Features: features}).Submit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !plan.DryRun || plan.Job != res.Job || plan.Items != 2 || res.Items != 2 {
		t.Fatalf("plan %+v, then %+v: the plan must name the job Submit creates", plan, res)
	}
	cfg.GroundTruth.WorkteamARN = "arn:aws:sagemaker:eu-west-1:394669845002:workteam/public-crowd/default"
	cfg.GroundTruth.TaskPriceUSD, cfg.WorkersPerObject = 0.036, 3
	if c := EstimateCost(cfg, 10); c.Tasks != 30 || c.WorkforceUSD != 1.08 || !c.Public {
		t.Errorf("public cost %+v, want 30 tasks and $1.08", c)
	}
}

func keysUnder(t *testing.T, s Store) []string {
	t.Helper()
	var keys []string
	if err := s.List(context.Background(), "", true, func(o storage.ObjectInfo) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	return keys
}
