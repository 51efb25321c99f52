package deploy_test

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docingest/docingest/internal/testenv"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

const (
	chartDir      = "helm/docingest"
	exampleValues = "helm/example-values.yaml"
	// manifestHeader starts every file in k8s/: they are the chart's output.
	manifestHeader = "# Rendered from deploy/helm/docingest with deploy/helm/example-values.yaml (release docingest,\n" +
		"# namespace docingest): edit the chart, then DOCINGEST_UPDATE_MANIFESTS=1 go test ./deploy -run TestPlainManifestsAreTheChart\n"
)

// renderChart renders the chart the way helm install does (release "docingest" in the
// namespace "docingest" unless release says otherwise), with the example values overlaid
// by set (dotted keys; a nil value removes the key). It returns each rendered manifest
// by its template's file name, leaving out templates that render to nothing.
func renderChart(t *testing.T, release string, set map[string]any) (map[string]string, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	vals, err := chartutil.ReadValuesFile(exampleValues)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		parts := strings.Split(k, ".")
		m := map[string]any(vals)
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		m[parts[len(parts)-1]] = v // nil removes the key when the chart's defaults are coalesced
	}
	if release == "" {
		release = "docingest"
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{
		Name: release, Namespace: "docingest", Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	out, err := engine.Engine{Strict: true}.Render(ch, rv)
	if err != nil {
		return nil, err
	}
	files := map[string]string{}
	for name, body := range out {
		if !strings.HasSuffix(name, ".yaml") || strings.TrimSpace(body) == "" {
			continue
		}
		files[path.Base(name)] = body
	}
	return files, nil
}

func mustRender(t *testing.T, release string, set map[string]any) map[string]string {
	t.Helper()
	files, err := renderChart(t, release, set)
	if err != nil {
		t.Fatalf("rendering the chart: %v", err)
	}
	return files
}

// The plain manifests in k8s/ are the chart rendered with the example values, byte for
// byte, so the tests of k8s/ in deploy_test.go test the chart's output.
func TestPlainManifestsAreTheChart(t *testing.T) {
	files := mustRender(t, "", nil)
	update := os.Getenv("DOCINGEST_UPDATE_MANIFESTS") == "1"
	if update {
		old, _ := filepath.Glob("k8s/*.yaml")
		for _, f := range old {
			os.Remove(f)
		}
	}
	for name, body := range files {
		want := manifestHeader + strings.TrimLeft(body, "\n")
		if !strings.HasSuffix(want, "\n") {
			want += "\n"
		}
		testenv.Golden(t, want, filepath.Join("k8s", name), update)
	}
	have, _ := filepath.Glob("k8s/*.yaml")
	for _, p := range have {
		if _, ok := files[filepath.Base(p)]; !ok {
			t.Errorf("%s is not rendered by the chart", p)
		}
	}
	if len(files) < 9 {
		t.Errorf("the chart rendered %d manifests; the example values turn every part on", len(files))
	}
}

// parseAll strictly parses every rendered document into its Kubernetes API type (KEDA's
// and the Prometheus Operator's kinds into a generic map) and returns them by kind/name.
func parseAll(t *testing.T, files map[string]string) map[string]any {
	t.Helper()
	objs := map[string]any{}
	for name, body := range files {
		for _, doc := range bytes.Split([]byte(body), []byte("\n---\n")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			var head struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name, Namespace string
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var v any
			switch head.Kind {
			case "Deployment":
				v = &appsv1.Deployment{}
			case "CronJob":
				v = &batchv1.CronJob{}
			case "ConfigMap":
				v = &corev1.ConfigMap{}
			case "ServiceAccount":
				v = &corev1.ServiceAccount{}
			case "Service":
				v = &corev1.Service{}
			case "Namespace":
				v = &corev1.Namespace{}
			case "NetworkPolicy":
				v = &networkingv1.NetworkPolicy{}
			case "PodDisruptionBudget":
				v = &policyv1.PodDisruptionBudget{}
			case "ScaledObject", "TriggerAuthentication", "ServiceMonitor", "PrometheusRule":
				v = &map[string]any{}
			default:
				t.Fatalf("%s: unexpected kind %q", name, head.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, v); err != nil {
				t.Fatalf("%s: %s: %v", name, head.Kind, err)
			}
			if head.Kind != "Namespace" && head.Metadata.Namespace != "docingest" {
				t.Errorf("%s: %s %s is in namespace %q, not the release's", name, head.Kind, head.Metadata.Name, head.Metadata.Namespace)
			}
			objs[head.Kind+"/"+head.Metadata.Name] = v
		}
	}
	return objs
}

func kinds(objs map[string]any) []string {
	var k []string
	for name := range objs {
		k = append(k, name)
	}
	slices.Sort(k)
	return k
}

// Every value a platform team sets reaches the objects that use it, and each switch adds
// or removes exactly its objects.
func TestChartValues(t *testing.T) {
	t.Run("image", func(t *testing.T) {
		objs := parseAll(t, mustRender(t, "", map[string]any{
			"image.repository": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docingest",
			"image.tag":        "v9.9.9",
			"image.digest":     "sha256:" + strings.Repeat("ab", 32),
		}))
		want := "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docingest:v9.9.9@sha256:" + strings.Repeat("ab", 32)
		d := objs["Deployment/docingest-worker"].(*appsv1.Deployment)
		c := objs["CronJob/docingest-reindex"].(*batchv1.CronJob)
		if got := d.Spec.Template.Spec.Containers[0].Image; got != want {
			t.Errorf("worker image %q, want %q", got, want)
		}
		if got := c.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image; got != want {
			t.Errorf("reindex image %q, want %q", got, want)
		}
		// without a tag, the chart's appVersion
		ch, _ := loader.Load(chartDir)
		d = parseAll(t, mustRender(t, "", nil))["Deployment/docingest-worker"].(*appsv1.Deployment)
		if got := d.Spec.Template.Spec.Containers[0].Image; got != "ghcr.io/docingest/docingest:"+ch.Metadata.AppVersion {
			t.Errorf("default image %q, want the appVersion %q", got, ch.Metadata.AppVersion)
		}
	})

	t.Run("account values appear once each", func(t *testing.T) {
		objs := parseAll(t, mustRender(t, "", map[string]any{
			"queueUrl":               "https://sqs.us-east-2.amazonaws.com/210987654321/q",
			"output":                 "s3://out-bucket/p",
			"region":                 "us-east-2",
			"kmsKeyId":               "arn:aws:kms:us-east-2:210987654321:key/k",
			"serviceAccount.roleArn": "arn:aws:iam::210987654321:role/w",
			"reindex.source":         "s3://in-bucket/",
		}))
		d := objs["Deployment/docingest-worker"].(*appsv1.Deployment)
		w := d.Spec.Template.Spec.Containers[0]
		if envOf(w, "QUEUE_URL") != "https://sqs.us-east-2.amazonaws.com/210987654321/q" || envOf(w, "OUTPUT_URI") != "s3://out-bucket/p" ||
			envOf(w, "DOCINGEST_AWS_KMS_KEY_ID") != "arn:aws:kms:us-east-2:210987654321:key/k" {
			t.Errorf("worker env: %+v", w.Env)
		}
		sa := objs["ServiceAccount/docingest"].(*corev1.ServiceAccount)
		if sa.Annotations["eks.amazonaws.com/role-arn"] != "arn:aws:iam::210987654321:role/w" {
			t.Errorf("service account: %+v", sa.Annotations)
		}
		cm := objs["ConfigMap/docingest"].(*corev1.ConfigMap)
		var cfg struct {
			AWS struct {
				Region string `json:"region"`
			} `json:"aws"`
		}
		yaml.Unmarshal([]byte(cm.Data["docingest.yaml"]), &cfg)
		if cfg.AWS.Region != "us-east-2" {
			t.Errorf("config aws.region %q", cfg.AWS.Region)
		}
		so := *objs["ScaledObject/docingest-worker"].(*map[string]any)
		trig := so["spec"].(map[string]any)["triggers"].([]any)[0].(map[string]any)["metadata"].(map[string]any)
		if trig["queueURL"] != "https://sqs.us-east-2.amazonaws.com/210987654321/q" || trig["awsRegion"] != "us-east-2" {
			t.Errorf("KEDA trigger: %v", trig)
		}
		args := objs["CronJob/docingest-reindex"].(*batchv1.CronJob).Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args
		if !slices.Equal(args, []string{"reindex", "s3://in-bucket/", "--config", "/etc/docingest/docingest.yaml",
			"--out", "s3://out-bucket/p", "--enqueue", "https://sqs.us-east-2.amazonaws.com/210987654321/q"}) {
			t.Errorf("reindex args %q", args)
		}
	})

	t.Run("required values", func(t *testing.T) {
		for key, msg := range map[string]string{
			"queueUrl":               "queueUrl is required",
			"output":                 "output is required",
			"region":                 "region is required",
			"serviceAccount.roleArn": "serviceAccount.roleArn is required",
			"reindex.source":         "reindex.source is required",
		} {
			_, err := renderChart(t, "", map[string]any{key: ""})
			if err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("without %s: %v, want %q", key, err, msg)
			}
		}
		if _, err := renderChart(t, "", map[string]any{"reindex.source": "", "reindex.enabled": false}); err != nil {
			t.Errorf("reindex.source is needed only with reindex on: %v", err)
		}
		if _, err := renderChart(t, "", map[string]any{"output": "/data/out"}); err == nil || !strings.Contains(err.Error(), "s3://") {
			t.Errorf("a folder output must be refused: %v", err)
		}
		if _, err := renderChart(t, "", map[string]any{"config.worker.pprof": true}); err == nil || !strings.Contains(err.Error(), "pprof") {
			t.Errorf("pprof on must be refused: %v", err)
		}
	})

	t.Run("switches", func(t *testing.T) {
		all := kinds(parseAll(t, mustRender(t, "", nil)))
		wantAll := []string{"ConfigMap/docingest", "CronJob/docingest-reindex", "Deployment/docingest-worker", "Namespace/docingest",
			"NetworkPolicy/docingest-worker-metrics", "PodDisruptionBudget/docingest-worker", "PrometheusRule/docingest-worker",
			"ScaledObject/docingest-worker", "Service/docingest-worker-metrics", "ServiceAccount/docingest",
			"ServiceMonitor/docingest-worker", "TriggerAuthentication/docingest-keda-aws"}
		if !slices.Equal(all, wantAll) {
			t.Errorf("objects %q, want %q", all, wantAll)
		}
		objs := parseAll(t, mustRender(t, "", map[string]any{
			"keda.enabled": false, "worker.replicas": 3, "reindex.enabled": false, "namespace.create": false,
			"monitoring.serviceMonitor": false, "monitoring.prometheusRule": false, "monitoring.networkPolicy": false,
		}))
		got := kinds(objs)
		want := []string{"ConfigMap/docingest", "Deployment/docingest-worker", "PodDisruptionBudget/docingest-worker",
			"Service/docingest-worker-metrics", "ServiceAccount/docingest"}
		if !slices.Equal(got, want) {
			t.Errorf("with every switch off: %q, want %q", got, want)
		}
		if r := objs["Deployment/docingest-worker"].(*appsv1.Deployment).Spec.Replicas; r == nil || *r != 3 {
			t.Errorf("without KEDA the Deployment must set worker.replicas: %v", r)
		}
		if r := parseAll(t, mustRender(t, "", nil))["Deployment/docingest-worker"].(*appsv1.Deployment).Spec.Replicas; r != nil {
			t.Errorf("with KEDA on the Deployment must leave replicas to KEDA (got %d): each helm upgrade would reset them", *r)
		}
	})

	t.Run("reindex shards", func(t *testing.T) {
		c := parseAll(t, mustRender(t, "", map[string]any{"reindex.shards": 4}))["CronJob/docingest-reindex"].(*batchv1.CronJob)
		job := c.Spec.JobTemplate.Spec
		if job.CompletionMode == nil || *job.CompletionMode != batchv1.IndexedCompletion || job.Completions == nil || *job.Completions != 4 ||
			job.Parallelism == nil || *job.Parallelism != 4 {
			t.Errorf("4 shards: not an Indexed Job of 4: %+v", job)
		}
		args := job.Template.Spec.Containers[0].Args
		if i := slices.Index(args, "--shard"); i < 0 || args[i+1] != "$(JOB_COMPLETION_INDEX)/4" {
			t.Errorf("4 shards: args %q", args)
		}
		env := job.Template.Spec.Containers[0].Env
		if i := slices.IndexFunc(env, func(e corev1.EnvVar) bool { return e.Name == "JOB_COMPLETION_INDEX" }); i < 0 || env[i].ValueFrom == nil ||
			env[i].ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			t.Errorf("4 shards: $(JOB_COMPLETION_INDEX) is not declared for expansion: %+v", env)
		}
		one := parseAll(t, mustRender(t, "", nil))["CronJob/docingest-reindex"].(*batchv1.CronJob).Spec.JobTemplate.Spec
		if one.CompletionMode != nil || slices.Contains(one.Template.Spec.Containers[0].Args, "--shard") {
			t.Errorf("1 shard: %+v", one)
		}
		// the sort runs need a writable /tmp under a read-only root file system
		pod := one.Template.Spec
		mounted := false
		for _, m := range pod.Containers[0].VolumeMounts {
			for _, v := range pod.Volumes {
				if m.Name == v.Name && m.MountPath == "/tmp" && v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil {
					mounted = true
				}
			}
		}
		if !mounted {
			t.Error("the reindex pod has no size-limited emptyDir at /tmp for its sort runs")
		}
	})

	t.Run("metrics port follows the configuration", func(t *testing.T) {
		objs := parseAll(t, mustRender(t, "", map[string]any{"config.worker.metrics_addr": "0.0.0.0:9191"}))
		d := objs["Deployment/docingest-worker"].(*appsv1.Deployment)
		svc := objs["Service/docingest-worker-metrics"].(*corev1.Service)
		if p := d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort; p != 9191 {
			t.Errorf("container port %d, want 9191", p)
		}
		if p := svc.Spec.Ports[0].Port; p != 9191 {
			t.Errorf("service port %d, want 9191", p)
		}
	})

	t.Run("a second release does not select the first one's pods", func(t *testing.T) {
		a := parseAll(t, mustRender(t, "", nil))
		b := parseAll(t, mustRender(t, "acme", nil))
		da := a["Deployment/docingest-worker"].(*appsv1.Deployment)
		db, ok := b["Deployment/acme-worker"].(*appsv1.Deployment)
		if !ok {
			t.Fatalf("release acme: %q", kinds(b))
		}
		sel := db.Spec.Selector.MatchLabels
		matches := true
		for k, v := range sel {
			if da.Spec.Template.Labels[k] != v {
				matches = false
			}
		}
		if matches {
			t.Errorf("release acme's selector %v matches release docingest's pods %v", sel, da.Spec.Template.Labels)
		}
	})

	t.Run("a new configuration rolls the pods", func(t *testing.T) {
		a := parseAll(t, mustRender(t, "", nil))["Deployment/docingest-worker"].(*appsv1.Deployment)
		b := parseAll(t, mustRender(t, "", map[string]any{"config.run.concurrency": 2}))["Deployment/docingest-worker"].(*appsv1.Deployment)
		ka, kb := a.Spec.Template.Annotations["checksum/config"], b.Spec.Template.Annotations["checksum/config"]
		if ka == "" || ka == kb {
			t.Errorf("checksum/config %q and %q: a config change must change the pod template", ka, kb)
		}
	})
}

// values.schema.json refuses misspelt keys and malformed values before anything renders.
func TestChartSchema(t *testing.T) {
	for _, c := range []struct {
		key  string
		val  any
		want string
	}{
		{"queueURL", "https://sqs.eu-west-1.amazonaws.com/111122223333/q", "queueURL"},
		{"queueUrl", "docingest-uploads", "queueUrl"},
		{"region", "Ireland", "region"},
		{"serviceAccount.roleArn", "docingest-worker", "roleArn"},
		{"keda.fallback.replicas", 0, "replicas"},
		{"keda.minReplica", 1, "minReplica"},
		{"image.digest", "latest", "digest"},
		{"reindex.source", "docingest-input", "source"},
		{"config.worker.metrics_addr", "metrics", "metrics_addr"},
	} {
		_, err := renderChart(t, "", map[string]any{c.key: c.val})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%v: %v, want a schema error naming %s", c.key, c.val, err, c.want)
		}
	}
}
