#!/usr/bin/env bash
# Planning a reindex at millions of keys: peak RSS, planning against a bare read of the
# same listings, and shards. bench/reindexscale serves a synthetic bucket of N sources and
# the state/ of an output that processed them all (a marker and a head each, so 3N keys
# listed) from an in-process S3 listing server, through aws-sdk-go-v2. Each measurement is
# its own process (peak RSS is the process's). For each size it runs:
#   bare   both listings read one after the other, nothing else
#   plan   a whole plan (it records the split points the shards use)
#   shard  4 shards from those split points, one after another
# Targets (issue 21): peak RSS <= 256 MiB at 10M keys and flat from 1M; plan <= 2x bare;
# slowest of 4 shards <= 0.3x one whole plan.
#   bench/reindex-scale.sh                  # 1,000,000 and 10,000,000 sources (about 30 min)
#   bench/reindex-scale.sh 200000           # any sizes
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/reindexscale" ./bench/reindexscale
for n in "${sizes[@]}"; do
  out="$work/$n.jsonl"
  (cd "$work" && TMPDIR="$work" ./reindexscale -n "$n" -mode bare) >>"$out"
  (cd "$work" && TMPDIR="$work" ./reindexscale -n "$n" -mode plan -splits "$work/splits-$n.json") >>"$out"
  for i in 0 1 2 3; do
    (cd "$work" && TMPDIR="$work" ./reindexscale -n "$n" -mode plan -shard "$i/4" -splits "$work/splits-$n.json") >>"$out"
  done
  python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
bare = next(r for r in rows if r["mode"] == "bare")
plan = next(r for r in rows if r["mode"] == "plan" and not r.get("shard"))
shards = [r for r in rows if r.get("shard")]
slow = max(shards, key=lambda r: r["wall_seconds"])
n = plan["keys"]
print(f"{n:>10,} sources ({bare['listed']:,} keys listed)")
print(f"  bare read    {bare['wall_seconds']:8.1f} s wall {bare['cpu_seconds']:8.1f} s CPU  peak RSS {bare['peak_rss_mib']:6.0f} MiB")
print(f"  whole plan   {plan['wall_seconds']:8.1f} s wall {plan['cpu_seconds']:8.1f} s CPU  peak RSS {plan['peak_rss_mib']:6.0f} MiB"
      f"  {n/plan['cpu_seconds']:,.0f} sources planned per CPU-second;"
      f" plan/bare {plan['cpu_seconds']/bare['cpu_seconds']:.2f}x CPU, {plan['wall_seconds']/bare['wall_seconds']:.2f}x wall")
print(f"  4 shards     sizes {[s['planned'] for s in shards]}, slowest {slow['shard']} {slow['wall_seconds']:.1f} s wall {slow['cpu_seconds']:.1f} s CPU"
      f" = {slow['wall_seconds']/plan['wall_seconds']:.2f}x the whole plan's wall, {slow['cpu_seconds']/plan['cpu_seconds']:.2f}x its CPU;"
      f" peak RSS {max(s['peak_rss_mib'] for s in shards):.0f} MiB")
PY
done
# Listing in parts: with a round trip per page (as S3 has; none above), a whole plan listed
# in one go against --list-parallel 8, at the first size.
n=${sizes[0]}
lat=${REINDEX_LATENCY:-20ms}
for fan in 1 8; do
  (cd "$work" && TMPDIR="$work" ./reindexscale -n "$n" -mode plan -latency "$lat" -fanout "$fan" -splits "$work/splits-$n.json") >>"$work/fanout.jsonl"
done
python3 - "$work/fanout.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
one, par = rows
print(f"{one['keys']:>10,} sources, {one['latency_ms']:.0f} ms per listing page: one listing {one['wall_seconds']:.1f} s wall,"
      f" {par['fanout']} parts at once {par['wall_seconds']:.1f} s wall ({one['wall_seconds']/par['wall_seconds']:.1f}x faster);"
      f" peak RSS {one['peak_rss_mib']:.0f} / {par['peak_rss_mib']:.0f} MiB")
PY
