// Writes reference.jsonl: for each JSON string in inputs.jsonl, the pieces and ids the
// Hugging Face tokenizers library (npm @anush008/tokenizers) gives with tokenizer.json,
// without special tokens, truncation or padding.
// Usage: node gen-reference.mjs TOKENIZER_JSON INPUTS_JSONL OUT_JSONL
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.cwd() + "/");
const { Tokenizer } = require("@anush008/tokenizers");

const [tokPath, inPath, outPath] = process.argv.slice(2);
const tok = Tokenizer.fromFile(tokPath);
tok.disableTruncation();
tok.disablePadding();
const out = [];
for (const line of readFileSync(inPath, "utf8").split("\n")) {
  if (line === "") continue;
  const text = JSON.parse(line);
  const enc = await tok.encode(text, null, { addSpecialTokens: false });
  out.push(JSON.stringify({ text, tokens: enc.getTokens(), ids: enc.getIds() }));
}
writeFileSync(outPath, out.join("\n") + "\n");
