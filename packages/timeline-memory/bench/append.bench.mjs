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

function makeEvents(count, offset = 0) {
  const events = new Array(count);
  for (let i = 0; i < count; i++) events[i] = makeEvent(offset + i);
  return events;
}

// Each batch is made just before its append, as a runtime does (fresh objects and id strings),
// and only the append calls are timed. The store is first filled to its default bound (100k), so
// every round measures steady state: validate, copy, index and evict.
let nextId = 0;

async function appendThroughput(batchSize, perRound, rounds = 5) {
  const store = createMemoryTimelineStore();
  for (let i = 0; i < 100_000; i += 1000) await store.append(makeEvents(1000, (nextId += 1000)));
  const rates = [];
  for (let r = 0; r < rounds; r++) {
    let ms = 0;
    for (let i = 0; i < perRound; i += batchSize) {
      const batch = makeEvents(batchSize, (nextId += batchSize));
      const started = performance.now();
      await store.append(batch);
      ms += performance.now() - started;
    }
    rates.push(perRound / (ms / 1000));
  }
  const size = store.size;
  await store.close();
  rates.sort((a, b) => a - b);
  return { best: rates[rates.length - 1], median: rates[Math.floor(rates.length / 2)], size };
}

async function queryRun() {
  const store = createMemoryTimelineStore({ maxEvents: 200_000 });
  // one run with 10k events among 40k events of other runs, interleaved in time
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
  for (let i = 0; i < events.length; i += 1000) await store.append(events.slice(i, i + 1000));
  const rows = [];
  for (const [label, run] of [
    ["query one run's 10k events (limit 10000)", () => store.query({ runId: "target", limit: 10_000 })],
    [
      "page one run's 10k events (limit 1000, 10 pages)",
      async () => {
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
      () => store.query({ workflowId: "wf-t", limit: 10_000 }),
    ],
  ]) {
    for (let i = 0; i < 5; i++) await run();
    const reps = 30;
    const started = performance.now();
    let got = 0;
    for (let i = 0; i < reps; i++) got = (await run()).events.length;
    const ms = (performance.now() - started) / reps;
    rows.push({
      scenario: label,
      events: got,
      "ms / query": ms.toFixed(2),
      "events/s": fmt(got / (ms / 1000)),
    });
  }
  await store.close();
  return rows;
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
    ["hand-written copy (used)", manual],
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
    stored: r.size,
  });
}
console.log("append at steady state (validate + copy + index + evict; maxEvents 100k; 5 rounds)");
console.table(appendRows);
console.log("query (store of 50k events over 98 runs)");
console.table(await queryRun());
console.log("copy strategy for stored events (why the store copies by hand)");
console.table(copyStrategies());
const batched = appendRows.filter((r) => r["batch size"] >= 100);
console.log(
  `goal >= 2M events/s batched: ${batched.map((r) => `batch ${r["batch size"]}: median ${r["median events/s"]}, best ${r["best events/s"]}`).join("; ")}`,
);
