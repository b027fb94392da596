// Append and query throughput of @sluice/timeline-memory, on the built package (run `pnpm build` first).
//   pnpm --filter @sluice/timeline-memory bench
// Prints figures; it is not a timed test. Goal: >= 2M events/s for batched appends.
import os from "node:os";
import { performance } from "node:perf_hooks";

const dist = new URL("../dist/index.js", import.meta.url);
const { createMemoryTimelineStore } = await import(dist.href).catch(() => {
  console.error("dist/ is missing: run `pnpm --filter @sluice/timeline-memory build` first");
  process.exit(1);
});
// The previous store (the columnar ring buffer with eager indexes, retained id strings and `data`
// copies), as built then: only here, so that one run prints before/after ratios measured side by side.
const baseline = await import(new URL("./baseline.mjs", import.meta.url).href);

const RUNS = 64;
const STEPS = ["validate", "reserve", "charge", "ship"];

// Events shaped like the runtime's: step events with a small data object, some logger lines.
function makeEvent(n) {
  const run = n % RUNS;
  const seq = Math.floor(n / RUNS);
  return n % 5 === 0
    ? {
        id: `e${n}`,
        runId: `run-${run}`,
        workflowId: `wf-${run % 4}`,
        seq,
        at: 1_700_000_000_000 + n,
        source: "logger",
        type: "log",
        level: "info",
        message: "charged card",
        data: { orderId: `o-${run}`, cents: 1299 },
      }
    : {
        id: `e${n}`,
        runId: `run-${run}`,
        workflowId: `wf-${run % 4}`,
        seq,
        at: 1_700_000_000_000 + n,
        source: "pipeline",
        type: "step.completed",
        stage: "fulfil",
        step: STEPS[seq % 4],
        data: { ms: seq % 17 },
      };
}

// Events shaped like the workflow runtime's own (runtime-core's invoke loop): a new run every 14
// events, ids built as `${runId}:${seq}` (concatenated strings, as the runtime makes them), three
// shapes, no `data`.
const RUNTIME_TYPES = ["run.started", "stage.started", "step.started", "step.completed", "stage.completed"];
let runtimeRun = 0;
let runtimeSeq = 14;
let runtimeRunId = "";
function makeRuntimeEvent() {
  if (runtimeSeq === 14) {
    runtimeRunId = `n8e5ph1jxecoa-${(++runtimeRun).toString(36)}`;
    runtimeSeq = 0;
  }
  const seq = ++runtimeSeq;
  const type = seq === 1 ? "run.started" : seq === 14 ? "run.completed" : RUNTIME_TYPES[1 + ((seq - 2) % 4)];
  const event = {
    id: `${runtimeRunId}:${seq}`,
    runId: runtimeRunId,
    workflowId: "linear",
    seq,
    at: 1_800_000_000_000 + (runtimeRun >> 2),
    source: "pipeline",
    type,
  };
  if (seq > 1 && seq < 14) event.stage = `s${1 + ((seq - 2) >> 2)}`;
  if (type.startsWith("step.")) event.step = "a";
  return event;
}

function makeEvents(count, offset = 0) {
  const events = new Array(count);
  for (let i = 0; i < count; i++) events[i] = makeEvent(offset + i);
  return events;
}

// Each round's batches are made just before the round, as a runtime makes fresh objects and id
// strings, and only the append calls are timed. The store is first filled to its default bound (100k), so
// every round measures steady state: validate, copy, index and evict.
let nextId = 0;

async function appendThroughput(batchSize, perRound, rounds = 5, evicting = true) {
  const store = await createMemoryTimelineStore(evicting ? {} : { maxEvents: perRound * rounds });
  if (evicting)
    for (let i = 0; i < 100_000; i += 1000) await store.append(makeEvents(1000, (nextId += 1000)));
  const rates = [];
  const cpuRates = [];
  for (let r = 0; r < rounds; r++) {
    const batches = [];
    for (let i = 0; i < perRound; i += batchSize) batches.push(makeEvents(batchSize, (nextId += batchSize)));
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (const batch of batches) await store.append(batch);
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    rates.push(perRound / (ms / 1000));
    // CPU time of this process (all its threads, GC helpers included): fairer than wall time on a busy machine
    cpuRates.push(perRound / ((used.user + used.system) / 1e6));
  }
  const size = store.size;
  await store.close();
  rates.sort((a, b) => a - b);
  cpuRates.sort((a, b) => a - b);
  return {
    best: rates[rates.length - 1],
    median: rates[Math.floor(rates.length / 2)],
    cpu: cpuRates[Math.floor(rounds / 2)],
    size,
  };
}

// One run with 10k events among 40k events of other runs, interleaved in time.
function queryEvents() {
  const events = [];
  for (let i = 0; i < 50_000; i++) {
    const target = i % 5 === 0;
    events.push({
      id: `q${i}`,
      runId: target ? "target" : `other-${i % 97}`,
      workflowId: target ? "wf-t" : "wf-o",
      seq: i,
      at: 1_700_000_000_000 + i,
      source: "pipeline",
      type: "step.completed",
      data: { i },
    });
  }
  return events;
}

async function filledStore(factory) {
  // the baseline's factory returns the store, this package's a promise of it: await takes both
  const store = await factory({ maxEvents: 200_000 });
  const events = queryEvents();
  for (let i = 0; i < events.length; i += 1000) await store.append(events.slice(i, i + 1000));
  return store;
}

// Query time, previous store vs this one, repetitions alternating between them (CPU time, median).
// The first query after the appends is timed on its own, on fresh stores (after a warm-up store, so
// it is not JIT warm-up): this store builds its indexes then.
async function queryRun() {
  const factories = { before: baseline.createMemoryTimelineStore, after: createMemoryTimelineStore };
  const firsts = { before: [], after: [] };
  for (let r = 0; r < 6; r++) {
    for (const name of r % 2 === 0 ? ["before", "after"] : ["after", "before"]) {
      const store = await filledStore(factories[name]);
      const cpu = process.cpuUsage();
      await store.query({ runId: "target", limit: 10_000 });
      const used = process.cpuUsage(cpu);
      if (r > 0) firsts[name].push((used.user + used.system) / 1000);
      await store.close();
    }
  }
  const first = { before: median(firsts.before), after: median(firsts.after) };
  const stores = {};
  for (const name of ["before", "after"]) stores[name] = await filledStore(factories[name]);
  const rows = [
    {
      scenario: "first query of one run's 10k events, just after appending 50k",
      events: 10_000,
      "before: ms": first.before.toFixed(2),
      "after: ms": first.after.toFixed(2),
      "after / before": `${(first.after / first.before).toFixed(2)}×`,
    },
  ];
  const scenarios = [
    ["query one run's 10k events (limit 10000)", (store) => store.query({ runId: "target", limit: 10_000 })],
    [
      "page one run's 10k events (limit 1000, 10 pages)",
      async (store) => {
        let next;
        let count = 0;
        do {
          const p = await store.query({ runId: "target", ...(next ? { next } : {}) });
          count += p.events.length;
          next = p.next;
        } while (next);
        return { events: { length: count } };
      },
    ],
    [
      "query one workflow's 10k events (limit 10000)",
      (store) => store.query({ workflowId: "wf-t", limit: 10_000 }),
    ],
  ];
  for (const [label, run] of scenarios) {
    for (const store of Object.values(stores)) for (let i = 0; i < 5; i++) await run(store);
    const times = { before: [], after: [] };
    let got = 0;
    for (let i = 0; i < 30; i++) {
      for (const name of i % 2 === 0 ? ["before", "after"] : ["after", "before"]) {
        const cpu = process.cpuUsage();
        got = (await run(stores[name])).events.length;
        const used = process.cpuUsage(cpu);
        times[name].push((used.user + used.system) / 1000);
      }
    }
    const before = median(times.before);
    const after = median(times.after);
    rows.push({
      scenario: label,
      events: got,
      "before: ms": before.toFixed(2),
      "after: ms": after.toFixed(2),
      "after / before": `${(after / before).toFixed(2)}×`,
    });
  }
  for (const store of Object.values(stores)) await store.close();
  return rows;
}

// Before/after in one process: both stores filled to their bound, then rounds alternate between
// them (old, new, new, old, ...) so load on the shared machine hits both alike; CPU time, median.
// `runtime` feeds events shaped like the workflow runtime's into stores of 50k (its bench's bound).
async function beforeAfter(batchSize, perRound, { rounds = 8, runtime = false } = {}) {
  const maxEvents = runtime ? 50_000 : 100_000;
  const make = runtime
    ? (count) => Array.from({ length: count }, makeRuntimeEvent)
    : (count) => makeEvents(count, (nextId += count) - count);
  const stores = {
    before: baseline.createMemoryTimelineStore({ maxEvents }),
    after: await createMemoryTimelineStore({ maxEvents }),
  };
  for (const store of Object.values(stores)) {
    for (let i = 0; i < maxEvents; i += 1000) await store.append(make(1000));
  }
  const rates = { before: [], after: [] };
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? ["before", "after"] : ["after", "before"]) {
      const batches = [];
      for (let i = 0; i < perRound; i += batchSize) batches.push(make(batchSize));
      const cpu = process.cpuUsage();
      for (const batch of batches) await stores[name].append(batch);
      const used = process.cpuUsage(cpu);
      rates[name].push(perRound / ((used.user + used.system) / 1e6));
    }
  }
  for (const store of Object.values(stores)) await store.close();
  const before = median(rates.before);
  const after = median(rates.after);
  return {
    events: runtime ? "runtime-shaped, maxEvents 50k" : "bench events, maxEvents 100k",
    "batch size": batchSize,
    "before: events/s of CPU": fmt(before),
    "after: events/s of CPU": fmt(after),
    "after / before": `${(after / before).toFixed(2)}×`,
  };
}

function median(xs) {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1];
}

function copyStrategies() {
  const events = makeEvents(100_000);
  const manual = (e) => {
    const out = {
      id: e.id,
      runId: e.runId,
      workflowId: e.workflowId,
      seq: e.seq,
      at: e.at,
      source: e.source,
      type: e.type,
    };
    if (e.stage !== undefined) out.stage = e.stage;
    if (e.step !== undefined) out.step = e.step;
    if (e.level !== undefined) out.level = e.level;
    if (e.message !== undefined) out.message = e.message;
    if (e.data !== undefined) out.data = copyJson(e.data);
    return out;
  };
  const rows = [];
  for (const [name, copy] of [
    ["hand-written copy of the whole event", manual],
    [
      "copy of data only (what the previous store kept)",
      (e) => (typeof e.data === "object" && e.data !== null ? copyJson(e.data) : e.data),
    ],
    ["structuredClone", (e) => structuredClone(e)],
    ["JSON.parse(JSON.stringify())", (e) => JSON.parse(JSON.stringify(e))],
  ]) {
    for (let i = 0; i < 20_000; i++) copy(events[i]);
    const started = performance.now();
    let sink;
    for (const e of events) sink = copy(e);
    const ms = performance.now() - started;
    rows.push({
      strategy: name,
      "ns / event": ((ms * 1e6) / events.length).toFixed(0),
      "events/s": fmt(events.length / (ms / 1000)),
      _: sink ? "" : "",
    });
  }
  return rows.map(({ _, ...r }) => r);
}

function copyJson(value) {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(copyJson);
  const out = {};
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++)
    if (value[keys[i]] !== undefined) out[keys[i]] = copyJson(value[keys[i]]);
  return out;
}

function fmt(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)}k` : n.toFixed(0);
}

console.log(
  `@sluice/timeline-memory on Node ${process.version}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}\n`,
);
const appendRows = [];
for (const [batch, perRound] of [
  [1, 50_000],
  [100, 200_000],
  [1000, 200_000],
]) {
  const r = await appendThroughput(batch, perRound);
  appendRows.push({
    "batch size": batch,
    "events / round": perRound,
    "median events/s": fmt(r.median),
    "best events/s": fmt(r.best),
    "median events/s of CPU time": fmt(r.cpu),
    stored: r.size,
  });
}
{
  // the same batches into a store below its bound: what eviction costs
  const r = await appendThroughput(1000, 200_000, 5, false);
  appendRows.push({
    "batch size": "1000, no eviction",
    "events / round": 200_000,
    "median events/s": fmt(r.median),
    "best events/s": fmt(r.best),
    "median events/s of CPU time": fmt(r.cpu),
    stored: r.size,
  });
}
console.log("append at steady state (validate + copy + index + evict; maxEvents 100k; 5 rounds)");
console.table(appendRows);
console.log(
  "query (store of 50k events over 98 runs; CPU ms per query, median; previous store vs this one, alternating)",
);
console.table(await queryRun());
console.log("before/after: previous store (bench/baseline.mjs) vs this one, interleaved in this process");
const ratioRows = [];
for (const [batch, perRound] of [
  [1, 50_000],
  [100, 100_000],
  [1000, 100_000],
]) {
  ratioRows.push(await beforeAfter(batch, perRound));
}
// the runtime's TimelineWriter appends up to 256 events at a time
ratioRows.push(await beforeAfter(256, 100_000, { runtime: true }));
console.table(ratioRows);
console.log(
  "copying an event or its data (the previous store kept data copies; this one encodes data into its log)",
);
console.table(copyStrategies());
const batched = appendRows.filter((r) => r["batch size"] === 100 || r["batch size"] === 1000);
console.log(
  `goal >= 2M events/s batched: ${batched.map((r) => `batch ${r["batch size"]}: median ${r["median events/s"]}, best ${r["best events/s"]}`).join("; ")}`,
);
