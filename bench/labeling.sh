#!/usr/bin/env bash
# Labeling loop (issue 19): builds a labeled corpus from Debian documentation packages whose
# topic is known by origin (not the packages behind the test fixtures), splits it 50/50 by
# a hash of each paragraph into a pool that gets labeled and a test set that is only
# scored, and drives docingest's own Labeler -> Dispatcher -> Collector loop with jobs of
# -budget items answered with the true classes (bench/labeling). Beside it, the same split
# through scikit-learn TF-IDF + logistic regression (C=10, class balanced) with
# uncertainty and random sampling at threshold 0.5 (bench/labeling_sklearn.py, Debian's
# python3-sklearn).
#
#   bench/labeling.sh [-corpus mail|python] [-budget 50] [-max-labels 500] [-per-class 400]
#
# -corpus mail (default): PostgreSQL, git, Octave and Postfix manuals (databases,
#   version control, numerical computing, mail servers).
# -corpus python: Python instead of Postfix: two programming-language manuals, harder.
# Everything is downloaded into bench/corpus/labeling (git-ignored).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"
work="$root/bench/corpus/labeling"
corpus=mail budget=50 max=500 per=400
while [ $# -gt 0 ]; do
  case "$1" in
    -corpus) corpus="$2"; shift 2 ;;
    -budget) budget="$2"; shift 2 ;;
    -max-labels) max="$2"; shift 2 ;;
    -per-class) per="$2"; shift 2 ;;
    *) echo "usage: bench/labeling.sh [-corpus mail|python] [-budget N] [-max-labels N] [-per-class N]" >&2; exit 2 ;;
  esac
done
mkdir -p "$work/debs" "$work/root" "$work/$corpus"
pkgs="postgresql-doc-15 git-doc octave-doc postfix-doc postfix python3.11-doc"
for p in $pkgs; do
  if ! ls "$work/debs/${p}_"*.deb >/dev/null 2>&1; then
    (cd "$work/debs" && apt-get download "$p" >/dev/null)
  fi
done
for f in "$work"/debs/*.deb; do
  [ -f "$f.done" ] || { dpkg-deb -x "$f" "$work/root" && touch "$f.done"; }
done
if ! /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
  echo "installing python3-sklearn (Debian) for the baseline" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-sklearn >/dev/null
fi
d="$work/root/usr/share/doc"
declare -A desc=(
  [databases]="Relational databases: SQL queries, tables, indexes, transactions and server administration."
  [version-control]="Version control with git: commits, branches, merges, remotes and the history of a repository."
  [numerical]="Numerical computing and plotting: matrices, vectors, functions, equations and graphics."
  [mail]="Mail servers: delivering, relaying and filtering e-mail over SMTP, mail queues, aliases and mailboxes."
  [python]="The Python programming language: modules, classes, functions, exceptions and the standard library."
)
declare -A dir=([databases]="$d/postgresql-doc-15" [version-control]="$d/git-doc" [numerical]="$d/octave" [mail]="$d/postfix" [python]="$d/python3.11")
classes=(databases version-control numerical "$corpus")
args=()
json="{"
for c in "${classes[@]}"; do
  args+=(-topic "$c=${dir[$c]}=${desc[$c]}")
  json+="\"$c\": \"${desc[$c]}\","
done
echo "${json%,}}" > "$work/$corpus/descriptions.json"
go build -o "$work/labbench" "$root/bench/labeling"
echo "== docingest (bench/labeling: the product's Labeler, Dispatcher and Collector)"
"$work/labbench" "${args[@]}" -budget "$budget" -max-labels "$max" -per-class "$per" -export "$work/$corpus"
echo
echo "== scikit-learn baseline on the same pool and test set"
/usr/bin/python3 "$root/bench/labeling_sklearn.py" "$work/$corpus" "$work/$corpus/descriptions.json" --budget "$budget" --max-labels "$max"
