package labeling

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

func TestWilsonLower(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		right, n int
		want     float64
	}{
		{100, 100, 0.9736573}, {97, 100, 0.9272897}, {1, 1, 0.2698659}, {180, 183, 0.9596919}, {0, 10, 0},
	} {
		if got := WilsonLower(tc.right, tc.n); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("WilsonLower(%d, %d) = %.7f, want %.7f", tc.right, tc.n, got, tc.want)
		}
	}
	if WilsonLower(0, 0) != 0 {
		t.Error("no evidence must give a lower bound of 0")
	}
}

// labeledCorpus is the test corpus as human labels, each chunk's document as its source.
func labeledCorpus(t testing.TB) (pool, held []Example, human map[string]HumanLabel) {
	human = map[string]HumanLabel{}
	for class, files := range smallClassFiles {
		for _, f := range files {
			for _, it := range corpus(t, map[string][]string{class: {f}}, 0) {
				e := Example{Text: it.text, Classes: []string{it.class}}
				pool = append(pool, e)
				id := TextHash(it.text)
				human[id] = HumanLabel{ID: id, Classes: e.Classes, Text: it.text, Sources: []string{f}}
			}
		}
	}
	for _, it := range corpus(t, map[string][]string{"legal": newLegalFiles}, 0) {
		held = append(held, Example{Text: it.text, Classes: []string{it.class}})
	}
	return pool, held, human
}

// TestGateFollowsTarget: the gate opens only where the cross-validated human labels show
// the target, a configured threshold can only be stricter, and a class short of human
// labels keeps it closed.
func TestGateFollowsTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := testConfig()
	_, held, human := labeledCorpus(t)
	m, err := Train(ctx, DefaultTraining(cfg, features), trainingSet(cfg, human), "x")
	if err != nil {
		t.Fatal(err)
	}
	g := m.Gate
	t.Logf("%d human labels: C %g, %d folds, %d iterations (converged %v), temperature %.2f, calibration error %.3f (uncalibrated %.3f), gate %+v",
		m.Training.Human, m.Training.C, m.Training.Folds, m.Training.Iterations, m.Training.Converged, m.Temperature, m.Training.CalibrationError, m.Training.Uncalibrated, g)
	if !g.Open || g.LowerBound < cfg.TargetAccuracy || WilsonLower(g.Right, g.Auto) != g.LowerBound || !m.Training.Converged || m.Training.Folds != 5 {
		t.Fatalf("gate %+v, training %+v", g, m.Training)
	}
	if m.Training.CVLogLoss > m.Training.CVLogLossUncalibrated {
		t.Errorf("the temperature made the cross-validated log-loss worse: %.4f > %.4f", m.Training.CVLogLoss, m.Training.CVLogLossUncalibrated)
	}
	if th, open := m.Threshold(0); !open || th != g.Threshold {
		t.Fatalf("threshold %g %v", th, open)
	}
	if th, _ := m.Threshold(g.Threshold / 2); th != g.Threshold/2 {
		t.Fatalf("a stricter configured threshold was not used: %g", th)
	}
	if th, _ := m.Threshold(0.99); th != g.Threshold {
		t.Fatalf("a looser configured threshold was used: %g", th)
	}
	var chosen SimRow
	for _, r := range Simulate(m, held, nil, 0) {
		if r.Chosen {
			chosen = r
		}
	}
	t.Logf("held-out chunks at the chosen threshold: %.1f%% to humans, automatic labels %.1f%% right (%d)", 100*chosen.ToHumans, 100*chosen.AutoAccuracy, chosen.Auto)
	if chosen.Auto == 0 || chosen.AutoAccuracy < 0.95 {
		t.Fatalf("held out: %+v", chosen)
	}
	// one class short of labels: nothing is automatic (a subset keeps this quick)
	ids := make([]string, 0, len(human))
	for id := range human {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	few := map[string]HumanLabel{}
	count := map[string]int{}
	for _, id := range ids {
		h := human[id]
		limit := 60
		if h.Classes[0] == "legal" {
			limit = cfg.MinLabelsPerClass - 1
		}
		if count[h.Classes[0]] < limit {
			count[h.Classes[0]]++
			few[id] = h
		}
	}
	m2, err := Train(ctx, DefaultTraining(cfg, features), trainingSet(cfg, few), "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, open := m2.Threshold(0); open || !strings.Contains(m2.Gate.Reason, `class "legal" has 9 human labels`) {
		t.Fatalf("one class short: gate %+v", m2.Gate)
	}
	// exactly enough labels of that class: the rule no longer holds the gate
	few[TextHash("one more legal text")] = HumanLabel{ID: TextHash("one more legal text"), Classes: []string{"legal"}, Text: "THE PROGRAM IS PROVIDED AS IS WITHOUT WARRANTY OF ANY KIND.", Sources: []string{"extra"}}
	m3, _ := Train(ctx, DefaultTraining(cfg, features), trainingSet(cfg, few), "x")
	if strings.Contains(m3.Gate.Reason, "human labels; automatic labels need") {
		t.Fatalf("ten labels of every class: gate %+v", m3.Gate)
	}
}

// TestCrossValidationByDocument: labels of one document per class cannot show accuracy on
// other documents, so the gate stays closed however many there are.
func TestCrossValidationByDocument(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	human := map[string]HumanLabel{}
	for _, it := range corpus(t, smallClassFilesOnePerClass, 0) {
		id := TextHash(it.text)
		human[id] = HumanLabel{ID: id, Classes: []string{it.class}, Text: it.text, Sources: []string{it.class + "-only-document"}}
	}
	m, err := Train(context.Background(), DefaultTraining(cfg, features), trainingSet(cfg, human), "x")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d labels from three documents: gate %+v", len(human), m.Gate)
	if m.Gate.Open {
		t.Fatalf("one document per class opened the gate: %+v", m.Gate)
	}
}

var smallClassFilesOnePerClass = map[string][]string{
	"administration": {"../testdata/real/ch03.en.html"},
	"packaging":      {"../testdata/real/developers-reference-resources.html"},
	"legal":          {"testdata/licences/Apache-2.0"},
}

// memStore is an output prefix in memory with conditional writes (our own interface).
type memStore struct {
	objs map[string][]byte
	puts int
}

func newMemStore() *memStore { return &memStore{objs: map[string][]byte{}} }

func (s *memStore) List(_ context.Context, prefix string, _ bool, fn func(storage.ObjectInfo) error) error {
	var keys []string
	for k := range s.objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if err := fn(storage.ObjectInfo{Key: k, Size: int64(len(s.objs[k]))}); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStore) Get(_ context.Context, key string) ([]byte, error) {
	b, ok := s.objs[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return b, nil
}

func (s *memStore) Put(_ context.Context, key string, r io.Reader) error {
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		return err
	}
	s.objs[key] = b.Bytes()
	s.puts++
	return nil
}

func (s *memStore) Delete(_ context.Context, key string) error { delete(s.objs, key); return nil }

func (s *memStore) GetVersion(ctx context.Context, key string) ([]byte, string, error) {
	b, err := s.Get(ctx, key)
	return b, fmt.Sprint(len(b)), err
}

func (s *memStore) PutIf(ctx context.Context, key string, body []byte, ifMatch string) error {
	if _, tag, err := s.GetVersion(ctx, key); (err == nil) != (ifMatch != "") || (err == nil && tag != ifMatch) {
		return storage.ErrPrecondition
	}
	return s.Put(ctx, key, bytes.NewReader(body))
}

func (s *memStore) URI(key string) string { return "s3://mem/out/" + key }

// TestStoredClassifierIsLoaded: a stored classifier of the right version is returned as
// stored, not retrained; with persist off (simulate) nothing is written.
func TestStoredClassifierIsLoaded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := testConfig()
	_, _, all := labeledCorpus(t)
	ids := make([]string, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	human := map[string]HumanLabel{}
	for _, id := range ids[:300] {
		human[id] = all[id]
	}
	now := func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }
	ro := newMemStore()
	if _, err := Classifier(ctx, cfg, ro, features, human, now, false); err != nil || len(ro.objs) != 0 {
		t.Fatalf("read-only classifier wrote %d objects (%v)", len(ro.objs), err)
	}
	s := newMemStore()
	m, err := Classifier(ctx, cfg, s, features, human, now, true)
	if err != nil {
		t.Fatal(err)
	}
	key := layout.ClassifierRoot + m.Version + ".json"
	var stored map[string]any
	json.Unmarshal(s.objs[key], &stored)
	stored["created"] = "stored-copy"
	s.objs[key], _ = json.Marshal(stored)
	start := time.Now()
	again, err := Classifier(ctx, cfg, s, features, human, now, true)
	if err != nil || again.Created != "stored-copy" || again.Version != m.Version {
		t.Fatalf("the stored classifier was not loaded: %v %q", err, again.Created)
	}
	t.Logf("%d human labels: loaded in %s", len(human), time.Since(start))
	// a corrupt stored copy is replaced by a training of the same version
	s.objs[key] = []byte(`{"version": "` + m.Version + `", "weights": [1]}`)
	fixed, err := Classifier(ctx, cfg, s, features, human, now, true)
	if err != nil || fixed.Version != m.Version || fixed.Created == "stored-copy" {
		t.Fatalf("corrupt copy: %v %+v", err, fixed.Created)
	}
}

// TestChooseSpreadsAndAudits: a job takes the audit share at random from the automatic
// labels' sample and the rest by uncertainty, in turns over predicted classes and with no
// source taking more than its share, whatever the keys' order.
func TestChooseSpreadsAndAudits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := testConfig()
	cfg.MaxItemsPerJob = 20
	s := newMemStore()
	m, err := Train(ctx, DefaultTraining(cfg, features), trainingSet(cfg, nil), "x")
	if err != nil {
		t.Fatal(err)
	}
	m.Gate = Gate{Open: true, Threshold: 0.05, Proposed: 0.05, Target: cfg.TargetAccuracy}
	put := func(it PendingItem) {
		it.Classifier = m.Version // scored by the current classifier: not scored again
		b, _ := json.Marshal(it)
		s.objs[layout.Pending(it.Source)+it.ID+".json"] = b
	}
	// source a/ sorts first and holds the most uncertain items, all predicted "legal"
	for i := range 60 {
		put(PendingItem{ID: TextHash(fmt.Sprint("a", i)), Source: "a/doc", Text: fmt.Sprint("a", i), Predicted: []string{"legal"}, Uncertainty: 0.9 + float64(i)/1000})
	}
	for i := range 30 {
		put(PendingItem{ID: TextHash(fmt.Sprint("b", i)), Source: "b/doc", Text: fmt.Sprint("b", i), Predicted: []string{"packaging"}, Uncertainty: 0.5 + float64(i)/1000})
		put(PendingItem{ID: TextHash(fmt.Sprint("c", i)), Source: "c/doc", Text: fmt.Sprint("c", i), Predicted: []string{"administration"}, Uncertainty: 0.4 + float64(i)/1000})
	}
	for i := range 10 { // automatic labels kept for the audit
		put(PendingItem{ID: TextHash(fmt.Sprint("d", i)), Source: fmt.Sprint("d/doc", i), Text: fmt.Sprint("d", i), Predicted: []string{"legal"}, Uncertainty: 0.01, Audit: true, Auto: true})
	}
	d := &Dispatcher{Config: cfg, Store: s, Model: m, Now: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }}
	claim, err := d.choose(ctx, 20, "2026-12-01", 0)
	if err != nil {
		t.Fatal(err)
	}
	perSource, perClass, audit := map[string]int{}, map[string]int{}, 0
	for _, it := range claim.Items {
		if it.Auto {
			audit++
			continue
		}
		perSource[it.Source]++
		perClass[it.Predicted[0]]++
	}
	t.Logf("job: %d items, %d audit, per source %v, per class %v", len(claim.Items), audit, perSource, perClass)
	if len(claim.Items) != 20 || audit != 6 || perSource["a/doc"] > 10 || len(perClass) != 3 || perClass["administration"] < 4 {
		t.Fatalf("job: %d items, %d audit, per source %v, per class %v", len(claim.Items), audit, perSource, perClass)
	}
	// within a class, the most uncertain first
	for _, it := range claim.Items {
		if it.Source == "a/doc" && it.Uncertainty < 0.95 {
			t.Fatalf("a less uncertain item of a/ was taken: %+v", it)
		}
	}
}

func TestReadDatasetForms(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	good := `{"text": "a", "class": "legal"}
{"text": "b", "classes": ["packaging"]}
{"source": "c", "label": "administration"}
{"source": "d", "label": 2}
{"source": "e", "label": 0, "label-metadata": {"class-name": "legal"}}

`
	exs, err := ReadDataset(strings.NewReader(good), cfg)
	if err != nil || len(exs) != 5 || exs[2].Classes[0] != "administration" || exs[3].Classes[0] != "legal" || exs[4].Classes[0] != "legal" {
		t.Fatalf("%+v %v", exs, err)
	}
	for _, bad := range []string{
		`{"text": "a", "class": "weather"}`, `{"source": "a", "label": "weather"}`, `{"source": "a", "label": 7}`,
		`{"text": "a"}`, `{"text": "", "class": "legal"}`, `{"text": "a", "classes": ["legal", "packaging"]}`, `not json`,
		`{"text": 5, "class": "legal"}`,
	} {
		if _, err := ReadDataset(strings.NewReader(bad), cfg); err == nil || !strings.HasPrefix(err.Error(), "line 1: ") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func FuzzReadDataset(f *testing.F) {
	f.Add([]byte(`{"text": "a", "class": "legal"}`))
	f.Add([]byte(`{"source": "d", "label": [0, 2], "label-metadata": {"class-map": {"0": "x"}}}`))
	cfg := testConfig()
	multi := testConfig()
	multi.MultiLabel = true
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range []Config{cfg, multi} {
			exs, err := ReadDataset(bytes.NewReader(b), c)
			if err != nil {
				continue
			}
			for _, e := range exs {
				if e.Text == "" || len(e.Classes) == 0 {
					t.Fatalf("accepted %+v", e)
				}
			}
		}
	})
}

func TestFNVMatchesStandardLibrary(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "word", "pair of", "é ß İ"} {
		h := fnv.New64a()
		h.Write([]byte(s + " " + s))
		if got := fnv64a(s, " ", s); got != h.Sum64() {
			t.Errorf("%q: %x, want %x", s, got, h.Sum64())
		}
	}
}

func FuzzTermCounts(f *testing.F) {
	f.Add("Use systemctl to restart the network service.", 1024)
	f.Add(strings.Repeat("x", 200)+" é ß İ", 7)
	f.Fuzz(func(t *testing.T, s string, dims int) {
		if dims < 2 || dims > 1<<20 {
			return
		}
		terms := termCounts(s, dims)
		for i, tm := range terms {
			if int(tm.bucket) >= dims || tm.count < 1 || (i > 0 && terms[i-1].bucket >= tm.bucket) {
				t.Fatalf("terms %v", terms)
			}
		}
	})
}

func FuzzLoadModel(f *testing.F) {
	m, err := Train(context.Background(), DefaultTraining(testConfig(), Features{HashDims: 64, EmbeddingDims: 2}),
		[]Example{{Text: "licence terms", Classes: []string{"legal"}}, {Text: "apt install", Classes: []string{"administration"}}, {Text: "upload", Classes: []string{"packaging"}}}, "x")
	if err != nil {
		f.Fatal(err)
	}
	b, _ := json.Marshal(m)
	f.Add(b)
	f.Add([]byte(`{"classes":["a","b"],"features":{"hash_dims":4,"embedding_dims":-3},"vocabulary":[1,2,3],"idf":[1,1,1],"weights":[0,0],"bias":[0,0]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := LoadModel(b)
		if err != nil {
			return
		}
		p := m.Probabilities("licence terms and apt install", []float32{0.5, 0.5})
		if len(p) != len(m.Classes) {
			t.Fatalf("%d probabilities for %d classes", len(p), len(m.Classes))
		}
	})
}

// BenchmarkTrain trains from n human labels (chunks of the test documents cut at several
// sizes, so every text is distinct), cross-validation and calibration included, and
// BenchmarkLoad loads the stored result: what a worker start or a collect costs.
func BenchmarkTrain(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		exs := benchExamples(b, n)
		cfg := testConfig()
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Train(context.Background(), DefaultTraining(cfg, features), exs, "x"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	cfg := testConfig()
	m, err := Train(context.Background(), DefaultTraining(cfg, features), benchExamples(b, 10000), "x")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(m)
	b.ReportMetric(float64(len(body)), "stored-bytes")
	for b.Loop() {
		if _, err := LoadModel(body); err != nil {
			b.Fatal(err)
		}
	}
}

func benchExamples(b *testing.B, n int) []Example {
	seen := map[string]bool{}
	var exs []Example
	for size := 40; len(exs) < n && size < 400; size += 7 {
		for class, files := range classFiles {
			for fi, f := range files {
				for _, it := range corpusSized(b, class, f, size) {
					if !seen[it.text] && len(exs) < n {
						seen[it.text] = true
						exs = append(exs, Example{Text: it.text, Classes: []string{class}, Group: fmt.Sprint(class, fi, size%3)})
					}
				}
			}
		}
	}
	return exs
}
