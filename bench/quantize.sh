#!/usr/bin/env bash
# What rounding the hashing embedder's components to four decimal places (model
# docingest-hashing-v3) does to retrieval: the same chunks embedded by the last build
# before the rounding (f2cf759, docingest-hashing-v2, full float32) and by the last build
# of v3 (c7ff402; BENCH_HEAD names another: v4, which hashes differently, would mix the
# two effects; bench/retrieval.sh compares v3 and v4),
# then bench/vectorcmp ranks every chunk against sample chunks under each and reports
# how many of the top 10 agree and how far the cosines moved. Also the chunk bytes of each.
# Corpus: the first files of bench/throughput.sh's files133 set (run that first), which
# the tests do not use.
#   bench/quantize.sh            # 10 files (about 3 MB, 3,500 chunks), 200 queries
#   FILES=20 QUERIES=400 bench/quantize.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/bench/lib.sh"
base="${BENCH_BASE:-f2cf759}" head="${BENCH_HEAD:-c7ff402}" files="${FILES:-10}" queries="${QUERIES:-200}"
work="$root/bench/results/quantize"
rm -rf "$work"
sample_files133 "$files" "$work/in"
build_at "$base" "$work/docingest-base"
build_at "$head" "$work/docingest"
(cd "$root" && go build -o "$work/vectorcmp" ./bench/vectorcmp)
"$work/docingest-base" run "$work/in" --out "$work/out-base" >/dev/null 2>&1
"$work/docingest" run "$work/in" --out "$work/out" >/dev/null 2>&1
echo "input $(du -sb "$work/in" | cut -f1) bytes; chunks/ of $base: $(du -sb "$work/out-base/chunks" | cut -f1) bytes, of $head: $(du -sb "$work/out/chunks" | cut -f1) bytes"
"$work/vectorcmp" -k 10 -queries "$queries" "$work/out-base" "$work/out"
