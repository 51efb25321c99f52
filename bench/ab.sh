#!/usr/bin/env bash
# Two builds of docingest compared by interleaved runs (A, B, A, B, ...) of `docingest run`
# on one corpus folder: mean user and system CPU seconds of each. Steadier than separate
# medians on a noisy machine, because both builds see the same noise.
#   bench/ab.sh REV_A REV_B [DIR] [RUNS]
#   bench/ab.sh HEAD~1 HEAD bench/corpus/throughput/text40 5   # (bench/throughput.sh makes the corpus)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -ge 2 ] || { echo "usage: bench/ab.sh REV_A REV_B [DIR] [RUNS]" >&2; exit 2; }
dir="${3:-$root/bench/corpus/throughput/text40}" runs="${4:-5}"
work="$root/bench/results/ab"
mkdir -p "$work"
for side in a b; do
	rev=$1; [ $side = b ] && rev=$2
	tree="$(mktemp -d)"
	git -C "$root" worktree add -f --detach "$tree" "$rev" >/dev/null 2>&1
	(cd "$tree" && go build -o "$work/docingest-$side" ./cmd/docingest)
	git -C "$root" worktree remove --force "$tree"
done
# each run writes into a new folder, all removed at the end (see bench/throughput.sh: on
# ext4 without a journal, deleting one run's output makes the next run's file creation
# slower)
rm -rf "$work/outs"
trap 'rm -rf "$work/outs"' EXIT
for r in $(seq "$runs"); do
	for side in a b; do
		/usr/bin/time -f "$side %U %S" -o "$work/time.txt" "$work/docingest-$side" run "$dir" --out "$work/outs/$side$r" >/dev/null 2>&1 || true
		cat "$work/time.txt"
	done
done | awk -v a="$1" -v b="$2" '{u[$1]+=$2; s[$1]+=$3; n[$1]++}
	END {for (k in u) printf "%s (%s): user %.2f s, sys %.2f s, total %.2f s (mean of %d)\n", k, (k=="a"?a:b), u[k]/n[k], s[k]/n[k], (u[k]+s[k])/n[k], n[k]}' | sort
