// A tight invoke loop to profile the hot path:
//   node --cpu-prof bench/invoke-loop.mjs            (TIMELINE=1 to add the memory timeline;
//   TIMELINE=nullbatch a store whose appendBatch keeps nothing: the runtime's side of the timeline;
//   TIMELINE=null a store with append only, fed event objects made from each batch)
// Prints wall and CPU (user + system) µs per invoke; CPU time is what to compare on a shared machine.
import { createEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { WorkflowRuntime } from "../dist/index.js";
import { linear } from "./workflows.mjs";

const runtime = new WorkflowRuntime({
  bus: createEventBus(),
  storeRegistry: new StoreRegistry(),
  env: {},
  ...(process.env.TIMELINE === "null" && {
    timelineStore: {
      append: async () => {},
      query: async () => ({ events: [] }),
      delete: async () => 0,
      close: async () => {},
    },
  }),
  ...(process.env.TIMELINE === "nullbatch" && {
    timelineStore: {
      append: async () => {},
      appendBatch: async () => {},
      query: async () => ({ events: [] }),
      delete: async () => 0,
      close: async () => {},
    },
  }),
  ...(process.env.TIMELINE === "1" && {
    timelineStore: await createMemoryTimelineStore({ maxEvents: 50_000 }),
  }),
});
await runtime.register(linear, { retention: { maxFinished: 100 } });
const n = Number(process.env.N ?? 50_000);
for (let i = 0; i < n / 5; i++) await runtime.invoke("linear", "go", { i });
await runtime.flushTimeline();
const t0 = performance.now();
const c0 = process.cpuUsage();
for (let i = 0; i < n; i++) await runtime.invoke("linear", "go", { i });
await runtime.flushTimeline();
const cpu = process.cpuUsage(c0);
const wall = ((performance.now() - t0) * 1000) / n;
console.log(`${wall.toFixed(2)} µs wall, ${((cpu.user + cpu.system) / n).toFixed(2)} µs CPU per invoke`);
await runtime.stop();
