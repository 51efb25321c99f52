package chunkers_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/docingest/docingest/chunkers"
)

// TestPicker: the longest matching prefix wins, "auto" follows the document's format,
// and every size the settings can produce is listed.
func TestPicker(t *testing.T) {
	t.Parallel()
	s := chunkers.DefaultSettings()
	s.Overrides = []chunkers.Override{
		{Prefix: "legal/", Strategy: "sentence", MaxSize: 128},
		{Prefix: "legal/contracts/", Strategy: "hierarchical"},
	}
	pick, err := s.Picker(chunkers.CharSizer{}, nil, 16, "markdown")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ format, key, want string }{
		{"markdown", "docs/a.md", "chunkers.Markdown"},
		{"text", "docs/a.txt", "chunkers.Recursive"},
		{"markdown", "legal/a.md", "chunkers.Sentence"},
		{"text", "legal/contracts/b.txt", "chunkers.Hierarchical"},
	} {
		if got := fmt.Sprintf("%T", pick(tc.format, tc.key)); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.format, tc.key, got, tc.want)
		}
	}
	if got := s.Sizes(); !slices.Equal(got, []int{256, 128, 256, 1024}) {
		t.Errorf("sizes %v", got)
	}
	s.Overrides = []chunkers.Override{{Prefix: "x/", Strategy: "bogus"}}
	if _, err := s.Picker(chunkers.CharSizer{}, nil, 16, "markdown"); err == nil {
		t.Error("an unknown strategy in an override was accepted")
	}
}
