// The Sluice demo: three orders through an approval workflow, recorded on a SQLite timeline.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventBus } from "@sluice/events";
import { WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { createSqliteTimelineStore } from "@sluice/timeline-sqlite";
import { renderRunChart } from "./chart.mjs";
import { ordersWorkflow } from "./orders-workflow.mjs";

const filename =
  process.env.SLUICE_DEMO_DB ?? join(mkdtempSync(join(tmpdir(), "sluice-demo-")), "timeline.sqlite");
const bus = createEventBus();
const timelineStore = await createSqliteTimelineStore({ filename });
const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry(), timelineStore, env: {} });

const orders = [
  { orderId: "A-100", total: 42, approveAfterMs: 60, by: "ann" }, // approved
  { orderId: "B-200", total: 17, approveAfterMs: null }, // never approved: times out
  { orderId: "C-300", total: 0 }, // fails validation
];

let lastRunId;
await runtime.register(ordersWorkflow({ approvalTimeoutMs: 150 }), {
  mode: { type: "transient", concurrency: 5 },
  // called as the bus delivers the event, so each emit below is followed by its run's id
  onDispatch: (d) => {
    lastRunId = d.runId;
    console.log(`dispatch  ${d.event} → ${d.outcome} ${d.runId ?? ""}`);
  },
});

console.log(`Sluice demo: order approval, timeline in ${filename}\n`);
const runs = orders.map((order) => {
  bus.emit("order.placed", { orderId: order.orderId, total: order.total });
  if (order.approveAfterMs != null) {
    setTimeout(
      () => bus.emit("order.approved", { orderId: order.orderId, by: order.by }),
      order.approveAfterMs,
    );
  }
  return { order, runId: lastRunId };
});
// An approval for an unknown order matches no wait and changes nothing.
bus.emit("order.approved", { orderId: "Z-999", by: "mallory" });

// Each run's final result, whatever resumes it (an approval, a timeout) and however long it waits.
const finished = await Promise.all(runs.map(({ runId }) => runtime.result(runId)));
await runtime.flushTimeline();

console.log("");
// Bars fill what the terminal leaves beside the labels and notes (~60 columns); COLUMNS when
// stdout is not a terminal (a pipe, CI), 108 when neither says.
const columns = process.stdout.columns ?? (Number(process.env.COLUMNS) || 108);
const chartWidth = Math.max(24, Math.min(120, columns - 60));
let stored = 0;
for (const [i, result] of finished.entries()) {
  const { order, runId } = runs[i];
  const { events } = await timelineStore.query({ runId, limit: 10_000 });
  stored += events.length;
  const summary = result.ok
    ? `${result.value.state.outcome ?? result.value.status}`
    : `failed (${result.error.code})`;
  console.log(`order ${order.orderId}  run ${runId}  → ${summary}`);
  console.log(renderRunChart(events, { width: chartWidth }));
  console.log("");
}
// These runs' events only: a file kept with SLUICE_DEMO_DB also holds the runs of earlier demos.
console.log(`${stored} timeline events stored in SQLite for ${finished.length} runs.`);
await runtime.stop();
await timelineStore.close();
const outcomes = finished.map((r) => (r.ok ? r.value.state.outcome : "failed")).sort();
if (JSON.stringify(outcomes) !== JSON.stringify(["cancelled", "failed", "shipped"])) {
  console.error(`unexpected outcomes: ${outcomes}`);
  process.exit(1);
}
