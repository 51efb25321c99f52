#!/usr/bin/env bash
# Compares docingest's recursive chunker with langchaingo's RecursiveCharacter splitter
# (1000 characters, 200 overlap) on the same text in the same process, and prints MB/s,
# chunk counts, chunks over the limit and the ratio.
#
#   bench/recursive.sh                      # 10 MB built from testdata/real
#   BENCH_MB=100 bench/recursive.sh         # 100 MB
#   BENCH_CORPUS=big.txt bench/recursive.sh # your own text
set -euo pipefail
cd "$(dirname "$0")/peers"
BENCH=1 go test -run TestRecursiveVsLangchaingo -count=1 -v . | grep -v '^=== \|^--- \|^PASS$\|^ok '
