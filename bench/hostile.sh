#!/usr/bin/env bash
# Hostile uploads (issue 14): generates one file of every class in internal/hostile under
# bench/results/hostile (git-ignored), runs `docingest run` on each alone with the default
# caps and --concurrency 1, and prints one row per file: outcome (chunks, or the failure
# reason), seconds, peak RSS, the bytes written under the output folder and the ratio of
# chunk bytes to text bytes. A row is marked "!!" when its peak is over 256 MiB, when no
# failure record or chunks came out, or when the process died.
#
#   bench/hostile.sh [-scale S] [-baseline REV]
#
# -scale S: size relative to the reported uploads (default 1).
# -baseline REV: also build docingest at git revision REV (in a temporary worktree) and run
#   it on the same files in the same run, with its peak and outcome beside ours (each run
#   capped at 8 GiB of address space, 2 GiB per file written and 300 s, so that the old
#   failures end without filling the disk).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"
work="$root/bench/results/hostile"
scale=1 baseline=""
while [ $# -gt 0 ]; do
  case "$1" in
    -scale) scale="$2"; shift 2 ;;
    -baseline) baseline="$2"; shift 2 ;;
    *) echo "usage: bench/hostile.sh [-scale S] [-baseline REV]" >&2; exit 2 ;;
  esac
done
mkdir -p "$work"
go build -o "$work/docingest" "$root/cmd/docingest"
if [ -n "$baseline" ]; then
  tree="$(mktemp -d)"
  git -C "$root" worktree add --detach "$tree" "$baseline" >/dev/null 2>&1
  (cd "$tree" && go build -o "$work/docingest-baseline" ./cmd/docingest)
  git -C "$root" worktree remove --force "$tree"
fi
rm -rf "$work/in"
go run "$root/internal/hostile/gen" -scale "$scale" "$work/in"

# one BIN DIR OUT -> "outcome seconds peakMiB outBytes ratio exitcode"
one() {
  local bin="$1" dir="$2" out="$3"
  rm -rf "$out"
  set +e
  /usr/bin/time -f "%M %e %x" -o "$work/time.txt" prlimit --as=$((8 << 30)) --fsize=$((2 << 30)) timeout -k 10 300 "$bin" run "$dir" --out "$out" --concurrency 1 >/dev/null 2>"$out.stderr"
  set -e
  local kb secs rc
  read -r kb secs rc < <(tail -n 1 "$work/time.txt" | awk '{print $(NF-2), $(NF-1), $NF}')
  local outcome="none"
  if compgen -G "$out/failed/*.json" >/dev/null; then
    outcome="failed:$(sed -n 's/.*"reason": *"\([a-z_]*\)".*/\1/p' "$out"/failed/*.json | head -n 1)"
  elif compgen -G "$out/chunks/*.jsonl" >/dev/null; then
    outcome="chunks:$(cat "$out"/chunks/*.jsonl | wc -l)"
  fi
  [ "$rc" = 0 ] || [ "$rc" = 1 ] || outcome="died($rc)"
  local bytes=0 ratio="-"
  [ -d "$out" ] && bytes=$(du -sb "$out" | cut -f1)
  if compgen -G "$out/text/*.txt" >/dev/null && compgen -G "$out/chunks/*.jsonl" >/dev/null; then
    local t c
    t=$(cat "$out"/text/*.txt | wc -c); c=$(cat "$out"/chunks/*.jsonl | wc -c)
    ratio=$(awk -v c="$c" -v t="$t" 'BEGIN{ if (t>0) printf "%.2f", c/t; else print "-" }')
  fi
  echo "$outcome $secs $((kb / 1024)) $bytes $ratio $rc"
}

if [ -n "$baseline" ]; then
  printf '%-24s %10s  %-22s %7s %9s  %-22s %7s %9s\n' case input outcome seconds "peak MiB" "baseline outcome" seconds "peak MiB"
else
  printf '%-24s %10s  %-22s %7s %9s %12s %8s\n' case input outcome seconds "peak MiB" "out bytes" chunks/text
fi
for dir in "$work"/in/*/; do
  name="$(basename "$dir")"
  input=$(du -sb "$dir" | cut -f1)
  read -r outcome secs mib bytes ratio rc < <(one "$work/docingest" "$dir" "$work/out-$name")
  mark=""
  if [ "$mib" -gt 256 ] || [ "$outcome" = none ] || [ "${outcome#died}" != "$outcome" ]; then mark="!!"; fi
  if [ -n "$baseline" ]; then
    read -r boutcome bsecs bmib _ _ _ < <(one "$work/docingest-baseline" "$dir" "$work/base-$name")
    printf '%-24s %10s  %-22s %7s %9s  %-22s %7s %9s  %s\n' "$name" "$input" "$outcome" "$secs" "$mib" "$boutcome" "$bsecs" "$bmib" "$mark"
  else
    printf '%-24s %10s  %-22s %7s %9s %12s %8s  %s\n' "$name" "$input" "$outcome" "$secs" "$mib" "$bytes" "$ratio" "$mark"
  fi
  rm -rf "$work/out-$name" "$work/base-$name"
done
