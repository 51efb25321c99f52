#!/usr/bin/env bash
# Every finite float32 printed by internal/ftoa (the chunk records' vector values) against
# encoding/json's own printing: the two must agree on all of them. A few minutes on 2
# cores; too long for CI, whose tests check a random sample and the edges.
#   bench/ftoa-exhaustive.sh
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./internal/ftoa/exhaustive
