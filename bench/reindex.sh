#!/usr/bin/env bash
# Cost of planning a reindex (listing the source and state/, classifying every key)
# against a bare ListObjectsV2 walk of the same prefix, in one run on the same S3 server
# (gofakes3, in process). Target: at most 2.5x.
#   bench/reindex.sh            # 10,000 and 100,000 keys
#   bench/reindex.sh 50000
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)
for n in "${sizes[@]}"; do
  BENCH=1 BENCH_KEYS=$n go test ./worker -run TestBenchReindexPlan -count=1 -timeout 60m -v | grep -E 'keys +bare|FAIL|panic' || true
done
