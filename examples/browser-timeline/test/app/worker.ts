// The runtime in a dedicated worker, its timeline in the origin's IndexedDB; the page reaches it
// only over the broadcast bus, and hears from it the same way.
import { createBroadcastEventBus } from "@sluice/events-broadcast";
import { WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { createIndexedDBTimelineStore } from "@sluice/timeline-indexeddb";
import { orderWorkflow } from "./order-workflow.js";

const bus = createBroadcastEventBus({ channel: "shop" });
try {
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry: new StoreRegistry(),
    timelineStore: await createIndexedDBTimelineStore({ database: "worker-timeline" }),
    onError: (error) => bus.emit("shop.error", `${error.code} ${error.message}`),
  });
  await runtime.register(orderWorkflow, {
    onComplete: async (result) => {
      await runtime.flushTimeline();
      bus.emit("shop.ended", result.ok ? result.value : result.error.message);
    },
  });
  bus.emit("shop.ready", { process: typeof process });
} catch (error) {
  bus.emit("shop.error", String(error));
}
