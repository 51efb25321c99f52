package labeling

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// Collector brings the human labels of finished jobs into the dataset and retrains the
// classifier.
type Collector struct {
	Config   Config
	Store    VersionedStore
	Backend  Backend
	Features Features
	Logger   *slog.Logger
	Now      func() time.Time
}

// CollectResult reports one job.
type CollectResult struct {
	Job      string `json:"job"`
	Status   string `json:"status"`
	Labels   int    `json:"labels"`
	Failed   int    `json:"failed"`
	Returned int    `json:"returned_to_pending,omitempty"`
	// Audited counts human labels of items that had been labeled automatically (the
	// audit sample), AuditAgreed those where the human agreed with the automatic label.
	Audited     int `json:"audited,omitempty"`
	AuditAgreed int `json:"audit_agreed,omitempty"`
}

func (c *Collector) log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// PendingItems lists the items waiting for humans, the most uncertain first.
func PendingItems(ctx context.Context, store Store) ([]PendingItem, error) {
	var items []PendingItem
	err := store.List(ctx, layout.PendingRoot, true, func(o storage.ObjectInfo) error {
		b, err := store.Get(ctx, o.Key)
		if errors.Is(err, storage.ErrNotFound) {
			return nil // claimed since the listing
		}
		if err != nil {
			return err
		}
		var it PendingItem
		if err := json.Unmarshal(b, &it); err != nil {
			return fmt.Errorf("%s: %w", o.Key, err)
		}
		it.Embedding = nil
		items = append(items, it)
		return nil
	})
	sort.SliceStable(items, func(i, j int) bool { return items[i].Uncertainty > items[j].Uncertainty })
	return items, err
}

// JobRecords lists the jobs this output prefix created, newest first.
func JobRecords(ctx context.Context, store Store) ([]JobRecord, error) {
	var recs []JobRecord
	err := store.List(ctx, layout.JobsRoot, true, func(o storage.ObjectInfo) error {
		if !strings.HasSuffix(o.Key, "/job.json") || strings.Count(strings.TrimPrefix(o.Key, layout.JobsRoot), "/") != 1 {
			return nil
		}
		b, err := store.Get(ctx, o.Key)
		if err != nil {
			return err
		}
		var r JobRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", o.Key, err)
		}
		recs = append(recs, r)
		return nil
	})
	sort.Slice(recs, func(i, j int) bool { return recs[i].Created > recs[j].Created })
	return recs, err
}

// Collect reads every finished, uncollected job: human labels go to labeled/human/<job>.jsonl
// and labeling/human/, the items of failed or stopped jobs go back to pending, and the
// classifier is retrained when labels arrived. It returns what it did and the new model.
func (c *Collector) Collect(ctx context.Context) ([]CollectResult, *Model, error) {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	jobs, err := JobRecords(ctx, c.Store)
	if err != nil {
		return nil, nil, err
	}
	var results []CollectResult
	added := 0
	for _, j := range jobs {
		if j.Collected != "" {
			continue
		}
		st, err := c.Backend.Status(ctx, j.Job)
		if err != nil {
			return results, nil, err
		}
		res := CollectResult{Job: j.Job, Status: st.Status}
		switch st.Status {
		case "Completed":
			n, failed, _, err := c.collectJob(ctx, j, c.outputKey(j, st), &res)
			if err != nil {
				return results, nil, err
			}
			res.Labels, res.Failed = n, failed
			added += n
		case "Stopped":
			// AWS writes the results obtained before a stop to the output location: keep
			// them (they are paid for) and return only the rest to pending.
			n, _, labeled, err := c.collectJob(ctx, j, c.outputKey(j, st), &res)
			switch {
			case errors.Is(err, storage.ErrNotFound): // stopped before any result was written
			case err != nil:
				return results, nil, err
			}
			res.Labels = n
			added += n
			if res.Returned, err = c.giveBack(ctx, j.Job, labeled); err != nil {
				return results, nil, err
			}
		case "Failed":
			n, err := c.giveBack(ctx, j.Job, nil)
			if err != nil {
				return results, nil, err
			}
			res.Returned = n
		default:
			// CreateLabelingJob takes no runtime limit: max_runtime_seconds is enforced here,
			// by stopping the job; its results are collected once it has stopped.
			limit := time.Duration(c.Config.GroundTruth.MaxRuntimeSeconds) * time.Second
			if st.Status == "InProgress" && limit > 0 && !st.Created.IsZero() && now().Sub(st.Created) > limit {
				if err := c.Backend.Stop(ctx, j.Job); err != nil {
					return results, nil, err
				}
				c.log().Info("labeling job ran past max_runtime_seconds: stopped; its results are collected once it has stopped", "job", j.Job, "created", st.Created)
				res.Status = "Stopping"
			}
			results = append(results, res)
			continue
		}
		j.Collected, j.Status = now().UTC().Format(time.RFC3339), st.Status
		b, _ := json.Marshal(j)
		if err := c.Store.Put(ctx, layout.Job(j.Job)+"job.json", bytes.NewReader(b)); err != nil {
			return results, nil, err
		}
		results = append(results, res)
	}
	if added == 0 {
		return results, nil, nil
	}
	human, err := LoadHumanLabels(ctx, c.Store)
	if err != nil {
		return results, nil, err
	}
	m, err := Classifier(ctx, c.Config, c.Store, c.Features, human, now, true)
	return results, m, err
}

// keyOf turns an s3:// URI under the store into its key.
func keyOf(store VersionedStore, uri string) (string, error) {
	base := store.URI("")
	if !strings.HasPrefix(uri, base) {
		return "", fmt.Errorf("%s is not under the output prefix %s", uri, base)
	}
	return strings.TrimPrefix(uri, base), nil
}

// outputKey is where a job's output manifest is: where the service says, else where
// Ground Truth writes it under the job's output path
// (<output path><job>/manifests/output/output.manifest), for a stopped job the service
// reports no output for.
func (c *Collector) outputKey(j JobRecord, st JobStatus) string {
	if st.OutputURI != "" {
		if key, err := keyOf(c.Store, st.OutputURI); err == nil {
			return key
		}
	}
	return layout.Job(j.Job) + "output/" + j.Job + "/manifests/output/output.manifest"
}

// collectJob reads a job's output manifest: the labeled items become human labels and go
// into the dataset; labeled holds their ids.
func (c *Collector) collectJob(ctx context.Context, j JobRecord, key string, res *CollectResult) (labels, failed int, labeled map[string]bool, err error) {
	body, err := c.Store.Get(ctx, key)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("read the output manifest of %s: %w", j.Job, err)
	}
	labeled = map[string]bool{}
	claimBody, err := c.Store.Get(ctx, layout.Job(j.Job)+"claim.json")
	if err != nil {
		return 0, 0, nil, fmt.Errorf("read the claim of %s: %w", j.Job, err)
	}
	var claim Claim
	if err := json.Unmarshal(claimBody, &claim); err != nil {
		return 0, 0, nil, err
	}
	sources := map[string][]string{}
	sent := map[string]PendingItem{}
	for _, it := range claim.Items {
		sources[it.ID] = append(sources[it.ID], it.Source)
		sent[it.ID] = it
	}
	dupsOf := map[string][]string{}
	for dup, rep := range claim.Duplicates {
		dupsOf[rep] = append(dupsOf[rep], dup)
	}
	attr := c.Config.Attribute
	var dataset bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec map[string]json.RawMessage
		if err := json.Unmarshal(line, &rec); err != nil {
			return 0, 0, nil, fmt.Errorf("output manifest of %s: %w", j.Job, err)
		}
		var id, text string
		_ = json.Unmarshal(rec["docingest-id"], &id)
		_ = json.Unmarshal(rec["source"], &text)
		var meta map[string]any
		_ = json.Unmarshal(rec[attr+"-metadata"], &meta)
		if _, ok := rec[attr]; !ok || id == "" || meta["failure-reason"] != nil {
			failed++
			continue
		}
		classes, err := c.classesOf(rec[attr], meta)
		if err != nil {
			return 0, 0, nil, fmt.Errorf("output manifest of %s, item %s: %w", j.Job, id, err)
		}
		date, _ := meta["creation-date"].(string)
		var reviewers []string
		if rs, ok := meta["docingest-reviewers"].([]any); ok {
			for _, r := range rs {
				if s, ok := r.(string); ok {
					reviewers = append(reviewers, s)
				}
			}
		}
		disagreement, _ := meta["docingest-disagreement"].(bool)
		meta["human-annotated"] = "yes"
		rec[attr+"-metadata"], _ = json.Marshal(meta)
		out, _ := json.Marshal(rec)
		dataset.Write(out)
		dataset.WriteByte('\n')
		labeled[id] = true
		it := sent[id]
		if it.Auto {
			res.Audited++
			if SameClasses(it.Predicted, classes) {
				res.AuditAgreed++
			}
		}
		for _, target := range append([]string{id}, dupsOf[id]...) {
			h := HumanLabel{ID: target, Classes: classes, Job: j.Job, Date: date, Sources: sources[id], Text: text,
				Predicted: it.Predicted, Classifier: it.Classifier, Audit: it.Audit, WasAuto: it.Auto,
				Reviewers: reviewers, Disagreement: disagreement}
			b, _ := json.Marshal(h)
			if err := c.Store.Put(ctx, layout.HumanLabelRoot+target+".json", bytes.NewReader(b)); err != nil {
				return 0, 0, nil, err
			}
			labels++
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, nil, err
	}
	if err := c.Store.Put(ctx, layout.HumanDataset(j.Job), &dataset); err != nil {
		return 0, 0, nil, err
	}
	return labels, failed, labeled, nil
}

// classesOf reads the class names of a Ground Truth label: the class-name (or class-map)
// in its metadata, else the index into the configured classes.
func (c *Collector) classesOf(raw json.RawMessage, meta map[string]any) ([]string, error) {
	names := c.Config.ClassNames()
	if c.Config.MultiLabel {
		var idx []int
		if err := json.Unmarshal(raw, &idx); err != nil {
			return nil, fmt.Errorf("multi-label value %s: %w", raw, err)
		}
		cm, _ := meta["class-map"].(map[string]any)
		var out []string
		for _, i := range idx {
			if n, ok := cm[strconv.Itoa(i)].(string); ok {
				out = append(out, n)
			} else if i >= 0 && i < len(names) {
				out = append(out, names[i])
			} else {
				return nil, fmt.Errorf("class %d is not configured", i)
			}
		}
		return out, nil
	}
	if n, ok := meta["class-name"].(string); ok {
		return []string{n}, nil
	}
	var i int
	if err := json.Unmarshal(raw, &i); err != nil || i < 0 || i >= len(names) {
		return nil, fmt.Errorf("label %s is not a configured class", raw)
	}
	return []string{names[i]}, nil
}

// giveBack returns a failed or stopped job's items to the pending spool, but those in
// keep (labeled before a stop).
func (c *Collector) giveBack(ctx context.Context, job string, keep map[string]bool) (int, error) {
	b, err := c.Store.Get(ctx, layout.Job(job)+"claim.json")
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var claim Claim
	if err := json.Unmarshal(b, &claim); err != nil {
		return 0, err
	}
	n := 0
	for _, it := range claim.Items {
		if keep[it.ID] {
			continue
		}
		body, _ := json.Marshal(it)
		if err := c.Store.Put(ctx, layout.Pending(it.Source)+it.ID+".json", bytes.NewReader(body)); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// SameClasses reports whether two lists hold the same classes, in any order.
func SameClasses(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
