#!/usr/bin/env bash
# End-to-end throughput of `docingest run` with the default (hashing) embedder, against
# the same command built from a baseline revision, in the same run, on the same machine.
#
# Corpus (bench/corpus/throughput, git-ignored), from Debian packages the tests do not use:
#   text40  one 40 MB text: the reStructuredText sources of the Python 3.11 manuals
#           (python3.11-doc), then the text of the Debian Administrator's Handbook's HTML
#           pages (debian-handbook, all its languages) and the Debian Policy texts;
#   files133  the same text cut into 133 files of about 300 KB at paragraph breaks;
#   pdf     the PDFs of gnuplot-doc and r-doc-pdf (or bench/corpus/pdf when bench/pdf.sh
#           has already unpacked its set).
# For each set and each build it runs BENCH_RUNS times (3) and prints the run of median CPU
# time (the machine's noise is large): MB/s per core (input bytes, 10^6, per CPU-second of
# user+sys time), the output size (bytes under chunks/ per input byte), peak RSS, wall time and the
# seconds the documents spent per stage (extract, chunk, embed, encode, write).
#
#   bench/throughput.sh                      # baseline: c3886e2 (before the speed-ups)
#   BENCH_BASE=HEAD~3 bench/throughput.sh
#   BENCH_BASE= bench/throughput.sh          # this build only
#   BENCH_SETS="text40" bench/throughput.sh
#   BENCH_FORMATS="jsonl parquet" bench/throughput.sh   # chunk file formats of this build
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$root/bench/corpus/throughput"
results="$root/bench/results/throughput"
base="${BENCH_BASE-c3886e2}"
sets="${BENCH_SETS:-text40 files133 pdf}"
formats="${BENCH_FORMATS:-jsonl parquet}"
mkdir -p "$corpus/debs" "$results"

if [ ! -d "$corpus/root" ]; then
	(
		cd "$corpus/debs"
		for p in python3.11-doc debian-handbook debian-policy gnuplot-doc r-doc-pdf; do
			apt-get download "$p" >/dev/null 2>&1 || echo "skipped $p (not available here)" >&2
		done
	)
	mkdir -p "$corpus/root"
	for d in "$corpus"/debs/*.deb; do dpkg -x "$d" "$corpus/root"; done
	find "$corpus/root" -name '*.gz' -exec gunzip -f {} + 2>/dev/null || true
fi

python3 - "$corpus" <<'PY'
import html.parser, os, sys
corpus = sys.argv[1]
root = os.path.join(corpus, 'root')
if os.path.exists(os.path.join(corpus, 'text40', 'all.txt')):
    sys.exit(0)
class Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.out = []; self.skip = 0
    def handle_starttag(self, tag, a):
        if tag in ('script', 'style'): self.skip += 1
        if tag in ('p', 'div', 'li', 'h1', 'h2', 'h3', 'h4', 'pre', 'tr', 'br'): self.out.append('\n\n')
    def handle_endtag(self, tag):
        if tag in ('script', 'style') and self.skip: self.skip -= 1
    def handle_data(self, d):
        if not self.skip: self.out.append(d)
parts = []
def walk(sub, pred):
    for d, _, files in sorted(os.walk(os.path.join(root, sub))):
        for f in sorted(files):
            if pred(f): yield os.path.join(d, f)
for p in walk('usr/share/doc/python3.11', lambda f: f.endswith('.rst.txt')):
    parts.append(open(p, encoding='utf-8', errors='replace').read())
for p in walk('usr/share/doc/debian-handbook', lambda f: f.endswith('.html')):
    t = Text(); t.feed(open(p, encoding='utf-8', errors='replace').read())
    parts.append('\n'.join(l.strip() for l in ''.join(t.out).splitlines()))
for p in walk('usr/share/doc/debian-policy', lambda f: f.endswith('.txt') and '_sources' not in p):
    parts.append(open(p, encoding='utf-8', errors='replace').read())
text = '\n\n'.join(parts).encode('utf-8')
while b'\n\n\n' in text: text = text.replace(b'\n\n\n', b'\n\n')
target = 40_000_000
if len(text) < target:
    sys.exit('only %d bytes of text found; need %d' % (len(text), target))
text = text[:text.rfind(b'\n\n', 0, target)]
os.makedirs(os.path.join(corpus, 'text40'), exist_ok=True)
open(os.path.join(corpus, 'text40', 'all.txt'), 'wb').write(text)
d = os.path.join(corpus, 'files133'); os.makedirs(d, exist_ok=True)
pos, n = 0, 0
while pos < len(text) and n < 133:
    end = text.find(b'\n\n', pos + 300_000)
    end = len(text) if end < 0 or n == 132 else end
    open(os.path.join(d, 'part%03d.txt' % n), 'wb').write(text[pos:end])
    pos, n = end, n + 1
PY
if [ ! -d "$corpus/pdf" ]; then
	mkdir -p "$corpus/pdf"
	src="$root/bench/corpus/pdf/root"
	[ -d "$src" ] || src="$corpus/root"
	find "$src" -name "*.pdf" -type f -size -60M -exec cp -n -t "$corpus/pdf" {} + 2>/dev/null || true
fi

go build -o "$results/docingest" "$root/cmd/docingest"
builds="this"
if [ -n "$base" ]; then
	rm -rf "$results/base-src"
	git -C "$root" worktree add -f --detach "$results/base-src" "$base" >/dev/null 2>&1
	(cd "$results/base-src" && go build -o "$results/docingest-base" ./cmd/docingest)
	git -C "$root" worktree remove --force "$results/base-src"
	builds="base this"
fi

measure() { # measure BIN SET FORMAT: the run of median CPU time out of BENCH_RUNS
	local runs="${BENCH_RUNS:-3}" lines="$results/lines.txt"
	: >"$lines"
	for _ in $(seq "$runs"); do measure1 "$@" >>"$lines"; done
	sort -n "$lines" | sed -n "$(((runs + 1) / 2))p" | cut -d' ' -f2-
}

# Every run writes into a new folder, and all of them are removed at the end: removing the
# last run's output before the next made the next pay for it on ext4 without a journal
# (as on the VM these figures come from), which does not reuse an inode deleted in the
# last minutes and scans past every such inode when it creates a file. On the 133 files,
# runs into new folders after seven quiet minutes took 0.58 and 0.63 s of system time,
# runs right after removing the previous output 0.75 to 0.89 s. Each run's output takes
# up to 0.25 GB of disk until the end; wait a few minutes between two invocations.
outs="$results/outs"
rm -rf "$outs"
trap 'rm -rf "$outs"' EXIT
run_no=0

# anon_peak TIME_PID: the peak of docingest's anonymous resident memory (RssAnon, in KiB),
# read every 10 ms while it runs. Peak RSS (/usr/bin/time's %M) also counts the pages of the
# binary that are mapped, which depend on the binary's size and on how its file sits in the
# page cache (a binary just built maps more): on the 133 files two builds with the same
# anonymous peak (24-25 MiB) had RSS 28 and 40 MiB apart in file pages. PDF children are
# not counted here (their caps bound them).
anon_peak() {
	python3 - "$1" <<'PY'
import os, sys, time
tpid, child, peak = sys.argv[1], None, 0
def running(pid):  # the time process, until it exits (a zombie until the shell waits)
    try:
        return open('/proc/%s/stat' % pid).read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False
while running(tpid):
    try:
        if child is None:
            kids = open('/proc/%s/task/%s/children' % (tpid, tpid)).read().split()
            child = kids[0] if kids else None
        if child:
            for line in open('/proc/%s/status' % child):
                if line.startswith('RssAnon:'):
                    peak = max(peak, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.01)
print(peak)
PY
}

measure1() { # measure1 BIN SET FORMAT: "cpu-seconds line"
	local bin="$1" set="$2" format="$3"
	run_no=$((run_no + 1))
	local out="$outs/$run_no"
	mkdir -p "$outs"
	local env=()
	[ "$format" = jsonl ] || env=(DOCINGEST_OUTPUT_CHUNKS_FORMAT="$format")
	env "${env[@]}" /usr/bin/time -f "%U %S %M %e" -o "$results/time.txt" \
		"$bin" run "$corpus/$set" --out "$out" --json >"$results/report.json" 2>"$results/stderr.txt" &
	local tpid=$!
	anon_peak "$tpid" >"$results/anon.txt"
	wait "$tpid" || true
	python3 - "$results" "$out" <<'PY'
import json, os, sys
results, out = sys.argv[1], sys.argv[2]
user, sys_, rss, wall = open(os.path.join(results, 'time.txt')).read().split()[-4:]
anon = int(open(os.path.join(results, 'anon.txt')).read() or 0)
r = json.load(open(os.path.join(results, 'report.json')))
chunks = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(out, 'chunks')) for f in fs)
cpu = float(user) + float(sys_)
st = r.get('stage_seconds') or {}
stages = ' '.join('%s %.1f' % (k, st[k]) for k in ('extract', 'chunk', 'embed', 'encode', 'write') if k in st)
print('%.3f %8.1f MB/s/core  %5.2fx output  %6.0f MiB RSS (%3.0f anon)  %4d docs %3d failed  cpu %.1fs  wall %.1fs  %s' % (
    cpu, r['input_bytes'] / 1e6 / cpu, chunks / max(r['input_bytes'], 1), int(rss) / 1024, anon / 1024, r['documents'], r['failed'], cpu, float(wall), stages))
PY
}

for set in $sets; do
	echo "== $set ($(du -sh "$corpus/$set" | cut -f1))"
	for b in $builds; do
		if [ "$b" = base ]; then
			printf '%-16s' "base $base"
			measure "$results/docingest-base" "$set" jsonl
		else
			for f in $formats; do
				printf '%-16s' "this $f"
				measure "$results/docingest" "$set" "$f"
			done
		fi
	done
done
