#!/usr/bin/env bash
# Worker throughput against `docingest run` on the same objects in the same S3 server
# (gofakes3; fauxqs for the queue), and both processes' peak RSS, for 100, 1,000 and
# 10,000 small documents. Needs the emulators: run scripts/test once first.
#   bench/worker.sh            # 100 1000 10000
#   bench/worker.sh 500        # one size
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 10000)
for n in "${sizes[@]}"; do
  BENCH=1 BENCH_DOCS=$n go test ./cmd/docingest -run TestBenchWorkerVsRun -count=1 -timeout 60m -v | grep -E 'documents +run:|^cpu:|FAIL|panic' || true
done
