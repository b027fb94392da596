import { describeTimelineConformance } from "@sluice/timeline/conformance/vitest";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { createIndexedDBTimelineStore } from "../src/index.js";

// The suite on fake-indexeddb in Node: a fresh IndexedDB per store, reopened by name. (The same
// suite runs in a real Chromium in chromium.test.ts.)
let indexedDB = new IDBFactory();
describeTimelineConformance("timeline-indexeddb (fake-indexeddb)", {
  create: () =>
    createIndexedDBTimelineStore({
      database: "timeline",
      indexedDB: (indexedDB = new IDBFactory()),
      IDBKeyRange,
    }),
  reopen: () => createIndexedDBTimelineStore({ database: "timeline", indexedDB, IDBKeyRange }),
});
