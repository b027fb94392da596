// The built IndexedDB adapter on fake-indexeddb in Node (an in-memory implementation: these
// figures measure the adapter plus fake-indexeddb, not a browser; see bench:browser for Chromium).
// Run: pnpm --filter @sluice/timeline-indexeddb build && pnpm --filter @sluice/timeline-indexeddb bench
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { createIndexedDBTimelineStore } from "../dist/index.js";
import { printTables, runWorkload } from "./workload.mjs";

const result = await runWorkload(
  () => createIndexedDBTimelineStore({ database: "bench", indexedDB: new IDBFactory(), IDBKeyRange }),
  [
    [1, 2_000],
    [100, 20_000],
    [1000, 20_000],
  ],
);
printTables(`@sluice/timeline-indexeddb on fake-indexeddb, node ${process.version}`, result);
