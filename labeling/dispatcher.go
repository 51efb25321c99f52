package labeling

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/storage"
)

// VersionedStore is an output prefix that supports conditional writes (S3 If-None-Match
// and If-Match; a file lock for local folders) and names its objects by URI.
type VersionedStore interface {
	Store
	GetVersion(ctx context.Context, key string) ([]byte, string, error)
	PutIf(ctx context.Context, key string, body []byte, ifMatch string) error
	URI(key string) string
}

// Dispatcher turns pending items into labeling jobs. Several may run at once (one per
// worker, plus `docingest labeling submit`): a lease taken with a conditional write lets
// one work at a time, and every job's items are claimed, under the job's deterministic
// name, before the job is created, so a crash or a race never creates two jobs for the
// same items and every item moves from pending to exactly one job.
type Dispatcher struct {
	Config  Config
	Store   VersionedStore
	Backend Backend
	// Features build the current classifier (loaded, or trained once), which re-scores
	// pending items before a job is chosen; Model, when set, is used instead. With neither,
	// the scores the items were written with are used.
	Features Features
	Model    *Model
	Logger   *slog.Logger
	Now      func() time.Time
	// DryRun makes Submit a plan: which items a job would take now, with nothing written.
	DryRun bool
	// AuditItems, when set, makes Submit create an audit job: that many chunks drawn at
	// random from those labeled automatically (the audit sample kept in the spool), for
	// people to check; their answers measure the automatic labels' accuracy and are human
	// labels like any other.
	AuditItems int
	// Observe, when set, is told after each dispatch of Run what it did and what is left
	// (the worker exports it as metrics).
	Observe func(DispatchStatus)
	// Items, when set, makes Submit create a job of exactly these pending items (text
	// hashes; those no longer pending are left out): answers given elsewhere, such as in
	// Label Studio, for items exported while pending.
	Items []string
	// LeaseTTL bounds how long a dispatcher that died holds the lease (10 minutes).
	LeaseTTL time.Duration
	// crashAt, when set (tests), is called at each step of creating a job ("started": the
	// service has it; "moved": its items left the spool, job.json not yet written); an
	// error stops the dispatcher there, as a crash would.
	crashAt func(step string) error
}

// Claim is labeling/jobs/<job>/claim.json: the items a job took, written before the job
// is created. It holds the items themselves, so a failed job gives them back.
type Claim struct {
	Job   string        `json:"job"`
	Items []PendingItem `json:"items"`
	// Keys are the pending items' keys, removed once the job exists.
	Keys []string `json:"keys"`
	// Duplicates maps an item (text hash) left out as a near-duplicate to the item whose
	// human label it will get.
	Duplicates map[string]string `json:"duplicates,omitempty"`
	Claimed    string            `json:"claimed"`
	// Audit marks a job of automatic labels drawn to be checked.
	Audit bool `json:"audit,omitempty"`
}

// JobRecord is labeling/jobs/<job>/job.json, written once the service has the job.
type JobRecord struct {
	Job       string `json:"job"`
	Items     int    `json:"items"`
	Manifest  string `json:"manifest"`
	Output    string `json:"output"`
	Created   string `json:"created"`
	Collected string `json:"collected,omitempty"`
	Status    string `json:"status,omitempty"`
}

// SubmitResult says what a dispatch did.
type SubmitResult struct {
	Job    string `json:"job,omitempty"`
	Items  int    `json:"items"`
	Reason string `json:"reason,omitempty"` // why nothing was submitted
	// DryRun marks a plan: the job that would be created, nothing written.
	DryRun bool `json:"dry_run,omitempty"`
}

type lease struct {
	Holder  string `json:"holder"`
	Expires string `json:"expires"`
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// acquire takes the dispatch lease, or reports that another dispatcher holds it.
func (d *Dispatcher) acquire(ctx context.Context, holder string) (release func(), ok bool, err error) {
	ttl := d.LeaseTTL
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	body, _ := json.Marshal(lease{Holder: holder, Expires: d.now().Add(ttl).Format(time.RFC3339Nano)})
	cur, tag, err := d.Store.GetVersion(ctx, layout.LeaseKey)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		err = d.Store.PutIf(ctx, layout.LeaseKey, body, "")
	case err != nil:
		return nil, false, err
	default:
		var l lease
		_ = json.Unmarshal(cur, &l)
		if exp, perr := time.Parse(time.RFC3339Nano, l.Expires); perr == nil && exp.After(d.now()) {
			return nil, false, nil
		}
		err = d.Store.PutIf(ctx, layout.LeaseKey, body, tag) // take over an expired lease
	}
	if errors.Is(err, storage.ErrPrecondition) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("take the dispatch lease: %w", err)
	}
	return func() {
		ctx := context.WithoutCancel(ctx)
		cur, tag, err := d.Store.GetVersion(ctx, layout.LeaseKey)
		if err != nil || !bytes.Equal(cur, body) {
			return
		}
		expired, _ := json.Marshal(lease{Holder: holder, Expires: time.Unix(0, 0).UTC().Format(time.RFC3339Nano)})
		_ = d.Store.PutIf(ctx, layout.LeaseKey, expired, tag)
	}, true, nil
}

// Submit makes at most one labeling job from the pending items, within the budget.
func (d *Dispatcher) Submit(ctx context.Context) (SubmitResult, error) {
	if b, ok := d.Backend.(interface{ NeedsS3() bool }); (!ok || b.NeedsS3()) && !strings.HasPrefix(d.Store.URI(""), "s3://") {
		return SubmitResult{}, errors.New("Ground Truth labeling jobs read their manifest from S3: the output must be an s3:// prefix")
	}
	if d.DryRun {
		return d.plan(ctx)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	release, ok, err := d.acquire(ctx, hex.EncodeToString(rnd[:]))
	if err != nil {
		return SubmitResult{}, err
	}
	if !ok {
		return SubmitResult{Reason: "another dispatcher is running"}, nil
	}
	defer release()
	// Finish any job an earlier dispatcher claimed but did not create.
	if res, done, err := d.resume(ctx); err != nil || done {
		return res, err
	}
	next, err := d.next(ctx)
	if err != nil || next.reason != "" {
		return SubmitResult{Reason: next.reason}, err
	}
	today, used, tag, claim := next.day, next.used, next.tag, next.claim
	body, _ := json.Marshal(claim)
	if err := d.Store.PutIf(ctx, layout.Job(claim.Job)+"claim.json", body, ""); err != nil {
		if errors.Is(err, storage.ErrPrecondition) {
			return SubmitResult{Reason: "these items were claimed by another dispatcher"}, nil
		}
		return SubmitResult{}, fmt.Errorf("claim items: %w", err)
	}
	if err := d.spend(ctx, today, used, tag, len(claim.Items)); err != nil {
		return SubmitResult{}, err
	}
	return d.create(ctx, claim)
}

// plan is Submit without writing anything: the job the pending items and today's budget
// would give now (another dispatcher may get there first).
func (d *Dispatcher) plan(ctx context.Context) (SubmitResult, error) {
	next, err := d.next(ctx)
	if err != nil || next.reason != "" {
		return SubmitResult{DryRun: true, Reason: next.reason}, err
	}
	return SubmitResult{DryRun: true, Job: next.claim.Job, Items: len(next.claim.Items)}, nil
}

// nextJob is the job the budget and the pending items give now, or why there is none.
type nextJob struct {
	day, tag string
	used     int
	claim    Claim
	reason   string
}

// next reads today's budget and chooses the items of the next job (writing nothing in a
// dry run).
func (d *Dispatcher) next(ctx context.Context) (nextJob, error) {
	n := nextJob{day: d.now().Format("2006-01-02")}
	var err error
	if n.used, n.tag, err = d.budget(ctx, n.day); err != nil {
		return n, err
	}
	room := min(d.Config.MaxItemsPerJob, d.Config.MaxItemsPerDay-n.used)
	if d.AuditItems > 0 {
		room = min(room, d.AuditItems)
	}
	if room <= 0 {
		n.reason = fmt.Sprintf("daily budget of %d items used", d.Config.MaxItemsPerDay)
		return n, nil
	}
	if n.claim, err = d.choose(ctx, room, n.day, n.used); err != nil {
		return n, err
	}
	if len(n.claim.Items) == 0 {
		n.reason = "no pending items"
		if d.AuditItems > 0 {
			n.reason = "no automatic labels to audit (a share of them, labeling.audit_sample_rate, is kept for audits once the classifier labels any)"
		}
	}
	return n, nil
}

// budget reads today's count of items sent.
func (d *Dispatcher) budget(ctx context.Context, day string) (int, string, error) {
	b, tag, err := d.Store.GetVersion(ctx, layout.BudgetRoot+day+".json")
	if errors.Is(err, storage.ErrNotFound) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("read labeling budget: %w", err)
	}
	var v struct {
		Items int `json:"items"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, "", fmt.Errorf("labeling budget %s: %w", day, err)
	}
	return v.Items, tag, nil
}

// spend adds n to today's count with a conditional write, re-reading on a conflict.
func (d *Dispatcher) spend(ctx context.Context, day string, used int, tag string, n int) error {
	for attempt := 0; attempt < 10; attempt++ {
		body, _ := json.Marshal(map[string]any{"day": day, "items": used + n})
		err := d.Store.PutIf(ctx, layout.BudgetRoot+day+".json", body, tag)
		if !errors.Is(err, storage.ErrPrecondition) {
			return err
		}
		if used, tag, err = d.budget(ctx, day); err != nil {
			return err
		}
	}
	return errors.New("labeling budget: too many concurrent updates")
}

// candidate is one pending text (perhaps from several sources) as choose sees it.
type candidate struct {
	item PendingItem
	keys []string
}

// choose fills a job of up to room distinct texts from the pending items, re-scored by the
// current classifier: an audit share drawn at random from the audit sample (chunks
// labeled automatically among them: the only unbiased measure of automatic labels), the
// rest the most uncertain items, taken in turn from each predicted class and at most a
// fair share from any one source, leaving out texts a human labeled already, items the
// current classifier would now label automatically, and near-duplicates of chosen ones.
//
// The job's name is a hash of the output prefix, the claimed keys, the day and the day's
// count so far: deterministic for a given spool and budget (a retry names the same job),
// different when the same items come back after a failed job, and different for two
// output prefixes that share a job_prefix.
func (d *Dispatcher) choose(ctx context.Context, room int, day string, used int) (Claim, error) {
	human, err := LoadHumanLabels(ctx, d.Store)
	if err != nil {
		return Claim{}, err
	}
	m := d.Model
	if m == nil && d.Features.HashDims > 0 {
		if m, err = Classifier(ctx, d.Config, d.Store, d.Features, human, d.now, !d.DryRun); err != nil {
			return Claim{}, err
		}
	}
	var keys []string
	if err := d.Store.List(ctx, layout.PendingRoot, true, func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		return Claim{}, fmt.Errorf("list pending items: %w", err)
	}
	sort.Strings(keys)
	byID := map[string]*candidate{}
	var all []*candidate
	for _, k := range keys {
		b, err := d.Store.Get(ctx, k)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return Claim{}, err
		}
		var it PendingItem
		if err := json.Unmarshal(b, &it); err != nil {
			d.log().Warn("unreadable pending item left alone", "key", k, "error", err)
			continue
		}
		if _, done := human[it.ID]; done {
			if !d.DryRun {
				if err := d.Store.Delete(ctx, k); err != nil {
					return Claim{}, err
				}
			}
			continue
		}
		if c, same := byID[it.ID]; same { // the same text from another source
			c.keys = append(c.keys, k)
			continue
		}
		c := &candidate{item: it, keys: []string{k}}
		byID[it.ID] = c
		all = append(all, c)
	}
	threshold, open := 0.0, false
	if m != nil {
		threshold, open = m.Threshold(d.Config.Threshold)
		for _, c := range all {
			if c.item.Classifier == m.Version {
				continue // scored by this classifier already
			}
			probs := m.Probabilities(c.item.Text, c.item.Embedding)
			dec := m.Decide(probs, d.Config.Measure)
			c.item.Predicted, c.item.Confidence, c.item.Uncertainty, c.item.Classifier = dec.Classes, round6(dec.Confidence), round6(dec.Uncertainty), m.Version
			c.item.Top = topClasses(m, probs, 3)
		}
	}
	// The audit draws at random from the chunks labeled automatically (the sample of them
	// kept in the spool) and, while the gate is closed, from the pending chunks at or below
	// the threshold the gate would open at: the only unbiased measure of automatic labels.
	proposed := 1.0
	if m != nil {
		proposed = m.Gate.Proposed
		if open {
			proposed = threshold
		}
	}
	var audit, uncertain []*candidate
	for _, c := range all {
		if c.item.Auto || (!open && c.item.Uncertainty <= proposed) {
			audit = append(audit, c)
		}
		if !c.item.Auto && !(open && c.item.Uncertainty <= threshold) {
			uncertain = append(uncertain, c)
		}
	}
	claim := Claim{Duplicates: map[string]string{}, Claimed: d.now().Format(time.RFC3339)}
	taken := map[string]bool{}
	take := func(c *candidate) bool {
		if taken[c.item.ID] {
			return false
		}
		taken[c.item.ID] = true
		claim.Keys = append(claim.Keys, c.keys...)
		if rep := d.nearDuplicate(claim.Items, c.item); rep != "" {
			claim.Duplicates[c.item.ID] = rep
			return false
		}
		claim.Items = append(claim.Items, c.item)
		return true
	}
	seed := fmt.Sprintf("%s\n%d\n", day, used)
	draw := func(c *candidate) string { s := sha256.Sum256([]byte(seed + c.item.ID)); return string(s[:]) }
	slices.SortFunc(audit, func(a, b *candidate) int { return strings.Compare(draw(a), draw(b)) })
	name := func(kind string) string {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s\n%s\n%d\n%s%s", d.Store.URI(""), day, used, kind, strings.Join(claim.Keys, "\n"))))
		return d.Config.JobPrefix + "-" + hex.EncodeToString(sum[:8])
	}
	if len(d.Items) > 0 { // a job of the items given
		for _, id := range d.Items {
			if c := byID[id]; c != nil && len(claim.Items) < room {
				take(c)
			}
		}
		claim.Job = name("items\n")
		return claim, nil
	}
	if d.AuditItems > 0 { // an audit job: automatic labels only, drawn at random
		for _, c := range audit {
			if len(claim.Items) >= room {
				break
			}
			if c.item.Auto {
				take(c)
			}
		}
		claim.Audit = true
		claim.Job = name("audit\n")
		return claim, nil
	}
	// audit share: the sample in a random (hash) order
	nAudit := int(math.Round(d.Config.AuditShare * float64(room)))
	if len(uncertain) < room-nAudit {
		nAudit = room - len(uncertain)
	}
	for _, c := range audit {
		if len(claim.Items) >= nAudit {
			break
		}
		take(c)
	}
	d.spread(uncertain, room, take, func() int { return len(claim.Items) })
	// an audit sample larger than its share fills what the uncertain items leave
	for _, c := range audit {
		if len(claim.Items) >= room {
			break
		}
		take(c)
	}
	claim.Job = name("")
	return claim, nil
}

// spread takes the most uncertain candidates until the job has room items: in turns over
// the predicted classes (the class whose next item is most uncertain first), and no more
// than a fair share (twice the job's share per source) from any one source until every
// source with candidates is exhausted, so a job is not filled from the alphabetically
// first documents or one topic.
func (d *Dispatcher) spread(cands []*candidate, room int, take func(*candidate) bool, have func() int) {
	queues := map[string][]*candidate{}
	sources := map[string]bool{}
	for _, c := range cands {
		cl := strings.Join(c.item.Predicted, ",")
		queues[cl] = append(queues[cl], c)
		sources[c.item.Source] = true
	}
	var classes []string
	for cl, q := range queues {
		slices.SortStableFunc(q, func(a, b *candidate) int {
			if a.item.Uncertainty != b.item.Uncertainty {
				if a.item.Uncertainty > b.item.Uncertainty {
					return -1
				}
				return 1
			}
			return strings.Compare(a.item.ID, b.item.ID)
		})
		classes = append(classes, cl)
	}
	need := room - have()
	if need <= 0 || len(cands) == 0 {
		return
	}
	limit := max(1, (2*need+len(sources)-1)/len(sources))
	perSource := map[string]int{}
	for have() < room {
		// the next eligible item of each class
		type head struct {
			class string
			at    int
		}
		var heads []head
		for _, cl := range classes {
			q := queues[cl]
			for i, c := range q {
				if perSource[c.item.Source] < limit {
					heads = append(heads, head{cl, i})
					break
				}
			}
		}
		if len(heads) == 0 {
			empty := true
			for _, q := range queues {
				empty = empty && len(q) == 0
			}
			if empty {
				return
			}
			limit *= 2 // only over-represented sources are left
			continue
		}
		slices.SortStableFunc(heads, func(a, b head) int {
			ua, ub := queues[a.class][a.at].item.Uncertainty, queues[b.class][b.at].item.Uncertainty
			if ua != ub {
				if ua > ub {
					return -1
				}
				return 1
			}
			return strings.Compare(a.class, b.class)
		})
		for _, h := range heads {
			if have() >= room {
				return
			}
			q := queues[h.class]
			c := q[h.at]
			queues[h.class] = append(q[:h.at:h.at], q[h.at+1:]...)
			if take(c) {
				perSource[c.item.Source]++
			}
		}
	}
}

func (d *Dispatcher) nearDuplicate(items []PendingItem, it PendingItem) string {
	if len(it.Embedding) == 0 {
		return ""
	}
	for _, o := range items {
		if len(o.Embedding) == len(it.Embedding) && Cosine(o.Embedding, it.Embedding) >= d.Config.NearDuplicate {
			return o.ID
		}
	}
	return ""
}

// Cosine is the cosine similarity of two vectors of one length (0 when either is zero).
func Cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// resume finishes a job that was claimed but not created (a dispatcher died between).
func (d *Dispatcher) resume(ctx context.Context) (SubmitResult, bool, error) {
	claims := map[string]bool{}
	created := map[string]bool{}
	err := d.Store.List(ctx, layout.JobsRoot, true, func(o storage.ObjectInfo) error {
		rest := strings.TrimPrefix(o.Key, layout.JobsRoot)
		job, file, ok := strings.Cut(rest, "/")
		if !ok {
			return nil
		}
		switch file {
		case "claim.json":
			claims[job] = true
		case "job.json":
			created[job] = true
		}
		return nil
	})
	if err != nil {
		return SubmitResult{}, false, fmt.Errorf("list labeling jobs: %w", err)
	}
	for job := range claims {
		if created[job] {
			continue
		}
		b, err := d.Store.Get(ctx, layout.Job(job)+"claim.json")
		if err != nil {
			return SubmitResult{}, false, err
		}
		var c Claim
		if err := json.Unmarshal(b, &c); err != nil {
			return SubmitResult{}, false, fmt.Errorf("claim of %s: %w", job, err)
		}
		d.log().Info("resuming a claimed labeling job", "job", job, "items", len(c.Items))
		res, err := d.create(ctx, c)
		return res, true, err
	}
	return SubmitResult{}, false, nil
}

// create writes the job's inputs, creates it, removes its items from the pending spool
// and records it. Every step can be repeated: a crash anywhere is finished by resume, and
// job.json, written last, means the job is complete (its items left the spool, so no
// later job sends them again).
func (d *Dispatcher) create(ctx context.Context, c Claim) (SubmitResult, error) {
	dir := layout.Job(c.Job)
	var manifest bytes.Buffer
	for _, it := range c.Items {
		line, _ := json.Marshal(map[string]any{"source": it.Text, "docingest-id": it.ID, "docingest-source": it.Source,
			"docingest-chunk-id": it.ChunkID, "docingest-redacted": it.Redacted})
		manifest.Write(line)
		manifest.WriteByte('\n')
	}
	cats := LabelCategories(d.Config)
	files := map[string][]byte{"manifest.jsonl": manifest.Bytes(), "label-categories.json": cats, "template.liquid.html": []byte(Template(d.Config))}
	for _, name := range []string{"manifest.jsonl", "label-categories.json", "template.liquid.html"} {
		if err := d.Store.Put(ctx, dir+name, bytes.NewReader(files[name])); err != nil {
			return SubmitResult{}, fmt.Errorf("write job %s: %w", c.Job, err)
		}
	}
	spec := JobSpec{Name: c.Job, ManifestURI: d.Store.URI(dir + "manifest.jsonl"), CategoriesURI: d.Store.URI(dir + "label-categories.json"),
		TemplateURI: d.Store.URI(dir + "template.liquid.html"), OutputURI: d.Store.URI(dir + "output/"), Items: len(c.Items), Audit: c.Audit}
	if err := d.Backend.Start(ctx, spec); err != nil {
		return SubmitResult{}, err
	}
	if d.crashAt != nil {
		if err := d.crashAt("started"); err != nil {
			return SubmitResult{}, err
		}
	}
	for _, k := range c.Keys {
		if err := d.Store.Delete(ctx, k); err != nil {
			return SubmitResult{}, fmt.Errorf("move items of %s: %w", c.Job, err)
		}
	}
	if d.crashAt != nil {
		if err := d.crashAt("moved"); err != nil {
			return SubmitResult{}, err
		}
	}
	rec, _ := json.Marshal(JobRecord{Job: c.Job, Items: len(c.Items), Manifest: spec.ManifestURI, Output: spec.OutputURI, Created: d.now().Format(time.RFC3339)})
	if err := d.Store.Put(ctx, dir+"job.json", bytes.NewReader(rec)); err != nil {
		return SubmitResult{}, fmt.Errorf("record job %s: %w", c.Job, err)
	}
	d.log().Info("labeling job created", "job", c.Job, "items", len(c.Items), "near_duplicates", len(c.Duplicates))
	return SubmitResult{Job: c.Job, Items: len(c.Items)}, nil
}

// LabelCategories is the label category configuration file.
func LabelCategories(cfg Config) []byte {
	labels := make([]map[string]string, len(cfg.Classes))
	for i, c := range cfg.Classes {
		labels[i] = map[string]string{"label": c.Name}
	}
	b, _ := json.MarshalIndent(map[string]any{"document-version": "2018-11-28", "labels": labels}, "", "  ")
	return b
}

// Template is the worker task UI, AWS's text classification templates with only the
// header and instructions changed: crowd-classifier named "crowd-classifier" (single
// label) or crowd-classifier-multi-select named "crowd-classifier-multi-select", the text
// in a classification-target with white-space: pre-wrap (line breaks kept), each class's
// description as instructions.
func Template(cfg Config) string {
	var short strings.Builder
	for _, c := range cfg.Classes {
		fmt.Fprintf(&short, "<p><strong>%s</strong>: %s</p>", htmlEscape(c.Name), htmlEscape(c.Description))
	}
	element := "crowd-classifier"
	if cfg.MultiLabel {
		element = "crowd-classifier-multi-select"
	}
	return fmt.Sprintf(`<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <%[1]s name="%[1]s" categories="{{ task.input.labels | to_json | escape }}" header="%[2]s">
    <classification-target style="white-space: pre-wrap">{{ task.input.taskObject }}</classification-target>
    <full-instructions header="Categories">%[3]s</full-instructions>
    <short-instructions>%[3]s</short-instructions>
  </%[1]s>
</crowd-form>
`, element, htmlEscape(cfg.GroundTruth.TaskTitle), short.String())
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// Run submits a job every interval until ctx ends (the worker runs it beside the
// consumer). A failed attempt is logged and tried again at the next interval.
func (d *Dispatcher) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			res, err := d.Submit(ctx)
			if d.Observe != nil {
				d.Observe(d.status(ctx, res, err))
			}
			switch {
			case err != nil:
				d.log().Error("labeling dispatch failed; next attempt at the next interval", "error", err)
			case res.Job != "":
				d.log().Info("labeling job created", "job", res.Job, "items", res.Items)
			default:
				d.log().Debug("no labeling job", "reason", res.Reason)
			}
		}
	}
}

// DispatchStatus is what one dispatch attempt did and left (for metrics).
type DispatchStatus struct {
	// Created is set when a job was created, with its items.
	Created bool
	Items   int
	Err     error
	// Pending is the number of items waiting in the spool (-1: unknown).
	Pending int
	// BudgetUsed of BudgetPerDay items were sent today (BudgetUsed -1: unknown).
	BudgetUsed, BudgetPerDay int
}

// BudgetExhausted reports whether today's budget is spent.
func (s DispatchStatus) BudgetExhausted() bool {
	return s.BudgetUsed >= 0 && s.BudgetUsed >= s.BudgetPerDay
}

func (d *Dispatcher) status(ctx context.Context, res SubmitResult, err error) DispatchStatus {
	st := DispatchStatus{Created: res.Job != "" && err == nil, Items: res.Items, Err: err, Pending: -1, BudgetUsed: -1, BudgetPerDay: d.Config.MaxItemsPerDay}
	if items, perr := PendingItems(ctx, d.Store); perr == nil {
		st.Pending = len(items)
	}
	if used, _, berr := d.budget(ctx, d.now().Format("2006-01-02")); berr == nil {
		st.BudgetUsed = used
	}
	return st
}
