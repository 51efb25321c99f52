// Package deploy_test checks the deployment files against each other and against the
// code: manifests parse into the Kubernetes API types, Terraform parses as HCL, timeouts
// are consistent, and the worker's IAM policy grants exactly the actions of the SDK
// operations the code calls.
package deploy_test

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3vectors"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// documents splits a YAML file into its documents.
func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}

func strict(t *testing.T, doc []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%T: %v", v, err)
	}
}

// scaledObject holds the fields of KEDA's ScaledObject that we use (KEDA's types are not
// among the Kubernetes API types).
type scaledObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		ScaleTargetRef struct {
			Name string `json:"name"`
		} `json:"scaleTargetRef"`
		MinReplicaCount int `json:"minReplicaCount"`
		Fallback        *struct {
			FailureThreshold int `json:"failureThreshold"`
			Replicas         int `json:"replicas"`
		} `json:"fallback"`
		MaxReplicaCount int `json:"maxReplicaCount"`
		PollingInterval int `json:"pollingInterval"`
		CooldownPeriod  int `json:"cooldownPeriod"`
		Triggers        []struct {
			Type              string            `json:"type"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef struct {
				Name string `json:"name"`
			} `json:"authenticationRef"`
		} `json:"triggers"`
	} `json:"spec"`
}

// workerSettings are the worker timings of the ConfigMap's docingest.yaml.
type workerSettings struct {
	Worker struct {
		WaitTime          string `json:"wait_time"`
		VisibilityTimeout string `json:"visibility_timeout"`
		Heartbeat         string `json:"heartbeat"`
		DrainTimeout      string `json:"drain_timeout"`
		MetricsAddr       string `json:"metrics_addr"`
		Pprof             bool   `json:"pprof"`
	} `json:"worker"`
}

func dur(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type manifests struct {
	deploy   appsv1.Deployment
	config   corev1.ConfigMap
	settings workerSettings
	sa       corev1.ServiceAccount
	pdb      policyv1.PodDisruptionBudget
	cron     batchv1.CronJob
	scaled   scaledObject
}

func loadManifests(t *testing.T) manifests {
	var m manifests
	strict(t, documents(t, "k8s/worker.yaml")[0], &m.deploy)
	strict(t, documents(t, "k8s/configmap.yaml")[0], &m.config)
	strict(t, documents(t, "k8s/serviceaccount.yaml")[0], &m.sa)
	strict(t, documents(t, "k8s/pdb.yaml")[0], &m.pdb)
	strict(t, documents(t, "k8s/reindex-cronjob.yaml")[0], &m.cron)
	keda := documents(t, "k8s/keda-scaledobject.yaml")
	if err := yaml.Unmarshal(keda[0], &m.scaled); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(m.config.Data["docingest.yaml"]), &m.settings); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t)
	w := m.settings.Worker
	drain, wait, hb, vis := dur(t, w.DrainTimeout), dur(t, w.WaitTime), dur(t, w.Heartbeat), dur(t, w.VisibilityTimeout)
	pod := m.deploy.Spec.Template.Spec
	if pod.TerminationGracePeriodSeconds == nil || time.Duration(*pod.TerminationGracePeriodSeconds)*time.Second <= drain+wait {
		t.Errorf("terminationGracePeriodSeconds must exceed drain_timeout (%s) plus one long poll (%s)", drain, wait)
	}
	if hb >= vis {
		t.Errorf("heartbeat %s must be below the visibility timeout %s", hb, vis)
	}
	if pod.ServiceAccountName != m.sa.Name || m.sa.Annotations["eks.amazonaws.com/role-arn"] == "" {
		t.Error("the worker must run as the IRSA service account")
	}
	c := pod.Containers[0]
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("readiness must probe /readyz")
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("liveness must probe /healthz")
	}
	if len(c.Ports) == 0 || c.Ports[0].Name != "metrics" || ":"+itoa(int(c.Ports[0].ContainerPort)) != w.MetricsAddr {
		t.Errorf("metrics port %v does not match worker.metrics_addr %q", c.Ports, w.MetricsAddr)
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Error("requests and limits must be set")
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("the worker must run as non-root")
	}
	queue := envOf(c, "QUEUE_URL")
	if len(m.scaled.Spec.Triggers) != 1 || m.scaled.Spec.Triggers[0].Type != "aws-sqs-queue" ||
		m.scaled.Spec.Triggers[0].Metadata["queueURL"] != queue || m.scaled.Spec.ScaleTargetRef.Name != m.deploy.Name {
		t.Errorf("the ScaledObject must scale the worker Deployment on its queue %q: %+v", queue, m.scaled.Spec)
	}
	if m.scaled.Spec.MaxReplicaCount < 1 || m.scaled.Spec.Triggers[0].Metadata["queueLength"] == "" {
		t.Error("the ScaledObject needs a maximum and a queue length per replica")
	}
	for k, v := range m.pdb.Spec.Selector.MatchLabels {
		if m.deploy.Spec.Template.Labels[k] != v {
			t.Errorf("the PodDisruptionBudget does not select the worker pods (%s=%s)", k, v)
		}
	}
	job := m.cron.Spec.JobTemplate.Spec.Template.Spec
	if job.Containers[0].Args[0] != "reindex" || job.ServiceAccountName != m.sa.Name || m.cron.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Error("the CronJob must run one reindex at a time as the worker's service account")
	}
	if !slices.Contains(job.Containers[0].Args, queue) {
		t.Error("the reindex must enqueue onto the workers' queue")
	}
	// The ConfigMap's configuration is accepted by docingest itself.
	cfg := filepath.Join(t.TempDir(), "docingest.yaml")
	os.WriteFile(cfg, []byte(m.config.Data["docingest.yaml"]), 0o644)
	if out, err := exec.Command("go", "run", "../cmd/docingest", "config", "print", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("docingest rejects the ConfigMap's configuration: %v\n%s", err, out)
	}
}

func envOf(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// terraform holds the parsed .tf files.
type terraform struct {
	blocks []*hclsyntax.Block
	vars   map[string]cty.Value
}

func loadTerraform(t *testing.T) terraform {
	t.Helper()
	return loadTerraformEdited(t, nil)
}

// loadTerraformEdited is loadTerraform with each file's text passed through edit first
// (mutation checks break a file and expect a test to notice).
func loadTerraformEdited(t *testing.T, edit func(name, src string) string) terraform {
	t.Helper()
	files, _ := filepath.Glob("terraform/*.tf")
	if len(files) == 0 {
		t.Fatal("no terraform files")
	}
	tf := terraform{vars: map[string]cty.Value{}}
	for _, f := range files {
		src, _ := os.ReadFile(f)
		if edit != nil {
			src = []byte(edit(filepath.Base(f), string(src)))
		}
		file, diags := hclsyntax.ParseConfig(src, f, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", f, diags)
		}
		tf.blocks = append(tf.blocks, file.Body.(*hclsyntax.Body).Blocks...)
	}
	for _, b := range tf.find("variable") {
		if a, ok := b.Body.Attributes["default"]; ok {
			v, _ := a.Expr.Value(nil)
			tf.vars[b.Labels[0]] = v
		} else {
			tf.vars[b.Labels[0]] = cty.StringVal("REQUIRED-" + b.Labels[0])
		}
	}
	return tf
}

func (tf terraform) find(typ string, labels ...string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range tf.blocks {
		if b.Type == typ && len(b.Labels) >= len(labels) && slices.Equal(b.Labels[:len(labels)], labels) {
			out = append(out, b)
		}
	}
	return out
}

func (tf terraform) one(t *testing.T, typ string, labels ...string) *hclsyntax.Block {
	t.Helper()
	bs := tf.find(typ, labels...)
	if len(bs) != 1 {
		t.Fatalf("want one %s %v, found %d", typ, labels, len(bs))
	}
	return bs[0]
}

func (tf terraform) eval(t *testing.T, e hclsyntax.Expression) cty.Value {
	t.Helper()
	v, diags := e.Value(&hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(tf.vars)}})
	if diags.HasErrors() {
		t.Fatalf("%v", diags)
	}
	return v
}

// refs returns the "type.name" roots of the references in an expression.
func refs(e hclsyntax.Expression) []string {
	var out []string
	for _, tr := range e.Variables() {
		if len(tr) >= 2 {
			if attr, ok := tr[1].(hcl.TraverseAttr); ok {
				out = append(out, tr.RootName()+"."+attr.Name)
			}
		}
	}
	return out
}

func TestTerraform(t *testing.T) {
	tf := loadTerraform(t)
	m := loadManifests(t)
	queue := tf.one(t, "resource", "aws_sqs_queue", "uploads")
	secs, _ := tf.eval(t, queue.Body.Attributes["visibility_timeout_seconds"].Expr).AsBigFloat().Int64()
	vis := time.Duration(secs) * time.Second
	w := m.settings.Worker
	if vis < dur(t, w.DrainTimeout)+dur(t, w.Heartbeat) {
		t.Errorf("queue visibility %s must cover drain_timeout %s plus a heartbeat %s", vis, w.DrainTimeout, w.Heartbeat)
	}
	if vis != dur(t, w.VisibilityTimeout) {
		t.Errorf("queue visibility %s differs from worker.visibility_timeout %s", vis, w.VisibilityTimeout)
	}
	redrive, ok := queue.Body.Attributes["redrive_policy"]
	if !ok || !slices.Contains(refs(redrive.Expr), "aws_sqs_queue.dlq") {
		t.Error("the queue has no redrive policy to the DLQ")
	}
	notif := tf.one(t, "resource", "aws_s3_bucket_notification", "input")
	if q := notif.Body.Blocks[0]; q.Type != "queue" || !slices.Contains(refs(q.Body.Attributes["queue_arn"].Expr), "aws_sqs_queue.uploads") {
		t.Error("the input bucket does not notify the queue")
	}
	pab := tf.one(t, "resource", "aws_s3_bucket_public_access_block", "output")
	for _, k := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
		if v := tf.eval(t, pab.Body.Attributes[k].Expr); !v.True() {
			t.Errorf("output bucket: %s is not true", k)
		}
	}
	sse := tf.one(t, "resource", "aws_s3_bucket_server_side_encryption_configuration", "output")
	if def := sse.Body.Blocks[0].Body.Blocks[0]; tf.eval(t, def.Body.Attributes["sse_algorithm"].Expr).AsString() != "aws:kms" {
		t.Error("outputs are not encrypted with SSE-KMS")
	}
	for _, o := range []string{"queue_url", "worker_role_arn", "ground_truth_role_arn"} {
		tf.one(t, "output", o)
	}
}

// iamTable is deploy/iam-actions.json.
type iamTable struct {
	Operations []struct {
		Service, Operation, Action, Via string
	}
	ExtraActions []struct {
		Action, Reason string
	} `json:"extra_actions"`
	WildcardResources []struct {
		Action, Reason string
	} `json:"wildcard_resources"`
}

func loadTable(t *testing.T) iamTable {
	t.Helper()
	b, err := os.ReadFile("iam-actions.json")
	if err != nil {
		t.Fatal(err)
	}
	var tab iamTable
	if err := json.Unmarshal(b, &tab); err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestWorkerPolicyMatchesTable(t *testing.T) {
	tf := loadTerraform(t)
	tab := loadTable(t)
	want := map[string]bool{}
	for _, o := range tab.Operations {
		want[o.Action] = true
	}
	for _, x := range tab.ExtraActions {
		if x.Reason == "" {
			t.Errorf("%s: extra action without a reason", x.Action)
		}
		want[x.Action] = true
	}
	wildcardOK := map[string]bool{}
	for _, x := range tab.WildcardResources {
		wildcardOK[x.Action] = x.Reason != ""
	}
	allowedRoots := map[string]bool{
		"aws_s3_bucket.input": true, "aws_s3_bucket.output": true, "aws_sqs_queue.uploads": true,
		"aws_kms_key.output": true, "aws_iam_role.ground_truth": true, "var.output_prefix": true, "aws_s3vectors_index.chunks": true,
		"var.region": true, "var.name": true, "var.bedrock_embedding_model": true, "var.sagemaker_embedding_endpoint": true, "data.aws_caller_identity": true,
	}
	got := map[string]bool{}
	doc := tf.one(t, "data", "aws_iam_policy_document", "worker")
	for _, st := range doc.Body.Blocks {
		if st.Type != "statement" {
			continue
		}
		actions := tf.evalStrings(t, st.Body.Attributes["actions"].Expr)
		res := st.Body.Attributes["resources"].Expr
		for _, a := range actions {
			if strings.Contains(a, "*") {
				t.Errorf("wildcard action %q", a)
			}
			got[a] = true
		}
		roots := refs(res)
		if len(roots) == 0 {
			for _, a := range actions {
				if !wildcardOK[a] {
					t.Errorf("statement %v: resources are not scoped to the project's buckets, queue, key or role", actions)
				}
			}
		}
		for _, r := range roots {
			if !allowedRoots[r] {
				t.Errorf("statement %v: resource %s is not one of the project's", actions, r)
			}
		}
		if lit, ok := res.(*hclsyntax.TupleConsExpr); ok {
			for _, e := range lit.Exprs {
				if tmpl, ok := e.(*hclsyntax.TemplateExpr); ok && len(tmpl.Parts) == 1 {
					if v, _ := tmpl.Parts[0].Value(nil); v.Type() == cty.String && v.AsString() == "*" {
						for _, a := range actions {
							if !wildcardOK[a] {
								t.Errorf("statement %v: resource \"*\" for %s, which the table does not allow", actions, a)
							}
						}
					}
				}
			}
		}
	}
	for a := range want {
		if !got[a] {
			t.Errorf("the worker policy lacks %s", a)
		}
	}
	for a := range got {
		if !want[a] {
			t.Errorf("the worker policy grants %s, which no operation in the table needs", a)
		}
	}
}

func (tf terraform) evalStrings(t *testing.T, e hclsyntax.Expression) []string {
	t.Helper()
	v := tf.eval(t, e)
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, s := it.Element()
		out = append(out, s.AsString())
	}
	return out
}

// TestTableMatchesCode finds every S3 and SQS client operation the production code calls
// (method calls whose name is an operation of the SDK clients, and their paginators) and
// compares them with the table's direct operations.
func TestTableMatchesCode(t *testing.T) {
	ops := map[string]bool{}
	for _, typ := range []reflect.Type{reflect.TypeOf(&s3.Client{}), reflect.TypeOf(&sqs.Client{}),
		reflect.TypeOf(&bedrockruntime.Client{}), reflect.TypeOf(&sagemakerruntime.Client{}), reflect.TypeOf(&sagemaker.Client{}), reflect.TypeOf(&s3vectors.Client{})} {
		for i := 0; i < typ.NumMethod(); i++ {
			ops[typ.Method(i).Name] = true
		}
	}
	delete(ops, "Options")
	called := map[string]string{}
	for _, dir := range []string{"../cmd/docingest", "../worker", "../storage", "../embedders", "../labeling", "../queue/sqsqueue", "../vectorindex"} {
		pkgs, err := parser.ParseDir(token.NewFileSet(), dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkgs {
			for name, f := range p.Files {
				ast.Inspect(f, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					op := sel.Sel.Name
					if p, ok := strings.CutPrefix(op, "New"); ok && strings.HasSuffix(p, "Paginator") {
						op = strings.TrimSuffix(p, "Paginator")
					}
					if ops[op] && sel.Sel.Name != "New" {
						called[op] = name
					}
					return true
				})
			}
		}
	}
	tab := loadTable(t)
	direct := map[string]bool{}
	for _, o := range tab.Operations {
		if o.Via == "direct" {
			direct[o.Operation] = true
		}
	}
	for op, file := range called {
		if !direct[op] {
			t.Errorf("%s calls %s, which deploy/iam-actions.json does not list", file, op)
		}
	}
	for op := range direct {
		if _, ok := called[op]; !ok {
			t.Errorf("deploy/iam-actions.json lists %s, which the code no longer calls", op)
		}
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	user := ""
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			img := f[1]
			if strings.HasPrefix(img, "--") { // --platform=...
				img = f[2]
			}
			froms = append(froms, img)
		case "USER":
			user = f[1]
		}
	}
	if len(froms) < 2 {
		t.Fatal("not a multi-stage build")
	}
	last := froms[len(froms)-1]
	if !strings.HasPrefix(last, "gcr.io/distroless/static") && last != "scratch" {
		t.Errorf("final stage %s is neither distroless/static nor scratch", last)
	}
	if !strings.Contains(string(b), "FROM --platform=linux/amd64 gcr.io/distroless/cc-debian12:nonroot AS worker-onnx") || !strings.Contains(string(b), "-tags onnx") {
		t.Error("no worker-onnx target built with -tags onnx on distroless/cc")
	}
	if user == "" || strings.HasPrefix(user, "0") || user == "root" {
		t.Errorf("runs as %q, not a non-root user", user)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-X main.version=${VERSION}", "./cmd/docingest",
		// cross-compiled for each target platform on the build machine's own
		"FROM --platform=$BUILDPLATFORM golang:", "GOOS=${TARGETOS} GOARCH=${TARGETARCH}",
		// OCI labels with the real version stamp
		`org.opencontainers.image.version="${VERSION}"`, `org.opencontainers.image.revision="${REVISION}"`, `org.opencontainers.image.source=`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the build lacks %q", want)
		}
	}
}

// TestStaticBuild builds the binary the Dockerfile builds and checks it is static and
// stamped with its version.
// TestStaticBuild cross-compiles the static image's binary for both of its platforms, as
// the Dockerfile does, and checks each is a static ELF for its machine; the native one
// must also run and print its version stamp.
func TestStaticBuild(t *testing.T) {
	for _, arch := range []struct {
		goarch  string
		machine elf.Machine
	}{{"amd64", elf.EM_X86_64}, {"arm64", elf.EM_AARCH64}} {
		bin := filepath.Join(t.TempDir(), "docingest-"+arch.goarch)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=v9.9.9-test", "-o", bin, "../cmd/docingest")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch.goarch)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("CGO_ENABLED=0 GOARCH=%s go build: %v\n%s", arch.goarch, err, out)
		}
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		if f.Machine != arch.machine {
			t.Errorf("%s: an ELF for %v", arch.goarch, f.Machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Fatalf("%s: the binary needs a dynamic loader: not static", arch.goarch)
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Fatalf("%s: the binary links %v", arch.goarch, libs)
		}
		f.Close()
		if arch.goarch != runtime.GOARCH {
			continue
		}
		out, err := exec.Command(bin, "version").Output()
		if err != nil || !strings.HasPrefix(string(out), "docingest v9.9.9-test") {
			t.Fatalf("version: %q %v", out, err)
		}
	}
}

// triggerAuthentication holds the fields of KEDA's TriggerAuthentication that we use.
type triggerAuthentication struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		PodIdentity struct {
			Provider      string `json:"provider"`
			IdentityOwner string `json:"identityOwner"`
			RoleArn       string `json:"roleArn"`
		} `json:"podIdentity"`
	} `json:"spec"`
}

// kedaProblems lists why KEDA could not read the queue depth, or would leave the fleet at
// zero when it cannot: the TriggerAuthentication must use the workload's identity (else
// KEDA uses its operator's own role, which nothing grants access to the queue), that
// identity (the worker role of the service account's IRSA annotation) must hold
// sqs:GetQueueAttributes on the scaled queue and trust KEDA's service account, and a
// ScaledObject that can scale to zero needs a fallback.
func kedaProblems(t *testing.T, tf terraform, kedaYAML []byte) []string {
	t.Helper()
	var problems []string
	var so scaledObject
	var ta triggerAuthentication
	for _, doc := range bytes.Split(kedaYAML, []byte("\n---\n")) {
		var kind struct{ Kind string }
		if err := yaml.Unmarshal(doc, &kind); err != nil {
			t.Fatal(err)
		}
		switch kind.Kind {
		case "ScaledObject":
			if err := yaml.Unmarshal(doc, &so); err != nil {
				t.Fatal(err)
			}
		case "TriggerAuthentication":
			if err := yaml.Unmarshal(doc, &ta); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(so.Spec.Triggers) == 0 || so.Spec.Triggers[0].AuthenticationRef.Name != ta.Metadata.Name {
		problems = append(problems, "the trigger does not name the TriggerAuthentication")
	}
	if pi := ta.Spec.PodIdentity; pi.Provider != "aws" || pi.IdentityOwner != "workload" || pi.RoleArn != "" {
		problems = append(problems, fmt.Sprintf("podIdentity %+v: without identityOwner: workload KEDA reads the queue with its operator's own role", pi))
	}
	if so.Spec.MinReplicaCount == 0 && (so.Spec.Fallback == nil || so.Spec.Fallback.Replicas < 1 || so.Spec.Fallback.FailureThreshold < 1) {
		problems = append(problems, "minReplicaCount 0 without a fallback: a scaler that cannot read the queue leaves no workers")
	}
	// the workload identity: the worker role must read the queue's attributes...
	canRead := false
	for _, st := range tf.one(t, "data", "aws_iam_policy_document", "worker").Body.Blocks {
		if st.Type == "statement" && slices.Contains(tf.evalStrings(t, st.Body.Attributes["actions"].Expr), "sqs:GetQueueAttributes") &&
			slices.Contains(refs(st.Body.Attributes["resources"].Expr), "aws_sqs_queue.uploads") {
			canRead = true
		}
	}
	if !canRead {
		problems = append(problems, "the worker role cannot call sqs:GetQueueAttributes on the queue")
	}
	// ...and trust KEDA's own service account
	keda := "system:serviceaccount:" + tf.vars["keda_namespace"].AsString() + ":" + tf.vars["keda_service_account"].AsString()
	trusted := false
	for _, st := range tf.one(t, "data", "aws_iam_policy_document", "worker_trust").Body.Blocks {
		if st.Type != "statement" || !slices.Contains(tf.evalStrings(t, st.Body.Attributes["actions"].Expr), "sts:AssumeRoleWithWebIdentity") {
			continue
		}
		for _, c := range st.Body.Blocks {
			if c.Type == "condition" && strings.HasSuffix(tf.eval(t, c.Body.Attributes["variable"].Expr).AsString(), ":sub") &&
				slices.Contains(tf.evalStrings(t, c.Body.Attributes["values"].Expr), keda) {
				trusted = true
			}
		}
	}
	if !trusted {
		problems = append(problems, "the worker role does not trust KEDA's service account "+keda)
	}
	return problems
}

func TestKedaCanReadTheQueue(t *testing.T) {
	kedaYAML, err := os.ReadFile("k8s/keda-scaledobject.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p := kedaProblems(t, loadTerraform(t), kedaYAML); len(p) > 0 {
		t.Fatalf("KEDA cannot scale the workers: %v", p)
	}
	// each break of the pairing is noticed
	tfEdit := func(file, from, to string) func(string, string) string {
		return func(name, src string) string {
			if name == file {
				if !strings.Contains(src, from) {
					t.Fatalf("mutation: %q not in %s", from, file)
				}
				return strings.Replace(src, from, to, 1)
			}
			return src
		}
	}
	mutations := []struct {
		name string
		tf   func(string, string) string
		yaml func(string) string
	}{
		{"KEDA's default identity", nil, func(s string) string {
			return strings.Replace(s, "    identityOwner: workload\n", "    identityOwner: keda\n", 1)
		}},
		{"no fallback", nil, func(s string) string {
			return strings.Replace(s, "  fallback:\n    failureThreshold: 3\n    replicas: 2\n", "", 1)
		}},
		{"no GetQueueAttributes", tfEdit("iam.tf", `, "sqs:GetQueueAttributes"]`, "]"), nil},
		{"KEDA not trusted", tfEdit("iam.tf", `system:serviceaccount:${var.keda_namespace}`, `system:serviceaccount:${var.k8s_namespace}`), nil},
	}
	for _, m := range mutations {
		y := string(kedaYAML)
		if m.yaml != nil {
			if y = m.yaml(y); y == string(kedaYAML) {
				t.Fatalf("mutation %q changed nothing", m.name)
			}
		}
		if p := kedaProblems(t, loadTerraformEdited(t, m.tf), []byte(y)); len(p) == 0 {
			t.Errorf("mutation %q went unnoticed", m.name)
		}
	}
}

// iamProblems lists what the least-privilege rules find wrong: the Ground Truth role's
// policy grants only its labeling data and the output key, its trust is limited to this
// account's labeling jobs of this deployment, and listing the output bucket is limited to
// the output prefix (the labeling folder for Ground Truth).
func iamProblems(t *testing.T, tf terraform) []string {
	t.Helper()
	var problems []string
	gtActions := map[string]bool{}
	for _, st := range tf.one(t, "data", "aws_iam_policy_document", "ground_truth").Body.Blocks {
		if st.Type == "statement" {
			for _, a := range tf.evalStrings(t, st.Body.Attributes["actions"].Expr) {
				gtActions[a] = true
			}
		}
	}
	for a := range gtActions {
		if !map[string]bool{"s3:GetObject": true, "s3:PutObject": true, "s3:ListBucket": true, "kms:GenerateDataKey": true, "kms:Decrypt": true}[a] {
			problems = append(problems, "the Ground Truth role may "+a)
		}
	}
	conds := func(st *hclsyntax.Block) map[string][]string {
		out := map[string][]string{}
		for _, c := range st.Body.Blocks {
			if c.Type == "condition" {
				v := tf.eval(t, c.Body.Attributes["variable"].Expr).AsString()
				for _, r := range c.Body.Attributes["values"].Expr.(*hclsyntax.TupleConsExpr).Exprs {
					if tmpl, ok := r.(*hclsyntax.TemplateExpr); ok {
						var parts []string
						for _, p := range tmpl.Parts {
							if lit, ok := p.(*hclsyntax.LiteralValueExpr); ok {
								parts = append(parts, lit.Val.AsString())
							} else {
								parts = append(parts, "${}")
							}
						}
						out[v] = append(out[v], strings.Join(parts, ""))
					} else {
						out[v] = append(out[v], strings.Join(refs(r), ","))
					}
				}
			}
		}
		return out
	}
	for _, st := range tf.one(t, "data", "aws_iam_policy_document", "ground_truth_trust").Body.Blocks {
		if st.Type != "statement" {
			continue
		}
		c := conds(st)
		if len(c["aws:SourceAccount"]) == 0 || len(c["aws:SourceArn"]) == 0 || !strings.Contains(strings.Join(c["aws:SourceArn"], " "), ":labeling-job/") {
			problems = append(problems, fmt.Sprintf("the Ground Truth role's trust is not limited by aws:SourceAccount and aws:SourceArn (labeling jobs): %v", c))
		}
	}
	for _, doc := range []string{"worker", "ground_truth"} {
		for _, st := range tf.one(t, "data", "aws_iam_policy_document", doc).Body.Blocks {
			if st.Type != "statement" || !slices.Contains(tf.evalStrings(t, st.Body.Attributes["actions"].Expr), "s3:ListBucket") ||
				!slices.Contains(refs(st.Body.Attributes["resources"].Expr), "aws_s3_bucket.output") {
				continue
			}
			if p := conds(st)["s3:prefix"]; len(p) == 0 || !strings.HasPrefix(p[0], "${}") {
				problems = append(problems, doc+": s3:ListBucket on the output bucket without an s3:prefix condition on the output prefix")
			}
		}
	}
	return problems
}

func TestIAMLeastPrivilege(t *testing.T) {
	if p := iamProblems(t, loadTerraform(t)); len(p) > 0 {
		t.Fatalf("%v", p)
	}
	for name, edit := range map[string][2]string{
		"vectors for Ground Truth": {`sid       = "OutputKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.output.arn]
  }
}

resource "aws_iam_role_policy" "ground_truth"`, `sid       = "OutputKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt", "s3vectors:PutVectors"]
    resources = [aws_kms_key.output.arn]
  }
}

resource "aws_iam_role_policy" "ground_truth"`},
		"no SourceArn":       {`variable = "aws:SourceArn"`, `variable = "aws:PrincipalArn"`},
		"no SourceAccount":   {`variable = "aws:SourceAccount"`, `variable = "aws:PrincipalAccount"`},
		"output list open":   {`values   = ["${var.output_prefix}*"]`, `values   = ["*"]`},
		"labeling list open": {`values   = ["${var.output_prefix}labeling/*"]`, `values   = ["*"]`},
	} {
		tf := loadTerraformEdited(t, func(file, src string) string {
			if file != "iam.tf" {
				return src
			}
			if !strings.Contains(src, edit[0]) {
				t.Fatalf("mutation %q: %q not in iam.tf", name, edit[0])
			}
			return strings.Replace(src, edit[0], edit[1], 1)
		})
		if p := iamProblems(t, tf); len(p) == 0 {
			t.Errorf("mutation %q went unnoticed", name)
		}
	}
}

// alarmProblems lists what is missing from the queue alarms: the DLQ not empty, the age of
// the oldest message, and no deletes while messages wait, each notifying the SNS topic.
func alarmProblems(t *testing.T, tf terraform) []string {
	t.Helper()
	var problems []string
	want := map[string]struct {
		queue, metric string
	}{
		"dlq_not_empty":  {"aws_sqs_queue.dlq", "ApproximateNumberOfMessagesVisible"},
		"oldest_message": {"aws_sqs_queue.uploads", "ApproximateAgeOfOldestMessage"},
		"no_progress":    {"aws_sqs_queue.uploads", "NumberOfMessagesDeleted"},
	}
	for name, w := range want {
		bs := tf.find("resource", "aws_cloudwatch_metric_alarm", name)
		if len(bs) != 1 {
			problems = append(problems, "no alarm "+name)
			continue
		}
		b := bs[0]
		var metrics []*hclsyntax.Body
		if _, ok := b.Body.Attributes["metric_name"]; ok {
			metrics = append(metrics, b.Body)
		}
		expr := ""
		for _, q := range b.Body.Blocks {
			if q.Type != "metric_query" {
				continue
			}
			if e, ok := q.Body.Attributes["expression"]; ok {
				expr = tf.eval(t, e.Expr).AsString()
			}
			for _, m := range q.Body.Blocks {
				if m.Type == "metric" {
					metrics = append(metrics, m.Body)
				}
			}
		}
		found := false
		for _, m := range metrics {
			if tf.eval(t, m.Attributes["metric_name"].Expr).AsString() == w.metric && slices.Contains(refs(m.Attributes["dimensions"].Expr), w.queue) {
				found = true
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("alarm %s does not watch %s of %s", name, w.metric, w.queue))
		}
		if name == "no_progress" && (!strings.Contains(expr, "waiting > 0") || !strings.Contains(expr, "deleted == 0")) {
			problems = append(problems, "alarm no_progress does not combine waiting and deleted messages: "+expr)
		}
		if a, ok := b.Body.Attributes["alarm_actions"]; !ok || !slices.Contains(refs(a.Expr), "local.alarm_actions") {
			problems = append(problems, "alarm "+name+" notifies nobody")
		}
	}
	topic := false
	for _, l := range tf.find("locals") {
		if a, ok := l.Body.Attributes["alarm_actions"]; ok && slices.Contains(refs(a.Expr), "var.alarm_sns_topic_arn") {
			topic = true
		}
	}
	if !topic {
		problems = append(problems, "the alarms' actions are not the SNS topic variable")
	}
	return problems
}

func TestQueueAlarms(t *testing.T) {
	if p := alarmProblems(t, loadTerraform(t)); len(p) > 0 {
		t.Fatalf("%v", p)
	}
	for name, edit := range map[string][2]string{
		"DLQ alarm on the main queue": {`dimensions          = { QueueName = aws_sqs_queue.dlq.name }`, `dimensions          = { QueueName = aws_sqs_queue.uploads.name }`},
		"no actions": {`  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Uploads waiting`, `}

# Uploads waiting`},
		"no deletes ignored": {`IF(waiting > 0 AND deleted == 0, 1, 0)`, `IF(waiting > 0, 1, 0)`},
	} {
		tf := loadTerraformEdited(t, func(file, src string) string {
			if file != "alarms.tf" {
				return src
			}
			if !strings.Contains(src, edit[0]) {
				t.Fatalf("mutation %q: %q not in alarms.tf", name, edit[0])
			}
			return strings.Replace(src, edit[0], edit[1], 1)
		})
		if p := alarmProblems(t, tf); len(p) == 0 {
			t.Errorf("mutation %q went unnoticed", name)
		}
	}
}

// The metrics Service, ServiceMonitor and NetworkPolicy reach the worker's metrics port,
// and only from the monitoring namespace; the Namespace is the one every manifest uses.
func TestMonitoringManifests(t *testing.T) {
	m := loadManifests(t)
	var ns corev1.Namespace
	strict(t, documents(t, "k8s/namespace.yaml")[0], &ns)
	if ns.Name != m.deploy.Namespace {
		t.Errorf("namespace.yaml names %q; the worker runs in %q", ns.Name, m.deploy.Namespace)
	}
	docs := documents(t, "k8s/monitoring.yaml")
	if len(docs) != 3 {
		t.Fatalf("monitoring.yaml: %d documents, want Service, ServiceMonitor, NetworkPolicy", len(docs))
	}
	var svc corev1.Service
	strict(t, docs[0], &svc)
	var mon struct {
		Kind string `json:"kind"`
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			Endpoints []struct {
				Port, Path string
			} `json:"endpoints"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(docs[1], &mon); err != nil || mon.Kind != "ServiceMonitor" {
		t.Fatalf("ServiceMonitor: %v (%s)", err, mon.Kind)
	}
	var np networkingv1.NetworkPolicy
	strict(t, docs[2], &np)
	pods := m.deploy.Spec.Template.Labels
	port := m.deploy.Spec.Template.Spec.Containers[0].Ports[0]
	for k, v := range svc.Spec.Selector {
		if pods[k] != v {
			t.Errorf("the metrics Service does not select the worker pods (%s=%s)", k, v)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.StrVal != port.Name || svc.Spec.Ports[0].Name != port.Name {
		t.Errorf("the metrics Service does not target the container port %q: %+v", port.Name, svc.Spec.Ports)
	}
	for k, v := range mon.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("the ServiceMonitor does not select the metrics Service (%s=%s)", k, v)
		}
	}
	if len(mon.Spec.Endpoints) != 1 || mon.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name || mon.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("the ServiceMonitor does not scrape /metrics on the Service's port: %+v", mon.Spec.Endpoints)
	}
	for k, v := range np.Spec.PodSelector.MatchLabels {
		if pods[k] != v {
			t.Errorf("the NetworkPolicy does not select the worker pods (%s=%s)", k, v)
		}
	}
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 1 || np.Spec.Ingress[0].From[0].NamespaceSelector == nil ||
		np.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" ||
		len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.StrVal != port.Name {
		t.Errorf("the NetworkPolicy must admit only the monitoring namespace, to the metrics port: %+v", np.Spec.Ingress)
	}
	if m.settings.Worker.MetricsAddr == "" {
		t.Error("worker.metrics_addr is empty: nothing to scrape")
	}
	if m.settings.Worker.Pprof {
		t.Error("worker.pprof is on in the ConfigMap: profiles would be served on the metrics port")
	}
}

// deploy/terraform is a module: no provider inside it; examples/complete is a root that
// configures the provider and a remote state backend, and sets every variable the module
// requires (those without a default).
func TestTerraformModule(t *testing.T) {
	tf := loadTerraform(t)
	if ps := tf.find("provider"); len(ps) > 0 {
		t.Errorf("the module configures %d provider(s): that is its caller's job", len(ps))
	}
	var required []string
	for _, v := range tf.find("variable") {
		if _, ok := v.Body.Attributes["default"]; !ok {
			required = append(required, v.Labels[0])
		}
	}
	src, err := os.ReadFile("terraform/examples/complete/main.tf")
	if err != nil {
		t.Fatal(err)
	}
	file, diags := hclsyntax.ParseConfig(src, "main.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ex := terraform{blocks: file.Body.(*hclsyntax.Body).Blocks}
	if len(ex.find("provider", "aws")) != 1 {
		t.Error("the example configures no aws provider")
	}
	backend := false
	for _, b := range ex.find("terraform") {
		for _, inner := range b.Body.Blocks {
			backend = backend || (inner.Type == "backend" && len(inner.Labels) == 1 && inner.Labels[0] == "s3")
		}
	}
	if !backend {
		t.Error("the example has no remote state backend")
	}
	mods := ex.find("module", "docingest")
	if len(mods) != 1 {
		t.Fatal("the example does not use the module")
	}
	if v, _ := mods[0].Body.Attributes["source"].Expr.Value(nil); v.AsString() != "../.." {
		t.Errorf("the example's module source is %q", v.AsString())
	}
	for _, r := range required {
		if _, ok := mods[0].Body.Attributes[r]; !ok {
			t.Errorf("the example does not set the required variable %s", r)
		}
	}
	for name := range mods[0].Body.Attributes {
		if name != "source" && len(tf.find("variable", name)) == 0 {
			t.Errorf("the example sets %s, which the module does not declare", name)
		}
	}
	// versioned buckets whose old versions expire and whose incomplete uploads are aborted:
	// one versioning and one lifecycle resource over local.buckets, which holds both
	covered := false
	for _, l := range tf.find("locals") {
		if a, ok := l.Body.Attributes["buckets"]; ok {
			r := refs(a.Expr)
			covered = slices.Contains(r, "aws_s3_bucket.input") && slices.Contains(r, "aws_s3_bucket.output")
		}
	}
	if !covered {
		t.Error("local.buckets does not hold both the input and the output bucket")
	}
	overBuckets := func(b *hclsyntax.Block) bool {
		fe, ok := b.Body.Attributes["for_each"]
		return ok && slices.Contains(refs(fe.Expr), "local.buckets")
	}
	v := tf.find("resource", "aws_s3_bucket_versioning", "buckets")
	if len(v) != 1 || !overBuckets(v[0]) || tf.eval(t, v[0].Body.Blocks[0].Body.Attributes["status"].Expr).AsString() != "Enabled" {
		t.Error("the buckets are not versioned")
	}
	lc := tf.find("resource", "aws_s3_bucket_lifecycle_configuration", "buckets")
	if len(lc) != 1 || !overBuckets(lc[0]) {
		t.Fatal("the buckets have no lifecycle rules")
	}
	seen := map[string]bool{}
	for _, rule := range lc[0].Body.Blocks {
		for _, b := range rule.Body.Blocks {
			seen[b.Type] = true
		}
	}
	if !seen["noncurrent_version_expiration"] || !seen["abort_incomplete_multipart_upload"] {
		t.Errorf("the buckets' lifecycle lacks noncurrent expiry or multipart abort: %v", seen)
	}
}
