// Runs workflows flat out on the built dist of @sluice/runtime-core with a SQLite timeline until
// the parent test kills it with SIGKILL. Prints "ready <runs>" once runs have been completing.
import { createEventBus } from "@sluice/events";
import { WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { createSqliteTimelineStore } from "../../../../timeline-sqlite/dist/index.js";
import { pausing, steady } from "./workflows.mjs";

const filename = process.argv[2];
const bus = createEventBus();
const timelineStore = await createSqliteTimelineStore({ filename });
const runtime = new WorkflowRuntime({
  bus,
  storeRegistry: new StoreRegistry(),
  timelineStore,
  env: {},
  timeline: { maxBatch: 64, flushIntervalMs: 2 },
  onError: (e) => process.stderr.write(`${e.code}: ${e.message}\n`),
});
let completed = 0;
let announced = false;
const onComplete = () => {
  completed++;
  if (!announced && completed >= 200) {
    announced = true;
    process.stdout.write(`ready ${completed}\n`);
  }
};
await runtime.register(steady, { mode: { type: "transient", concurrency: 50 }, onComplete });
await runtime.register(pausing, { mode: { type: "transient", concurrency: 50 }, onComplete });

let n = 0;
const pump = () => {
  for (let i = 0; i < 4; i++, n++) {
    bus.emit("steady.go", { n });
    bus.emit("pausing.go", { k: n });
    // every other parked run is kicked a little later; the rest stay parked until the kill
    if (n % 2 === 0 && n >= 40) bus.emit("pausing.kick", { k: n - 40 });
  }
  setTimeout(pump, 1);
};
pump();
