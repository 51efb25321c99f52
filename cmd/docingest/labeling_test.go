package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const labelingYAML = `labeling:
  enabled: true
  threshold: 0.1
  classes:
    - name: administration
      description: Running a Debian system, services, packages installed with apt, network, files and users.
    - name: packaging
      description: Making and maintaining Debian packages, developers, uploads, the archive, bugs and maintainers.
    - name: legal
      description: Software licence terms, copyright, permission to copy and distribute, warranty and liability.
      examples: ["You may convey verbatim copies of the Program's source code."]
  ground_truth:
    workteam_arn: arn:aws:sagemaker:eu-west-1:111122223333:workteam/private-crowd/docs
    role_arn: arn:aws:iam::111122223333:role/gt
`

// TestRunWithLabelingAndSimulate: with labeling on, every chunk carries a label, confident
// ones land in labeled/auto/, uncertain ones in the redacted spool; simulate prints its
// table for a labeled dataset.
func TestRunWithLabelingAndSimulate(t *testing.T) {
	t.Parallel()
	cfgPath := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfgPath, []byte(labelingYAML), 0o644)
	src := t.TempDir()
	lic, _ := os.ReadFile("../../labeling/testdata/licences/MPL-2.0")
	os.WriteFile(filepath.Join(src, "mpl.txt"), lic, 0o644)
	os.WriteFile(filepath.Join(src, "contact.txt"), []byte("For help write to admin@example.org or call +44 20 7946 0958. The service restarts nightly."), 0o644)
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := cli(t, nil, "run", src, "--out", out, "--config", cfgPath, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	statuses := map[string]int{}
	for _, name := range []string{"mpl.txt.jsonl", "contact.txt.jsonl"} {
		statuses = countStatuses(t, filepath.Join(out, "chunks", name), statuses)
	}
	if statuses["auto"]+statuses["pending"] == 0 {
		t.Fatalf("statuses %v", statuses)
	}
	// The summary counts them: in the line and in the JSON report.
	var r report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("--json: %v: %s", err, stdout)
	}
	if r.Labels.Auto != statuses["auto"] || r.Labels.Pending != statuses["pending"] || r.Labels.Human != statuses["human"] {
		t.Errorf("report labels %+v, chunk files hold %v", r.Labels, statuses)
	}
	if want := fmt.Sprintf("labeled: %d auto, %d pending", statuses["auto"], statuses["pending"]); !strings.Contains(stderr, want) {
		t.Errorf("summary does not say %q: %s", want, stderr)
	}
	// the uncertain contact chunk is spooled redacted
	var spooled string
	filepath.WalkDir(filepath.Join(out, "labeling", "pending"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, "contact.txt") {
			b, _ := os.ReadFile(p)
			spooled = string(b)
		}
		return nil
	})
	if spooled == "" || strings.Contains(spooled, "admin@example.org") || !strings.Contains(spooled, "[EMAIL]") || !strings.Contains(spooled, `"email":1`) {
		t.Fatalf("spooled item %s", spooled)
	}
	// labeling pending lists it, most uncertain first, without its text in --json
	code, stdout, stderr = cli(t, nil, "labeling", "pending", "--out", out, "--config", cfgPath)
	if code != 0 || !strings.Contains(stdout, "contact.txt") || !strings.Contains(stdout, "least_confidence") || !strings.Contains(stderr, "items pending") {
		t.Fatalf("labeling pending: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = cli(t, nil, "labeling", "pending", "--out", out, "--config", cfgPath, "--json")
	if code != 0 || !strings.Contains(stdout, `"source":"`) || strings.Contains(stdout, "[EMAIL]") {
		t.Fatalf("labeling pending --json: exit %d\n%s", code, stdout)
	}
	// simulate over a labeled dataset, in every line form it reads; it writes nothing
	before := listFiles(t, out)
	ds := filepath.Join(t.TempDir(), "ds.jsonl")
	os.WriteFile(ds, []byte(`{"text": "THERE IS NO WARRANTY FOR THE PROGRAM, TO THE EXTENT PERMITTED BY APPLICABLE LAW.", "class": "legal"}
{"text": "Use systemctl to restart the network service after editing the configuration.", "class": "administration"}
{"source": "Upload the new version of the package to the archive and close the bug.", "label": "packaging"}
{"source": "Each contributor grants you a copyright licence to the contribution.", "label": 2, "label-metadata": {"class-name": "legal"}}
`), 0o644)
	code, stdout, stderr = cli(t, nil, "labeling", "simulate", "--dataset", ds, "--out", out, "--config", cfgPath)
	if code != 0 || !strings.Contains(stdout, "THRESHOLD") || !strings.Contains(stdout, "0.500") || strings.Count(stdout, "%") < 3*19 ||
		!strings.Contains(stdout, "4 labeled items") || !strings.Contains(stdout, "< configured") || !strings.Contains(stdout, "nothing is labeled automatically yet") {
		t.Fatalf("simulate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = cli(t, nil, "labeling", "simulate", "--dataset", ds, "--out", out, "--config", cfgPath, "--json")
	if code != 0 || strings.Count(stdout, "\n") != 19 {
		t.Fatalf("simulate --json: %s", stdout)
	}
	configured := 0
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"threshold", "to_humans", "auto_accuracy", "auto", "auto_accuracy_lower", "calibration_error", "classifier"} {
			if _, ok := row[k]; !ok {
				t.Fatalf("row without %s: %s", k, line)
			}
		}
		if row["configured"] == true {
			configured++
		}
		if row["chosen"] == true {
			t.Fatalf("no human labels, yet a row is chosen: %s", line)
		}
	}
	if configured != 1 {
		t.Fatalf("%d rows marked configured", configured)
	}
	if after := listFiles(t, out); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("simulate wrote to the output:\nbefore %v\nafter %v", before, after)
	}
	os.WriteFile(ds, []byte(`{"text": "Some text.", "class": "weather"}`+"\n"), 0o644)
	if code, _, stderr = cli(t, nil, "labeling", "simulate", "--dataset", ds, "--out", out, "--config", cfgPath); code == 0 || !strings.Contains(stderr, `class "weather" is not configured`) {
		t.Fatalf("unknown class: exit %d: %s", code, stderr)
	}
	// submitting needs an S3 output: Ground Truth reads the manifest from S3
	code, _, stderr = cli(t, nil, "labeling", "submit", "--out", out, "--config", cfgPath)
	if code == 0 || !strings.Contains(stderr, "s3://") {
		t.Fatalf("submit to a folder: exit %d: %s", code, stderr)
	}
}

// countStatuses adds the label statuses of a chunk file's records to statuses; every
// record must carry a label.
func countStatuses(t *testing.T, path string, statuses map[string]int) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct {
			Label *struct {
				Class, Status, Classifier, Measure string
			} `json:"label"`
		}
		json.Unmarshal(sc.Bytes(), &rec)
		if rec.Label == nil || rec.Label.Class == "" || !strings.HasPrefix(rec.Label.Classifier, "clf-") || rec.Label.Measure != "least_confidence" {
			t.Fatalf("chunk without a label: %s", sc.Bytes())
		}
		statuses[rec.Label.Status]++
	}
	return statuses
}

func TestLabelingConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ yaml, want string }{
		{"labeling:\n  enabled: true\n", "labeling.classes"},
		{strings.Replace(labelingYAML, "  classes:", "  measure: guess\n  classes:", 1), "labeling.measure"},
		{strings.Replace(labelingYAML, "  threshold: 0.1", "  threshold: 1.5", 1), "labeling.threshold"},
		{strings.Replace(labelingYAML, "private-crowd/docs", "public-crowd/default", 1), "labeling.ground_truth.task_price_usd"},
	} {
		p := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(p, []byte(tc.yaml), 0o644)
		code, _, stderr := cli(t, nil, "run", t.TempDir(), "--out", t.TempDir(), "--config", p)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("exit %d, stderr %s; want %s", code, stderr, tc.want)
		}
	}
}

// listFiles lists every file under dir.
func listFiles(t *testing.T, dir string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLocalLabelingFromTheCommandLine: with no Ground Truth configured, labeling jobs are
// local: run, submit, list, export to Label Studio, import its answers, collect, report.
func TestLocalLabelingFromTheCommandLine(t *testing.T) {
	t.Parallel()
	cfgPath := filepath.Join(t.TempDir(), "c.yaml")
	local := labelingYAML[:strings.Index(labelingYAML, "  ground_truth:")]
	os.WriteFile(cfgPath, []byte(local), 0o644)
	src := t.TempDir()
	lic, _ := os.ReadFile("../../labeling/testdata/licences/MPL-2.0")
	os.WriteFile(filepath.Join(src, "mpl.txt"), lic, 0o644)
	out := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := cli(t, nil, "run", src, "--out", out, "--config", cfgPath); code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := cli(t, nil, "labeling", "submit", "--out", out, "--config", cfgPath, "--json")
	var sub struct {
		Job   string `json:"job"`
		Items int    `json:"items"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &sub) != nil || sub.Job == "" || sub.Items == 0 {
		t.Fatalf("submit to a folder with a local backend: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = cli(t, nil, "labeling", "list", "--out", out, "--config", cfgPath)
	if code != 0 || !strings.Contains(stdout, sub.Job) || !strings.Contains(stdout, "InProgress") {
		t.Fatalf("list: exit %d\n%s", code, stdout)
	}
	tasksPath, xmlPath := filepath.Join(t.TempDir(), "tasks.json"), filepath.Join(t.TempDir(), "config.xml")
	if code, _, stderr = cli(t, nil, "labeling", "export", "--format", "label-studio", "--out", out, "--config", cfgPath, "--to", tasksPath, "--label-config", xmlPath); code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	var tasks []map[string]any
	b, _ := os.ReadFile(tasksPath)
	if err := json.Unmarshal(b, &tasks); err != nil || len(tasks) != sub.Items {
		t.Fatalf("%d tasks for %d items: %v", len(tasks), sub.Items, err)
	}
	if x, _ := os.ReadFile(xmlPath); !strings.Contains(string(x), `<Choice value="legal"`) {
		t.Fatalf("label config:\n%s", x)
	}
	// Label Studio's export: every task labeled legal by user 7
	for i, task := range tasks {
		task["id"] = i + 1
		task["annotations"] = []any{map[string]any{"id": i + 100, "was_cancelled": false, "completed_by": 7,
			"result": []any{map[string]any{"from_name": "class", "to_name": "text", "type": "choices", "value": map[string]any{"choices": []string{"legal"}}}}}}
	}
	b, _ = json.Marshal(tasks)
	lsExport := filepath.Join(t.TempDir(), "export.json")
	os.WriteFile(lsExport, b, 0o644)
	code, stdout, stderr = cli(t, nil, "labeling", "import", "--format", "label-studio", lsExport, "--out", out, "--config", cfgPath)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("%d answers", sub.Items)) {
		t.Fatalf("import: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = cli(t, nil, "labeling", "collect", "--out", out, "--config", cfgPath)
	if code != 0 || !strings.Contains(stdout, sub.Job+": Completed, "+fmt.Sprint(sub.Items)+" labels") || !strings.Contains(stdout, "classifier retrained") {
		t.Fatalf("collect: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = cli(t, nil, "labeling", "report", "--out", out, "--config", cfgPath)
	if code != 0 || !strings.HasPrefix(stdout, "<!doctype html>") || !strings.Contains(stdout, sub.Job) || strings.Contains(stdout, "<script") {
		t.Fatalf("report: exit %d\n%.300s\n%s", code, stdout, stderr)
	}
	// the keys that moved up from ground_truth say where they went
	moved := strings.Replace(local, "  threshold: 0.1\n", "  threshold: 0.1\n  ground_truth:\n    workers_per_object: 3\n", 1)
	os.WriteFile(cfgPath, []byte(moved), 0o644)
	if code, _, stderr = cli(t, nil, "labeling", "list", "--out", out, "--config", cfgPath); code != 2 || !strings.Contains(stderr, "labeling.ground_truth.workers_per_object: unknown key (it is labeling.workers_per_object now)") {
		t.Fatalf("a moved key: exit %d: %s", code, stderr)
	}
}
