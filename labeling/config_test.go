package labeling

import (
	"strings"
	"testing"
)

// The label attribute and the job prefix follow SageMaker's patterns: letters and digits,
// hyphens between them, at most 127 and 31 letters and digits.
func TestConfigNames(t *testing.T) {
	cases := []struct {
		attribute, prefix string
		bad               string // the field named in the error, "" for none
	}{
		{"label", "docingest", ""},
		{strings.Repeat("a", 127), strings.Repeat("p", 31), ""},
		{strings.Repeat("a", 128), "docingest", "labeling.attribute"},
		{"label", strings.Repeat("p", 32), "labeling.job_prefix"},
		{"topic-class", "team-a--jobs", ""},
		{"-label", "docingest", "labeling.attribute"},
		{"label-", "docingest", "labeling.attribute"},
		{"label_x", "docingest", "labeling.attribute"},
		{"label-metadata", "docingest", "labeling.attribute"},
		{"label-ref", "docingest", "labeling.attribute"},
		{"label", "-docingest", "labeling.job_prefix"},
		{"label", "doc.ingest", "labeling.job_prefix"},
		{"label", "", "labeling.job_prefix"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		cfg.Enabled, cfg.Attribute, cfg.JobPrefix = true, c.attribute, c.prefix
		cfg.Classes = []Class{{Name: "legal", Description: "licences and contracts"}, {Name: "technical", Description: "how software works"}}
		var got []string
		for _, err := range cfg.Validate() {
			got = append(got, err.Error())
		}
		msg := strings.Join(got, "; ")
		if c.bad == "" && msg != "" {
			t.Errorf("attribute %q, prefix %q: %s", c.attribute, c.prefix, msg)
		}
		if c.bad != "" && !strings.Contains(msg, c.bad+":") {
			t.Errorf("attribute %q, prefix %q: want an error on %s, got %q", c.attribute, c.prefix, c.bad, msg)
		}
	}
}
