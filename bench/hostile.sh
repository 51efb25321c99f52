#!/usr/bin/env bash
# Hostile uploads (issue 14): generates one file of every class in internal/hostile under
# bench/results/hostile (git-ignored), runs `docingest run` on each alone with the default
# caps and --concurrency 1, and prints one row per file: outcome (chunks, or the failure
# reason), seconds, peak RSS, the bytes written under the output folder and the ratio of
# chunk bytes to text bytes. A row is marked "!!" when its peak is over 256 MiB, when no
# failure record or chunks came out, or when the process died.
#   bench/hostile.sh [-scale S]     (S: size relative to the reported uploads, default 1)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"
work="$root/bench/results/hostile"
scale=1
[ "${1:-}" = "-scale" ] && scale="$2"
mkdir -p "$work"
go build -o "$work/docingest" "$root/cmd/docingest"
rm -rf "$work/in"
go run "$root/internal/hostile/gen" -scale "$scale" "$work/in"

printf '%-24s %-9s %-14s %8s %9s %12s %8s  %s\n' case input outcome seconds "peak MiB" "out bytes" chunks/text ""
for dir in "$work"/in/*/; do
  name="$(basename "$dir")"
  out="$work/out/$name"
  rm -rf "$out"
  input=$(du -sb "$dir" | cut -f1)
  set +e
  /usr/bin/time -f "%M %e %x" -o "$work/time.txt" timeout 600 "$work/docingest" run "$dir" --out "$out" --concurrency 1 >"$work/$name.stdout" 2>"$work/$name.stderr"
  set -e
  read -r kb secs rc < <(tail -n 1 "$work/time.txt" | awk '{print $(NF-2), $(NF-1), $NF}')
  outcome="none"
  if compgen -G "$out/failed/*.json" >/dev/null; then
    outcome="failed:$(sed -n 's/.*"reason": *"\([a-z_]*\)".*/\1/p' "$out"/failed/*.json | head -n 1)"
  elif compgen -G "$out/chunks/*.jsonl" >/dev/null; then
    outcome="chunks:$(cat "$out"/chunks/*.jsonl | wc -l)"
  fi
  bytes=$( [ -d "$out" ] && du -sb "$out" | cut -f1 || echo 0)
  ratio="-"
  if compgen -G "$out/text/*.txt" >/dev/null && compgen -G "$out/chunks/*.jsonl" >/dev/null; then
    t=$(cat "$out"/text/*.txt | wc -c); c=$(cat "$out"/chunks/*.jsonl | wc -c)
    ratio=$(awk -v c="$c" -v t="$t" 'BEGIN{ if (t>0) printf "%.2f", c/t; else print "-" }')
  fi
  mib=$(( kb / 1024 ))
  mark=""
  if [ "$mib" -gt 256 ] || [ "$outcome" = none ] || { [ "$rc" != 0 ] && [ "$rc" != 1 ]; }; then mark="!!"; fi
  printf '%-24s %-9s %-14s %8s %9s %12s %8s  %s\n' "$name" "$input" "$outcome" "$secs" "$mib" "$bytes" "$ratio" "$mark"
done
