package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3vectors"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/logging"
	"github.com/docingest/docingest/embedders"
)

// awsClients builds the SDK clients from the default chain (credentials, region, and
// the per-service endpoint variables AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_SQS), with the
// configuration file's overrides on top.
type awsClients struct {
	cfg aws.Config
	c   AWSConfig
}

func loadAWS(ctx context.Context, c AWSConfig, logger *slog.Logger) (*awsClients, error) {
	// The SDK's own log lines (retries, checksum warnings) go through our logger, at its
	// level and in its format.
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithLogger(logging.LoggerFunc(func(cl logging.Classification, format string, v ...any) {
		level := slog.LevelDebug
		if cl == logging.Warn {
			level = slog.LevelWarn
		}
		logger.Log(ctx, level, fmt.Sprintf(format, v...), "from", "aws-sdk")
	}))}
	if c.Region != "" {
		opts = append(opts, awsconfig.WithRegion(c.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws: %w", err)
	}
	if cfg.Region == "" {
		return nil, usageErr(fmt.Errorf("aws.region: no region configured (set aws.region or AWS_REGION)"))
	}
	return &awsClients{cfg: cfg, c: c}, nil
}

func (a *awsClients) s3() *s3.Client {
	return s3.NewFromConfig(a.cfg, func(o *s3.Options) {
		if a.c.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(a.c.S3Endpoint)
		}
		o.UsePathStyle = a.c.S3PathStyle
		// Streamed bodies are not seekable, so the SDK cannot hash them up front; sign
		// them as UNSIGNED-PAYLOAD instead (the SDK's own way around it).
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	})
}

func (a *awsClients) s3vectors() *s3vectors.Client {
	return s3vectors.NewFromConfig(a.cfg)
}

func (a *awsClients) sqs() *sqs.Client {
	return sqs.NewFromConfig(a.cfg, func(o *sqs.Options) {
		if a.c.SQSEndpoint != "" {
			o.BaseEndpoint = aws.String(a.c.SQSEndpoint)
		}
	})
}

// bedrock returns a Bedrock runtime client that rides out throttling (AWS_ENDPOINT_URL_BEDROCK_RUNTIME
// points it elsewhere).
func (a *awsClients) bedrock(e embedders.Config) *bedrockruntime.Client {
	return bedrockruntime.NewFromConfig(a.cfg, func(o *bedrockruntime.Options) {
		o.Retryer = embedders.BedrockRetryer(e.MaxAttempts, e.MaxBackoff.D())()
	})
}

// sagemaker returns a SageMaker runtime client with the same retry policy
// (AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME points it elsewhere).
func (a *awsClients) sagemaker(e embedders.Config) *sagemakerruntime.Client {
	return sagemakerruntime.NewFromConfig(a.cfg, func(o *sagemakerruntime.Options) {
		o.Retryer = embedders.BedrockRetryer(e.MaxAttempts, e.MaxBackoff.D())()
	})
}

// groundTruth returns the SageMaker control-plane client labeling jobs are created with
// (AWS_ENDPOINT_URL_SAGEMAKER points it elsewhere) and the region its Lambda ARNs are for.
func (a *awsClients) groundTruth() (*sagemaker.Client, string) {
	return sagemaker.NewFromConfig(a.cfg), a.cfg.Region
}
