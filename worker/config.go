package worker

import (
	"errors"
	"fmt"
	"time"

	"github.com/docingest/docingest/internal/units"
)

// Config is the worker section of the configuration file: the SQS consumer and the
// daemon's metrics endpoint.
type Config struct {
	QueueURL          string         `yaml:"queue_url" doc:"SQS queue of S3 event notifications (or --queue-url)"`
	MaxInFlight       int            `yaml:"max_in_flight" doc:"messages processed at once; a slot is taken before each ReceiveMessage"`
	WaitTime          units.Duration `yaml:"wait_time" doc:"long-poll time of ReceiveMessage (at most 20s)"`
	VisibilityTimeout units.Duration `yaml:"visibility_timeout" doc:"visibility set on receive and renewed by the heartbeat while a document is processed"`
	Heartbeat         units.Duration `yaml:"heartbeat" doc:"how often the visibility of a message in progress is renewed (below visibility_timeout)"`
	BackoffBase       units.Duration `yaml:"backoff_base" doc:"visibility after a first transient failure; doubles per receive"`
	BackoffMax        units.Duration `yaml:"backoff_max" doc:"largest back-off visibility"`
	DrainTimeout      units.Duration `yaml:"drain_timeout" doc:"on SIGTERM, how long messages in flight may finish before they are cancelled (and redelivered)"`
	MetricsAddr       string         `yaml:"metrics_addr" doc:"address of /metrics, /healthz and /readyz (empty: off)"`
	Pprof             bool           `yaml:"pprof" doc:"also serve /debug/pprof/ on metrics_addr (unauthenticated: only where the port is private)"`
}

// DefaultConfig is the worker section's defaults.
func DefaultConfig() Config {
	return Config{
		MaxInFlight: 4, WaitTime: units.Duration(20 * time.Second), VisibilityTimeout: units.Duration(5 * time.Minute),
		Heartbeat: units.Duration(time.Minute), BackoffBase: units.Duration(10 * time.Second), BackoffMax: units.Duration(15 * time.Minute),
		DrainTimeout: units.Duration(2 * time.Minute), MetricsAddr: ":9090",
	}
}

// Consumer returns the consumer's settings; outBucket and outPrefix name where the
// pipeline writes when that is S3.
func (c Config) Consumer(outBucket, outPrefix string) ConsumerConfig {
	return ConsumerConfig{
		QueueURL: c.QueueURL, MaxInFlight: c.MaxInFlight, WaitTime: c.WaitTime.D(),
		Visibility: c.VisibilityTimeout.D(), Heartbeat: c.Heartbeat.D(),
		BackoffBase: c.BackoffBase.D(), BackoffMax: c.BackoffMax.D(), DrainTimeout: c.DrainTimeout.D(),
		OutputBucket: outBucket, OutputPrefix: outPrefix,
	}
}

// Validate names every bad field by its path in the configuration file. The rules are
// ConsumerConfig's; an empty queue_url is left to the worker command (--queue-url).
func (c Config) Validate() []error {
	cc := c.Consumer("", "")
	if cc.QueueURL == "" {
		cc.QueueURL = "unset"
	}
	var errs []error
	for _, err := range cc.validate() {
		errs = append(errs, fmt.Errorf("worker.%w", err))
	}
	return errs
}

// RunConfig is the run section: how `docingest run` and `reindex` process a batch.
type RunConfig struct {
	Concurrency int `yaml:"concurrency" doc:"documents processed at once (memory is about this many times the per-document caps)"`
	// MemoryPerDocument is the Go runtime's soft memory limit per document in flight.
	MemoryPerDocument units.ByteSize `yaml:"memory_per_document" doc:"soft memory limit of the Go runtime per document in flight (0: no limit; GOMEMLIMIT wins)"`
}

// DefaultRunConfig is the run section's defaults.
func DefaultRunConfig() RunConfig { return RunConfig{Concurrency: 4, MemoryPerDocument: 160 << 20} }

// Validate names every bad field by its path in the configuration file.
func (c RunConfig) Validate() []error {
	var errs []error
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		errs = append(errs, fmt.Errorf("run.concurrency: must be between 1 and 1024, got %d", c.Concurrency))
	}
	if c.MemoryPerDocument < 0 {
		errs = append(errs, errors.New("run.memory_per_document: must not be negative"))
	}
	return errs
}
