package worker

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docingest/docingest/layout"
)

func TestNotificationLoop(t *testing.T) {
	t.Parallel()
	const queue = "arn:aws:sqs:eu-west-1:111122223333:uploads"
	rule := func(arn, prefix, suffix string, events ...types.Event) types.QueueConfiguration {
		q := types.QueueConfiguration{Id: aws.String("r"), QueueArn: aws.String(arn), Events: events}
		var rules []types.FilterRule
		if prefix != "" {
			rules = append(rules, types.FilterRule{Name: "prefix", Value: aws.String(prefix)})
		}
		if suffix != "" {
			rules = append(rules, types.FilterRule{Name: "suffix", Value: aws.String(suffix)})
		}
		if rules != nil {
			q.Filter = &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{FilterRules: rules}}
		}
		return q
	}
	created := types.Event("s3:ObjectCreated:*")
	for _, tc := range []struct {
		name string
		q    types.QueueConfiguration
		loop bool
	}{
		{"whole bucket to our queue", rule(queue, "", "", created), true},
		{"a prefix holding the outputs", rule(queue, "out", "", created), true},
		{"a prefix inside the outputs", rule(queue, "out/v1/chunks/", "", created), true},
		{"another prefix", rule(queue, "incoming/", "", created), false},
		{"another queue", rule(queue+"-other", "", "", created), false},
		{"removals only", rule(queue, "", "", "s3:ObjectRemoved:*"), false},
		{"a suffix no output has", rule(queue, "", ".pdf", created), false},
		{"a suffix outputs have", rule(queue, "", ".jsonl", created), true},
		{"a sibling of the output folders", rule(queue, "out/v1/incoming/", "", created), false},
	} {
		nc := &s3.GetBucketNotificationConfigurationOutput{QueueConfigurations: []types.QueueConfiguration{tc.q}}
		err := NotificationLoop(nc, queue, "docs", "out/v1/")
		if (err != nil) != tc.loop {
			t.Errorf("%s: %v, want a loop: %v", tc.name, err, tc.loop)
		}
		if err != nil && !strings.Contains(err.Error(), "own outputs") {
			t.Errorf("%s: the error does not say why: %v", tc.name, err)
		}
	}
}

// Outputs written at a bucket's root leave the rest of the bucket to uploads.
func TestIsOutputKey(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]bool{
		"text/a.txt.txt": true, "chunks/a.jsonl": true, "state/a/head.json": true, "embeddings.json": true,
		"incoming/a.pdf": false, "texts/a.txt": false, "cache": false,
	} {
		if got := layout.IsOutputKey(key, ""); got != want {
			t.Errorf("layout.IsOutputKey(%q, \"\") = %v", key, got)
		}
	}
	if layout.IsOutputKey("text/a", "out/") || !layout.IsOutputKey("out/text/a", "out/") {
		t.Error("the prefix is not honoured")
	}
}
