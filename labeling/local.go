package labeling

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// ErrNotLocal is returned for a job that is not a local one (no local.json).
var ErrNotLocal = errors.New("not a local labeling job")

// ErrJobClosed is returned for an answer to a job that has ended (completed or stopped).
var ErrJobClosed = errors.New("the labeling job has ended")

// Job statuses, as Ground Truth names them.
const (
	StatusInProgress = "InProgress"
	StatusCompleted  = "Completed"
	StatusStopped    = "Stopped"
)

// Local runs labeling jobs inside the output: people label the items in docingest review
// (or in Label Studio, imported), and a job is complete once every item has
// WorkersPerObject answers. Its output manifest is Ground Truth's, at Ground Truth's
// place, so Collect treats both alike. Every answer is its own object (item and
// reviewer), so two reviewers answering at the same moment never lose one; leases,
// taken with conditional writes, keep two reviewers from being shown the same item.
type Local struct {
	Store  VersionedStore
	Config Config
	Now    func() time.Time
	// LeaseTTL is how long an item shown to a reviewer is kept from others (10 minutes).
	LeaseTTL time.Duration

	mu    sync.Mutex
	cache map[string]cachedAnswer // answer key -> answer read at that change token
}

type cachedAnswer struct {
	etag string
	a    Answer
}

// LocalJob is labeling/jobs/<job>/local.json.
type LocalJob struct {
	Job              string   `json:"job"`
	Status           string   `json:"status"`
	Items            int      `json:"items"`
	WorkersPerObject int      `json:"workers_per_object"`
	MultiLabel       bool     `json:"multi_label,omitempty"`
	Classes          []string `json:"classes"`
	Created          string   `json:"created"`
	Ended            string   `json:"ended,omitempty"`
	// Audit marks a job of automatic labels drawn at random to be checked.
	Audit bool `json:"audit,omitempty"`
}

// Answer is one reviewer's answer for one item of a local job.
type Answer struct {
	Item     string   `json:"item"`
	Reviewer string   `json:"reviewer"`
	Classes  []string `json:"classes,omitempty"`
	Skipped  bool     `json:"skipped,omitempty"`
	Date     string   `json:"date"`
	// Via is where the answer was given: review (docingest review) or label-studio.
	Via string `json:"via,omitempty"`
}

// answerTime is how answer dates are written: fixed width, so they also sort as text.
const answerTime = "2006-01-02T15:04:05.000000000Z07:00"

// when is the answer's date (zero when unreadable: it sorts first).
func (a Answer) when() time.Time {
	t, err := time.Parse(time.RFC3339Nano, a.Date)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Lease is labeling/jobs/<job>/leases/<item>.json.
type Lease struct {
	Reviewer string `json:"reviewer"`
	Expires  string `json:"expires"`
}

func (l *Local) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

func (l *Local) ttl() time.Duration {
	if l.LeaseTTL > 0 {
		return l.LeaseTTL
	}
	return 10 * time.Minute
}

// ReviewerKey names a reviewer's answer objects: a hash, so any name is a safe key.
func ReviewerKey(reviewer string) string {
	h := sha256.Sum256([]byte(reviewer))
	return hex.EncodeToString(h[:12])
}

// Start records the job; one that exists already is success (a retry).
func (l *Local) Start(ctx context.Context, spec JobSpec) error {
	j := LocalJob{Job: spec.Name, Status: StatusInProgress, Items: spec.Items, WorkersPerObject: l.Config.WorkersPerObject,
		MultiLabel: l.Config.MultiLabel, Classes: l.Config.ClassNames(), Created: l.now().Format(time.RFC3339), Audit: spec.Audit}
	b, _ := json.Marshal(j)
	err := l.Store.PutIf(ctx, layout.LocalJob(spec.Name), b, "")
	if errors.Is(err, storage.ErrPrecondition) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create local labeling job %s: %w", spec.Name, err)
	}
	return nil
}

// Job reads a local job's record and its change token.
func (l *Local) Job(ctx context.Context, name string) (LocalJob, string, error) {
	b, tag, err := l.Store.GetVersion(ctx, layout.LocalJob(name))
	if errors.Is(err, storage.ErrNotFound) {
		return LocalJob{}, "", fmt.Errorf("%s: %w", name, ErrNotLocal)
	}
	if err != nil {
		return LocalJob{}, "", fmt.Errorf("read local labeling job %s: %w", name, err)
	}
	var j LocalJob
	if err := json.Unmarshal(b, &j); err != nil {
		return LocalJob{}, "", fmt.Errorf("local labeling job %s: %w", name, err)
	}
	return j, tag, nil
}

// ItemProgress is one item of a local job and its answers.
type ItemProgress struct {
	Item    PendingItem
	Answers []Answer // given (not skipped), oldest first
	Skipped []string // reviewers who skipped it
	// Label is the consolidated label (majority of the answers), Agreement the share of
	// answers that gave it, Disagreement whether any answer differed.
	Label        []string
	Agreement    float64
	Disagreement bool
	Done         bool
}

// Progress is a local job with every item's answers.
type Progress struct {
	Job           LocalJob
	Items         []ItemProgress
	Done          int
	Answers       int
	Disagreements int
	Reviewers     []string
	// Duplicates are near-duplicate items left out of the job that get a done item's label.
	Duplicates int
}

// Claim reads the items a job took.
func ReadClaim(ctx context.Context, store Store, job string) (Claim, error) {
	b, err := store.Get(ctx, layout.Job(job)+"claim.json")
	if err != nil {
		return Claim{}, fmt.Errorf("read the claim of %s: %w", job, err)
	}
	var c Claim
	if err := json.Unmarshal(b, &c); err != nil {
		return Claim{}, fmt.Errorf("claim of %s: %w", job, err)
	}
	return c, nil
}

// answers reads a job's answers by item (cached by change token: answers rarely change).
func (l *Local) answers(ctx context.Context, job string) (map[string][]Answer, error) {
	var infos []storage.ObjectInfo
	if err := l.Store.List(ctx, layout.JobAnswers(job), true, func(o storage.ObjectInfo) error {
		infos = append(infos, o)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list answers of %s: %w", job, err)
	}
	out := map[string][]Answer{}
	for _, o := range infos {
		l.mu.Lock()
		c, ok := l.cache[o.Key]
		l.mu.Unlock()
		if !ok || c.etag != o.ETag || o.ETag == "" {
			b, err := l.Store.Get(ctx, o.Key)
			if errors.Is(err, storage.ErrNotFound) {
				continue // undone since the listing
			}
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(b, &c.a); err != nil {
				return nil, fmt.Errorf("answer %s: %w", o.Key, err)
			}
			c.etag = o.ETag
			l.mu.Lock()
			if l.cache == nil {
				l.cache = map[string]cachedAnswer{}
			}
			l.cache[o.Key] = c
			l.mu.Unlock()
		}
		out[c.a.Item] = append(out[c.a.Item], c.a)
	}
	return out, nil
}

// Progress reads a job, its items and their answers, and consolidates them.
func (l *Local) Progress(ctx context.Context, name string) (Progress, error) {
	j, _, err := l.Job(ctx, name)
	if err != nil {
		return Progress{}, err
	}
	claim, err := ReadClaim(ctx, l.Store, name)
	if err != nil {
		return Progress{}, err
	}
	byItem, err := l.answers(ctx, name)
	if err != nil {
		return Progress{}, err
	}
	p := Progress{Job: j, Duplicates: len(claim.Duplicates)}
	reviewers := map[string]bool{}
	for _, it := range claim.Items {
		ip := ItemProgress{Item: it}
		as := byItem[it.ID]
		sort.SliceStable(as, func(a, b int) bool { return as[a].when().Before(as[b].when()) })
		for _, a := range as {
			reviewers[a.Reviewer] = true
			if a.Skipped {
				ip.Skipped = append(ip.Skipped, a.Reviewer)
				continue
			}
			ip.Answers = append(ip.Answers, a)
		}
		p.Answers += len(ip.Answers)
		if len(ip.Answers) > 0 {
			ip.Label, ip.Agreement, ip.Disagreement = Consolidate(ip.Answers, j.Classes, j.MultiLabel)
		}
		ip.Done = len(ip.Answers) >= j.WorkersPerObject
		if ip.Done {
			p.Done++
			if ip.Disagreement {
				p.Disagreements++
			}
		}
		p.Items = append(p.Items, ip)
	}
	for r := range reviewers {
		p.Reviewers = append(p.Reviewers, r)
	}
	sort.Strings(p.Reviewers)
	return p, nil
}

// Consolidate is the label of several answers: for one label per item, the class most
// answers gave (a tie goes to the class answered first); for several, every class more
// than half the answers gave (the most given when none is). agreement is the share of
// answers that gave exactly that label; disagreement, whether any answer differed.
func Consolidate(answers []Answer, classes []string, multi bool) (label []string, agreement float64, disagreement bool) {
	if len(answers) == 0 {
		return nil, 0, false
	}
	count := map[string]int{}
	first := map[string]int{}
	for i, a := range answers {
		for _, c := range a.Classes {
			if _, seen := first[c]; !seen {
				first[c] = i
			}
			count[c]++
		}
	}
	order := slices.Clone(classes)
	sort.SliceStable(order, func(a, b int) bool {
		ca, cb := count[order[a]], count[order[b]]
		if ca != cb {
			return ca > cb
		}
		fa, oka := first[order[a]]
		fb, okb := first[order[b]]
		if oka != okb {
			return oka
		}
		return fa < fb
	})
	if !multi {
		label = []string{order[0]}
	} else {
		for _, c := range classes {
			if 2*count[c] > len(answers) {
				label = append(label, c)
			}
		}
		if len(label) == 0 {
			for _, c := range classes {
				if count[c] > 0 && count[c] == count[order[0]] {
					label = append(label, c)
				}
			}
		}
	}
	agree := 0
	for _, a := range answers {
		if SameClasses(a.Classes, label) {
			agree++
		}
	}
	return label, float64(agree) / float64(len(answers)), agree < len(answers)
}

// Status reports a local job as Ground Truth reports one. A job whose items all have
// their answers is completed here: its output manifest is written, then its record.
func (l *Local) Status(ctx context.Context, name string) (JobStatus, error) {
	p, err := l.Progress(ctx, name)
	if err != nil {
		return JobStatus{}, err
	}
	if p.Job.Status == StatusInProgress && p.Done == len(p.Items) {
		if p, err = l.finish(ctx, name, StatusCompleted); err != nil {
			return JobStatus{}, err
		}
	}
	return l.status(p), nil
}

func (l *Local) status(p Progress) JobStatus {
	created, _ := time.Parse(time.RFC3339, p.Job.Created)
	js := JobStatus{Name: p.Job.Job, Status: p.Job.Status, Created: created, Backend: BackendLocal}
	for _, it := range p.Items {
		switch {
		case it.Done || p.Job.Status == StatusStopped && len(it.Answers) > 0:
			js.Labeled++
			js.HumanLabeled++
		default:
			js.Remaining++
		}
	}
	if p.Job.Status != StatusInProgress {
		js.OutputURI = l.Store.URI(layout.JobOutputManifest(p.Job.Job))
	}
	return js
}

// Stop ends a job: the items with at least one answer are its output, the rest go back to
// pending when it is collected.
func (l *Local) Stop(ctx context.Context, name string) error {
	p, err := l.Progress(ctx, name)
	if err != nil {
		return err
	}
	if p.Job.Status != StatusInProgress {
		return nil
	}
	_, err = l.finish(ctx, name, StatusStopped)
	return err
}

// finish writes the output manifest (Ground Truth's format) and then the job's end,
// conditionally: a job ends once. Every step can be repeated.
func (l *Local) finish(ctx context.Context, name, status string) (Progress, error) {
	_, tag, err := l.Job(ctx, name)
	if err != nil {
		return Progress{}, err
	}
	p, err := l.Progress(ctx, name)
	if err != nil {
		return Progress{}, err
	}
	if p.Job.Status != StatusInProgress {
		return p, nil
	}
	var out bytes.Buffer
	date := l.now().Format("2006-01-02T15:04:05.000000")
	for _, it := range p.Items {
		if len(it.Answers) == 0 || status == StatusCompleted && !it.Done {
			continue
		}
		line, _ := json.Marshal(l.outputLine(p.Job, it, date))
		out.Write(line)
		out.WriteByte('\n')
	}
	if err := l.Store.Put(ctx, layout.JobOutputManifest(name), &out); err != nil {
		return Progress{}, fmt.Errorf("write the output of %s: %w", name, err)
	}
	p.Job.Status, p.Job.Ended = status, l.now().Format(time.RFC3339)
	b, _ := json.Marshal(p.Job)
	err = l.Store.PutIf(ctx, layout.LocalJob(name), b, tag)
	if errors.Is(err, storage.ErrPrecondition) { // another process ended it first
		return l.Progress(ctx, name)
	}
	if err != nil {
		return Progress{}, fmt.Errorf("end local labeling job %s: %w", name, err)
	}
	return p, nil
}

// outputLine is an item's line in Ground Truth's output manifest form (text
// classification, single or multi-label), with the reviewers and disagreement added.
func (l *Local) outputLine(j LocalJob, it ItemProgress, date string) map[string]any {
	attr := l.Config.Attribute
	line := map[string]any{"source": it.Item.Text, "docingest-id": it.Item.ID, "docingest-source": it.Item.Source,
		"docingest-chunk-id": it.Item.ChunkID, "docingest-redacted": it.Item.Redacted}
	var reviewers []string
	for _, a := range it.Answers {
		reviewers = append(reviewers, a.Reviewer)
	}
	meta := map[string]any{"job-name": "labeling-job/" + j.Job, "human-annotated": "yes", "creation-date": date,
		"docingest-reviewers": reviewers, "docingest-disagreement": it.Disagreement}
	if j.MultiLabel {
		idx := []int{}
		classMap, confMap := map[string]string{}, map[string]float64{}
		for _, c := range it.Label {
			i := slices.Index(j.Classes, c)
			idx = append(idx, i)
			classMap[strconv.Itoa(i)] = c
			confMap[strconv.Itoa(i)] = round6(it.Agreement)
		}
		line[attr] = idx
		meta["class-map"], meta["confidence-map"], meta["type"] = classMap, confMap, "groundtruth/text-classification-multilabel"
	} else {
		line[attr] = slices.Index(j.Classes, it.Label[0])
		meta["class-name"], meta["confidence"], meta["type"] = it.Label[0], round6(it.Agreement), "groundtruth/text-classification"
	}
	line[attr+"-metadata"] = meta
	return line
}

// Jobs lists the local jobs whose names start with prefix.
func (l *Local) Jobs(ctx context.Context, prefix string) ([]JobStatus, error) {
	var names []string
	err := l.Store.List(ctx, layout.JobsRoot, true, func(o storage.ObjectInfo) error {
		rest := strings.TrimPrefix(o.Key, layout.JobsRoot)
		if job, file, ok := strings.Cut(rest, "/"); ok && file == "local.json" && strings.HasPrefix(job, prefix+"-") {
			names = append(names, job)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list local labeling jobs: %w", err)
	}
	var out []JobStatus
	for _, n := range names {
		p, err := l.Progress(ctx, n)
		if errors.Is(err, storage.ErrNotFound) {
			continue // claim not written yet
		}
		if err != nil {
			return nil, err
		}
		out = append(out, l.status(p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// Task is an item handed to a reviewer, leased to them until Expires.
type Task struct {
	Job     string
	Item    PendingItem
	Answers int // answers it has
	Needed  int // answers it needs
	Expires time.Time
}

// Next leases the next item of a job the reviewer has neither answered nor skipped and
// nobody else holds: the one they hold already, else the first free one in job order.
// ok is false when there is none.
func (l *Local) Next(ctx context.Context, job, reviewer string) (Task, bool, error) {
	p, err := l.Progress(ctx, job)
	if err != nil {
		return Task{}, false, err
	}
	if p.Job.Status != StatusInProgress {
		return Task{}, false, nil
	}
	leases, err := l.leases(ctx, job)
	if err != nil {
		return Task{}, false, err
	}
	now := l.now()
	var candidates []ItemProgress
	for _, it := range p.Items {
		if it.Done || slices.Contains(it.Skipped, reviewer) || slices.ContainsFunc(it.Answers, func(a Answer) bool { return a.Reviewer == reviewer }) {
			continue
		}
		candidates = append(candidates, it)
	}
	// the item this reviewer holds first (a reload shows the same item)
	sort.SliceStable(candidates, func(a, b int) bool {
		return leases[candidates[a].Item.ID].held(reviewer, now) && !leases[candidates[b].Item.ID].held(reviewer, now)
	})
	for _, it := range candidates {
		ls := leases[it.Item.ID]
		if ls.live(now) && ls.Reviewer != reviewer {
			continue
		}
		exp, ok, err := l.lease(ctx, job, it.Item.ID, reviewer)
		if err != nil {
			return Task{}, false, err
		}
		if !ok {
			continue // another reviewer took it just now
		}
		return Task{Job: job, Item: it.Item, Answers: len(it.Answers), Needed: p.Job.WorkersPerObject, Expires: exp}, true, nil
	}
	return Task{}, false, nil
}

type leaseInfo struct {
	Lease
	tag string
}

func (ls leaseInfo) live(now time.Time) bool {
	exp, err := time.Parse(time.RFC3339Nano, ls.Expires)
	return err == nil && exp.After(now)
}

func (ls leaseInfo) held(reviewer string, now time.Time) bool {
	return ls.Reviewer == reviewer && ls.live(now)
}

// leases reads a job's leases (one listing; a lease is only there while an item is shown).
func (l *Local) leases(ctx context.Context, job string) (map[string]leaseInfo, error) {
	var keys []string
	if err := l.Store.List(ctx, layout.JobLeases(job), true, func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list leases of %s: %w", job, err)
	}
	out := map[string]leaseInfo{}
	for _, k := range keys {
		b, tag, err := l.Store.GetVersion(ctx, k)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var ls leaseInfo
		_ = json.Unmarshal(b, &ls.Lease)
		ls.tag = tag
		out[strings.TrimSuffix(strings.TrimPrefix(k, layout.JobLeases(job)), ".json")] = ls
	}
	return out, nil
}

// lease takes (or renews) an item's lease for a reviewer with a conditional write; ok is
// false when another reviewer holds it.
func (l *Local) lease(ctx context.Context, job, item, reviewer string) (time.Time, bool, error) {
	key := layout.JobLeases(job) + item + ".json"
	now := l.now()
	exp := now.Add(l.ttl())
	body, _ := json.Marshal(Lease{Reviewer: reviewer, Expires: exp.Format(time.RFC3339Nano)})
	cur, tag, err := l.Store.GetVersion(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		tag = ""
	case err != nil:
		return time.Time{}, false, err
	default:
		var ls leaseInfo
		_ = json.Unmarshal(cur, &ls.Lease)
		if ls.live(now) && ls.Reviewer != reviewer {
			return time.Time{}, false, nil
		}
	}
	err = l.Store.PutIf(ctx, key, body, tag)
	if errors.Is(err, storage.ErrPrecondition) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("lease item %s of %s: %w", item, job, err)
	}
	return exp, true, nil
}

// release drops the reviewer's lease on an item (another's is left alone).
func (l *Local) release(ctx context.Context, job, item, reviewer string) error {
	key := layout.JobLeases(job) + item + ".json"
	cur, _, err := l.Store.GetVersion(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var ls Lease
	if json.Unmarshal(cur, &ls) == nil && ls.Reviewer != reviewer {
		return nil
	}
	return l.Store.Delete(ctx, key)
}

// Answer records a reviewer's answer (or skip) for an item of an open job, and releases
// their lease. An answer is never refused because of a lease: one given after the lease
// passed to someone else is one more answer, and answering again replaces one's own.
func (l *Local) Answer(ctx context.Context, job string, a Answer) error {
	j, _, err := l.Job(ctx, job)
	if err != nil {
		return err
	}
	if j.Status != StatusInProgress {
		return fmt.Errorf("%s is %s: %w", job, j.Status, ErrJobClosed)
	}
	if strings.TrimSpace(a.Reviewer) == "" {
		return errors.New("an answer needs its reviewer")
	}
	claim, err := ReadClaim(ctx, l.Store, job)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(claim.Items, func(it PendingItem) bool { return it.ID == a.Item }) {
		return fmt.Errorf("item %q is not in job %s", a.Item, job)
	}
	if !a.Skipped {
		if err := checkClasses(a.Classes, j.Classes, j.MultiLabel); err != nil {
			return err
		}
	} else {
		a.Classes = nil
	}
	if a.Date == "" {
		a.Date = l.now().Format(answerTime)
	}
	b, _ := json.Marshal(a)
	if err := l.Store.Put(ctx, layout.JobAnswers(job)+a.Item+"/"+ReviewerKey(a.Reviewer)+".json", bytes.NewReader(b)); err != nil {
		return fmt.Errorf("record the answer: %w", err)
	}
	return l.release(ctx, job, a.Item, a.Reviewer)
}

// checkClasses validates an answer's classes against the job's.
func checkClasses(given, classes []string, multi bool) error {
	if len(given) == 0 {
		return errors.New("an answer needs a class")
	}
	if !multi && len(given) > 1 {
		return fmt.Errorf("one class per item, got %d", len(given))
	}
	seen := map[string]bool{}
	for _, c := range given {
		if !slices.Contains(classes, c) {
			return fmt.Errorf("%q is not one of the classes (%s)", c, strings.Join(classes, ", "))
		}
		if seen[c] {
			return fmt.Errorf("%q given twice", c)
		}
		seen[c] = true
	}
	return nil
}

// Undo removes the reviewer's latest answer (or skip) in an open job and leases its item
// back to them; ok is false when they have none.
func (l *Local) Undo(ctx context.Context, job, reviewer string) (string, bool, error) {
	j, _, err := l.Job(ctx, job)
	if err != nil {
		return "", false, err
	}
	if j.Status != StatusInProgress {
		return "", false, fmt.Errorf("%s is %s: %w", job, j.Status, ErrJobClosed)
	}
	byItem, err := l.answers(ctx, job)
	if err != nil {
		return "", false, err
	}
	var last *Answer
	for _, as := range byItem {
		for i := range as {
			if as[i].Reviewer == reviewer && (last == nil || as[i].when().After(last.when())) {
				last = &as[i]
			}
		}
	}
	if last == nil {
		return "", false, nil
	}
	key := layout.JobAnswers(job) + last.Item + "/" + ReviewerKey(reviewer) + ".json"
	if err := l.Store.Delete(ctx, key); err != nil {
		return "", false, fmt.Errorf("undo: %w", err)
	}
	l.mu.Lock()
	delete(l.cache, key)
	l.mu.Unlock()
	// the undone item is the one shown next: it is leased to the reviewer, who gives up
	// any other item they hold
	if _, _, err := l.lease(ctx, job, last.Item, reviewer); err != nil {
		return "", false, err
	}
	leases, err := l.leases(ctx, job)
	if err != nil {
		return "", false, err
	}
	for item, ls := range leases {
		if item != last.Item && ls.Reviewer == reviewer {
			if err := l.release(ctx, job, item, reviewer); err != nil {
				return "", false, err
			}
		}
	}
	return last.Item, true, nil
}

// Backends sends each job to the backend that holds it: local jobs (those with a
// local.json) to Local, others to Remote (Ground Truth) when one is configured. New jobs
// go to the configured one.
type Backends struct {
	Local  *Local
	Remote Backend
	// Create is the backend new jobs are created with: BackendLocal or BackendGroundTruth.
	Create string
}

func (b *Backends) Start(ctx context.Context, spec JobSpec) error {
	if b.Create == BackendGroundTruth {
		if b.Remote == nil {
			return errors.New("labeling.backend is groundtruth but Ground Truth is not configured")
		}
		return b.Remote.Start(ctx, spec)
	}
	return b.Local.Start(ctx, spec)
}

// NeedsS3 reports whether new jobs read their manifest from S3 (Ground Truth's do).
func (b *Backends) NeedsS3() bool { return b.Create == BackendGroundTruth }

func (b *Backends) Status(ctx context.Context, name string) (JobStatus, error) {
	st, err := b.Local.Status(ctx, name)
	if errors.Is(err, ErrNotLocal) && b.Remote != nil {
		return b.Remote.Status(ctx, name)
	}
	return st, err
}

func (b *Backends) Stop(ctx context.Context, name string) error {
	err := b.Local.Stop(ctx, name)
	if errors.Is(err, ErrNotLocal) && b.Remote != nil {
		return b.Remote.Stop(ctx, name)
	}
	return err
}

func (b *Backends) Jobs(ctx context.Context, prefix string) ([]JobStatus, error) {
	out, err := b.Local.Jobs(ctx, prefix)
	if err != nil || b.Remote == nil {
		return out, err
	}
	remote, err := b.Remote.Jobs(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out = append(out, remote...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}
