#!/usr/bin/env bash
# Regenerates vocab/bert-base-uncased.txt and testdata/reference.jsonl from tokenizer.json
# of the Go module github.com/clems4ever/all-minilm-l6-v2-go v0.0.9 (Apache-2.0), using the
# Hugging Face tokenizers library from npm (@anush008/tokenizers 0.6.0) as the reference.
# Needs go, node and npm; installs into a temporary folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pkg=$(dirname "$here")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir=$(cd "$work" && go mod init tmp >/dev/null 2>&1 && go mod download -json github.com/clems4ever/all-minilm-l6-v2-go@v0.0.9 | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
tokjson="$dir/all_minilm_l6_v2/tokenizer.json"
cd "$work"
printf '{"private":true}\n' >package.json
npm install --no-audit --no-fund --no-save @anush008/tokenizers@0.6.0 >/dev/null
node -e '
const v = require(process.argv[1]).model.vocab;
const a = []; for (const [t, i] of Object.entries(v)) a[i] = t;
process.stdout.write(a.join("\n") + "\n");' "$tokjson" >"$pkg/vocab/bert-base-uncased.txt"
node "$here/gen-reference.mjs" "$tokjson" "$here/inputs.jsonl" "$here/reference.jsonl"
echo "wrote $pkg/vocab/bert-base-uncased.txt and $here/reference.jsonl"
