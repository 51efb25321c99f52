package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	imagepng "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docingest/docingest/internal/cgroup"
	"github.com/docingest/docingest/internal/configfile"
	"github.com/docingest/docingest/internal/pdftest"
	"github.com/docingest/docingest/internal/testenv"
	"github.com/docingest/docingest/internal/units"
	"github.com/google/go-cmp/cmp"
)

// cli runs the command line in-process and returns its exit status and outputs.
func cli(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := execute(context.Background(), args, &stdout, &stderr, env)
	return code, stdout.String(), stderr.String()
}

func TestRunSampleDocuments(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := cli(t, nil, "run", "../../testdata/docs", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "10 documents: 10 processed, 0 unchanged, 0 failed") {
		t.Fatalf("summary: %s", stderr)
	}
	code, _, stderr = cli(t, nil, "run", "../../testdata/docs", "--out", out)
	if code != 0 || !strings.Contains(stderr, "0 processed, 10 unchanged") {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
}

func TestRunHostileDocuments(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	code, _, stderr := cli(t, nil, "run", "../../testdata/hostile", "--out", out, "--concurrency", "2")
	if code != exitFailures {
		t.Fatalf("exit %d, want %d: %s", code, exitFailures, stderr)
	}
	if !strings.Contains(stderr, "failed: scanned.pdf: no_text_layer") || !strings.Contains(stderr, "docingest failed list") {
		t.Fatalf("stderr: %s", stderr)
	}
	code, stdout, _ := cli(t, nil, "failed", "list", "--out", out)
	if code != 0 || !strings.Contains(stdout, "encrypted.pdf") || !strings.Contains(stdout, "encrypted") {
		t.Fatalf("failed list: exit %d:\n%s", code, stdout)
	}
	code, stdout, _ = cli(t, nil, "failed", "list", "--out", out, "--json")
	if code != 0 || strings.Count(stdout, "\n") != 9 || !strings.Contains(stdout, `"reason":"empty"`) {
		t.Fatalf("failed list --json: exit %d:\n%s", code, stdout)
	}
	code, _, stderr = cli(t, nil, "failed", "retry", "../../testdata/hostile", "--out", out)
	if code != exitFailures || !strings.Contains(stderr, "9 processed") && !strings.Contains(stderr, "9 failed") {
		t.Fatalf("retry: exit %d: %s", code, stderr)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := cli(t, nil, "run", "../../testdata/docs", "--out", out, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "would process guide.md") || !strings.Contains(stderr, "10 to process") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("dry run created the output folder")
	}
}

func TestOutputInsideSourceIsNotIngested(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha"), 0o644)
	out := filepath.Join(src, "out")
	for i := 0; i < 2; i++ {
		code, _, stderr := cli(t, nil, "run", src, "--out", out)
		if code != 0 || !strings.Contains(stderr, "1 documents") {
			t.Fatalf("run %d: exit %d: %s", i, code, stderr)
		}
	}
	code, _, stderr := cli(t, nil, "run", out, "--out", src)
	if code != exitUsage || !strings.Contains(stderr, "inside the output folder") {
		t.Fatalf("source inside output: exit %d: %s", code, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	bad := write("bad.yaml", "chunking:\n  max_size: 0\n")
	unknown := write("unknown.yaml", "chunking:\n  max_sise: 10\n")
	classes := write("classes.yaml", "labeling:\n  enabled: true\n  classes: legal\n")
	nested := write("nested.yaml", "run:\n  concurrency: 2\nlabeling:\n  ground_truth:\n    task_time_limit_secs: 3\n")
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"invalid field", nil, []string{"run", "../../testdata/docs", "--out", dir + "/o", "--config", bad}, "chunking.max_size"},
		{"unknown key", nil, []string{"run", "../../testdata/docs", "--out", dir + "/o", "--config", unknown}, "line 2: chunking.max_sise: unknown key (did you mean chunking.max_size?)"},
		{"unknown nested key", nil, []string{"config", "print", "--config", nested}, "line 5: labeling.ground_truth.task_time_limit_secs: unknown key (did you mean labeling.ground_truth.task_time_limit_seconds?)"},
		{"wrong kind", nil, []string{"config", "print", "--config", classes}, "line 3: labeling.classes: must be a list, got \"legal\""},
		{"env typo", []string{"DOCINGEST_CHUNKNG_MAX_SIZE=100"}, []string{"run", "../../testdata/docs", "--out", dir + "/o"}, "DOCINGEST_CHUNKNG_MAX_SIZE: unknown variable: no configuration key has this name (did you mean DOCINGEST_CHUNKING_MAX_SIZE?)"},
		{"env nested bad", []string{"DOCINGEST_LABELING_GROUND_TRUTH_MAX_CONCURRENT_TASKS=many"}, []string{"config", "print"}, "labeling.ground_truth.max_concurrent_tasks: must be a whole number, got \"many\""},
		{"env override", []string{"DOCINGEST_CHUNKING_STRATEGY=bogus"}, []string{"run", "../../testdata/docs", "--out", dir + "/o"}, "chunking.strategy"},
		{"env bad type", []string{"DOCINGEST_RUN_CONCURRENCY=many"}, []string{"config", "print"}, "DOCINGEST_RUN_CONCURRENCY: run.concurrency: must be a whole number"},
		{"config env var", []string{"DOCINGEST_CONFIG=" + bad}, []string{"config", "print"}, "chunking.max_size"},
		{"flag", nil, []string{"run", "../../testdata/docs", "--out", dir + "/o", "--concurrency", "0"}, "run.concurrency"},
		{"missing out", nil, []string{"run", "../../testdata/docs"}, "out"},
		{"s3 without region", []string{"AWS_CONFIG_FILE=/nonexistent", "AWS_REGION="}, []string{"run", "s3://bucket/prefix", "--out", dir}, "aws.region"},
		{"unknown scheme", nil, []string{"run", "gs://bucket/prefix", "--out", dir}, "s3://bucket/prefix"},
		{"not a folder", nil, []string{"run", "../../go.mod", "--out", dir}, "not a folder"},
		{"bad byte size", []string{"DOCINGEST_LIMITS_MAX_OBJECT_BYTES=lots"}, []string{"config", "print"}, "byte size"},
		{"relative cgroup", []string{"DOCINGEST_LIMITS_PDF_CGROUP=mine"}, []string{"config", "print"}, "limits.pdf_cgroup"},
		{"unusable cgroup", []string{"DOCINGEST_LIMITS_PDF_CGROUP=" + dir}, []string{"run", "../../testdata/docs", "--out", dir + "/o"}, "not a cgroup directory"},
	}
	for _, tc := range cases {
		code, _, stderr := cli(t, tc.env, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d naming %q", tc.name, code, stderr, exitUsage, tc.want)
		}
	}
}

func TestConfigPrintRoundTrip(t *testing.T) {
	t.Parallel()
	env := []string{"DOCINGEST_CHUNKING_MAX_SIZE=400", "DOCINGEST_LIMITS_DOCUMENT_TIMEOUT=45s", "DOCINGEST_LIMITS_MAX_TEXT_BYTES=10MiB"}
	code, stdout, stderr := cli(t, env, "config", "print")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, doc := range []string{"# largest chunk, in units", "max_size: 400", "document_timeout: 45s", "max_text_bytes: 10MiB"} {
		if !strings.Contains(stdout, doc) {
			t.Errorf("config print lacks %q:\n%s", doc, stdout)
		}
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte(stdout), 0o644)
	got, err := LoadConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Chunking.MaxSize = 400
	want.Limits.DocumentTimeout = units.Duration(45e9)
	want.Limits.MaxTextBytes = 10 << 20
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("printed configuration does not load back:\n%s", diff)
	}
}

func TestDefaultsMatchArchitecture(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	if c.Limits.MaxObjectBytes != 100<<20 || c.Limits.MaxPages != 5000 || c.Limits.MaxTextBytes != 50<<20 ||
		c.Limits.DocumentTimeout.D().Seconds() != 120 || c.Limits.PDFTimeoutBase.D().Seconds() != 30 ||
		c.Limits.PDFTimeoutPerPage.D().Milliseconds() != 50 {
		t.Fatalf("default caps drifted from ARCHITECTURE.md: %+v", c.Limits)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestFingerprintFollowsOutputSettings(t *testing.T) {
	t.Parallel()
	a := DefaultConfig()
	b := DefaultConfig()
	b.Run.Concurrency = 16
	b.Limits.DocumentTimeout = units.Duration(1)
	if fingerprint(a, "m", "", "") != fingerprint(b, "m", "", "") {
		t.Error("settings that do not change outputs changed the fingerprint")
	}
	b.Chunking.Overlap++
	if fingerprint(a, "m", "", "") == fingerprint(b, "m", "", "") || fingerprint(a, "m", "", "") == fingerprint(a, "other model", "", "") {
		t.Error("chunking or model change kept the fingerprint")
	}
}

func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	code, stdout, _ := cli(t, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "docingest ") {
		t.Fatalf("version: %d %q", code, stdout)
	}
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"failed", "list", "--help"}, {"config", "print", "--help"}} {
		code, stdout, _ := cli(t, nil, args...)
		if code != 0 || !strings.Contains(stdout, "Examples:") && !strings.Contains(stdout, "Available Commands") {
			t.Errorf("%v: exit %d:\n%s", args, code, stdout)
		}
	}
}

// Every format of testdata/formats (made by openpyxl, pandoc and Python's email package)
// goes through run; an e-mail's headers reach its chunks' metadata.
func TestRunFormats(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	code, _, stderr := cli(t, nil, "run", "../../testdata/formats", "--out", out)
	if code != 0 || !strings.Contains(stderr, "0 failed") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	names := []string{"budget.xlsx", "deck.pptx", "deck.odt", "deck.rtf", "deck.epub", "survey.eml", "legacy/Test97.xls", "legacy/namesdemo.xls"}
	real, _ := filepath.Glob("../../testdata/formats/real/*.*")
	for _, r := range real {
		if !strings.Contains(r, "COPYRIGHT") {
			names = append(names, "real/"+filepath.Base(r))
		}
	}
	if len(names) < 18 {
		t.Fatalf("files: %v", names)
	}
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(out, "chunks", name+".jsonl")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// the legacy formats through catdoc's tools, real files
	for name, want := range map[string]string{"real/writer.doc": "Simple doc from Libre Writer", "real/lt_mixed_endian_example.ppt": "The TLM 2.0 Mixed Endianness Example"} {
		if b, err := os.ReadFile(filepath.Join(out, "text", name+".txt")); err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %q %v", name, b, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "chunks", "survey.eml.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Metadata map[string]string `json:"metadata"`
	}
	json.Unmarshal(b[:bytes.IndexByte(b, '\n')], &rec)
	if rec.Metadata["from"] != "Mariana Duarte <m.duarte@example.org>" || rec.Metadata["attachments"] != "budget.xlsx" || rec.Metadata["date"] != "2026-04-02T09:30:00+02:00" {
		t.Errorf("the e-mail's chunk metadata: %v", rec.Metadata)
	}
	// the attached workbook is a document of its own, beside the mail
	b, err = os.ReadFile(filepath.Join(out, "chunks", "survey.eml#1-budget.xlsx.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var att struct {
		Text     string            `json:"text"`
		Metadata map[string]string `json:"metadata"`
	}
	json.Unmarshal(b[:bytes.IndexByte(b, '\n')], &att)
	if att.Metadata["attachment_of"] != "survey.eml" || att.Metadata["subject"] == "" || !strings.Contains(att.Text, "Amount: 12,500.50") {
		t.Errorf("the attachment's first chunk: %q %v", att.Text, att.Metadata)
	}
	if !strings.Contains(stderr, "1 attachments (0 failed)") {
		t.Errorf("summary: %s", stderr)
	}
}

// A page image goes through Tesseract (real, installed by scripts/test): its chunks hold
// the page's words and their OCR confidence.
func TestRunImageOCR(t *testing.T) {
	t.Parallel()
	pdftoppm, err := exec.LookPath("pdftoppm")
	if _, terr := exec.LookPath("tesseract"); err != nil || terr != nil {
		testenv.Missing(t, "tesseract-ocr and poppler-utils")
	}
	src, out := t.TempDir(), t.TempDir()
	png, err := exec.Command(pdftoppm, "-r", "300", "-png", "-gray", "-f", "14", "-l", "14", "-singlefile", "../../testdata/docs/developers-reference.pdf").Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "page-14"), png, 0o644) // no extension: told by its bytes
	code, _, stderr := cli(t, nil, "run", src, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "chunks", "page-14.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Text          string   `json:"text"`
		OCRConfidence *float64 `json:"ocr_confidence"`
	}
	json.Unmarshal(b[:bytes.IndexByte(b, '\n')], &rec)
	if !strings.Contains(rec.Text, "mentors") || rec.OCRConfidence == nil || *rec.OCRConfidence < 0.8 {
		t.Errorf("chunk %q, ocr_confidence %v", rec.Text[:min(len(rec.Text), 200)], rec.OCRConfidence)
	}
}

// A text PDF with one page scanned back in: the text layer is kept, the scanned page is
// read by OCR (real Tesseract), and only its chunks carry an OCR confidence.
func TestRunMixedPDF(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("tesseract"); err != nil {
		testenv.Missing(t, "tesseract-ocr")
	}
	mixed, err := pdftest.MixedPDF("../../testdata/docs/developers-reference.pdf", 13, 15, map[int]bool{14: true})
	if err != nil {
		testenv.Missing(t, "poppler-utils: "+err.Error())
	}
	src, out := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(src, "contract.pdf"), mixed, 0o644)
	if code, _, stderr := cli(t, nil, "run", src, "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "chunks", "contract.pdf.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	pages, ocrChunks := map[int]bool{}, 0
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var rec struct {
			PageStart     int      `json:"page_start"`
			PageEnd       int      `json:"page_end"`
			OCRConfidence *float64 `json:"ocr_confidence"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatal(err)
		}
		pages[rec.PageStart] = true
		onScan := rec.PageStart <= 2 && rec.PageEnd >= 2
		if (rec.OCRConfidence != nil) != onScan {
			t.Errorf("chunk on pages %d-%d: ocr_confidence %v", rec.PageStart, rec.PageEnd, rec.OCRConfidence)
		}
		if rec.OCRConfidence != nil {
			ocrChunks++
		}
	}
	if !pages[1] || !pages[2] || !pages[3] || ocrChunks == 0 {
		t.Errorf("chunks start on pages %v; %d with OCR text", pages, ocrChunks)
	}
}

func TestReindexLocal(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	for i := 0; i < 3; i++ {
		os.WriteFile(filepath.Join(src, fmt.Sprintf("n%d.txt", i)), []byte(fmt.Sprintf("note number %d", i)), 0o644)
	}
	out := t.TempDir()
	code, _, stderr := cli(t, nil, "reindex", src, "--out", out, "--dry-run")
	if code != 0 || !strings.Contains(stderr, "dry run: new 3") {
		t.Fatalf("dry run: exit %d: %s", code, stderr)
	}
	code, _, stderr = cli(t, nil, "reindex", src, "--out", out)
	if code != 0 || !strings.Contains(stderr, "reindex: 3 processed") {
		t.Fatalf("reindex: exit %d: %s", code, stderr)
	}
	os.Remove(filepath.Join(src, "n1.txt"))
	code, _, stderr = cli(t, nil, "reindex", src, "--out", out)
	if code != 0 || !strings.Contains(stderr, "unchanged 2") || !strings.Contains(stderr, "1 removed") {
		t.Fatalf("after a delete: exit %d: %s", code, stderr)
	}
	code, _, stderr = cli(t, nil, "reindex", src, "--out", out, "--enqueue", "http://127.0.0.1:1/q")
	if code != exitUsage || !strings.Contains(stderr, "--enqueue needs an s3:// SRC") {
		t.Fatalf("enqueue on a folder: exit %d: %s", code, stderr)
	}
	// Shards: each new note is planned by exactly one of them.
	for _, name := range []string{"a.txt", "m.txt", "z.txt"} {
		os.WriteFile(filepath.Join(src, name), []byte("note "+name), 0o644)
	}
	processed := 0
	for _, shard := range []string{"0/3", "1/3", "2/3"} {
		code, stdout, stderr := cli(t, nil, "reindex", src, "--out", out, "--shard", shard, "--json")
		var r struct{ Processed int }
		if code != 0 || json.Unmarshal([]byte(stdout), &r) != nil {
			t.Fatalf("--shard %s: exit %d: %s%s", shard, code, stdout, stderr)
		}
		processed += r.Processed
	}
	if processed != 3 {
		t.Errorf("three shards processed %d new notes, want 3", processed)
	}
	for _, bad := range []string{"3/3", "-1/2", "1", "a/b", "0/0"} {
		if code, _, stderr := cli(t, nil, "reindex", src, "--out", out, "--shard", bad, "--dry-run"); code != exitUsage || !strings.Contains(stderr, "--shard") {
			t.Errorf("--shard %s: exit %d: %s", bad, code, stderr)
		}
	}
}

// A PDF that hangs the PDF library forever is killed in its child process at the time
// limit; the run records it and goes on.
func TestRunKillsHungPDF(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "hangs.pdf"), pdftest.SelfPrevXrefPDF(), 0o644)
	os.WriteFile(filepath.Join(src, "fine.pdf"), pdftest.TextPDF("%PDF-1.4", []string{"A fine PDF."}), 0o644)
	out := t.TempDir()
	// long enough for a fine PDF in a child of a -race test binary on a loaded machine
	env := []string{"DOCINGEST_LIMITS_PDF_TIMEOUT_BASE=8s", "DOCINGEST_LIMITS_PDF_TIMEOUT_PER_PAGE=0s"}
	start := time.Now()
	code, _, stderr := cli(t, env, "run", src, "--out", out)
	if code != exitFailures || !strings.Contains(stderr, "failed: hangs.pdf: timeout") || !strings.Contains(stderr, "1 processed") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("took %s", d)
	}
	text, err := os.ReadFile(filepath.Join(out, "text", "fine.pdf.txt"))
	if err != nil || string(text) != "A fine PDF." {
		t.Fatalf("fine.pdf: %q %v", text, err)
	}
}

// A PDF that inflates past the child's memory cap is a memory failure naming the cap and
// what stopped it: the kernel in the child's cgroup where this process may make one (as
// root on the build machines), else the parent's polling; the run goes on.
func TestRunPDFMemoryCap(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "bomb.pdf"), pdftest.BombPDF(200<<20), 0o644)
	os.WriteFile(filepath.Join(src, "fine.pdf"), pdftest.TextPDF("%PDF-1.4", []string{"A fine PDF."}), 0o644)
	kernel := "stopped by its resident memory, polled"
	if _, err := cgroup.Find(""); err == nil {
		kernel = "stopped by the kernel's OOM killer in its cgroup"
	}
	for setting, want := range map[string]string{"auto": kernel, "off": "stopped by its resident memory, polled"} {
		out := t.TempDir()
		// a fine PDF in a child of this -race binary stays under 128 MiB; the text cap is out of the way
		env := []string{"DOCINGEST_LIMITS_PDF_MEMORY_BYTES=128MiB", "DOCINGEST_LIMITS_MAX_TEXT_BYTES=400MiB", "DOCINGEST_LIMITS_PDF_CGROUP=" + setting}
		code, _, stderr := cli(t, env, "run", src, "--out", out)
		if code != exitFailures || !strings.Contains(stderr, "failed: bomb.pdf: memory") || !strings.Contains(stderr, "1 processed") {
			t.Fatalf("pdf_cgroup %s: exit %d: %s", setting, code, stderr)
		}
		_, stdout, _ := cli(t, nil, "failed", "list", "--out", out, "--json")
		if !strings.Contains(stdout, "memory cap of 128 MiB") || !strings.Contains(stdout, want) {
			t.Fatalf("pdf_cgroup %s: the failure record does not say %q:\n%s", setting, want, stdout)
		}
	}
}

// `config print` documents every key it writes, and no two keys share a variable.
func TestConfigDocsCoverEveryKey(t *testing.T) {
	t.Parallel()
	keys := configfile.Keys(DefaultConfig(), envPrefix)
	if len(keys) < 80 {
		t.Fatalf("walked %d keys: the walk is broken", len(keys))
	}
	env := map[string]string{}
	for _, k := range keys {
		if k.Doc == "" {
			t.Errorf("config key %s has no doc tag", k.Path)
		}
		if other, ok := env[k.Env]; ok {
			t.Errorf("%s and %s share the variable %s", other, k.Path, k.Env)
		}
		env[k.Env] = k.Path
	}
	code, stdout, stderr := cli(t, nil, "config", "print")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, k := range keys {
		if !strings.Contains(stdout, "# "+k.Doc) {
			t.Errorf("config print does not document %s", k.Path)
		}
	}
}

// Go types never reach the user: no "main.", no package-qualified type, no "!!str".
func TestConfigErrorsSpeakYAML(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, body := range []string{
		"chunking:\n  max_sise: 10\n", "labeling:\n  classes: legal\n", "chunking: 5\n", "run:\n  concurrency: [1]\n",
		"labeling:\n  classes:\n    - name: [a]\n", "limits:\n  max_object_bytes: {a: 1}\n", "chunking:\n  overrides: [{prefix: a, overlap: x}]\n",
		"run:\n  concurrency: 1\nrun:\n  concurrency: 2\n",
	} {
		p := filepath.Join(dir, "c.yaml")
		os.WriteFile(p, []byte(body), 0o644)
		_, err := LoadConfig(p, nil)
		if err == nil {
			t.Errorf("%q loaded", body)
			continue
		}
		msg := err.Error()
		for _, leak := range []string{"main.", "labeling.Class", "chunkers.", "!!", "reflect", "int64", "[]"} {
			if strings.Contains(msg, leak) {
				t.Errorf("%q: error leaks %q: %s", body, leak, msg)
			}
		}
		if !strings.Contains(msg, "line ") {
			t.Errorf("%q: error names no line: %s", body, msg)
		}
	}
}

// Nested keys are set from the environment, an empty variable empties a text key (turning
// the metrics endpoint off), and DOCINGEST_TEST_* belongs to the test harness.
func TestEnvNestedKeys(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig("", []string{
		"DOCINGEST_LABELING_REDACT_EMAILS=false", "DOCINGEST_LABELING_GROUND_TRUTH_ROLE_ARN=arn:aws:iam::111122223333:role/gt",
		"DOCINGEST_WORKER_METRICS_ADDR=", "DOCINGEST_TEST_ANYTHING=1", "DOCINGEST_LIMITS_MAX_OBJECT_BYTES=1.5GB",
		"DOCINGEST_LABELING_CLASSES=[{name: a, description: x}, {name: b, description: y}]", "DOCINGEST_LABELING_ATTRIBUTE=007",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Labeling.Redact.Emails || cfg.Labeling.GroundTruth.RoleARN != "arn:aws:iam::111122223333:role/gt" || cfg.Worker.MetricsAddr != "" ||
		cfg.Limits.MaxObjectBytes != 1.5e9 || len(cfg.Labeling.Classes) != 2 || cfg.Labeling.Classes[1].Name != "b" || cfg.Labeling.Attribute != "007" {
		t.Fatalf("environment not applied: %+v", cfg)
	}
	if _, err := LoadConfig("", []string{"DOCINGEST_RUN_CONCURRENCY="}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("an empty number was accepted: %v", err)
	}
}

// Byte sizes take the usual spellings and print back as written.
func TestByteSizesPrintReadably(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := cli(t, []string{"DOCINGEST_LIMITS_MAX_OBJECT_BYTES=100MB", "DOCINGEST_LIMITS_MAX_TEXT_BYTES=100mb", "DOCINGEST_LIMITS_PDF_MEMORY_BYTES=1.5GB"}, "config", "print")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"max_object_bytes: 100MB\n", "max_text_bytes: 100MB\n", "pdf_memory_bytes: 1500MB\n", "pdfium_memory_bytes: 2GiB\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("config print lacks %q", want)
		}
	}
}

// A local source's records name its content by sha256 and carry no etag (a local change
// token is size and mtime, which the state keeps as a planning shortcut, named as such).
func TestLocalRecordsCarrySHA256(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	body := []byte("# Title\n\nSome text that is long enough to make one chunk of output.\n")
	os.WriteFile(filepath.Join(src, "a.md"), body, 0o644)
	if code, _, stderr := cli(t, nil, "run", src, "--out", filepath.Join(dir, "out")); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	line, err := os.ReadFile(filepath.Join(dir, "out", "chunks", "a.md.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Source map[string]any `json:"source"`
	}
	if err := json.Unmarshal(bytes.SplitN(line, []byte("\n"), 2)[0], &rec); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if rec.Source["sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("source.sha256 = %v, want the content's", rec.Source["sha256"])
	}
	if _, ok := rec.Source["etag"]; ok {
		t.Errorf("a local source's record carries an etag: %v", rec.Source)
	}
	head, err := os.ReadFile(filepath.Join(dir, "out", "state", "a.md", "head.json"))
	if err != nil || !bytes.Contains(head, []byte(`"etag": "size-mtime:`)) {
		t.Errorf("state head does not name its token as size and mtime: %s %v", head, err)
	}
}

// Tesseract and catdoc are asked for their versions only when a document needs them (a
// PDF, an image, a legacy Office file, an e-mail): a run over plain text starts neither,
// and does not redo its documents when one does.
func TestToolsStartedOnlyWhenNeeded(t *testing.T) {
	t.Parallel()
	dir, log := t.TempDir(), filepath.Join(t.TempDir(), "calls")
	for _, tool := range []string{"tesseract", "catdoc"} {
		real, err := exec.LookPath(tool)
		if err != nil {
			testenv.Missing(t, tool+" (Debian packages tesseract-ocr, catdoc)")
		}
		script := "#!/bin/sh\necho \"" + tool + " $*\" >> " + log + "\nexec " + real + " \"$@\"\n"
		if err := os.WriteFile(filepath.Join(dir, tool), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")}
	src, out := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(src, "notes.txt"), []byte("Forty-two herons and one kingfisher by the old mill."), 0o644)
	os.WriteFile(filepath.Join(src, "guide.md"), []byte("# Herons\n\nThey stand in the shallows."), 0o644)
	if code, output := cliProcess(t, env, "run", src, "--out", out); code != 0 || !strings.Contains(output, "2 processed") {
		t.Fatalf("exit %d: %s", code, output)
	}
	if b, err := os.ReadFile(log); err == nil || len(b) > 0 {
		t.Errorf("a run over plain text started outside programs:\n%s", b)
	}
	// an image: OCR is asked for, and the text is not redone
	var png bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	if err := imagepng.Encode(&png, img); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "blank.png"), png.Bytes(), 0o644)
	code, output := cliProcess(t, env, "run", src, "--out", out)
	if !strings.Contains(output, "2 unchanged") || !strings.Contains(output, "3 documents") {
		t.Errorf("exit %d, want the two text files unchanged: %s", code, output)
	}
	b, _ := os.ReadFile(log)
	if !strings.Contains(string(b), "tesseract --version") || !strings.Contains(string(b), "catdoc -V") {
		t.Errorf("a run with an image did not ask the tools for their versions:\n%s", b)
	}
}
