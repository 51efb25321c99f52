package labeling

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/docingest/docingest/storage"
)

// Label Studio interchange, in its documented formats ("Label Studio Task Format",
// "Import pre-annotated data"): a task is {"data": {...}, "predictions": [...]}; an
// export adds "annotations", each with a "result" list, "was_cancelled" and
// "completed_by". A text classification result is {"from_name", "to_name", "type":
// "choices", "value": {"choices": [...]}}.

// LSFromName and LSToName name the labeling config's Choices and Text tags.
const (
	LSFromName = "class"
	LSToName   = "text"
)

// LSTask is a Label Studio task as docingest exports it and reads it back.
type LSTask struct {
	ID          json.RawMessage `json:"id,omitempty"`
	Data        LSData          `json:"data"`
	Predictions []LSPrediction  `json:"predictions,omitempty"`
	Annotations []LSAnnotation  `json:"annotations,omitempty"`
}

// LSData is a task's data: the text, and where its answers belong.
type LSData struct {
	Text        string `json:"text"`
	Item        string `json:"docingest_item"`
	Job         string `json:"docingest_job,omitempty"`
	Source      string `json:"source,omitempty"`
	ChunkIndex  int    `json:"chunk_index"`
	HeadingPath string `json:"heading_path,omitempty"`
}

// LSPrediction is the classifier's guess; Score is its uncertainty (Label Studio sorts
// tasks by score, so the most uncertain can come first).
type LSPrediction struct {
	ModelVersion string     `json:"model_version"`
	Score        float64    `json:"score"`
	Result       []LSResult `json:"result"`
}

// LSResult is one result of a prediction or annotation.
type LSResult struct {
	ID       string         `json:"id,omitempty"`
	FromName string         `json:"from_name"`
	ToName   string         `json:"to_name"`
	Type     string         `json:"type"`
	Value    map[string]any `json:"value"`
}

// LSAnnotation is one annotator's annotation of a task.
type LSAnnotation struct {
	ID           json.RawMessage `json:"id,omitempty"`
	Result       []LSResult      `json:"result"`
	WasCancelled bool            `json:"was_cancelled"`
	CompletedBy  json.RawMessage `json:"completed_by,omitempty"`
	CreatedAt    string          `json:"created_at,omitempty"`
	UpdatedAt    string          `json:"updated_at,omitempty"`
}

// ExportLabelStudio is the items of open local jobs (and, with pending, the items
// waiting for a job) as Label Studio tasks, most uncertain first within each group.
func ExportLabelStudio(ctx context.Context, store Store, local *Local, prefix string, pending bool) ([]LSTask, error) {
	var tasks []LSTask
	jobs, err := local.Jobs(ctx, prefix)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.Status != StatusInProgress {
			continue
		}
		claim, err := ReadClaim(ctx, store, j.Name)
		if err != nil {
			return nil, err
		}
		for _, it := range claim.Items {
			tasks = append(tasks, lsTask(it, j.Name))
		}
	}
	if pending {
		items, err := PendingItems(ctx, store)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, it := range items {
			if it.Auto || seen[it.ID] {
				continue // automatic labels are checked through audit jobs; one task per text
			}
			seen[it.ID] = true
			tasks = append(tasks, lsTask(it, ""))
		}
	}
	return tasks, nil
}

func lsTask(it PendingItem, job string) LSTask {
	t := LSTask{Data: LSData{Text: it.Text, Item: it.ID, Job: job, Source: it.Source, ChunkIndex: it.Index, HeadingPath: strings.Join(it.HeadingPath, " › ")}}
	if len(it.Predicted) > 0 {
		t.Predictions = []LSPrediction{{ModelVersion: it.Classifier, Score: it.Uncertainty, Result: []LSResult{{
			ID: "p" + it.ID[:min(10, len(it.ID))], FromName: LSFromName, ToName: LSToName, Type: "choices", Value: map[string]any{"choices": it.Predicted}}}}}
	}
	return t
}

// LabelStudioConfig is the labeling config XML the exported tasks need: the text, and a
// Choices tag of the classes (one, or several for multi-label), each class's description
// as its hint.
func LabelStudioConfig(cfg Config) string {
	var b strings.Builder
	esc := func(s string) string {
		var buf bytes.Buffer
		_ = xml.EscapeText(&buf, []byte(s))
		return strings.ReplaceAll(buf.String(), `"`, "&#34;")
	}
	choice := "single-radio"
	if cfg.MultiLabel {
		choice = "multiple"
	}
	b.WriteString("<View>\n")
	b.WriteString(`  <Header value="$heading_path"/>` + "\n")
	fmt.Fprintf(&b, "  <Text name=%q value=\"$text\"/>\n", LSToName)
	fmt.Fprintf(&b, "  <Choices name=%q toName=%q choice=%q showInLine=\"false\">\n", LSFromName, LSToName, choice)
	for _, c := range cfg.Classes {
		fmt.Fprintf(&b, "    <Choice value=\"%s\" hint=\"%s\"/>\n", esc(c.Name), esc(c.Description))
	}
	b.WriteString("  </Choices>\n</View>\n")
	return b.String()
}

// ImportResult says what an import did.
type ImportResult struct {
	Tasks     int      `json:"tasks"`
	Answers   int      `json:"answers"`
	Skipped   int      `json:"skipped"`   // cancelled annotations, recorded as skips
	Unlabeled int      `json:"unlabeled"` // annotations with no choice, ignored
	NewJobs   []string `json:"jobs_created,omitempty"`
	Problems  []string `json:"problems,omitempty"`
}

// ImportLabelStudio reads a Label Studio JSON export (an array of tasks) into local jobs'
// answers: every annotation of a task is one reviewer's answer (completed_by names the
// reviewer, "label-studio:<id or email>"), a cancelled one a skip. Tasks exported from
// the pending items are first given a local job of their own (submit, which claims them
// under the same rules as any job). Importing the same file again changes nothing.
// Tasks that are not docingest's, or answers that do not fit the classes, are listed in
// Problems; the rest is imported.
func ImportLabelStudio(ctx context.Context, r io.Reader, local *Local, submit func(ctx context.Context, items []string) (SubmitResult, error), maxBytes int64) (ImportResult, error) {
	var res ImportResult
	body, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return res, err
	}
	if int64(len(body)) > maxBytes {
		return res, fmt.Errorf("the export is larger than %d bytes", maxBytes)
	}
	var tasks []LSTask
	if err := json.Unmarshal(body, &tasks); err != nil {
		return res, fmt.Errorf("not a Label Studio JSON export (an array of tasks): %w", err)
	}
	res.Tasks = len(tasks)
	problem := func(i int, format string, args ...any) {
		name := fmt.Sprintf("task %d (of the file)", i+1)
		if id := strings.Trim(string(tasks[i].ID), `"`); id != "" && id != "null" {
			name = "task " + id
		}
		res.Problems = append(res.Problems, name+": "+fmt.Sprintf(format, args...))
	}
	// items exported while pending: answers go to the open local job that has claimed
	// them since (a dispatcher's, or an earlier import's), else to a job made for them
	jobOf := map[string]string{}
	jobs, err := local.Jobs(ctx, local.Config.JobPrefix)
	if err != nil {
		return res, err
	}
	for _, j := range jobs {
		if j.Status != StatusInProgress {
			continue
		}
		claim, err := ReadClaim(ctx, local.Store, j.Name)
		if err != nil {
			return res, err
		}
		for _, it := range claim.Items {
			jobOf[it.ID] = j.Name
		}
	}
	var loose []string
	for i, t := range tasks {
		if t.Data.Item == "" {
			problem(i, "no data.docingest_item: not a task docingest exported")
			continue
		}
		if t.Data.Job == "" && jobOf[t.Data.Item] == "" && hasAnswer(t) {
			loose = append(loose, t.Data.Item)
		}
	}
	if len(loose) > 0 {
		sr, err := submit(ctx, loose)
		if err != nil {
			return res, err
		}
		if sr.Job != "" {
			res.NewJobs = append(res.NewJobs, sr.Job)
			claim, err := ReadClaim(ctx, local.Store, sr.Job)
			if err != nil {
				return res, err
			}
			for _, it := range claim.Items {
				jobOf[it.ID] = sr.Job
			}
			for dup, rep := range claim.Duplicates {
				jobOf[dup] = "near-duplicate of " + rep
			}
		}
	}
	for i, t := range tasks {
		if t.Data.Item == "" {
			continue
		}
		job := t.Data.Job
		if job == "" {
			job = jobOf[t.Data.Item]
			if strings.HasPrefix(job, "near-duplicate of ") {
				continue // it gets its representative's label
			}
			if job == "" {
				if hasAnswer(t) {
					problem(i, "item %s was given no job: it is no longer pending (labeled or claimed by a job since the export), or the job was full (labeling.max_items_per_job, the daily budget): import again later", t.Data.Item)
				}
				continue
			}
		}
		for k, a := range t.Annotations {
			reviewer := "label-studio:" + completedBy(a.CompletedBy, k)
			date := a.UpdatedAt
			if date == "" {
				date = a.CreatedAt
			}
			if _, err := time.Parse(time.RFC3339Nano, date); err != nil {
				date = ""
			}
			ans := Answer{Item: t.Data.Item, Reviewer: reviewer, Date: date, Via: "label-studio"}
			if a.WasCancelled {
				ans.Skipped = true
			} else {
				classes, err := choices(a.Result)
				if err != nil {
					problem(i, "annotation %d: %v", k, err)
					continue
				}
				if len(classes) == 0 {
					res.Unlabeled++
					continue
				}
				ans.Classes = classes
			}
			if err := local.Answer(ctx, job, ans); err != nil {
				if errors.Is(err, ErrNotLocal) || errors.Is(err, ErrJobClosed) {
					problem(i, "%v", err)
					break
				}
				if errors.Is(err, storage.ErrNotFound) {
					return res, err
				}
				problem(i, "annotation %d: %v", k, err)
				continue
			}
			if ans.Skipped {
				res.Skipped++
			} else {
				res.Answers++
			}
		}
	}
	return res, nil
}

func hasAnswer(t LSTask) bool {
	for _, a := range t.Annotations {
		if !a.WasCancelled {
			if c, err := choices(a.Result); err == nil && len(c) > 0 {
				return true
			}
		}
	}
	return false
}

// choices reads the classes of an annotation: its choices results (from our Choices tag,
// or the only choices result there is).
func choices(results []LSResult) ([]string, error) {
	var out []string
	found := false
	for _, r := range results {
		if r.Type != "choices" {
			continue
		}
		if found && r.FromName != LSFromName {
			continue
		}
		raw, ok := r.Value["choices"].([]any)
		if !ok {
			return nil, fmt.Errorf("a choices result without value.choices")
		}
		out = out[:0]
		for _, c := range raw {
			s, ok := c.(string)
			if !ok {
				return nil, fmt.Errorf("choice %v is not text", c)
			}
			out = append(out, s)
		}
		found = true
		if r.FromName == LSFromName {
			break
		}
	}
	return out, nil
}

// completedBy names an annotation's annotator: Label Studio exports a user id (a number)
// or, in some versions, an object with the user's email and id.
func completedBy(raw json.RawMessage, k int) string {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil && n != "" {
		return "user-" + n.String()
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil && s != "" {
		return s
	}
	var u struct {
		Email string      `json:"email"`
		ID    json.Number `json:"id"`
	}
	if err := json.Unmarshal(raw, &u); err == nil {
		if u.Email != "" {
			return u.Email
		}
		if u.ID != "" {
			return "user-" + u.ID.String()
		}
	}
	return "annotator-" + strconv.Itoa(k+1) // unnamed: one per annotation
}
