package labeling

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Class is one label a chunk can get.
type Class struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Examples    []string `yaml:"examples,omitempty"`
}

// Config is the labeling section of the configuration file.
type Config struct {
	Enabled bool `yaml:"enabled" doc:"classify chunks and label the dataset"`
	// Attribute is the label attribute name in the Ground Truth manifests.
	Attribute  string  `yaml:"attribute" doc:"label attribute name in the Ground Truth manifests"`
	MultiLabel bool    `yaml:"multi_label" doc:"a chunk may have several classes"`
	Classes    []Class `yaml:"classes" doc:"[{name, description, examples}]: the description and examples train the first classifier"`
	// Measure is least_confidence, margin or entropy.
	Measure string `yaml:"measure" doc:"uncertainty measure, least_confidence | margin | entropy"`
	// TargetAccuracy is what automatic labels must show: a chunk is labeled automatically
	// only below the uncertainty at which the cross-validated human labels give this
	// accuracy at a one-sided 95% Wilson lower bound; until they do, every chunk waits for
	// humans. Threshold (0: none), when set, can only make that stricter.
	TargetAccuracy float64 `yaml:"target_accuracy" doc:"accuracy automatic labels must show (one-sided 95% Wilson lower bound on cross-validated human labels) before any chunk is labeled automatically"`
	Threshold      float64 `yaml:"threshold" doc:"0: the uncertainty threshold comes from target_accuracy; set, it can only make that stricter"`
	// MinLabelsPerClass human labels of every class come before any automatic label.
	MinLabelsPerClass int `yaml:"min_labels_per_class" doc:"human labels every class needs before any automatic label"`
	// AuditShare of every job goes to a random sample of chunks rather than the most
	// uncertain ones (chunks labeled automatically among them), so the accuracy of automatic
	// labels is measured on the chunks they are given to; AuditSampleRate of the chunks
	// that are labeled automatically are kept as candidates for it.
	AuditShare      float64 `yaml:"audit_share" doc:"share of every job drawn at random from chunks labeled (or about to be labeled) automatically, to measure their accuracy"`
	AuditSampleRate float64 `yaml:"audit_sample_rate" doc:"share of automatically labeled chunks kept in the spool as candidates for the audit"`
	// Budget: items per labeling job and per UTC day.
	MaxItemsPerJob int `yaml:"max_items_per_job" doc:"largest labeling job"`
	MaxItemsPerDay int `yaml:"max_items_per_day" doc:"items sent to humans per UTC day"`
	// NearDuplicate is the cosine similarity of embeddings above which two items of a job
	// count as one (humans label the first; the label is applied to both).
	NearDuplicate float64 `yaml:"near_duplicate_similarity" doc:"cosine similarity above which two items of a job count as one"`
	// KeepLabeledData keeps human labels when their source is deleted.
	KeepLabeledData bool         `yaml:"keep_labeled_data" doc:"keep human labels when their source is deleted"`
	Redact          RedactConfig `yaml:"redact" doc:"personal data replaced before a chunk is shown to labelers"`
	// Backend is where labeling jobs run: BackendLocal (jobs kept under the output and
	// labeled in docingest review), BackendGroundTruth, or BackendAuto.
	Backend string `yaml:"backend" doc:"auto | local | groundtruth: where labeling jobs run (auto: groundtruth when ground_truth.workteam_arn and role_arn are set, else local jobs labeled in docingest review)"`
	// JobPrefix starts every job name.
	JobPrefix               string   `yaml:"job_prefix" doc:"start of every job name"`
	WorkersPerObject        int      `yaml:"workers_per_object" doc:"people who label each item (their majority is the label; disagreements are flagged)"`
	DispatchIntervalSeconds int      `yaml:"dispatch_interval_seconds" doc:"how often the worker sends pending items as a job"`
	GroundTruth             GTConfig `yaml:"ground_truth" doc:"how Ground Truth labeling jobs run"`
}

// The labeling backends.
const (
	BackendAuto        = "auto"
	BackendLocal       = "local"
	BackendGroundTruth = "groundtruth"
)

// ResolvedBackend is the backend jobs are created with: the configured one, or for auto,
// Ground Truth when its workteam and role are configured, else local.
func (c Config) ResolvedBackend() string {
	if c.Backend != BackendAuto && c.Backend != "" {
		return c.Backend
	}
	if c.GroundTruth.WorkteamARN != "" && c.GroundTruth.RoleARN != "" {
		return BackendGroundTruth
	}
	return BackendLocal
}

// GTConfig is how labeling jobs are created in SageMaker Ground Truth.
type GTConfig struct {
	WorkteamARN string `yaml:"workteam_arn" doc:"private or vendor workteam (or the public one)"`
	// RoleARN is the execution role Ground Truth assumes (reads the manifest, writes the
	// output under the output prefix).
	RoleARN string `yaml:"role_arn" doc:"execution role Ground Truth assumes (reads the manifest, writes the output)"`
	// TaskPriceUSD is paid per task to a public workforce (Mechanical Turk); required for
	// the public workteam, ignored for private ones.
	TaskPriceUSD float64 `yaml:"task_price_usd" doc:"price per task for the public workforce (ignored for private workteams)"`
	// PricePerObjectUSD is Ground Truth's own charge per labeled object, whatever the
	// workforce, as AWS's pricing page gives it for the region and volume (the default,
	// $0.08, was not checked against that page). Used only to show what jobs cost.
	PricePerObjectUSD       float64  `yaml:"price_per_object_usd" doc:"Ground Truth's charge per labeled object, from AWS's pricing page for your region and volume; used only to show costs"`
	TaskTimeLimitSeconds    int      `yaml:"task_time_limit_seconds" doc:"time a worker has for one task"`
	TaskAvailabilitySeconds int      `yaml:"task_availability_seconds" doc:"time a task stays available to workers"`
	MaxConcurrentTasks      int      `yaml:"max_concurrent_tasks" doc:"tasks offered at once"`
	MaxRuntimeSeconds       int      `yaml:"max_runtime_seconds" doc:"a job still running this long after its creation is stopped by labeling collect (its results are kept); CreateLabelingJob has no such limit"`
	TaskTitle               string   `yaml:"task_title" doc:"title workers see"`
	TaskDescription         string   `yaml:"task_description" doc:"description workers see"`
	TaskKeywords            []string `yaml:"task_keywords" doc:"keywords workers can search"`
	KMSKeyID                string   `yaml:"kms_key_id" doc:"KMS key for the job's output"`
	// FreeOfPII is the user's declaration that the text sent to labelers holds no
	// personally identifiable information (Ground Truth's FreeOfPersonallyIdentifiable
	// Information content classifier, which a public workforce requires). Redaction finds
	// e-mails, numbers and addresses by pattern; it cannot find names or street addresses,
	// so docingest never declares this on its own.
	FreeOfPII bool `yaml:"free_of_pii" doc:"your declaration that labelers' text holds no personal data (required by the public workforce; redaction cannot find names)"`
}

// DefaultConfig is labeling off, with the settings it would use.
func DefaultConfig() Config {
	return Config{
		Attribute: "label", Measure: LeastConfidence, TargetAccuracy: 0.97, MinLabelsPerClass: 10,
		AuditShare: 0.3, AuditSampleRate: 0.05,
		MaxItemsPerJob: 500, MaxItemsPerDay: 2000, NearDuplicate: 0.97, KeepLabeledData: true,
		Classes: []Class{}, Redact: AllRedactions(),
		Backend: BackendAuto, JobPrefix: "docingest", WorkersPerObject: 1, DispatchIntervalSeconds: 600,
		GroundTruth: GTConfig{
			TaskTimeLimitSeconds: 300, PricePerObjectUSD: 0.08, TaskAvailabilitySeconds: 864000,
			MaxConcurrentTasks: 1000, MaxRuntimeSeconds: 864000, TaskTitle: "Classify a passage of text",
			TaskDescription: "Read the passage and choose the category that fits it best.", TaskKeywords: []string{"text", "classification"},
		},
	}
}

// SageMaker's patterns for a label attribute and a job name, compiled on first use: the
// counted repetitions make large programs (3 ms and 4,000 allocations at start-up, which
// every process paid, PDF children included).
var (
	attrName  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}$`) })
	jobPrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,30}$`) })
)

// Validate names the bad field, relative to the labeling section.
func (c Config) Validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("labeling.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if !c.Enabled {
		return nil
	}
	if !attrName().MatchString(c.Attribute) || strings.HasSuffix(c.Attribute, "-metadata") || strings.HasSuffix(c.Attribute, "-ref") {
		bad("attribute", "must be letters, digits and hyphens, not ending in -metadata or -ref, got %q", c.Attribute)
	}
	if len(c.Classes) < 2 {
		bad("classes", "need at least two classes, got %d", len(c.Classes))
	}
	if c.MultiLabel && len(c.Classes) > 50 {
		bad("classes", "Ground Truth's multi-label text classification takes at most 50 label categories, got %d", len(c.Classes))
	}
	seen := map[string]bool{}
	for i, cl := range c.Classes {
		if cl.Name == "" || seen[cl.Name] {
			bad(fmt.Sprintf("classes[%d].name", i), "must be set and unique, got %q", cl.Name)
		}
		seen[cl.Name] = true
		if cl.Description == "" && len(cl.Examples) == 0 {
			bad(fmt.Sprintf("classes[%d]", i), "needs a description or examples to start from")
		}
	}
	if c.Measure != LeastConfidence && c.Measure != Margin && c.Measure != Entropy {
		bad("measure", "must be least_confidence, margin or entropy, got %q", c.Measure)
	}
	if c.TargetAccuracy < 0.5 || c.TargetAccuracy >= 1 {
		bad("target_accuracy", "must be at least 0.5 and below 1, got %g", c.TargetAccuracy)
	}
	if c.Threshold < 0 || c.Threshold >= 1 {
		bad("threshold", "must be 0 (from target_accuracy alone) or between 0 and 1, got %g", c.Threshold)
	}
	if c.MinLabelsPerClass < 2 || c.MinLabelsPerClass > 10000 {
		bad("min_labels_per_class", "must be between 2 and 10000, got %d", c.MinLabelsPerClass)
	}
	if c.AuditShare < 0 || c.AuditShare > 0.9 {
		bad("audit_share", "must be between 0 and 0.9, got %g", c.AuditShare)
	}
	if c.AuditSampleRate < 0 || c.AuditSampleRate > 1 {
		bad("audit_sample_rate", "must be between 0 and 1, got %g", c.AuditSampleRate)
	}
	if c.MaxItemsPerJob < 1 || c.MaxItemsPerJob > 100000 {
		bad("max_items_per_job", "must be between 1 and 100000, got %d", c.MaxItemsPerJob)
	}
	if c.MaxItemsPerDay < c.MaxItemsPerJob {
		bad("max_items_per_day", "must be at least max_items_per_job (%d), got %d", c.MaxItemsPerJob, c.MaxItemsPerDay)
	}
	if c.NearDuplicate <= 0 || c.NearDuplicate > 1 {
		bad("near_duplicate_similarity", "must be in (0, 1], got %g", c.NearDuplicate)
	}
	switch c.Backend {
	case BackendAuto, BackendLocal:
	case BackendGroundTruth:
		if c.GroundTruth.WorkteamARN == "" || c.GroundTruth.RoleARN == "" {
			bad("backend", "groundtruth needs ground_truth.workteam_arn and ground_truth.role_arn (or use auto or local)")
		}
	default:
		bad("backend", "must be auto, local or groundtruth, got %q", c.Backend)
	}
	if !jobPrefix().MatchString(c.JobPrefix) {
		bad("job_prefix", "must be 1 to 31 letters, digits or hyphens, starting and ending with a letter or digit, got %q", c.JobPrefix)
	}
	if c.WorkersPerObject < 1 || c.WorkersPerObject > 9 {
		bad("workers_per_object", "must be between 1 and 9, got %d", c.WorkersPerObject)
	}
	if c.DispatchIntervalSeconds < 10 {
		bad("dispatch_interval_seconds", "must be at least 10, got %d", c.DispatchIntervalSeconds)
	}
	g := c.GroundTruth
	if g.TaskTimeLimitSeconds < 30 || g.TaskTimeLimitSeconds > 28800 {
		bad("ground_truth.task_time_limit_seconds", "must be between 30 and 28800, got %d", g.TaskTimeLimitSeconds)
	}
	// AWS (HumanTaskConfig.TaskAvailabilityLifetimeInSeconds): at most 12 hours for the
	// public workforce (Mechanical Turk), 30 days for private and vendor workforces.
	if isPublicWorkteam(g.WorkteamARN) {
		if g.TaskAvailabilitySeconds < 60 || g.TaskAvailabilitySeconds > 43200 {
			bad("ground_truth.task_availability_seconds", "the public workforce (Mechanical Turk) keeps a task at most 12 hours: must be between 60 and 43200, got %d", g.TaskAvailabilitySeconds)
		}
	} else if g.TaskAvailabilitySeconds < 60 || g.TaskAvailabilitySeconds > 2592000 {
		bad("ground_truth.task_availability_seconds", "must be between 60 and 2592000 (30 days), got %d", g.TaskAvailabilitySeconds)
	}
	if g.MaxConcurrentTasks < 1 || g.MaxConcurrentTasks > 5000 {
		bad("ground_truth.max_concurrent_tasks", "must be between 1 and 5000, got %d", g.MaxConcurrentTasks)
	}
	if g.MaxRuntimeSeconds < 1 || g.MaxRuntimeSeconds > 864000 {
		bad("ground_truth.max_runtime_seconds", "must be between 1 and 864000, got %d", g.MaxRuntimeSeconds)
	}
	if g.PricePerObjectUSD < 0 || g.PricePerObjectUSD > 10 {
		bad("ground_truth.price_per_object_usd", "must be between 0 and 10, got %g", g.PricePerObjectUSD)
	}
	if isPublicWorkteam(g.WorkteamARN) && g.TaskPriceUSD <= 0 {
		bad("ground_truth.task_price_usd", "a public workforce needs a price per task")
	}
	if isPublicWorkteam(g.WorkteamARN) && !g.FreeOfPII {
		bad("ground_truth.free_of_pii", "a public workforce only takes data declared free of personal information: set it to true once you have checked that your documents hold none (redaction cannot find names or street addresses)")
	}
	return errs
}

// ClassNames lists the classes in configuration order.
func (c Config) ClassNames() []string {
	out := make([]string, len(c.Classes))
	for i, cl := range c.Classes {
		out[i] = cl.Name
	}
	return out
}

// isPublicWorkteam reports the Mechanical Turk workforce's ARN.
func isPublicWorkteam(arn string) bool {
	return strings.HasSuffix(arn, ":workteam/public-crowd/default")
}
