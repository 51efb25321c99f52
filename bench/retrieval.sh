#!/usr/bin/env bash
# Retrieval with the default (hashing) embedder, against a baseline build's: for sample
# chunks, twelve words from the middle of the chunk (away from the overlaps its neighbours
# share) are the query; `docingest query` of each build ranks every chunk of that build's
# output, and the script reports how often the chunk the words came from is first, how
# often it is in the top 10, and the mean reciprocal rank (0 when below the top 10).
# The default baseline, c7ff402, is the last build with docingest-hashing-v3 (FNV-1a and
# a word cache); docingest-hashing-v4 hashes the same features by other functions.
# Corpus: the first files of bench/throughput.sh's files133 set (run that first), which
# the tests do not use; queries are drawn with a fixed seed.
#   bench/retrieval.sh                   # 10 files (about 3 MB, 3,500 chunks), 200 queries
#   BENCH_BASE=HEAD~1 FILES=20 QUERIES=400 bench/retrieval.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/bench/lib.sh"
base="${BENCH_BASE:-c7ff402}" files="${FILES:-10}" queries="${QUERIES:-200}"
work="$root/bench/results/retrieval"
rm -rf "$work"
sample_files133 "$files" "$work/in"
build_at "$base" "$work/docingest-base"
(cd "$root" && go build -o "$work/docingest" ./cmd/docingest)
for b in base this; do
	bin="$work/docingest"; [ $b = base ] && bin="$work/docingest-base"
	"$bin" run "$work/in" --out "$work/out-$b" >/dev/null 2>&1
done
python3 - "$work" "$queries" <<'PY'
import glob, json, os, random, re, subprocess, sys
work, n = sys.argv[1], int(sys.argv[2])
chunks = []
for p in sorted(glob.glob(os.path.join(work, 'out-this', 'chunks', '**', '*.jsonl'), recursive=True)):
    for line in open(p, encoding='utf-8'):
        r = json.loads(line)
        words = r['text'].split()
        if len(words) >= 60:
            chunks.append((r['source']['uri'], r['index'], words))
random.Random(7).shuffle(chunks)
chunks = chunks[:n]
hit = re.compile(r'^\s*(\d+)\. \S+\s+(.*) #(\d+)')
for b in ('base', 'this'):
    binary = os.path.join(work, 'docingest-base' if b == 'base' else 'docingest')
    top1 = top10 = 0
    rr = 0.0
    for uri, index, words in chunks:
        mid = len(words) // 2
        query = ' '.join(words[mid - 6:mid + 6])
        out = subprocess.run([binary, 'query', query, '--out', os.path.join(work, 'out-' + b), '--k', '10'],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            m = hit.match(line)
            if m and m.group(2).split(' (')[0] == uri and int(m.group(3)) == index:
                rank = int(m.group(1))
                top1 += rank == 1
                top10 += 1
                rr += 1 / rank
                break
    model = json.load(open(os.path.join(work, 'out-' + b, 'embeddings.json'))).get('embedding_model', '?')
    print(f'{b:5} {model:32} queries {len(chunks)}  first {top1/len(chunks):.3f}  top 10 {top10/len(chunks):.3f}  MRR@10 {rr/len(chunks):.3f}')
PY
