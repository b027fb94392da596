// What moving parked runs costs: N runs park in one runtime, all are detached to JSON text (a
// graceful shutdown), adopted by a second runtime (the restart), then all resumed by bus events.
//   node --expose-gc bench/transfer.mjs        (N=<runs>, default 10000)
// Prints µs per run for each phase, the JSON kept per run, and the heap per adopted parked run.
import { createEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { WorkflowRuntime } from "../dist/index.js";
import { pausing } from "./workflows.mjs";

const total = Number(process.env.N ?? 10_000);
let n = total;
const gc = globalThis.gc ?? (() => {});

function heapUsed() {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

let print = false;
async function phase(label, fn) {
  const t0 = performance.now();
  const result = await fn();
  const us = (((performance.now() - t0) * 1000) / n).toFixed(2);
  if (print) console.log(`${label.padEnd(34)} ${us.padStart(8)} µs/run`);
  return result;
}

// One unprinted round of a fifth of the runs first, so that the printed one runs compiled code.
async function round() {
  const first = new WorkflowRuntime({ bus: createEventBus(), storeRegistry: new StoreRegistry(), env: {} });
  await first.register(pausing, { pauseWindowMs: 0 });
  await phase(`invoke ${n} runs to paused`, async () => {
    for (let i = 0; i < n; i++) await first.invoke("pz", "go", { id: i });
  });
  const saved = await phase("detach + JSON.stringify", async () => {
    const texts = [];
    for (const run of first.listAllRuns()) texts.push(JSON.stringify(await first.detach(run.runId)));
    return texts;
  });
  await first.stop();
  const bytes = saved.reduce((sum, text) => sum + text.length, 0) / n;

  const bus = createEventBus();
  let completed = 0;
  const second = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry(), env: {} });
  await second.register(pausing, { onComplete: () => void completed++ });
  const before = heapUsed();
  const adopted = await phase("JSON.parse + adopt", () =>
    saved.map((text) => second.adopt(JSON.parse(text))),
  );
  adopted.length = 0;
  saved.length = 0;
  const heap = (heapUsed() - before) / n;
  await phase("resume by bus event, to completed", async () => {
    for (let i = 0; i < n; i++) bus.emit("approve", { id: i, approved: true });
    while (completed < n) await new Promise((resolve) => setImmediate(resolve));
  });
  if (print) {
    console.log(`checkpoint JSON per run: ${bytes.toFixed(0)} bytes`);
    console.log(
      `heap per adopted parked run: ${heap.toFixed(0)} bytes${globalThis.gc ? "" : " (run with --expose-gc)"}`,
    );
  }
  await second.stop();
}
n = Math.max(1, Math.round(total / 5));
await round();
n = total;
print = true;
await round();
