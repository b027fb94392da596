// Process 1: places orders, lets them park waiting for approval, then shuts down gracefully,
// keeping every parked run: drain(), detach() each parked run and write the checkpoints to a file,
// then stop().
//
//   node src/first-process.mjs <timeline.sqlite> <checkpoints.json>
//   (or SLUICE_RESTART_DB and SLUICE_RESTART_CHECKPOINTS)
import { renameSync, writeFileSync } from "node:fs";
import { createEventBus } from "@sluice/events";
import { WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { createSqliteTimelineStore } from "@sluice/timeline-sqlite";
import { ordersWorkflow } from "./workflow.mjs";

const [filename = process.env.SLUICE_RESTART_DB, checkpointsFile = process.env.SLUICE_RESTART_CHECKPOINTS] =
  process.argv.slice(2);
if (!filename || !checkpointsFile) {
  console.error("usage: node src/first-process.mjs <timeline.sqlite> <checkpoints.json>");
  process.exit(2);
}

const orders = [
  { orderId: "A-100", total: 42 },
  { orderId: "B-200", total: 17 },
  // a short approval window: its deadline falls after the restart, so the second process fires it
  { orderId: "C-300", total: 99, approvalWindowMs: 2_000 },
];

const bus = createEventBus();
const timelineStore = await createSqliteTimelineStore({ filename });
const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry(), timelineStore, env: {} });
const placed = []; // run ids, in order
const endedHere = []; // results of runs that ended in this process: none should
await runtime.register(ordersWorkflow, {
  mode: { type: "transient", concurrency: 10 },
  onDispatch: (d) => d.runId !== undefined && placed.push(d.runId),
  onComplete: (result) => void endedHere.push(result),
});

console.log(`[process 1, pid ${process.pid}] timeline: ${filename}`);
for (const order of orders) bus.emit("order.placed", order);

// Graceful shutdown. drain(): no new runs from here on, and it resolves once every run has ended
// or parked (each order records itself, registers its waits and parks before "ship").
const { drained, paused } = await runtime.drain({ timeoutMs: 10_000 });
if (!drained || endedHere.length > 0) {
  console.error("some orders did not park before the restart:", { drained, endedHere });
  process.exit(1);
}
for (const runId of placed) {
  const run = runtime.watch("orders", runId);
  console.log(
    `  run ${runId}  ${run.status} before "${run.stage}"  started ${new Date(run.startedAt).toISOString()}`,
  );
}

// stop() would abort parked runs, so take them out first, as plain data. Every detach() starts in
// this one synchronous stretch, so no event resumes one of them between two calls; allSettled, so
// that one that fails (a state JSON cannot hold) does not lose the others' checkpoints.
console.log("shutting down: detaching every paused run");
const checkpoints = [];
for (const detached of await Promise.allSettled(paused.map((runId) => runtime.detach(runId)))) {
  if (detached.status === "rejected") {
    console.error("  kept here (and aborted by stop()):", detached.reason.message);
    continue;
  }
  const checkpoint = detached.value;
  checkpoints.push(checkpoint);
  console.log(`  detached ${checkpoint.runId}  ${checkpoint.state.orderId}  timeline seq ${checkpoint.seq}`);
}
// write-then-rename: the next process finds the whole file or none
writeFileSync(
  `${checkpointsFile}.tmp`,
  `${JSON.stringify({ savedBy: process.pid, checkpoints }, null, 2)}\n`,
);
renameSync(`${checkpointsFile}.tmp`, checkpointsFile);
console.log(`  ${checkpoints.length} checkpoints written to ${checkpointsFile}`);

await runtime.stop();
await timelineStore.close();
console.log(`stopped: ${endedHere.length} runs ended in this process (none aborted)`);
if (endedHere.length > 0) process.exit(1);
