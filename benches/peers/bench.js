#!/usr/bin/env node
// Node peers for idflow's scim-model benchmarks: the same inputs (benches/data/) and the same
// work as benches/benches/scim_model.rs, measured with the npm packages
//   scim2-parse-filter  (filter parse and evaluate)
//   scim-patch          (PATCH apply)
// and, for reference, JSON.parse / JSON.stringify on the User documents.
//
// Usage: node benches/peers/bench.js [--quick] [--check-only]
//   (install first: `npm ci` in benches/peers; the lock file pins every version)
//
// Before timing anything it checks that every filter gives the `expected` answer and every
// PATCH produces the `expected` resource recorded in benches/data/ (idflow's benchmarks and
// tests check the same), and prints the results to stderr. Timings go to stdout as JSON:
//   {"node": "...", "packages": {...}, "settings": {...}, "ns_per_op": {"<group>/<case>": ns}}
// Each figure is the median over several batches of the mean time per operation in a batch,
// taken after a warm-up, with process.hrtime.bigint().

"use strict";

const fs = require("fs");
const path = require("path");
const { parse, filter } = require("scim2-parse-filter");
const { scimPatch } = require("scim-patch");
const deepEqual = require("fast-deep-equal");

const args = new Set(process.argv.slice(2));
const QUICK = args.has("--quick");
const CHECK_ONLY = args.has("--check-only");

// Batches of at least TARGET_BATCH_NS each; BATCHES of them after WARMUP_NS of warm-up.
const SETTINGS = QUICK
  ? { target_batch_ms: 5, batches: 5, warmup_ms: 50 }
  : { target_batch_ms: 50, batches: 21, warmup_ms: 1000 };

const DATA = path.join(__dirname, "..", "data");
const readText = (name) => fs.readFileSync(path.join(DATA, name), "utf8");
const readJson = (name) => JSON.parse(readText(name));

const DOCUMENTS = ["user-full", "user-entra", "group-100"];
const texts = Object.fromEntries(DOCUMENTS.map((d) => [d, readText(`${d}.json`)]));
const resources = Object.fromEntries(DOCUMENTS.map((d) => [d, JSON.parse(texts[d])]));
const filterCases = readJson("filters.json").cases;
const patchCases = readJson("patches.json").cases;

// A sink the optimiser cannot see through, so no measured call is dead code.
let sink = 0;
const keep = (v) => {
  sink = (sink + (v === true ? 1 : typeof v === "object" && v !== null ? 2 : 3)) | 0;
};

const deepClone = (v) => JSON.parse(JSON.stringify(v));

// ---- checks: same answers as idflow on the same inputs ----

let failures = 0;
for (const c of filterCases) {
  const got = filter(parse(c.filter))(resources[c.resource]);
  const ok = got === c.expected;
  if (!ok) failures++;
  console.error(`check filter ${c.name}: ${got} (expected ${c.expected}) ${ok ? "ok" : "MISMATCH"}`);
}
for (const c of patchCases) {
  const got = scimPatch(deepClone(resources[c.resource]), deepClone(c.request.Operations));
  const ok = deepEqual(got, c.expected);
  if (!ok) failures++;
  console.error(`check patch ${c.name}: ${ok ? "ok" : "MISMATCH"}`);
  if (!ok) console.error(JSON.stringify(got, null, 2));
}
if (failures > 0) {
  console.error(`${failures} check(s) failed: the peer does not compute what the inputs expect`);
  process.exit(1);
}
if (CHECK_ONLY) process.exit(0);

// ---- timing ----

const targetNs = BigInt(SETTINGS.target_batch_ms) * 1_000_000n;
const ms = (x) => BigInt(x) * 1_000_000n;

// The median of the per-operation means of SETTINGS.batches batches of n operations, n chosen
// so that a batch takes at least target_batch_ms, after warm_up_ms of warm-up.
function measure(run) {
  const batch = (n) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) keep(run());
    return process.hrtime.bigint() - t0;
  };
  let n = 1;
  while (batch(n) < targetNs && n < 1 << 30) n *= 2;
  const warmEnd = process.hrtime.bigint() + ms(SETTINGS.warmup_ms);
  while (process.hrtime.bigint() < warmEnd) batch(n);
  const perOp = [];
  for (let b = 0; b < SETTINGS.batches; b++) perOp.push(Number(batch(n)) / n);
  return median(perOp);
}

// For operations that consume their input (scim-patch mutates the resource it is given):
// batches of PREPARED_BATCH operations, each on its own input made by `prepare` outside the
// timing (what criterion's iter_batched does). Making the inputs costs far more than the
// operation, so instead of a fixed count it takes batches for batches × target_batch_ms of
// wall time (at least SETTINGS.batches of them) and reports the median per-operation mean.
const PREPARED_BATCH = 256;
function measurePrepared(prepare, run) {
  const batch = () => {
    const inputs = prepare(PREPARED_BATCH);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < PREPARED_BATCH; i++) keep(run(inputs[i]));
    return Number(process.hrtime.bigint() - t0) / PREPARED_BATCH;
  };
  const warmEnd = process.hrtime.bigint() + ms(SETTINGS.warmup_ms);
  while (process.hrtime.bigint() < warmEnd) batch();
  const end = process.hrtime.bigint() + targetNs * BigInt(SETTINGS.batches);
  const perOp = [];
  while (perOp.length < SETTINGS.batches || process.hrtime.bigint() < end) perOp.push(batch());
  return median(perOp);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const results = {};

for (const c of filterCases) {
  results[`filter_parse/${c.name}`] = measure(() => parse(c.filter));
}
for (const c of filterCases) {
  const f = filter(parse(c.filter));
  const r = resources[c.resource];
  results[`filter_eval/${c.name}`] = measure(() => f(r));
}
for (const c of patchCases) {
  const ops = c.request.Operations;
  const r = resources[c.resource];
  // scim-patch mutates its argument: each iteration gets its own copy, made outside the timing.
  const prepare = (n) => Array.from({ length: n }, () => deepClone(r));
  results[`patch_apply/${c.name}`] = measurePrepared(prepare, (copy) => scimPatch(copy, ops));
}
for (const d of ["user-full", "user-entra"]) {
  results[`json_parse/${d}`] = measure(() => JSON.parse(texts[d]));
  const r = resources[d];
  results[`json_stringify/${d}`] = measure(() => JSON.stringify(r));
}

const version = (pkg) => require(`${pkg}/package.json`).version;
process.stdout.write(
  JSON.stringify(
    {
      node: process.version,
      packages: {
        "scim2-parse-filter": version("scim2-parse-filter"),
        "scim-patch": version("scim-patch"),
      },
      settings: SETTINGS,
      ns_per_op: results,
      sink,
    },
    null,
    2,
  ) + "\n",
);
