import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { TimelineEvent } from "@sluice/timeline";
import { buildSync } from "esbuild";
import type { TimelineLayout, TimelineLayoutOptions } from "../src/index.js";

const SOURCE = fileURLToPath(new URL("../src/layout-timeline.ts", import.meta.url));

/**
 * `layoutTimeline(events, options)` from the source, in a worker thread that is stopped after
 * `timeoutMs` (keep it under the test's own timeout, 5 s by default) or at 256 MB of heap. A layout that never ends (or fills memory on the way) must fail
 * its test: in the test's own thread it would hang the run until the process ran out of memory.
 */
export async function layoutInWorker(
  events: TimelineEvent[],
  options: TimelineLayoutOptions,
  timeoutMs: number,
): Promise<TimelineLayout> {
  const bundle = buildSync({
    entryPoints: [SOURCE],
    bundle: true,
    format: "iife",
    globalName: "viewer",
    platform: "node",
    write: false,
  });
  const code = `${bundle.outputFiles[0]!.text}
const { parentPort, workerData } = require("node:worker_threads");
parentPort.postMessage(viewer.layoutTimeline(workerData.events, workerData.options));`;
  const worker = new Worker(code, {
    eval: true,
    workerData: { events, options },
    resourceLimits: { maxOldGenerationSizeMb: 256 },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<TimelineLayout>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`layoutTimeline took over ${timeoutMs} ms`)), timeoutMs);
      worker.once("message", resolve);
      worker.once("error", reject);
    });
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}
