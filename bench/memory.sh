#!/usr/bin/env bash
# Peak RSS of `docingest run`:
#  1. on single documents at the size of the default caps (text, Markdown, HTML, CSV,
#     JSON Lines, a 99 MB text that trips the text cap, a real PDF);
#  2. on 10 and on 10,000 small documents: memory must not grow with their number.
# Documents are generated under bench/results/ (git-ignored) with python3.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/bench/results/memory"
mkdir -p "$work"
go build -o "$work/docingest" "$root/cmd/docingest"
bin="$work/docingest"

python3 - "$work" "$root" <<'PY'
import csv, json, os, random, sys
work, root = sys.argv[1], sys.argv[2]
random.seed(7)
words = open(os.path.join(root, 'testdata/docs/notes.txt')).read().split() + \
        open(os.path.join(root, 'testdata/docs/guide.md')).read().split()
def para(n): return ' '.join(random.choice(words) for _ in range(n)) + '.'
big = os.path.join(work, 'single'); os.makedirs(big, exist_ok=True)
def fill(name, mb, make):
    path = os.path.join(big, name)
    if os.path.exists(path): return
    with open(path, 'w', newline='') as f:
        size, i = 0, 0
        while size < mb * 2**20:
            s = make(i); f.write(s); size += len(s); i += 1
fill('45mb.txt', 45, lambda i: para(random.randint(40, 120)) + '\n\n')
fill('99mb.txt', 99, lambda i: para(random.randint(40, 120)) + '\n\n')
fill('45mb.md', 45, lambda i: ('## Part %d\n\n' % i if i % 10 == 0 else '') + para(random.randint(40, 120)) + '\n\n')
fill('40mb.html', 40, lambda i: ('<html><body>' if i == 0 else '') + ('<h2>Part %d</h2>' % i if i % 10 == 0 else '') + '<p>' + para(random.randint(40, 120)) + '</p>\n')
fill('40mb.csv', 40, lambda i: 'id,name,description\n' if i == 0 else '%d,%s,"%s"\n' % (i, random.choice(words), para(30)))
fill('40mb.jsonl', 40, lambda i: json.dumps({'id': i, 'title': random.choice(words), 'body': para(40)}) + '\n')
for n in (10, 10000):
    d = os.path.join(work, 'small%d' % n)
    if os.path.isdir(d): continue
    os.makedirs(d)
    for i in range(n):
        sub = os.path.join(d, 'd%03d' % (i // 100)); os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, 'doc%05d.txt' % i), 'w') as f:
            f.write('\n\n'.join(para(random.randint(40, 120)) for _ in range(random.randint(2, 8))))
PY

rss() { # rss DIR -> "peakKB seconds"
  rm -rf "$work/out"
  /usr/bin/time -f "%M %e" -o "$work/time.txt" "$bin" run "$1" --out "$work/out" >/dev/null 2>"$work/stderr.txt" || true
  tail -n 1 "$work/time.txt"
}

printf '%-26s %12s %9s\n' "single document" "peak RSS" "seconds"
for f in "$work"/single/* "$root/testdata/real/debian-reference.en.pdf"; do
  rm -rf "$work/one"; mkdir -p "$work/one"; cp "$f" "$work/one/"
  read -r kb secs <<<"$(rss "$work/one")"
  printf '%-26s %9.1f MiB %9s\n' "$(basename "$f")" "$(echo "$kb/1024" | bc -l)" "$secs"
done
echo
read -r kb10 s10 <<<"$(rss "$work/small10")"
read -r kb10k s10k <<<"$(rss "$work/small10000")"
printf '%-26s %9.1f MiB %9s\n' "10 small documents" "$(echo "$kb10/1024" | bc -l)" "$s10"
printf '%-26s %9.1f MiB %9s\n' "10,000 small documents" "$(echo "$kb10k/1024" | bc -l)" "$s10k"
printf 'peak RSS ratio 10,000 / 10 documents: %.2fx\n' "$(echo "$kb10k/$kb10" | bc -l)"
