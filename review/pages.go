package review

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/docingest/docingest/labeling"
)

// pageData is what every page template gets.
type pageData struct {
	Title    string
	Nav      string // the page's tab
	Reviewer string
	CSRF     string
	Error    string
	Notice   string
	// Static is the shareable report: no forms, the style sheet inlined.
	Static bool
	CSS    template.CSS
	Data   any
}

var funcs = template.FuncMap{
	"pct":  func(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" },
	"f3":   func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) },
	"usd":  func(x float64) string { return "$" + strconv.FormatFloat(x, 'f', 2, 64) },
	"join": strings.Join,
	"inc":  func(i int) int { return i + 1 },
	"add":  func(a, b int) int { return a + b },
	"min":  func(a, b int) int { return min(a, b) },
	"bar":  probabilityBar,
}

// parsePages parses each page with the shared layout.
func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, p := range []string{"login", "label", "review", "audit"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/charts.html", "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", p, err)
		}
		out[p] = t
	}
	return out, nil
}

func (s *Server) render(w http.ResponseWriter, page string, d pageData) {
	var buf bytes.Buffer
	if err := s.pages[page].Execute(&buf, d); err != nil {
		s.Logger.Error("render page", "page", page, "error", err)
		http.Error(w, "could not render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

func (s *Server) base(ss session, nav, title string) pageData {
	return pageData{Title: title, Nav: nav, Reviewer: ss.Name, CSRF: s.csrfToken(ss)}
}

// notices are the messages a redirect can ask a page to show (by code: a page never
// shows text taken from its URL).
var notices = map[string]string{
	"answered":  "Answer saved.",
	"skipped":   "Skipped.",
	"undone":    "Your last answer was removed: answer the item again.",
	"nothing":   "You have no answer to undo in this job.",
	"stopped":   "The job was stopped: its answered items are collected with labeling collect (or Collect below); the rest go back to pending.",
	"collected": "Ended jobs were collected and the classifier retrained.",
	"created":   "A labeling job was created.",
	"none":      "No job was created: there is nothing to send (see the pending count).",
}

// labelPage shows the next item of a job to the reviewer, or the jobs to choose from.
func (s *Server) labelPage(w http.ResponseWriter, r *http.Request, ss session) {
	ctx := r.Context()
	d := s.base(ss, "label", "Label")
	d.Notice = notices[r.URL.Query().Get("done")]
	jobs, err := s.Local.Jobs(ctx, s.Labeling.JobPrefix)
	if err != nil {
		s.fail(w, err)
		return
	}
	var open []labeling.JobStatus
	for _, j := range jobs {
		if j.Status == labeling.StatusInProgress {
			open = append(open, j)
		}
	}
	slices.Reverse(open) // oldest first: finish what was started
	job := r.URL.Query().Get("job")
	data := map[string]any{"Jobs": open, "Job": job, "Multi": s.Labeling.MultiLabel}
	var task labeling.Task
	found := false
	for _, j := range open {
		if job != "" && j.Name != job {
			continue
		}
		if task, found, err = s.Local.Next(ctx, j.Name, ss.Name); err != nil {
			s.fail(w, err)
			return
		}
		if found {
			break
		}
	}
	if found {
		data["Job"] = task.Job
		data["Task"] = task
		data["Classes"] = s.classChoices(task.Item)
		p, err := s.Local.Progress(ctx, task.Job)
		if err != nil {
			s.fail(w, err)
			return
		}
		data["Done"], data["Items"] = p.Done, len(p.Items)
	}
	d.Data = data
	s.render(w, "label", d)
}

// classChoice is a class as the Label page offers it, with the classifier's probability.
type classChoice struct {
	Name, Description string
	Probability       float64
	Scored            bool
	Predicted         bool
}

func (s *Server) classChoices(it labeling.PendingItem) []classChoice {
	var out []classChoice
	for _, c := range s.Labeling.Classes {
		ch := classChoice{Name: c.Name, Description: c.Description, Predicted: slices.Contains(it.Predicted, c.Name)}
		for _, t := range it.Top {
			if t.Class == c.Name {
				ch.Probability, ch.Scored = t.Probability, true
			}
		}
		out = append(out, ch)
	}
	return out
}

// answer records an answer or a skip, then shows the next item.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, ss session) {
	job, item := r.PostFormValue("job"), r.PostFormValue("item")
	a := labeling.Answer{Item: item, Reviewer: ss.Name, Via: "review"}
	done := "answered"
	if r.PostFormValue("action") == "skip" {
		a.Skipped, done = true, "skipped"
	} else {
		a.Classes = r.PostForm["class"]
	}
	if err := s.Local.Answer(r.Context(), job, a); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, labeling.ErrJobClosed) {
			status = http.StatusConflict
		}
		if errors.Is(err, labeling.ErrNotLocal) {
			status = http.StatusNotFound
		}
		http.Error(w, err.Error(), status)
		return
	}
	http.Redirect(w, r, "/label?job="+url.QueryEscape(job)+"&done="+done, http.StatusSeeOther)
}

// undo removes the reviewer's latest answer in the job and shows its item again.
func (s *Server) undo(w http.ResponseWriter, r *http.Request, ss session) {
	job := r.PostFormValue("job")
	_, ok, err := s.Local.Undo(r.Context(), job, ss.Name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	done := "undone"
	if !ok {
		done = "nothing"
	}
	http.Redirect(w, r, "/label?job="+url.QueryEscape(job)+"&done="+done, http.StatusSeeOther)
}

func (s *Server) reviewPage(w http.ResponseWriter, r *http.Request, ss session) {
	rep, err := s.Report(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	d := s.base(ss, "review", "Review")
	d.Notice = notices[r.URL.Query().Get("done")]
	d.Data = rep
	s.render(w, "review", d)
}

func (s *Server) newJob(w http.ResponseWriter, r *http.Request, _ session) {
	s.submit(w, r, 0, "/review")
}

// submit creates a job (an audit job of auditItems when set) and shows it on the Label
// page, or back on the page it came from when there was nothing to send.
func (s *Server) submit(w http.ResponseWriter, r *http.Request, auditItems int, from string) {
	res, err := s.Submit(r.Context(), auditItems)
	if err != nil {
		s.fail(w, err)
		return
	}
	if res.Job == "" {
		http.Redirect(w, r, from+"?done=none", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/label?job="+url.QueryEscape(res.Job)+"&done=created", http.StatusSeeOther)
}

func (s *Server) stopJob(w http.ResponseWriter, r *http.Request, _ session) {
	if err := s.Backend.Stop(r.Context(), r.PostFormValue("job")); err != nil {
		s.fail(w, err)
		return
	}
	http.Redirect(w, r, "/review?done=stopped", http.StatusSeeOther)
}

func (s *Server) collect(w http.ResponseWriter, r *http.Request, _ session) {
	if _, _, err := s.Collect(r.Context()); err != nil {
		s.fail(w, err)
		return
	}
	http.Redirect(w, r, "/review?done=collected", http.StatusSeeOther)
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, ss session) {
	human, err := s.humanLabels(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	pending, err := s.pendingItems(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	a, err := s.auditSummary(r.Context(), human, pending)
	if err != nil {
		s.fail(w, err)
		return
	}
	d := s.base(ss, "audit", "Audit")
	d.Notice = notices[r.URL.Query().Get("done")]
	if r.URL.Query().Get("done") == "none" {
		d.Notice = "No audit job was created: there are no automatic labels to check yet (the classifier labels nothing automatically until human labels show the target accuracy)."
	}
	d.Data = a
	s.render(w, "audit", d)
}

func (s *Server) newAudit(w http.ResponseWriter, r *http.Request, _ session) {
	n, err := strconv.Atoi(r.PostFormValue("n"))
	if err != nil || n < 1 || n > s.Labeling.MaxItemsPerJob {
		http.Error(w, fmt.Sprintf("n must be between 1 and labeling.max_items_per_job (%d)", s.Labeling.MaxItemsPerJob), http.StatusBadRequest)
		return
	}
	s.submit(w, r, n, "/audit")
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	s.Logger.Error("review request failed", "error", err)
	http.Error(w, err.Error(), http.StatusInternalServerError)
}
