// Bytes allocated per W1 run, by the function that allocated them (V8's sampling heap profiler,
// objects later collected included), to see what a run allocates before trying to cut it:
//   node bench/alloc-profile.mjs            (TIMELINE=1 adds the memory timeline; N runs, default 100 000)
// Functions inlined into a caller may be charged to it; compare figures within one build's run.
import { Session } from "node:inspector/promises";
import { createEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { WorkflowRuntime } from "../dist/index.js";
import { linear } from "./workflows.mjs";

const timeline =
  process.env.TIMELINE === "1"
    ? {
        timelineStore: await (await import("@sluice/timeline-memory")).createMemoryTimelineStore({
          maxEvents: 50_000,
        }),
      }
    : {};
const runtime = new WorkflowRuntime({
  bus: createEventBus(),
  storeRegistry: new StoreRegistry(),
  env: {},
  ...timeline,
});
await runtime.register(linear, { retention: { maxFinished: 100 } });
const n = Number(process.env.N ?? 100_000);
for (let i = 0; i < n / 5; i++) await runtime.invoke("linear", "go", { i });
await runtime.flushTimeline();

const session = new Session();
session.connect();
await session.post("HeapProfiler.enable");
await session.post("HeapProfiler.startSampling", {
  samplingInterval: 256,
  includeObjectsCollectedByMinorGC: true,
  includeObjectsCollectedByMajorGC: true,
});
for (let i = 0; i < n; i++) await runtime.invoke("linear", "go", { i });
await runtime.flushTimeline();
const { profile } = await session.post("HeapProfiler.stopSampling");
session.disconnect();

const bytesBySite = new Map();
(function walk(node) {
  const frame = node.callFrame;
  const site = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").slice(-3).join("/")}:${frame.lineNumber + 1}`;
  if (node.selfSize > 0) bytesBySite.set(site, (bytesBySite.get(site) ?? 0) + node.selfSize);
  for (const child of node.children) walk(child);
})(profile.head);
let total = 0;
for (const bytes of bytesBySite.values()) total += bytes;
console.log(`${(total / n).toFixed(0)} bytes allocated per run (${n} runs)`);
for (const [site, bytes] of [...bytesBySite].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  console.log(`${(bytes / n).toFixed(0).padStart(7)}  ${site}`);
}
await runtime.stop();
