// Process 1: places orders, lets them park waiting for approval, then shuts down gracefully,
// keeping every parked run: detach() each one and write the checkpoints to a file before stop().
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
let parked = 0;
let allSettled;
// every order parked (or, which should not happen, ended): then the shutdown can begin
const everyOrderSettled = new Promise((resolve) => {
  allSettled = resolve;
});
const settledOne = () => parked + endedHere.length === orders.length && allSettled();
await runtime.register(ordersWorkflow, {
  mode: { type: "transient", concurrency: 10 },
  onDispatch: (d) => d.runId !== undefined && placed.push(d.runId),
  // each run records the order, registers its waits and parks before "ship"
  onPause: () => {
    parked++;
    settledOne();
  },
  onComplete: (result) => {
    endedHere.push(result);
    settledOne();
  },
});

console.log(`[process 1, pid ${process.pid}] timeline: ${filename}`);
for (const order of orders) bus.emit("order.placed", order);
await everyOrderSettled;
if (endedHere.length > 0) {
  console.error("some orders ended before the restart:", endedHere);
  process.exit(1);
}
for (const runId of placed) {
  const run = runtime.watch("orders", runId);
  console.log(
    `  run ${runId}  ${run.status} before "${run.stage}"  started ${new Date(run.startedAt).toISOString()}`,
  );
}

// Graceful shutdown: stop() would abort parked runs, so take them out first, as plain data.
console.log("shutting down: detaching every paused run");
const checkpoints = [];
for (const run of runtime.listAllRuns()) {
  if (run.status !== "paused") continue;
  const checkpoint = await runtime.detach(run.runId);
  checkpoints.push(checkpoint);
  console.log(`  detached ${run.runId}  ${checkpoint.state.orderId}  timeline seq ${checkpoint.seq}`);
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
