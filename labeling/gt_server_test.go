package labeling

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// gtServer speaks SageMaker's JSON 1.1 protocol for the four labeling-job operations,
// checks every CreateLabelingJob request the way the service would (required fields, the
// region's Lambda ARNs, a valid and unused name, S3 objects that exist), and moves jobs
// InProgress → Completed, writing an output manifest with the labels an oracle gives.
type gtServer struct {
	t      *testing.T
	s3     *s3.Client
	region string
	// oracle labels a text as a human would; "" makes the item fail.
	oracle func(text string) string
	// throttle the next n requests
	throttle int
	// failJobs makes jobs end Failed
	failJobs bool
	// hold keeps jobs InProgress until StopLabelingJob
	hold  bool
	stops int

	mu       sync.Mutex
	jobs     map[string]*fakeJob
	order    []string
	creates  int
	requests []map[string]any
}

type fakeJob struct {
	req       map[string]any
	describes int
	status    string
	created   time.Time
	output    string
}

var jobNameRE = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)

func (g *gtServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Header.Get("Content-Type") != "application/x-amz-json-1.1" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		g.t.Errorf("not a signed JSON 1.1 request: %v", r.Header)
	}
	body, _ := io.ReadAll(r.Body)
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		g.t.Errorf("body: %v", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.throttle > 0 {
		g.throttle--
		fail(w, 400, "ThrottlingException", "Rate exceeded")
		return
	}
	switch target {
	case "SageMaker.CreateLabelingJob":
		g.requests = append(g.requests, req)
		g.create(w, req)
	case "SageMaker.DescribeLabelingJob":
		name, _ := req["LabelingJobName"].(string)
		j := g.jobs[strings.ToLower(name)]
		if j == nil {
			fail(w, 400, "ResourceNotFound", "Could not find labeling job")
			return
		}
		j.describes++
		if j.status == "Stopping" {
			j.status = "Stopped" // stopped before any result: no output
		}
		if j.describes >= 2 && j.status == "InProgress" && !g.hold {
			g.finish(j)
		}
		json.NewEncoder(w).Encode(g.describe(j))
	case "SageMaker.StopLabelingJob":
		name, _ := req["LabelingJobName"].(string)
		j := g.jobs[strings.ToLower(name)]
		if j == nil {
			fail(w, 400, "ResourceNotFound", "Could not find labeling job")
			return
		}
		g.stops++
		j.status = "Stopping"
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprint(w, "{}")
	case "SageMaker.ListLabelingJobs":
		var list []map[string]any
		for _, n := range g.order {
			d := g.describe(g.jobs[n])
			if c, _ := req["NameContains"].(string); strings.Contains(d["LabelingJobName"].(string), c) {
				list = append(list, d)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"LabelingJobSummaryList": list})
	default:
		fail(w, 400, "UnknownOperationException", target)
	}
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"__type":%q,"Message":%q}`, code, msg)
}

func str(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[p]
	}
	s, _ := v.(string)
	return s
}

func (g *gtServer) s3Exists(uri string) bool {
	bucket, key, ok := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	if !ok || !strings.HasPrefix(uri, "s3://") {
		return false
	}
	_, err := g.s3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return err == nil
}

func (g *gtServer) create(w http.ResponseWriter, req map[string]any) {
	name := str(req, "LabelingJobName")
	if !jobNameRE.MatchString(name) {
		fail(w, 400, "ValidationException", "bad LabelingJobName "+name)
		return
	}
	for _, p := range [][]string{{"LabelAttributeName"}, {"RoleArn"}, {"LabelCategoryConfigS3Uri"}, {"OutputConfig", "S3OutputPath"},
		{"InputConfig", "DataSource", "S3DataSource", "ManifestS3Uri"}, {"HumanTaskConfig", "WorkteamArn"}, {"HumanTaskConfig", "UiConfig", "UiTemplateS3Uri"},
		{"HumanTaskConfig", "PreHumanTaskLambdaArn"}, {"HumanTaskConfig", "TaskTitle"}, {"HumanTaskConfig", "TaskDescription"},
		{"HumanTaskConfig", "AnnotationConsolidationConfig", "AnnotationConsolidationLambdaArn"}} {
		if str(req, p...) == "" {
			fail(w, 400, "ValidationException", "missing "+strings.Join(p, "."))
			return
		}
	}
	htc := req["HumanTaskConfig"].(map[string]any)
	for _, k := range []string{"NumberOfHumanWorkersPerDataObject", "TaskTimeLimitInSeconds"} {
		if _, ok := htc[k].(float64); !ok {
			fail(w, 400, "ValidationException", "missing HumanTaskConfig."+k)
			return
		}
	}
	pre, acs, _ := LambdaARNs(g.region, false)
	if str(req, "HumanTaskConfig", "PreHumanTaskLambdaArn") != pre || str(req, "HumanTaskConfig", "AnnotationConsolidationConfig", "AnnotationConsolidationLambdaArn") != acs {
		fail(w, 400, "ValidationException", "Lambda ARNs of another region or task")
		return
	}
	for _, uri := range []string{str(req, "InputConfig", "DataSource", "S3DataSource", "ManifestS3Uri"), str(req, "LabelCategoryConfigS3Uri"), str(req, "HumanTaskConfig", "UiConfig", "UiTemplateS3Uri")} {
		if !g.s3Exists(uri) {
			fail(w, 400, "ValidationException", "no such S3 object "+uri)
			return
		}
	}
	if g.jobs[strings.ToLower(name)] != nil {
		fail(w, 400, "ResourceInUse", "Job name "+name+" already exists")
		return
	}
	g.creates++
	g.jobs[strings.ToLower(name)] = &fakeJob{req: req, status: "InProgress", created: time.Now()}
	g.order = append(g.order, strings.ToLower(name))
	json.NewEncoder(w).Encode(map[string]any{"LabelingJobArn": "arn:aws:sagemaker:" + g.region + ":111122223333:labeling-job/" + strings.ToLower(name)})
}

// finish labels every manifest line with the oracle and writes the output manifest where
// Ground Truth does: <output path><job>/manifests/output/output.manifest.
func (g *gtServer) finish(j *fakeJob) {
	if g.failJobs {
		j.status = "Failed"
		return
	}
	name := str(j.req, "LabelingJobName")
	attr := str(j.req, "LabelAttributeName")
	manifest := g.read(str(j.req, "InputConfig", "DataSource", "S3DataSource", "ManifestS3Uri"))
	var cats struct {
		Labels []struct{ Label string } `json:"labels"`
	}
	json.Unmarshal(g.read(str(j.req, "LabelCategoryConfigS3Uri")), &cats)
	var out bytes.Buffer
	for _, line := range bytes.Split(bytes.TrimSpace(manifest), []byte("\n")) {
		var rec map[string]any
		json.Unmarshal(line, &rec)
		class := g.oracle(rec["source"].(string))
		idx := -1
		for i, c := range cats.Labels {
			if c.Label == class {
				idx = i
			}
		}
		meta := map[string]any{"job-name": "labeling-job/" + strings.ToLower(name), "human-annotated": "yes", "type": "groundtruth/text-classification",
			"creation-date": "2026-11-25T10:00:00.000000"}
		if idx < 0 {
			meta["failure-reason"] = "ClientError: Annotation tasks expired"
		} else {
			rec[attr] = idx
			meta["class-name"], meta["confidence"] = class, 0.95
		}
		rec[attr+"-metadata"] = meta
		b, _ := json.Marshal(rec)
		out.Write(append(b, '\n'))
	}
	j.output = strings.TrimSuffix(str(j.req, "OutputConfig", "S3OutputPath"), "/") + "/" + strings.ToLower(name) + "/manifests/output/output.manifest"
	bucket, key, _ := strings.Cut(strings.TrimPrefix(j.output, "s3://"), "/")
	if _, err := g.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(out.Bytes())}); err != nil {
		g.t.Errorf("write output manifest: %v", err)
	}
	j.status = "Completed"
}

func (g *gtServer) read(uri string) []byte {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	o, err := g.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		g.t.Errorf("read %s: %v", uri, err)
		return nil
	}
	defer o.Body.Close()
	b, _ := io.ReadAll(o.Body)
	return b
}

func (g *gtServer) describe(j *fakeJob) map[string]any {
	n := strings.Count(string(g.read(str(j.req, "InputConfig", "DataSource", "S3DataSource", "ManifestS3Uri"))), "\n")
	d := map[string]any{
		"LabelingJobName": str(j.req, "LabelingJobName"), "LabelingJobStatus": j.status, "CreationTime": float64(j.created.Unix()),
		"LastModifiedTime": float64(j.created.Unix()), "LabelAttributeName": str(j.req, "LabelAttributeName"),
		"LabelingJobArn": "arn:aws:sagemaker:" + g.region + ":111122223333:labeling-job/" + strings.ToLower(str(j.req, "LabelingJobName")),
		"LabelCounters":  map[string]any{"TotalLabeled": 0, "HumanLabeled": 0, "MachineLabeled": 0, "FailedNonRetryableError": 0, "Unlabeled": n},
		"InputConfig":    j.req["InputConfig"], "OutputConfig": j.req["OutputConfig"], "RoleArn": j.req["RoleArn"], "HumanTaskConfig": j.req["HumanTaskConfig"],
	}
	if j.status == "Completed" {
		d["LabelCounters"] = map[string]any{"TotalLabeled": n, "HumanLabeled": n, "MachineLabeled": 0, "FailedNonRetryableError": 0, "Unlabeled": 0}
		d["LabelingJobOutput"] = map[string]any{"OutputDatasetS3Uri": j.output}
	}
	if j.status == "Failed" {
		d["FailureReason"] = "ClientError: the workteam was deleted"
	}
	return d
}

func newGTServer(t *testing.T, s3c *s3.Client, oracle func(string) string) (*gtServer, *sagemaker.Client) {
	g := &gtServer{t: t, s3: s3c, region: "eu-west-1", oracle: oracle, jobs: map[string]*fakeJob{}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	client := sagemaker.New(sagemaker.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer:     retry.AddWithMaxBackoffDelay(retry.NewStandard(), 20*time.Millisecond),
	})
	return g, client
}
