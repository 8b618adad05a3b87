// Reference GPT-2 ids from npm's tiktoken (the WASM build of OpenAI's Rust library, GPT-2's ranks inside the package).
// Usage: node tiktoken_reference.js MODULE_DIR MODE INPUT OUTPUT
//   MODULE_DIR  folder whose node_modules holds tiktoken
//   MODE        text: each input line is a document's raw bytes in base64
//               json: each input line is a JSON Lines line's raw bytes in base64; the document is its "text" field
//   OUTPUT      one line per input line: the ids separated by spaces, or "!" and the error message
// Bytes become text the way a JavaScript program gets them: TextDecoder (WHATWG: each maximal invalid subsequence is
// U+FFFD; a byte-order mark is kept as U+FEFF), then JSON.parse in json mode. tiktoken's encode takes a JS string,
// which wasm-bindgen passes as UTF-8 (a lone surrogate becomes U+FFFD). encode_ordinary: no special tokens.
"use strict";
const path = require("path");
const fs = require("fs");
const [moduleDir, mode, input, output] = process.argv.slice(2);
const { get_encoding } = require(path.join(moduleDir, "node_modules", "tiktoken"));
const enc = get_encoding("gpt2");
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const lines = fs.readFileSync(input, "latin1").split("\n");
if (lines[lines.length - 1] === "") lines.pop();
const out = [];
for (const b64 of lines) {
  try {
    const text = decoder.decode(Buffer.from(b64, "base64"));
    const doc = mode === "json" ? JSON.parse(text).text : text;
    out.push(Array.from(enc.encode_ordinary(doc)).join(" "));
  } catch (e) {
    out.push("! " + String(e.message).replace(/\n/g, " "));
  }
}
fs.writeFileSync(output, out.join("\n") + "\n");
enc.free();
