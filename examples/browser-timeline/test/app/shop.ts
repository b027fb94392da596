// A shop page as a front-end team would write it: a runtime in the tab on the in-page bus, orders
// placed and approved from buttons, the timeline in IndexedDB drawn live by <sluice-timeline>,
// each parked run's checkpoint kept in localStorage and adopted again when the page loads.
// URL: ?db=<the timeline's IndexedDB database>
import { createEventBus } from "@sluice/events";
import { type RunCheckpoint, WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { createIndexedDBTimelineStore } from "@sluice/timeline-indexeddb";
import { defineTimelineViewer } from "@sluice/timeline-viewer";
import { type Order, orderWorkflow } from "./order-workflow.js";

/** What the test reads from the page. */
export interface ShopProbe {
  /** Every report of the runtime's onError, as `CODE message`. */
  errors: string[];
  /** How each run ended, as `orderId status`. */
  ended: string[];
  /** Runs adopted from saved checkpoints when the page loaded. */
  adopted: string[];
  /** Run ids whose checkpoints are saved. */
  saved(): string[];
  flush(): Promise<void>;
}

declare global {
  interface Window {
    __sluice?: ShopProbe;
    __sluiceError?: string;
  }
}

const KEY = "shop-checkpoint:";
const saved = () =>
  Object.keys(localStorage)
    .filter((k) => k.startsWith(KEY))
    .map((k) => k.slice(KEY.length));

async function main(): Promise<void> {
  const probe: ShopProbe = { errors: [], ended: [], adopted: [], saved, flush: async () => {} };
  const bus = createEventBus();
  const store = await createIndexedDBTimelineStore({
    database: new URLSearchParams(location.search).get("db")!,
  });
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry: new StoreRegistry(),
    timelineStore: store,
    onError: (error) => probe.errors.push(`${error.code} ${error.message}`),
  });
  probe.flush = () => runtime.flushTimeline();
  await runtime.register(orderWorkflow, {
    onPause: (ctx) => localStorage.setItem(KEY + ctx.runId, JSON.stringify(runtime.checkpoint(ctx.runId))),
    onComplete: (result) => {
      if (result.metadata.runId !== undefined) localStorage.removeItem(KEY + result.metadata.runId);
      const state = (result.ok ? result.value.state : result.metadata.state) as Order | undefined;
      probe.ended.push(`${state?.orderId} ${result.ok ? result.value.status : result.error.code}`);
    },
  });
  for (const runId of saved()) {
    runtime.adopt(JSON.parse(localStorage.getItem(KEY + runId)!) as RunCheckpoint);
    probe.adopted.push(runId);
  }
  addEventListener("pagehide", () => void runtime.flushTimeline());

  const orderId = Object.assign(document.createElement("input"), { id: "order-id" });
  const button = (id: string, onClick: () => void) =>
    Object.assign(document.createElement("button"), { id, textContent: id, onclick: onClick });
  defineTimelineViewer();
  const viewer = document.createElement("sluice-timeline");
  viewer.store = store;
  viewer.live = true;
  viewer.pollMs = 50;
  document.body.append(
    orderId,
    button("place", () => bus.emit("order.placed", { orderId: orderId.value })),
    button("approve", () => bus.emit("order.approved", { orderId: orderId.value, by: "ada" })),
    viewer,
  );
  window.__sluice = probe;
}

main().catch((error: unknown) => {
  window.__sluiceError = String(error instanceof Error ? (error.stack ?? error.message) : error);
});
