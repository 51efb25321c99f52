package worker

import (
	"slices"
	"testing"

	"github.com/docingest/docingest/layout"
	"pgregory.net/rapid"
)

// Whatever the split keys (escaping moves some of them across others), the parts of
// state/ that consecutive ranges own cover every source path exactly once, and a range's
// sub-ranges divide its part exactly.
func TestStateBoundsPartition(t *testing.T) {
	seg := rapid.SampledFrom([]string{"a", "a.txt", "a-2", "b", "x:1", "x0", "x;", "%", "é", " s", "z.", "n"})
	key := rapid.Custom(func(t *rapid.T) string {
		parts := rapid.SliceOfN(seg, 1, 4).Draw(t, "segs")
		return "uploads/" + slicesJoin(parts)
	})
	rapid.Check(t, func(rt *rapid.T) {
		keys := rapid.SliceOfNDistinct(key, 1, 12, func(s string) string { return s }).Draw(rt, "bounds")
		slices.Sort(keys)
		probes := rapid.SliceOfN(key, 1, 30).Draw(rt, "probes")
		check := func(parts []stateRange, within stateRange) {
			for _, k := range append(probes, keys...) {
				sp := layout.SourcePath(k)
				if !within.contains(sp) {
					continue
				}
				n := 0
				for _, p := range parts {
					if p.contains(sp) {
						n++
					}
				}
				if n != 1 {
					rt.Fatalf("%q (state path %q) is in %d parts of %v", k, sp, n, parts)
				}
			}
		}
		check(stateBounds(keys, stateRange{}), stateRange{})
		// sub-ranges of the middle shard
		if len(keys) >= 3 {
			mid := &KeyRange{After: keys[0], UpTo: keys[len(keys)-1]}
			shard := stateBounds(keys[:1], stateRange{})[1]
			shard = stateBounds([]string{keys[len(keys)-1]}, shard)[0]
			mid.st = &shard
			var sts []stateRange
			for _, r := range subRanges(mid, keys, 3) {
				sts = append(sts, r.states())
			}
			check(sts, shard)
		}
	})
}

func slicesJoin(parts []string) string {
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += "/"
		}
		out += p
	}
	return out
}
