package labeling

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/docingest/docingest/layout"
)

func TestLabelStudioExport(t *testing.T) {
	ctx := context.Background()
	out, cfg, b, clk := localOutput(t, 3, 1)
	res := submitLocal(t, out, cfg, b, clk, 0)
	// one more item pending after the job
	waiting := PendingItem{ID: TextHash("waiting passage 0"), Source: "s3://in/later.txt", Text: "waiting passage 0", Predicted: []string{"legal"}, Uncertainty: 0.7, Classifier: "clf-test"}
	body, _ := json.Marshal(waiting)
	if err := out.Put(ctx, layout.Pending(waiting.Source)+waiting.ID+".json", bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	tasks, err := ExportLabelStudio(ctx, out, b.Local, cfg.JobPrefix, false)
	if err != nil || len(tasks) != 3 {
		t.Fatalf("%d tasks of the open job, %v", len(tasks), err)
	}
	for _, task := range tasks {
		if task.Data.Job != res.Job || task.Data.Item != TextHash(task.Data.Text) || task.Data.HeadingPath != "Chapter 1 › Services" {
			t.Fatalf("task data %+v", task.Data)
		}
		p := task.Predictions[0]
		r := p.Result[0]
		if p.ModelVersion != "clf-test" || p.Score <= 0 || r.Type != "choices" || r.FromName != LSFromName || r.ToName != LSToName ||
			!slices.Equal(r.Value["choices"].([]string), []string{"administration"}) {
			t.Fatalf("prediction %+v", p)
		}
	}
	withPending, _ := ExportLabelStudio(ctx, out, b.Local, cfg.JobPrefix, true)
	if len(withPending) != 4 || withPending[3].Data.Job != "" || withPending[3].Data.Item != waiting.ID {
		t.Fatalf("with --pending: %d tasks, last %+v", len(withPending), withPending[len(withPending)-1].Data)
	}
	// the labeling config is XML with one Choice per class, descriptions escaped
	cfg.Classes[0].Description = `Admin "ops" & <systems>`
	var view struct {
		Text struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"Text"`
		Choices struct {
			Name   string `xml:"name,attr"`
			ToName string `xml:"toName,attr"`
			Choice string `xml:"choice,attr"`
			Items  []struct {
				Value string `xml:"value,attr"`
				Hint  string `xml:"hint,attr"`
			} `xml:"Choice"`
		} `xml:"Choices"`
	}
	if err := xml.Unmarshal([]byte(LabelStudioConfig(cfg)), &view); err != nil {
		t.Fatalf("label config: %v\n%s", err, LabelStudioConfig(cfg))
	}
	if view.Text.Name != LSToName || view.Text.Value != "$text" || view.Choices.Name != LSFromName || view.Choices.ToName != LSToName ||
		view.Choices.Choice != "single-radio" || len(view.Choices.Items) != 3 || view.Choices.Items[0].Hint != cfg.Classes[0].Description {
		t.Fatalf("label config %+v", view)
	}
}

func TestLabelStudioImport(t *testing.T) {
	ctx := context.Background()
	out, cfg, b, clk := localOutput(t, 4, 2)
	res := submitLocal(t, out, cfg, b, clk, 0)
	waiting := PendingItem{ID: TextHash("waiting passage 0"), Source: "s3://in/later.txt", Text: "waiting passage 0", Predicted: []string{"legal"}, Uncertainty: 0.7}
	body, _ := json.Marshal(waiting)
	if err := out.Put(ctx, layout.Pending(waiting.Source)+waiting.ID+".json", bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/label-studio/export.json")
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer(`"JOB"`, `"`+res.Job+`"`, "PENDING0", waiting.ID)
	export := r.Replace(string(raw))
	for i := range 4 {
		export = strings.ReplaceAll(export, `"ITEM`+string(rune('0'+i))+`"`, `"`+TextHash("passage "+string(rune('0'+i))+" about apt and services")+`"`)
	}
	submit := func(ctx context.Context, items []string) (SubmitResult, error) {
		d := &Dispatcher{Config: cfg, Store: out, Backend: &Backends{Local: b.Local, Create: BackendLocal}, Now: clk.now, Items: items}
		return d.Submit(ctx)
	}
	got, err := ImportLabelStudio(ctx, strings.NewReader(export), b.Local, submit, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got.Tasks != 6 || got.Answers != 4 || got.Skipped != 1 || len(got.NewJobs) != 1 || len(got.Problems) != 2 {
		t.Fatalf("import: %+v", got)
	}
	problems := strings.Join(got.Problems, "\n")
	if !strings.Contains(problems, `task 3: annotation 0: "billing" is not one of the classes`) || !strings.Contains(problems, "task 5: no data.docingest_item: not a task docingest exported") {
		t.Fatalf("problems: %q", got.Problems)
	}
	p, err := b.Local.Progress(ctx, res.Job)
	if err != nil {
		t.Fatal(err)
	}
	first := p.Items[slices.IndexFunc(p.Items, func(ip ItemProgress) bool { return ip.Item.Text == "passage 0 about apt and services" })]
	var who []string
	for _, a := range first.Answers {
		who = append(who, a.Reviewer)
		if a.Via != "label-studio" {
			t.Fatalf("answer via %q", a.Via)
		}
	}
	if !slices.Equal(who, []string{"label-studio:user-10", "label-studio:ana@example.org"}) || !first.Done || !first.Disagreement {
		t.Fatalf("task 1's answers: %v, done %v, disagreement %v", who, first.Done, first.Disagreement)
	}
	if p.Done != 1 {
		t.Fatalf("%d items done, want 1 (the others have fewer than 2 answers)", p.Done)
	}
	// the pending item got a job of its own with its answer
	np, err := b.Local.Progress(ctx, got.NewJobs[0])
	if err != nil || len(np.Items) != 1 || np.Items[0].Item.ID != waiting.ID || len(np.Items[0].Answers) != 1 {
		t.Fatalf("the new job: %+v %v", np, err)
	}
	// importing again changes nothing
	before := countKeys(t, out, layout.JobsRoot)
	again, err := ImportLabelStudio(ctx, strings.NewReader(export), b.Local, submit, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if after := countKeys(t, out, layout.JobsRoot); after != before {
		t.Fatalf("a second import wrote %d objects more (%+v)", after-before, again)
	}
	// caps and bad input
	if _, err := ImportLabelStudio(ctx, strings.NewReader(export), b.Local, submit, int64(len(export))); err != nil {
		t.Fatalf("an export at the size cap: %v", err)
	}
	if _, err := ImportLabelStudio(ctx, strings.NewReader(export), b.Local, submit, int64(len(export)-1)); err == nil {
		t.Fatal("an export one byte over the cap was read")
	}
	if _, err := ImportLabelStudio(ctx, strings.NewReader(`{"data": {}}`), b.Local, submit, 1<<20); err == nil {
		t.Fatal("an object, not an array of tasks, was read")
	}
}

func FuzzImportLabelStudio(f *testing.F) {
	raw, err := os.ReadFile("testdata/label-studio/export.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`[{"data":{"docingest_item":"x","docingest_job":"j"},"annotations":[{"result":[{"type":"choices","value":{"choices":[1]}}],"completed_by":null}]}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, cfg, b, clk := localOutput(t, 1, 1)
		submit := func(ctx context.Context, items []string) (SubmitResult, error) {
			return (&Dispatcher{Config: cfg, Store: out, Backend: b, Now: clk.now, Items: items}).Submit(ctx)
		}
		_, _ = ImportLabelStudio(context.Background(), bytes.NewReader(body), b.Local, submit, 1<<20)
	})
}
