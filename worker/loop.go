package worker

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docingest/docingest/layout"
)

// NotificationLoop reports, as an error naming the rule, a notification of the output
// bucket that sends the worker's queue (queueARN) events for keys the outputs are written
// to (the layout's folders under the output prefix):
// each output written would come back as an event to process, forever. A rule whose
// prefix and suffix filters leave every output out is fine.
func NotificationLoop(nc *s3.GetBucketNotificationConfigurationOutput, queueARN, bucket, prefix string) error {
	if nc == nil || queueARN == "" {
		return nil
	}
	for _, q := range nc.QueueConfigurations {
		if aws.ToString(q.QueueArn) != queueARN || !createsObjects(q.Events) {
			continue
		}
		rulePrefix, ruleSuffix := filterRules(q.Filter)
		meets := false
		for _, r := range layout.Roots() {
			out := prefix + r
			meets = meets || strings.HasPrefix(out, rulePrefix) || strings.HasPrefix(rulePrefix, out)
		}
		if !meets {
			continue // the rule's keys and the outputs never meet
		}
		if ruleSuffix != "" && !strings.HasSuffix(".txt", ruleSuffix) && !strings.HasSuffix(".jsonl", ruleSuffix) && !strings.HasSuffix(".json", ruleSuffix) {
			continue
		}
		id := aws.ToString(q.Id)
		return fmt.Errorf("the output s3://%s/%s would feed the worker its own outputs: bucket %s notifies this queue (rule %q, prefix %q, suffix %q) of keys under it; write outputs to another bucket or prefix, or narrow the rule", bucket, prefix, bucket, id, rulePrefix, ruleSuffix)
	}
	return nil
}

func createsObjects(events []types.Event) bool {
	for _, e := range events {
		if strings.HasPrefix(string(e), "s3:ObjectCreated:") {
			return true
		}
	}
	return false
}

func filterRules(f *types.NotificationConfigurationFilter) (prefix, suffix string) {
	if f == nil || f.Key == nil {
		return "", ""
	}
	for _, r := range f.Key.FilterRules {
		switch strings.ToLower(string(r.Name)) {
		case "prefix":
			prefix = aws.ToString(r.Value)
		case "suffix":
			suffix = aws.ToString(r.Value)
		}
	}
	return prefix, suffix
}
