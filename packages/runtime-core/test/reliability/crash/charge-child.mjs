// A payment that parks for approval (its checkpoint saved to a file in onPause, as the crash recipe
// in docs/pause-and-resume.md does), is approved, and hangs in its charge step until the parent test
// kills the process with SIGKILL. Prints "charging <runId>" once the charge's log line is stored.
import { writeFileSync } from "node:fs";
import { createEventBus } from "@sluice/events";
import { WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { createSqliteTimelineStore } from "../../../../timeline-sqlite/dist/index.js";
import { charging } from "./workflows.mjs";

const [filename, checkpointFile] = process.argv.slice(2);
const bus = createEventBus();
const timelineStore = await createSqliteTimelineStore({ filename });
const runtime = new WorkflowRuntime({
  bus,
  storeRegistry: new StoreRegistry(),
  timelineStore,
  env: {},
  timeline: { flushIntervalMs: 0 },
});
await runtime.register(charging(new Promise(() => {})), {
  onPause: (ctx) => writeFileSync(checkpointFile, JSON.stringify(runtime.checkpoint(ctx.runId))),
});
const paused = await runtime.invoke("charging", "go", { id: "p1" });
bus.emit("charging.approved", { id: "p1" });
await new Promise((resolve) => setTimeout(resolve, 20));
await runtime.flushTimeline();
process.stdout.write(`charging ${paused.metadata.runId}\n`);
