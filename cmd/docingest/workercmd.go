package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/docingest/docingest/queue/sqsqueue"
	"github.com/docingest/docingest/storage"
	"github.com/docingest/docingest/worker"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
)

func (a *app) workerCommand() *cobra.Command {
	var queueURL, out string
	var maxInFlight int
	var logFormat string
	cmd := &cobra.Command{
		Use:   "worker --queue-url URL --out s3://bucket/prefix",
		Short: "Process S3 event notifications from an SQS queue until stopped",
		Long: `worker long-polls an SQS queue for S3 event notifications (direct, wrapped by SNS, or
EventBridge events) and runs every object through the same pipeline as 'run', writing
outputs under --out. A message is deleted only after all its outputs are written; a
transient failure hands the message back with a back-off visibility, and the queue's
redrive policy moves it to the dead-letter queue after maxReceiveCount. ObjectRemoved
events delete the source's outputs.

On SIGINT or SIGTERM it stops receiving, lets messages in flight finish until
worker.drain_timeout, then cancels the rest (SQS redelivers them). JSON logs go to standard
error; /metrics, /healthz and /readyz are served on worker.metrics_addr.`,
		Example: `  docingest worker --queue-url https://sqs.eu-west-1.amazonaws.com/111122223333/uploads --out s3://docs-out/v1

  # against S3- and SQS-compatible servers
  AWS_ENDPOINT_URL_S3=http://127.0.0.1:7070 AWS_ENDPOINT_URL_SQS=http://127.0.0.1:4566 \
    DOCINGEST_AWS_S3_PATH_STYLE=true docingest worker --queue-url http://127.0.0.1:4566/000000000000/uploads --out s3://out`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig(cmd)
			if err != nil {
				return err
			}
			if cfg.Log.Format == "" {
				cfg.Log.Format = "json" // a daemon's logs are read by machines
			}
			if err := cfg.Validate(); err != nil {
				return usageErr(fmt.Errorf("invalid configuration:\n%w", err))
			}
			if cfg.Worker.QueueURL == "" {
				return usageErr(errors.New("worker.queue_url: required (--queue-url)"))
			}
			return a.serveWorker(cmd.Context(), cfg, out)
		},
	}
	cmd.Flags().StringVar(&queueURL, "queue-url", "", "SQS queue URL (default: worker.queue_url)")
	cmd.Flags().StringVar(&out, "out", "", "output prefix: s3://bucket/prefix, or a local folder (required)")
	cmd.Flags().IntVar(&maxInFlight, "max-in-flight", 0, "messages processed at once (default: worker.max_in_flight)")
	cmd.Flags().StringVar(&logFormat, "log-format", "json", "text or json (default: log.format, else json)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// holdCommits is for the crash tests only (DOCINGEST_TEST_HOLD_COMMITS=N): commits after
// the first N block, each announced by a log line, until the process is killed, so that
// a kill -9 lands while documents are in flight with their outputs written and their
// messages not yet deleted.
func holdCommits(environ []string, log *slog.Logger) func(context.Context, string) {
	v := lookupEnv(environ, "DOCINGEST_TEST_HOLD_COMMITS")
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil
	}
	var commits atomic.Int64
	return func(ctx context.Context, source string) {
		if commits.Add(1) <= int64(n) {
			return
		}
		log.Warn("holding a commit (DOCINGEST_TEST_HOLD_COMMITS)", "source", source)
		<-ctx.Done() // the test kills the process while it waits here
	}
}

func lookupEnv(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// probeQueue reads the queue's ARN, so that a queue that cannot be reached fails the start
// with a clear message instead of a receive loop retrying forever. A refusal to answer
// (the role may lack sqs:GetQueueAttributes) is logged and the worker starts.
func probeQueue(ctx context.Context, q *sqsqueue.Queue, log *slog.Logger) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	arn, err := q.ARN(ctx)
	var api smithy.APIError
	switch {
	case err == nil:
		return arn, nil
	case errors.As(err, &api) && strings.Contains(api.ErrorCode(), "AccessDenied"):
		log.Info("may not read the queue's attributes: starting without checking the queue", "error", err)
		return "", nil
	}
	return "", fmt.Errorf("queue %s cannot be reached: %w", q.URL(), err)
}

// checkNotificationLoop refuses to start when the output bucket sends this queue events for
// keys under the output prefix: the worker would process its own outputs forever. A server
// that cannot answer (no permission, an S3-compatible server without notifications) is
// logged; the consumer still skips events for its own outputs.
func checkNotificationLoop(ctx context.Context, c *awsClients, queueARN, bucket, prefix string, log *slog.Logger) error {
	if queueARN == "" {
		return nil
	}
	nc, err := c.s3().GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(bucket)})
	if err != nil {
		log.Info("could not read the output bucket's notifications to check for a loop", "bucket", bucket, "error", err)
		return nil
	}
	return worker.NotificationLoop(nc, queueARN, bucket, prefix)
}

func (a *app) serveWorker(ctx context.Context, cfg Config, out string) error {
	logger := a.logger(cfg)
	outLoc, err := parseLocation("--out", out)
	if err != nil {
		return err
	}
	if cfg.AWS.SQSEndpoint == "" && lookupEnv(a.environ, "AWS_ENDPOINT_URL_SQS") == "" && lookupEnv(a.environ, "AWS_ENDPOINT_URL") == "" {
		cfg.AWS.SQSEndpoint = sqsqueue.EndpointOf(cfg.Worker.QueueURL)
	}
	var clients *awsClients
	c, err := a.aws(ctx, cfg, &clients)
	if err != nil {
		return err
	}
	q := sqsqueue.New(c.sqs(), cfg.Worker.QueueURL)
	queueARN, err := probeQueue(ctx, q, logger)
	if err != nil {
		return usageErr(err)
	}
	store, err := a.store(ctx, cfg, outLoc, &clients)
	if err != nil {
		return err
	}
	pcfg, em, err := buildPipelineConfig(ctx, cfg, logger, store, func() (*awsClients, error) { return c, nil })
	if err != nil {
		return usageErr(err)
	}
	defer em.Close()
	if err := worker.CheckEmbeddingModel(ctx, store, worker.ModelRecord{EmbeddingModel: em.emb.Model(), Dimensions: em.dims}, false, false); err != nil {
		return usageErr(err)
	}
	pcfg.SourceURI = func(key string) string { return "s3://" + key }
	pcfg.BeforeCommit = holdCommits(a.environ, logger)
	p, err := worker.NewPipeline(pcfg, store)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	metrics, labMetrics := workerRegistry(reg, em, cfg.Labeling.Enabled)
	w := cfg.Worker
	consumer, err := worker.NewConsumer(w.Consumer(outLoc.Bucket, outLoc.Prefix), q, storage.NewS3Buckets(c.s3()), p, logger, metrics)
	if err != nil {
		return usageErr(err)
	}
	if outLoc.IsS3() {
		if err := checkNotificationLoop(ctx, c, queueARN, outLoc.Bucket, outLoc.Prefix, logger); err != nil {
			return usageErr(err)
		}
	}
	if w.MetricsAddr != "" {
		addr, stop, err := worker.Endpoints{Registry: reg, Ready: consumer.Ready, Pprof: w.Pprof}.Listen(w.MetricsAddr)
		if err != nil {
			return usageErr(fmt.Errorf("worker.metrics_addr: %w", err))
		}
		defer stop()
		logger.Info("serving metrics", "addr", addr.String())
	}
	if cfg.Labeling.Enabled {
		if err := a.startDispatcher(ctx, cfg, store, c, classifierFeatures(cfg, em), labMetrics.observe); err != nil {
			return err
		}
	}
	memoryBudget(int64(cfg.Run.MemoryPerDocument)*int64(w.MaxInFlight), a.environ)
	logger.Info("worker started", "queue_url", w.QueueURL, "out", out, "max_in_flight", w.MaxInFlight, "pipeline", p.Fingerprint())
	err = consumer.Serve(ctx)
	logger.Info("worker stopped")
	return err
}
