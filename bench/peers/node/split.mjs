// Runs one JavaScript splitter over one text file and prints one JSON line, in the same
// shape as ../cmd/split: time, MB/s, chunk count, size statistics in the splitter's unit,
// chunks over the limit (measured the splitter's own way) and peak RSS.
// Usage: node split.mjs SPLITTER FILE
import { readFileSync } from "node:fs";
import { RecursiveCharacterTextSplitter, MarkdownTextSplitter } from "@langchain/textsplitters";
import { SentenceSplitter } from "llamaindex";

const [name, file] = process.argv.slice(2);
const text = readFileSync(file, "utf8");
const codePoints = (s) => { let n = 0; for (const _ of s) n++; return n; };
let split, measure, unit, limit;
switch (name) {
  case "langchainjs-recursive-chars": {
    const s = new RecursiveCharacterTextSplitter({ chunkSize: 1000, chunkOverlap: 200 });
    split = (t) => s.splitText(t); measure = (c) => c.length; unit = "utf16"; limit = 1000;
    break;
  }
  case "langchainjs-markdown-chars": {
    const s = new MarkdownTextSplitter({ chunkSize: 1000, chunkOverlap: 200 });
    split = (t) => s.splitText(t); measure = (c) => c.length; unit = "utf16"; limit = 1000;
    break;
  }
  case "llamaindex-sentence-tokens": {
    const s = new SentenceSplitter({ chunkSize: 512, chunkOverlap: 50 });
    split = async (t) => s.splitText(t); measure = (c) => s.tokenSize(c); unit = "llamaindex-default"; limit = 512;
    break;
  }
  default:
    console.error(`unknown splitter ${name}`);
    process.exit(2);
}
const bytes = Buffer.byteLength(text, "utf8");
const start = process.hrtime.bigint();
const chunks = await split(text);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const rss = process.resourceUsage().maxRSS / 1024; // KiB to MiB
const sizes = chunks.map(measure).sort((a, b) => a - b);
const total = sizes.reduce((a, b) => a + b, 0);
console.log(JSON.stringify({
  splitter: name, unit, limit, bytes, seconds, mb_per_s: bytes / 1e6 / seconds,
  chunks: chunks.length, mean: sizes.length ? total / sizes.length : 0,
  p50: sizes.length ? sizes[sizes.length >> 1] : 0, max: sizes.length ? sizes[sizes.length - 1] : 0,
  over: sizes.filter((n) => n > limit).length, peak_rss_mib: rss,
  code_points_over_limit: unit === "utf16" ? chunks.filter((c) => codePoints(c) > limit).length : undefined,
}));
