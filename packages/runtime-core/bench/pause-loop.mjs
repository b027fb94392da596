// A tight pause → bus event → resume → complete loop (the cross-engine W3 cycle) to profile:
//   node --cpu-prof bench/pause-loop.mjs        (WINDOW=<ms> keeps the live context that long; default 0)
// Prints wall and CPU (user + system) µs per cycle; CPU time is what to compare on a shared machine.
import { createEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { WorkflowRuntime } from "../dist/index.js";
import { pausing } from "./workflows.mjs";

const bus = createEventBus();
const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry(), env: {} });
const waiting = new Map();
await runtime.register(pausing, {
  pauseWindowMs: Number(process.env.WINDOW ?? 0),
  onComplete: (result) => {
    const resolve = waiting.get(result.metadata.runId);
    waiting.delete(result.metadata.runId);
    resolve?.(result);
  },
});
async function cycle(i) {
  const started = await runtime.invoke("pz", "go", { id: i });
  if (!started.ok || started.value.status !== "paused") throw new Error("expected a paused run");
  const done = new Promise((resolve) => waiting.set(started.metadata.runId, resolve));
  bus.emit("approve", { id: i, approved: true });
  const result = await done;
  if (!result.ok || result.value.status !== "completed") throw new Error("expected a completed run");
}
const n = Number(process.env.N ?? 50_000);
for (let i = 0; i < n / 5; i++) await cycle(i);
const t0 = performance.now();
const c0 = process.cpuUsage();
for (let i = 0; i < n; i++) await cycle(i);
const cpu = process.cpuUsage(c0);
const wall = ((performance.now() - t0) * 1000) / n;
console.log(`${wall.toFixed(2)} µs wall, ${((cpu.user + cpu.system) / n).toFixed(2)} µs CPU per cycle`);
await runtime.stop();
