// Append and query throughput of the built SQLite adapter on a real file (WAL, synchronous=NORMAL).
// Run: pnpm --filter @sluice/timeline-sqlite build && pnpm --filter @sluice/timeline-sqlite bench
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSqliteTimelineStore } from "../dist/index.js";

const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-bench-"));
let files = 0;
const newFile = () => join(dir, `bench${files++}.db`);

function makeEvents(count, runs, prefix) {
  const events = new Array(count);
  for (let i = 0; i < count; i++) {
    const run = i % runs;
    const seq = Math.floor(i / runs);
    events[i] = {
      id: `${prefix}-${run}-${seq}`,
      runId: `${prefix}-run-${run}`,
      workflowId: "orders",
      seq,
      at: 1_700_000_000_000 + i,
      source: "pipeline",
      type: "step.completed",
      stage: "fulfil",
      step: "ship",
      data: { orderId: `o-${i}`, amount: i % 997, ok: true },
    };
  }
  return events;
}

function batches(events, size) {
  const out = [];
  for (let i = 0; i < events.length; i += size) out.push(events.slice(i, i + size));
  return out;
}

async function appendThroughput(batchSize, total, filename = newFile()) {
  const store = await createSqliteTimelineStore({ filename });
  const work = batches(makeEvents(total, 100, `b${batchSize}`), batchSize);
  await store.append(makeEvents(1000, 10, "warm"));
  const started = performance.now();
  for (const batch of work) await store.append(batch);
  const ms = performance.now() - started;
  await store.close();
  const where = filename === ":memory:" ? " (:memory:, no I/O)" : "";
  return { batch: `${batchSize}${where}`, events: total, ms, perSecond: (total / ms) * 1000 };
}

async function queryRun() {
  const store = await createSqliteTimelineStore({ filename: newFile() });
  // The run of interest among 90k events of other runs.
  for (const batch of batches(makeEvents(90_000, 90, "other"), 1000)) await store.append(batch);
  for (const batch of batches(makeEvents(10_000, 1, "target"), 1000)) await store.append(batch);
  const rows = [];
  for (const limit of [10_000, 1000]) {
    const times = [];
    for (let round = 0; round < 5; round++) {
      const started = performance.now();
      let count = 0;
      let next;
      do {
        const page = await store.query(
          next === undefined ? { runId: "target-run-0", limit } : { runId: "target-run-0", limit, next },
        );
        count += page.events.length;
        next = page.next;
      } while (next !== undefined);
      times.push(performance.now() - started);
      if (count !== 10_000) throw new Error(`expected 10000 events, read ${count}`);
    }
    times.sort((a, b) => a - b);
    const ms = times[2];
    rows.push({ query: `one run, 10k events, pages of ${limit}`, ms, perSecond: (10_000 / ms) * 1000 });
  }
  await store.close();
  return rows;
}

const fmt = (n) => Math.round(n).toLocaleString("en-US");
try {
  console.log(`@sluice/timeline-sqlite on a file (WAL, synchronous=NORMAL), node ${process.version}\n`);
  const appends = [
    await appendThroughput(1, 20_000),
    await appendThroughput(100, 200_000),
    await appendThroughput(1000, 200_000),
    await appendThroughput(1000, 200_000, ":memory:"),
  ];
  console.log("append throughput");
  console.log("| batch size | events | ms | events/s |");
  console.log("|---:|---:|---:|---:|");
  for (const r of appends)
    console.log(`| ${r.batch} | ${fmt(r.events)} | ${fmt(r.ms)} | ${fmt(r.perSecond)} |`);
  const goal = appends.find((r) => r.batch === "1000").perSecond;
  console.log(
    `\ngoal >= 200,000 events/s batched: ${goal >= 200_000 ? "met" : "NOT met"} (${fmt(goal)} at batch 1000)\n`,
  );
  console.log("query (median of 5)");
  console.log("| query | ms | events/s |");
  console.log("|---|---:|---:|");
  for (const r of await queryRun()) console.log(`| ${r.query} | ${r.ms.toFixed(1)} | ${fmt(r.perSecond)} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
