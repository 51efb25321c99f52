package document

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		err       error
		reason    Reason
		permanent bool
	}{
		{"plain error", errors.New("network down"), ReasonInternal, false},
		{"permanent", Permanent(ReasonCorrupt, io.ErrUnexpectedEOF), ReasonCorrupt, true},
		{"permanentf", Permanentf(ReasonTooLarge, "%d bytes", 5), ReasonTooLarge, true},
		{"wrapped twice", fmt.Errorf("extract a.pdf: %w", fmt.Errorf("page 3: %w", Permanent(ReasonEncrypted, errors.New("x")))), ReasonEncrypted, true},
		{"joined", errors.Join(errors.New("a"), Permanentf(ReasonTimeout, "t")), ReasonTimeout, true},
		{"nil", nil, ReasonInternal, false},
	} {
		reason, permanent := Classify(tc.err)
		if reason != tc.reason || permanent != tc.permanent {
			t.Errorf("%s: Classify = %s, %v; want %s, %v", tc.name, reason, permanent, tc.reason, tc.permanent)
		}
	}
	if Permanent(ReasonCorrupt, nil) != nil {
		t.Error("Permanent(nil) must stay nil")
	}
	inner := errors.New("inner")
	if err := Permanentf(ReasonCorrupt, "outer: %w", inner); !errors.Is(err, inner) || err.Error() != "outer: inner" {
		t.Errorf("Permanentf does not wrap: %v", err)
	}
}

func TestHeadingPathAndPageAt(t *testing.T) {
	t.Parallel()
	d := Document{
		Text:  "0123456789012345678901234567890123456789",
		Pages: []int{0, 10, 25},
		Headings: []Heading{
			{Level: 1, Title: "A", Offset: 0}, {Level: 2, Title: "A.1", Offset: 5},
			{Level: 3, Title: "A.1.a", Offset: 8}, {Level: 2, Title: "A.2", Offset: 20}, {Level: 1, Title: "B", Offset: 30},
		},
	}
	for _, tc := range []struct {
		off  int
		path []string
		page int
	}{
		{0, []string{"A"}, 1}, {9, []string{"A", "A.1", "A.1.a"}, 1}, {10, []string{"A", "A.1", "A.1.a"}, 2},
		{20, []string{"A", "A.2"}, 2}, {25, []string{"A", "A.2"}, 3}, {39, []string{"B"}, 3},
	} {
		if got := d.HeadingPath(tc.off); fmt.Sprint(got) != fmt.Sprint(tc.path) {
			t.Errorf("HeadingPath(%d) = %v, want %v", tc.off, got, tc.path)
		}
		if got := d.PageAt(tc.off); got != tc.page {
			t.Errorf("PageAt(%d) = %d, want %d", tc.off, got, tc.page)
		}
	}
	if (&Document{}).PageAt(3) != 0 || (&Document{}).HeadingPath(3) != nil {
		t.Error("a document without pages or headings")
	}
}
