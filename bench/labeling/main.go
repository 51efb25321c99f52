// Command labeling measures docingest's labeling loop on a corpus whose classes are known
// by origin (bench/labeling.sh builds one from Debian documentation packages). It splits
// the paragraphs into a pool that gets labeled and a test set that is only scored, then
// drives the product's own loop round after round: the Labeler labels every pool
// document (as the pipeline does), the Dispatcher makes one job of at most -budget items,
// a labeling backend answers it with the true classes (humans emulated), and the
// Collector brings the labels in and retrains. After each round it prints the share of
// test items the classifier sends to humans and the accuracy of its automatic labels,
// and the accuracy of the automatic labels that round published for the pool.
//
// The output is an in-memory S3 (gofakes3) reached through aws-sdk-go-v2, as in the tests.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/internal/emulators"
	"github.com/docingest/docingest/labeling"
	"github.com/docingest/docingest/storage"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

type para struct {
	Text   string `json:"text"`
	Class  string `json:"class"`
	Source string `json:"source"`
}

type topics []string

func (t *topics) String() string     { return strings.Join(*t, ",") }
func (t *topics) Set(v string) error { *t = append(*t, v); return nil }

func main() {
	var tps topics
	flag.Var(&tps, "topic", "class=folder=description (repeatable): every .html file under folder is of class")
	perClass := flag.Int("per-class", 400, "paragraphs sampled per class")
	budget := flag.Int("budget", 50, "items per labeling job")
	maxLabels := flag.Int("max-labels", 500, "stop after this many human labels")
	export := flag.String("export", "", "write pool.jsonl and test.jsonl here (for the scikit-learn baseline)")
	configJSON := flag.String("config", "", "JSON overriding labeling settings (e.g. {\"AuditShare\":0})")
	flag.Parse()
	if len(tps) < 2 {
		log.Fatal("need at least two -topic class=folder=description")
	}
	cfg := labeling.DefaultConfig()
	cfg.Enabled = true
	cfg.MaxItemsPerJob, cfg.MaxItemsPerDay = *budget, 1<<30
	var all []para
	for _, t := range tps {
		parts := strings.SplitN(t, "=", 3)
		if len(parts) != 3 {
			log.Fatalf("-topic %q: want class=folder=description", t)
		}
		cfg.Classes = append(cfg.Classes, labeling.Class{Name: parts[0], Description: parts[2]})
		ps, err := paragraphs(parts[1], parts[0], *perClass)
		if err != nil {
			log.Fatal(err)
		}
		all = append(all, ps...)
	}
	if *configJSON != "" {
		if err := json.Unmarshal([]byte(*configJSON), &cfg); err != nil {
			log.Fatal(err)
		}
	}
	var pool, test []para
	for _, p := range all {
		if sha256.Sum256([]byte("split\x00" + p.Text))[0]%2 == 0 {
			pool = append(pool, p)
		} else {
			test = append(test, p)
		}
	}
	fmt.Printf("%d paragraphs (%d classes): %d in the pool, %d in the test set; budget %d per job\n", len(all), len(cfg.Classes), len(pool), len(test), *budget)
	if *export != "" {
		for name, ps := range map[string][]para{"pool.jsonl": pool, "test.jsonl": test} {
			var b bytes.Buffer
			for _, p := range ps {
				line, _ := json.Marshal(p)
				b.Write(line)
				b.WriteByte('\n')
			}
			if err := os.WriteFile(filepath.Join(*export, name), b.Bytes(), 0o644); err != nil {
				log.Fatal(err)
			}
		}
	}
	if err := loop(context.Background(), cfg, pool, test, *maxLabels); err != nil {
		log.Fatal(err)
	}
}

// paragraphs extracts every HTML file under dir and keeps the paragraphs of 30 to 300
// words, deduplicated, then samples n of them by a hash of their text.
func paragraphs(dir, class string, n int) ([]para, error) {
	seen := map[string]bool{}
	var out []para
	lim := extractors.Limits{MaxPages: 1000, MaxTextBytes: 50 << 20}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		doc, err := extractors.HTMLExtractor{Limits: lim}.Extract(context.Background(), data)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		for _, p := range strings.Split(doc.Text, "\n\n") {
			p = strings.TrimSpace(p)
			if w := len(strings.Fields(p)); w < 30 || w > 300 || seen[p] {
				continue
			}
			seen[p] = true
			out = append(out, para{Text: p, Class: class, Source: class + "/" + rel})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	key := func(p para) string { s := sha256.Sum256([]byte(p.Text)); return string(s[:]) }
	slices.SortFunc(out, func(a, b para) int { return strings.Compare(key(a), key(b)) })
	if len(out) > n {
		out = out[:n]
	}
	if len(out) < n {
		fmt.Fprintf(os.Stderr, "%s: only %d paragraphs\n", class, len(out))
	}
	return out, nil
}

// oracle is a labeling backend whose humans know every item's class: it answers a job as
// soon as it is created, in Ground Truth's output-manifest form.
type oracle struct {
	store  *storage.S3
	truth  map[string]string // text hash -> class
	cfg    labeling.Config
	output map[string]string
}

func (o *oracle) Start(ctx context.Context, spec labeling.JobSpec) error {
	base := o.store.URI("")
	manifest, err := o.store.Get(ctx, strings.TrimPrefix(spec.ManifestURI, base))
	if err != nil {
		return err
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(manifest))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return err
		}
		class := o.truth[rec["docingest-id"].(string)]
		idx := slices.Index(o.cfg.ClassNames(), class)
		rec[o.cfg.Attribute] = idx
		rec[o.cfg.Attribute+"-metadata"] = map[string]any{"class-name": class, "confidence": 1, "human-annotated": "yes",
			"creation-date": time.Now().UTC().Format("2006-01-02T15:04:05.000000"), "type": "groundtruth/text-classification"}
		line, _ := json.Marshal(rec)
		out.Write(line)
		out.WriteByte('\n')
	}
	key := strings.TrimPrefix(spec.OutputURI, base) + spec.Name + "/manifests/output/output.manifest"
	if err := o.store.Put(ctx, key, bytes.NewReader(out.Bytes())); err != nil {
		return err
	}
	o.output[spec.Name] = o.store.URI(key)
	return nil
}

func (o *oracle) Status(_ context.Context, name string) (labeling.JobStatus, error) {
	return labeling.JobStatus{Name: name, Status: "Completed", OutputURI: o.output[name]}, nil
}

func (o *oracle) Jobs(context.Context, string) ([]labeling.JobStatus, error) { return nil, nil }

// Stop is never needed: the oracle completes every job when it starts.
func (o *oracle) Stop(context.Context, string) error { return nil }

type round struct {
	labels                int
	toHumans, autoAcc     float64
	auto                  int
	poolAuto, poolAutoOK  int
	threshold, lower, ece float64
	open                  bool
	c, temperature, cvECE float64
	train                 time.Duration
	audited, auditAgreed  int
	testAcc, cvAcc        float64
	reason                string
}

func loop(ctx context.Context, cfg labeling.Config, pool, test []para, maxLabels int) error {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	client := emulators.S3Client(srv.URL)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
		return err
	}
	store := storage.NewS3(client, "bench", "out/", storage.S3Options{})
	features := labeling.Features{HashDims: labeling.DefaultHashDims}
	truth := map[string]string{}
	bySource := map[string][]para{}
	var sources []string
	for _, p := range pool {
		truth[labeling.TextHash(p.Text)] = p.Class
		if bySource[p.Source] == nil {
			sources = append(sources, p.Source)
		}
		bySource[p.Source] = append(bySource[p.Source], p)
	}
	var testEx []labeling.Example
	for _, p := range test {
		testEx = append(testEx, labeling.Example{Text: p.Text, Classes: []string{p.Class}})
	}
	backend := &oracle{store: store, truth: truth, cfg: cfg, output: map[string]string{}}
	now := time.Now
	var rows []round
	labels := 0
	var trainTime time.Duration
	var audit [2]int
	for {
		t0 := time.Now()
		l, err := labeling.NewLabeler(ctx, cfg, store, features, now)
		if err != nil {
			return err
		}
		if labels == 0 {
			trainTime = time.Since(t0)
		}
		m := l.Model()
		r := round{labels: labels, train: trainTime, open: m.Gate.Open, lower: m.Gate.LowerBound, c: m.Training.C,
			temperature: m.Temperature, cvECE: m.Training.CalibrationError, audited: audit[0], auditAgreed: audit[1]}
		// run: every pool document through the labeler, as the pipeline does
		for _, src := range sources {
			s := l.Begin(src)
			var in []document.LabelInput
			for i, p := range bySource[src] {
				in = append(in, document.LabelInput{ID: fmt.Sprintf("%s#%d", src, i), Index: i, Text: p.Text})
			}
			labs, err := s.Label(ctx, in)
			if err != nil {
				return err
			}
			for i, lab := range labs {
				if lab.Status == "auto" {
					r.poolAuto++
					if lab.Class == bySource[src][i].Class {
						r.poolAutoOK++
					}
				}
			}
			if err := s.Finish(ctx); err != nil {
				return err
			}
		}
		// score the test set at the threshold the classifier uses
		for _, row := range labeling.Simulate(m, testEx, nil, cfg.Threshold) {
			if row.Chosen {
				r.toHumans, r.autoAcc, r.auto, r.threshold = row.ToHumans, row.AutoAccuracy, row.Auto, row.Threshold
			}
		}
		if !m.Gate.Open {
			r.toHumans = 1
		}
		r.ece = labeling.CalibrationError(m, testEx)
		all := labeling.Simulate(m, testEx, []float64{1}, 0)
		r.testAcc, r.cvAcc, r.reason = all[len(all)-1].AutoAccuracy, m.Training.CVAccuracy, m.Gate.Reason
		rows = append(rows, r)
		if labels >= maxLabels {
			break
		}
		d := &labeling.Dispatcher{Config: cfg, Store: store, Backend: backend, Model: m}
		res, err := d.Submit(ctx)
		if err != nil {
			return err
		}
		if res.Job == "" {
			fmt.Printf("no job after %d labels: %s\n", labels, res.Reason)
			break
		}
		t1 := time.Now()
		col := &labeling.Collector{Config: cfg, Store: store, Backend: backend, Features: features, Now: now}
		results, _, err := col.Collect(ctx)
		if err != nil {
			return err
		}
		trainTime = time.Since(t1)
		for _, x := range results {
			labels += x.Labels
			audit[0] += x.Audited
			audit[1] += x.AuditAgreed
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "HUMAN LABELS\tTEST TO HUMANS\tTEST AUTO ACCURACY\tTEST AUTO\tPOOL AUTO PUBLISHED\tPOOL AUTO ACCURACY\tGATE THRESHOLD\tGATE LOWER BOUND\tC\tT\tECE (CV)\tECE (TEST)\tAUDITED (AGREED)\tTRAIN\tACC (TEST)\tACC (CV)\t")
	for _, r := range rows {
		acc, pacc, th := "-", "-", "closed"
		if r.auto > 0 {
			acc = fmt.Sprintf("%.1f%%", 100*r.autoAcc)
		}
		if r.poolAuto > 0 {
			pacc = fmt.Sprintf("%.1f%%", 100*float64(r.poolAutoOK)/float64(r.poolAuto))
		}
		if r.open {
			th = fmt.Sprintf("%.3f", r.threshold)
		}
		fmt.Fprintf(tw, "%d\t%.1f%%\t%s\t%d\t%d\t%s\t%s\t%.3f\t%g\t%.2f\t%.3f\t%.3f\t%d (%d)\t%.2fs\t%.3f\t%.3f\t\n", r.labels, 100*r.toHumans, acc, r.auto,
			r.poolAuto, pacc, th, r.lower, r.c, r.temperature, r.cvECE, r.ece, r.audited, r.auditAgreed, r.train.Seconds(), r.testAcc, r.cvAcc)
		if os.Getenv("BENCH_VERBOSE") != "" {
			fmt.Fprintf(tw, "%s\n", r.reason)
		}
	}
	return tw.Flush()
}
