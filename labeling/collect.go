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
			n, failed, err := c.collectJob(ctx, j, st, &res)
			if err != nil {
				return results, nil, err
			}
			res.Labels, res.Failed = n, failed
			added += n
		case "Failed", "Stopped":
			n, err := c.giveBack(ctx, j.Job)
			if err != nil {
				return results, nil, err
			}
			res.Returned = n
		default:
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

// collectJob reads a completed job's output manifest.
func (c *Collector) collectJob(ctx context.Context, j JobRecord, st JobStatus, res *CollectResult) (labels, failed int, err error) {
	key, err := keyOf(c.Store, st.OutputURI)
	if err != nil {
		return 0, 0, err
	}
	body, err := c.Store.Get(ctx, key)
	if err != nil {
		return 0, 0, fmt.Errorf("read the output manifest of %s: %w", j.Job, err)
	}
	claimBody, err := c.Store.Get(ctx, layout.Job(j.Job)+"claim.json")
	if err != nil {
		return 0, 0, fmt.Errorf("read the claim of %s: %w", j.Job, err)
	}
	var claim Claim
	if err := json.Unmarshal(claimBody, &claim); err != nil {
		return 0, 0, err
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
			return 0, 0, fmt.Errorf("output manifest of %s: %w", j.Job, err)
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
			return 0, 0, fmt.Errorf("output manifest of %s, item %s: %w", j.Job, id, err)
		}
		date, _ := meta["creation-date"].(string)
		meta["human-annotated"] = "yes"
		rec[attr+"-metadata"], _ = json.Marshal(meta)
		out, _ := json.Marshal(rec)
		dataset.Write(out)
		dataset.WriteByte('\n')
		it := sent[id]
		if it.Auto {
			res.Audited++
			if sameClasses(it.Predicted, classes) {
				res.AuditAgreed++
			}
		}
		for _, target := range append([]string{id}, dupsOf[id]...) {
			h := HumanLabel{ID: target, Classes: classes, Job: j.Job, Date: date, Sources: sources[id], Text: text,
				Predicted: it.Predicted, Classifier: it.Classifier, Audit: it.Audit, WasAuto: it.Auto}
			b, _ := json.Marshal(h)
			if err := c.Store.Put(ctx, layout.HumanLabelRoot+target+".json", bytes.NewReader(b)); err != nil {
				return 0, 0, err
			}
			labels++
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if err := c.Store.Put(ctx, layout.HumanDataset(j.Job), &dataset); err != nil {
		return 0, 0, err
	}
	return labels, failed, nil
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

// giveBack returns a failed job's items to the pending spool.
func (c *Collector) giveBack(ctx context.Context, job string) (int, error) {
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
	for _, it := range claim.Items {
		body, _ := json.Marshal(it)
		if err := c.Store.Put(ctx, layout.Pending(it.Source)+it.ID+".json", bytes.NewReader(body)); err != nil {
			return 0, err
		}
	}
	return len(claim.Items), nil
}

// sameClasses compares two class sets.
func sameClasses(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
