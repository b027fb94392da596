// Bundled into the Chromium page by bench/browser.bench.mjs: the workload on the page's indexedDB.
import { createIndexedDBTimelineStore } from "../dist/index.js";
import { runWorkload } from "./workload.mjs";

let counter = 0;
window.__sluice = {
  bench: (totals) =>
    runWorkload(() => createIndexedDBTimelineStore({ database: `bench-${++counter}` }), totals),
  userAgent: navigator.userAgent,
};
