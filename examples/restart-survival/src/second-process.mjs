// Process 2: a fresh runtime on the same SQLite timeline adopts the runs process 1 detached,
// decides two orders (the third one's deadline, set in process 1, passes here), and prints each
// run's timeline from the SQLite file: one sequence across both processes.
//
//   node src/second-process.mjs <timeline.sqlite> <checkpoints.json>
//   (or SLUICE_RESTART_DB and SLUICE_RESTART_CHECKPOINTS)
import { readFileSync, renameSync } from "node:fs";
import { createEventBus } from "@sluice/events";
import { WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { createSqliteTimelineStore } from "@sluice/timeline-sqlite";
import { describeSequence, renderChart } from "./chart.mjs";
import { ordersWorkflow } from "./workflow.mjs";

const [filename = process.env.SLUICE_RESTART_DB, checkpointsFile = process.env.SLUICE_RESTART_CHECKPOINTS] =
  process.argv.slice(2);
if (!filename || !checkpointsFile) {
  console.error("usage: node src/second-process.mjs <timeline.sqlite> <checkpoints.json>");
  process.exit(2);
}
const startedHere = Date.now();
const time = (at) => new Date(at).toISOString();

// A checkpoint continues once: claim the file by renaming it, so that another process started
// with the same path finds nothing to adopt (renaming is atomic; the claimed file stays readable).
const claimed = `${checkpointsFile}.adopted`;
try {
  renameSync(checkpointsFile, claimed);
} catch (error) {
  if (error.code !== "ENOENT") throw error;
  console.error(`nothing to adopt: no ${checkpointsFile} (already adopted, or process 1 did not run)`);
  process.exit(1);
}
const { savedBy, checkpoints } = JSON.parse(readFileSync(claimed, "utf8"));

const bus = createEventBus();
const timelineStore = await createSqliteTimelineStore({ filename });
const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry(), timelineStore, env: {} });
const results = new Map(); // runId -> RunResult
let allEnded;
const ended = new Promise((resolve) => {
  allEnded = resolve;
});
await runtime.register(ordersWorkflow, {
  mode: { type: "transient", concurrency: 10 },
  onResume: (ctx) =>
    console.log(
      `  resumed ${ctx.runId} at "${ctx.nextStage}" (restored: ${ctx.restored}) ${JSON.stringify(ctx.state())}`,
    ),
  onComplete: (result) => {
    results.set(result.metadata.runId, result);
    if (results.size === checkpoints.length) allEnded();
  },
});

console.log(`[process 2, pid ${process.pid}] timeline: ${filename}`);
console.log(`adopting ${checkpoints.length} runs detached by process 1 (pid ${savedBy})`);
const lastSeqBefore = new Map(); // runId -> the last seq process 1 wrote
const orderOf = new Map(); // runId -> orderId
for (const checkpoint of checkpoints) {
  const { events } = await timelineStore.query({ runId: checkpoint.runId, limit: 10_000 });
  lastSeqBefore.set(checkpoint.runId, events.at(-1)?.seq);
  const run = runtime.adopt(checkpoint);
  orderOf.set(run.runId, checkpoint.state.orderId);
  console.log(
    `  adopted ${run.runId}  ${checkpoint.state.orderId}  ${run.status} before "${run.stage}"  started ${time(run.startedAt)}`,
  );
}
if (checkpoints.length === 0) allEnded();

console.log("decisions:");
console.log("  ann approves A-100  (order.approved)");
bus.emit("order.approved", { orderId: "A-100", approvedBy: "ann" });
console.log("  bob rejects B-200   (order.rejected)");
bus.emit("order.rejected", { orderId: "B-200", rejectedBy: "bob", reason: "address unknown" });
for (const checkpoint of checkpoints) {
  if (checkpoint.state.orderId !== "C-300") continue;
  const deadline = Math.min(...checkpoint.pause.map((w) => w.deadline ?? Infinity));
  console.log(`  nobody decides C-300: its deadline, set in process 1, is ${time(deadline)}`);
}

await ended;
await runtime.flushTimeline();

console.log("\noutcomes:");
for (const [runId, orderId] of orderOf) {
  const result = results.get(runId);
  const summary = result.ok
    ? `${result.value.status} → ${result.value.state.outcome}  ${JSON.stringify(result.value.state)}`
    : `failed (${result.error.code}: ${result.error.message})`;
  console.log(`  ${orderId}  run ${runId}  ${summary}`);
}

console.log("\ntimelines, read back from SQLite (seq across both processes):");
const all = [];
const labels = new Map();
for (const [runId, orderId] of orderOf) {
  const { events } = await timelineStore.query({ runId, limit: 10_000 });
  events.sort((a, b) => a.seq - b.seq);
  all.push(...events);
  labels.set(runId, `${orderId} ${runId}`);
  const before = lastSeqBefore.get(runId);
  const writer = (e) => (e.seq <= before ? "process 1" : "process 2");
  console.log(`  ${orderId} run ${runId}`);
  for (const line of describeSequence(events, writer)) console.log(`    ${line}`);
}
console.log("");
console.log(renderChart(all, { labels, marks: [{ at: startedHere, legend: "process 2 starts" }] }));

await runtime.stop();
await timelineStore.close();
const failed = [...results.values()].filter((r) => !r.ok);
if (failed.length > 0) process.exit(1);
