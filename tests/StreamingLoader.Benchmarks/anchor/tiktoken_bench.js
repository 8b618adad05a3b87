// Anchor for `streamingloader bench tokenize`: npm's tiktoken (the WASM build of OpenAI's Rust library, GPT-2's ranks
// inside the package) encoding the same JSON Lines corpus under Node: read the file, JSON.parse each line, encode its
// text field with encode_ordinary. With --workers N > 1 the lines are split across N worker_threads (line i to worker
// i mod N), each with its own encoder, as a Node program would use two cores.
//
// Usage: node tiktoken_bench.js --module DIR --data FILE [--workers 1,2] [--rounds 5] [--field text]
//   --module  folder whose node_modules holds tiktoken
// Prints one JSON line: every round of every worker count, and the best.
"use strict";
const { Worker, isMainThread, parentPort, workerData } = require("worker_threads");
const fs = require("fs");
const os = require("os");
const path = require("path");

function encoder(moduleDir) {
  const { get_encoding } = require(path.join(moduleDir, "node_modules", "tiktoken"));
  return get_encoding("gpt2");
}

// One pass of one worker over its share of the lines: from the file's bytes to ids.
function pass(enc, file, field, index, count) {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  let tokens = 0, documents = 0;
  for (let i = index; i < lines.length; i += count) {
    if (lines[i].length === 0) continue;
    tokens += enc.encode_ordinary(JSON.parse(lines[i])[field]).length;
    documents++;
  }
  return { tokens, documents };
}

if (!isMainThread) {
  const { moduleDir, file, field, index, count } = workerData;
  const enc = encoder(moduleDir);
  parentPort.on("message", () => parentPort.postMessage(pass(enc, file, field, index, count)));
  parentPort.postMessage("ready");
  return;
}

const args = { workers: "1,2", rounds: "5", field: "text" };
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
if (!args.module || !args.data) {
  console.error("usage: node tiktoken_bench.js --module DIR --data FILE [--workers 1,2] [--rounds 5] [--field text]");
  process.exit(2);
}

async function measure(count, rounds) {
  const run = async (post) => {
    const start = process.hrtime.bigint();
    const results = await post();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const tokens = results.reduce((s, r) => s + r.tokens, 0);
    const documents = results.reduce((s, r) => s + r.documents, 0);
    return { workers: count, documents, tokens, seconds, tokens_per_s: tokens / seconds };
  };
  if (count === 1) {
    // On the main thread, as a plain Node program runs.
    const enc = encoder(args.module);
    pass(enc, args.data, args.field, 0, 1); // warm-up
    const out = [];
    for (let r = 0; r < rounds; r++) out.push(await run(async () => [pass(enc, args.data, args.field, 0, 1)]));
    enc.free();
    return out;
  }
  const workers = [];
  for (let k = 0; k < count; k++) {
    const worker = new Worker(__filename, { workerData: { moduleDir: args.module, file: args.data, field: args.field, index: k, count } });
    await new Promise((resolve) => worker.once("message", resolve));
    workers.push(worker);
  }
  const round = () => Promise.all(workers.map((w) => new Promise((resolve) => { w.once("message", resolve); w.postMessage("go"); })));
  await round(); // warm-up
  const out = [];
  for (let r = 0; r < rounds; r++) out.push(await run(round));
  await Promise.all(workers.map((w) => w.terminate()));
  return out;
}

(async () => {
  const version = JSON.parse(fs.readFileSync(path.join(args.module, "node_modules", "tiktoken", "package.json"), "utf8")).version;
  const runs = [];
  for (const count of args.workers.split(",").map(Number)) runs.push(...(await measure(count, Number(args.rounds))));
  const best = runs.reduce((a, b) => (b.tokens_per_s > a.tokens_per_s ? b : a));
  console.log(JSON.stringify({ anchor: "tiktoken", tiktoken: version, node: process.version, cpus: os.cpus().length, best, runs }));
})();
