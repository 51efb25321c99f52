package labeling

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
)

// Backend is a labeling service. Ground Truth is the one built; it no longer accepts new
// AWS customers, so the dispatcher and collector only talk to this interface.
type Backend interface {
	// CreateJob creates the job; a job of that name that exists already is success (a
	// retry, or another dispatcher that got there first with the same items).
	Start(ctx context.Context, spec JobSpec) error
	Status(ctx context.Context, name string) (JobStatus, error)
	Jobs(ctx context.Context, prefix string) ([]JobStatus, error)
	// Stop asks the service to stop a running job; what was labeled before is kept.
	Stop(ctx context.Context, name string) error
}

// JobSpec is what a labeling job needs; the S3 URIs exist when CreateJob is called.
type JobSpec struct {
	Name          string
	ManifestURI   string
	CategoriesURI string
	TemplateURI   string
	OutputURI     string
	Items         int
	// Audit marks a job of automatic labels drawn at random to be checked by people.
	Audit bool
}

// JobStatus is a job as the service reports it.
type JobStatus struct {
	Name          string    `json:"name"`
	Status        string    `json:"status"`
	FailureReason string    `json:"failure_reason,omitempty"`
	Labeled       int       `json:"labeled"`
	HumanLabeled  int       `json:"human_labeled"`
	Failed        int       `json:"failed"`
	Remaining     int       `json:"remaining"`
	Created       time.Time `json:"created"`
	OutputURI     string    `json:"output_manifest,omitempty"`
	// Backend is where the job runs: local or groundtruth.
	Backend string `json:"backend"`
}

// gtAccounts holds, per region Ground Truth runs in, the account of its built-in PRE- and
// ACS- Lambda functions (SageMaker API reference, HumanTaskConfig).
var gtAccounts = map[string]string{
	"us-east-1": "432418664414", "us-east-2": "266458841044", "us-west-2": "081040173940",
	"ca-central-1": "918755190332", "eu-west-1": "568282634449", "eu-west-2": "487402164563",
	"eu-central-1": "203001061592", "ap-northeast-1": "477331159723", "ap-northeast-2": "845288260483",
	"ap-south-1": "565803892007", "ap-southeast-1": "377565633583", "ap-southeast-2": "454466003867",
}

// LambdaARNs returns the pre-annotation and consolidation functions of the text
// classification task in a region.
func LambdaARNs(region string, multiLabel bool) (pre, acs string, err error) {
	acct, ok := gtAccounts[region]
	if !ok {
		return "", "", fmt.Errorf("Ground Truth does not run in %q (it runs in %s)", region, strings.Join(gtRegions(), ", "))
	}
	task := "TextMultiClass"
	if multiLabel {
		task = "TextMultiClassMultiLabel"
	}
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:PRE-%s", region, acct, task),
		fmt.Sprintf("arn:aws:lambda:%s:%s:function:ACS-%s", region, acct, task), nil
}

func gtRegions() []string {
	out := make([]string, 0, len(gtAccounts))
	for r := range gtAccounts {
		out = append(out, r)
	}
	return out
}

// SageMakerAPI is the part of the SageMaker client the backend calls.
type SageMakerAPI interface {
	CreateLabelingJob(ctx context.Context, in *sagemaker.CreateLabelingJobInput, opts ...func(*sagemaker.Options)) (*sagemaker.CreateLabelingJobOutput, error)
	DescribeLabelingJob(ctx context.Context, in *sagemaker.DescribeLabelingJobInput, opts ...func(*sagemaker.Options)) (*sagemaker.DescribeLabelingJobOutput, error)
	ListLabelingJobs(ctx context.Context, in *sagemaker.ListLabelingJobsInput, opts ...func(*sagemaker.Options)) (*sagemaker.ListLabelingJobsOutput, error)
	StopLabelingJob(ctx context.Context, in *sagemaker.StopLabelingJobInput, opts ...func(*sagemaker.Options)) (*sagemaker.StopLabelingJobOutput, error)
}

// GroundTruth creates and reads SageMaker Ground Truth labeling jobs.
type GroundTruth struct {
	client SageMakerAPI
	region string
	cfg    Config
}

// NewGroundTruth checks that the region has Ground Truth and the job settings are
// complete.
func NewGroundTruth(client SageMakerAPI, region string, cfg Config) (*GroundTruth, error) {
	if _, _, err := LambdaARNs(region, cfg.MultiLabel); err != nil {
		return nil, err
	}
	if cfg.GroundTruth.WorkteamARN == "" || cfg.GroundTruth.RoleARN == "" {
		return nil, errors.New("labeling.ground_truth.workteam_arn and role_arn are required to create labeling jobs")
	}
	return &GroundTruth{client: client, region: region, cfg: cfg}, nil
}

// price splits dollars into the API's dollars, cents and tenths of a cent.
func price(usd float64) *smtypes.USD {
	tenths := int32(math.Round(usd * 1000))
	return &smtypes.USD{Dollars: aws.Int32(tenths / 1000), Cents: aws.Int32(tenths % 1000 / 10), TenthFractionsOfACent: aws.Int32(tenths % 10)}
}

// Request builds the CreateLabelingJob request for a job.
func (g *GroundTruth) Request(spec JobSpec) *sagemaker.CreateLabelingJobInput {
	c := g.cfg.GroundTruth
	pre, acs, _ := LambdaARNs(g.region, g.cfg.MultiLabel)
	in := &sagemaker.CreateLabelingJobInput{
		LabelingJobName:    aws.String(spec.Name),
		LabelAttributeName: aws.String(g.cfg.Attribute),
		RoleArn:            aws.String(c.RoleARN),
		InputConfig: &smtypes.LabelingJobInputConfig{
			DataSource: &smtypes.LabelingJobDataSource{S3DataSource: &smtypes.LabelingJobS3DataSource{ManifestS3Uri: aws.String(spec.ManifestURI)}},
		},
		OutputConfig:             &smtypes.LabelingJobOutputConfig{S3OutputPath: aws.String(spec.OutputURI)},
		LabelCategoryConfigS3Uri: aws.String(spec.CategoriesURI),
		StoppingConditions: &smtypes.LabelingJobStoppingConditions{
			MaxHumanLabeledObjectCount: aws.Int32(int32(spec.Items)), MaxPercentageOfInputDatasetLabeled: aws.Int32(100)},
		HumanTaskConfig: &smtypes.HumanTaskConfig{
			WorkteamArn:                       aws.String(c.WorkteamARN),
			UiConfig:                          &smtypes.UiConfig{UiTemplateS3Uri: aws.String(spec.TemplateURI)},
			PreHumanTaskLambdaArn:             aws.String(pre),
			AnnotationConsolidationConfig:     &smtypes.AnnotationConsolidationConfig{AnnotationConsolidationLambdaArn: aws.String(acs)},
			TaskTitle:                         aws.String(c.TaskTitle),
			TaskDescription:                   aws.String(c.TaskDescription),
			TaskKeywords:                      c.TaskKeywords,
			NumberOfHumanWorkersPerDataObject: aws.Int32(int32(g.cfg.WorkersPerObject)),
			TaskTimeLimitInSeconds:            aws.Int32(int32(c.TaskTimeLimitSeconds)),
			TaskAvailabilityLifetimeInSeconds: aws.Int32(int32(c.TaskAvailabilitySeconds)),
			MaxConcurrentTaskCount:            aws.Int32(int32(c.MaxConcurrentTasks)),
		},
		Tags: []smtypes.Tag{{Key: aws.String("created-by"), Value: aws.String("docingest")}},
	}
	if c.KMSKeyID != "" {
		in.OutputConfig.KmsKeyId = aws.String(c.KMSKeyID)
	}
	if isPublicWorkteam(c.WorkteamARN) {
		in.HumanTaskConfig.PublicWorkforceTaskPrice = &smtypes.PublicWorkforceTaskPrice{AmountInUsd: price(c.TaskPriceUSD)}
	}
	if c.FreeOfPII { // the user's declaration, never ours (GTConfig.FreeOfPII)
		in.InputConfig.DataAttributes = &smtypes.LabelingJobDataAttributes{ContentClassifiers: []smtypes.ContentClassifier{
			smtypes.ContentClassifierFreeOfPersonallyIdentifiableInformation}}
	}
	return in
}

func (g *GroundTruth) Start(ctx context.Context, spec JobSpec) error {
	_, err := g.client.CreateLabelingJob(ctx, g.Request(spec))
	var inUse *smtypes.ResourceInUse
	var api smithy.APIError
	if errors.As(err, &inUse) || errors.As(err, &api) && api.ErrorCode() == "ResourceInUse" {
		// The name is taken: by an earlier attempt of ours (a crash after the request),
		// or by a job of another output prefix or account user. Ours reads our manifest.
		out, derr := g.client.DescribeLabelingJob(ctx, &sagemaker.DescribeLabelingJobInput{LabelingJobName: aws.String(spec.Name)})
		if derr != nil {
			return fmt.Errorf("create labeling job %s: the name is taken and the job could not be read: %w", spec.Name, derr)
		}
		var theirs string
		if in := out.InputConfig; in != nil && in.DataSource != nil && in.DataSource.S3DataSource != nil {
			theirs = aws.ToString(in.DataSource.S3DataSource.ManifestS3Uri)
		}
		if theirs != spec.ManifestURI {
			return fmt.Errorf("create labeling job %s: a job of that name exists with another input manifest (%s, not %s): another output prefix with the same labeling.ground_truth.job_prefix?", spec.Name, theirs, spec.ManifestURI)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("create labeling job %s: %w", spec.Name, err)
	}
	return nil
}

func statusFrom(name string, st smtypes.LabelingJobStatus, c *smtypes.LabelCounters, created *time.Time, reason *string, out *smtypes.LabelingJobOutput) JobStatus {
	js := JobStatus{Name: name, Status: string(st), FailureReason: aws.ToString(reason), Backend: BackendGroundTruth}
	if c != nil {
		js.Labeled = int(aws.ToInt32(c.TotalLabeled))
		js.HumanLabeled = int(aws.ToInt32(c.HumanLabeled))
		js.Failed = int(aws.ToInt32(c.FailedNonRetryableError))
		js.Remaining = int(aws.ToInt32(c.Unlabeled))
	}
	if created != nil {
		js.Created = *created
	}
	if out != nil {
		js.OutputURI = aws.ToString(out.OutputDatasetS3Uri)
	}
	return js
}

func (g *GroundTruth) Status(ctx context.Context, name string) (JobStatus, error) {
	out, err := g.client.DescribeLabelingJob(ctx, &sagemaker.DescribeLabelingJobInput{LabelingJobName: aws.String(name)})
	if err != nil {
		return JobStatus{}, fmt.Errorf("describe labeling job %s: %w", name, err)
	}
	return statusFrom(aws.ToString(out.LabelingJobName), out.LabelingJobStatus, out.LabelCounters, out.CreationTime, out.FailureReason, out.LabelingJobOutput), nil
}

// Stop stops a job (StopLabelingJob); Ground Truth writes what was labeled before the
// stop to the output location, and the job ends Stopped.
func (g *GroundTruth) Stop(ctx context.Context, name string) error {
	if _, err := g.client.StopLabelingJob(ctx, &sagemaker.StopLabelingJobInput{LabelingJobName: aws.String(name)}); err != nil {
		return fmt.Errorf("stop labeling job %s: %w", name, err)
	}
	return nil
}

func (g *GroundTruth) Jobs(ctx context.Context, prefix string) ([]JobStatus, error) {
	var out []JobStatus
	p := sagemaker.NewListLabelingJobsPaginator(g.client, &sagemaker.ListLabelingJobsInput{NameContains: aws.String(prefix), MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list labeling jobs: %w", err)
		}
		for _, s := range page.LabelingJobSummaryList {
			name := aws.ToString(s.LabelingJobName)
			if !strings.HasPrefix(name, prefix+"-") {
				continue
			}
			out = append(out, statusFrom(name, s.LabelingJobStatus, s.LabelCounters, s.CreationTime, s.FailureReason, s.LabelingJobOutput))
		}
	}
	return out, nil
}

// Cost is what Ground Truth bills for a job of some items: its per-object charge
// (ground_truth.price_per_object_usd, which the user sets from AWS's pricing page) for every
// labeled object, plus, for the public workforce (Mechanical Turk), the task price ×
// workers per object × items; a private workteam is not paid per task. Volume tiers,
// the free tier and vendor workforces are not modelled.
type Cost struct {
	Items            int     `json:"items"`
	WorkersPerObject int     `json:"workers_per_object"`
	Tasks            int     `json:"tasks"`
	Public           bool    `json:"public_workforce"`
	WorkforceUSD     float64 `json:"workforce_usd"`
	ObjectsUSD       float64 `json:"ground_truth_usd"`
	TotalUSD         float64 `json:"total_usd"`
}

// EstimateCost is what Ground Truth would bill for items labeled under cfg.
func EstimateCost(cfg Config, items int) Cost {
	c := Cost{Items: items, WorkersPerObject: cfg.WorkersPerObject, Public: isPublicWorkteam(cfg.GroundTruth.WorkteamARN)}
	c.Tasks = items * c.WorkersPerObject
	if c.Public {
		c.WorkforceUSD = math.Round(float64(c.Tasks)*cfg.GroundTruth.TaskPriceUSD*1000) / 1000
	}
	c.ObjectsUSD = math.Round(float64(items)*cfg.GroundTruth.PricePerObjectUSD*1000) / 1000
	c.TotalUSD = math.Round((c.WorkforceUSD+c.ObjectsUSD)*1000) / 1000
	return c
}

func (c Cost) String() string {
	if c.Public {
		return fmt.Sprintf("%d tasks (%d items × %d workers): $%.3f to the public workforce + $%.3f Ground Truth per-object charge = $%.3f", c.Tasks, c.Items, c.WorkersPerObject, c.WorkforceUSD, c.ObjectsUSD, c.TotalUSD)
	}
	return fmt.Sprintf("%d tasks (%d items × %d workers) for your private workteam (not paid per task) + $%.3f Ground Truth per-object charge", c.Tasks, c.Items, c.WorkersPerObject, c.ObjectsUSD)
}
