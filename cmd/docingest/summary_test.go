package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docingest/docingest/internal/emulators"
)

// TestRunJSONSummary: --json prints one object on standard output with the counts the
// summary line gives, failures by reason, and nothing else on standard output.
func TestRunJSONSummary(t *testing.T) {
	t.Parallel()
	out, src := t.TempDir(), t.TempDir()
	n := copyFiles(t, src, "../../testdata/docs") + copyFiles(t, src, "../../testdata/hostile")
	code, stdout, stderr := cli(t, nil, "run", src, "--out", out, "--json")
	if code != exitFailures {
		t.Fatalf("exit %d, want %d (hostile documents fail); stderr %s", code, exitFailures, stderr)
	}
	var r report
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stdout is not one JSON report: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("more than one object on stdout: %s", stdout)
	}
	if r.Documents != n || r.Processed+r.Failed+r.Unchanged != r.Documents || r.Failed == 0 || r.Processed == 0 {
		t.Errorf("report %+v for %d documents", r, n)
	}
	byReason := 0
	for reason, n := range r.FailedByReason {
		byReason += n
		if !strings.Contains(stderr, ": "+reason+": ") {
			t.Errorf("reason %q counted but no failure line names it", reason)
		}
	}
	if byReason != r.Failed {
		t.Errorf("failed_by_reason sums to %d, failed is %d", byReason, r.Failed)
	}
	if r.InputBytes <= 0 || r.Chunks <= 0 || r.Seconds <= 0 || r.DryRun {
		t.Errorf("report %+v", r)
	}

	// Again: everything unchanged, and the dry run's JSON is alone on stdout too.
	code, stdout, _ = cli(t, nil, "run", src, "--out", out, "--json", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run exit %d", code)
	}
	var dry report
	if err := json.Unmarshal([]byte(stdout), &dry); err != nil {
		t.Fatalf("dry run stdout: %v\n%s", err, stdout)
	}
	if !dry.DryRun || dry.Documents != r.Documents || dry.Unchanged != r.Processed+r.Failed || dry.PlannedBytes != 0 {
		t.Errorf("dry run report %+v after %+v", dry, r)
	}
}

// copyFiles copies the files of dir into dst and returns how many.
func copyFiles(t *testing.T, dst, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// TestProgressLines: when standard error is not a terminal, a long run prints a line at
// every tick with what is done so far, and none after finish.
func TestProgressLines(t *testing.T) {
	var stderr bytes.Buffer
	tick, printed := make(chan time.Time), make(chan struct{})
	a := &app{stderr: &stderr, tick: tick, printed: printed}
	p := a.startProgress("processing", 4_000_000)
	tick <- time.Now()
	<-printed // the line is out before the counts change
	p.add(1_000_000, false)
	p.add(1_000_000, true)
	tick <- time.Now()
	<-printed
	p.finish()
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 progress lines, got %q", lines)
	}
	if !strings.HasPrefix(lines[0], "processing: 0 documents, 0.0 MB of 4.0 MB (0%), 0 failed") ||
		!strings.HasPrefix(lines[1], "processing: 2 documents, 2.0 MB of 4.0 MB (50%), 1 failed") {
		t.Errorf("progress lines %q", lines)
	}
}

// TestRetryWithNothingFailed says so instead of summarising a run over every document.
func TestRetryWithNothingFailed(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	if code, _, stderr := cli(t, nil, "run", "../../testdata/docs", "--out", out); code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	code, _, stderr := cli(t, nil, "failed", "retry", "../../testdata/docs", "--out", out)
	if code != 0 || !strings.Contains(stderr, "nothing failed") || strings.Contains(stderr, "documents:") {
		t.Errorf("exit %d, stderr %q; want exit 0 saying nothing failed", code, stderr)
	}
}

// TestFailedListMissingOutput: a missing folder or an S3 prefix that holds nothing is an
// error, not "0 failure records".
func TestFailedListMissingOutput(t *testing.T) {
	t.Parallel()
	code, _, stderr := cli(t, nil, "failed", "list", "--out", filepath.Join(t.TempDir(), "nowhere"))
	if code != exitUsage || !strings.Contains(stderr, "does not exist") || strings.Contains(stderr, "failure records") {
		t.Errorf("missing folder: exit %d, stderr %q", code, stderr)
	}
	s3URL := emulators.GoFakeS3(t)
	c := emulators.S3Client(s3URL)
	emulators.CreateBucket(t, c, "out")
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("out"), Key: aws.String("v1/failed/a.json"),
		Body: strings.NewReader(`{"source":"a","reason":"corrupt","error":"bad","permanent":true,"attempts":1}`)}); err != nil {
		t.Fatal(err)
	}
	env := s3Env(s3URL)
	code, out := cliProcess(t, env, "failed", "list", "--out", "s3://out/v2")
	if code != exitUsage || !strings.Contains(out, "s3://out/v2 does not exist") {
		t.Errorf("mistyped prefix: exit %d, output %q", code, out)
	}
	code, out = cliProcess(t, env, "failed", "list", "--out", "s3://out/v1")
	if code != 0 || !strings.Contains(out, "1 failure records") {
		t.Errorf("existing prefix: exit %d, output %q", code, out)
	}
}

// s3Env points the CLI at an S3 emulator with credentials.
func s3Env(s3URL string) []string {
	return []string{"AWS_ENDPOINT_URL_S3=" + s3URL, "AWS_REGION=" + emulators.Region, "AWS_ACCESS_KEY_ID=" + emulators.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + emulators.SecretKey, "DOCINGEST_AWS_S3_PATH_STYLE=true", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent"}
}

// TestUnreadableLocationsStopBeforeWork: an s3:// source or output that cannot be read
// (no credentials, no such bucket) is exit 2 with the reason, before any summary, for
// run, run --dry-run and reindex alike.
func TestUnreadableLocationsStopBeforeWork(t *testing.T) {
	t.Parallel()
	s3URL := emulators.GoFakeS3(t)
	c := emulators.S3Client(s3URL)
	emulators.CreateBucket(t, c, "uploads")
	emulators.CreateBucket(t, c, "out")
	withKeys := s3Env(s3URL)
	noKeys := []string{"AWS_ENDPOINT_URL_S3=" + s3URL, "AWS_REGION=" + emulators.Region, "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true", "AWS_CONTAINER_CREDENTIALS_FULL_URI=", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=", "AWS_WEB_IDENTITY_TOKEN_FILE=",
		"DOCINGEST_AWS_S3_PATH_STYLE=true"}
	local := t.TempDir()
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"source without credentials", noKeys, []string{"run", "s3://uploads/docs/", "--out", local}, "SRC s3://uploads/docs/ cannot be read"},
		{"dry run without credentials", noKeys, []string{"run", "s3://uploads/docs/", "--out", local, "--dry-run"}, "SRC s3://uploads/docs/ cannot be read"},
		{"reindex without credentials", noKeys, []string{"reindex", "s3://uploads/docs/", "--out", local}, "SRC s3://uploads/docs/ cannot be read"},
		{"no such source bucket", withKeys, []string{"run", "s3://nosuch/docs/", "--out", local}, "SRC s3://nosuch/docs/ cannot be read"},
		{"no such output bucket", withKeys, []string{"run", "../../testdata/docs", "--out", "s3://nosuch/v1"}, "--out s3://nosuch/v1 cannot be read"},
		{"output without credentials", noKeys, []string{"reindex", "../../testdata/docs", "--out", "s3://out/v1", "--dry-run"}, "--out s3://out/v1 cannot be read"},
	}
	for _, tc := range cases {
		code, out := cliProcess(t, tc.env, tc.args...)
		if code != exitUsage || !strings.Contains(out, tc.want) || strings.Contains(out, "documents:") || strings.Contains(out, "plan:") || strings.Contains(out, "dry run:") {
			t.Errorf("%s: exit %d, output %q; want exit %d naming %q and no summary", tc.name, code, out, exitUsage, tc.want)
		}
	}
	// The same source with credentials works (the probe is not what fails).
	if code, out := cliProcess(t, withKeys, "run", "s3://uploads/docs/", "--out", local, "--dry-run"); code != 0 || !strings.Contains(out, "dry run: 0 documents") {
		t.Errorf("readable empty source: exit %d, output %q", code, out)
	}
}

// TestFlagTypoSuggestion: a mistyped flag names the nearest one.
func TestFlagTypoSuggestion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "x", "--output", "y"}, "unknown flag: --output (did you mean --out?)"},
		{[]string{"run", "x", "--out", "y", "--concurency", "2"}, "(did you mean --concurrency?)"},
		{[]string{"failed", "list", "--jsn"}, "(did you mean --json?)"},
		{[]string{"labeling", "list", "--confg", "x"}, "(did you mean --config?)"},
	} {
		code, _, stderr := cli(t, nil, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
	_, stdout, _ := cli(t, nil, "run", "--help")
	if !strings.Contains(stdout, "s3://") {
		t.Errorf("run --help never mentions s3://:\n%s", stdout)
	}
	_, stdout, _ = cli(t, nil, "labeling", "list", "--help")
	if strings.Contains(stdout, "simulate") {
		t.Errorf("labeling list --help mentions simulate:\n%s", stdout)
	}
}
