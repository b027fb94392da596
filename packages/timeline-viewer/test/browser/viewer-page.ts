// The page of test/chromium.test.ts: the real runtime (on a real mitt bus, the real store registry
// and the memory timeline) runs workflows in the page, and a live <sluice-timeline> reads the
// same store. Bundled by esbuild; the viewer comes from source, the runtime packages from their dist.
import { createEventBus } from "@sluice/events";
import { type RunResult, type Workflow, WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { defineTimelineViewer, type TimelineViewerElement } from "../../src/index.js";
import { manyRuns } from "./many-runs.js";

/** What `runScenario` reports back to the test. */
export interface ScenarioRuns {
  /** order-approval run that paused for approval, was approved and completed. */
  approved: string;
  /** order-approval run whose validation failed. */
  failed: string;
  /** order-approval run still waiting for approval. */
  waiting: string;
  /** inventory-sync run with a retried step. */
  synced: string;
  /** The failed run's error message. */
  failureMessage: string;
}

declare global {
  interface Window {
    __sluice?: {
      runScenario(): Promise<ScenarioRuns>;
      viewer: TimelineViewerElement;
      createMemoryTimelineStore: typeof createMemoryTimelineStore;
      manyRuns: typeof manyRuns;
    };
    __sluiceError?: string;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface PauseLike {
  register(request: {
    event: string;
    conditions?: Array<{ path: string; op: string; value: unknown }>;
  }): void;
}

const orderApproval: Workflow = {
  id: "order-approval",
  triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
  pipelines: {
    fulfil: {
      stages: [
        {
          id: "validate",
          steps: [
            {
              id: "check",
              action: async (ctx) => {
                await sleep(60);
                const { amount } = ctx.state() as { amount: number };
                if (amount <= 0) throw new Error(`amount must be positive (got ${amount})`);
                return { valid: true };
              },
            },
            { id: "reserve", action: () => sleep(40) },
          ],
        },
        {
          id: "approval",
          steps: [
            {
              id: "request",
              action: async (ctx) => {
                await sleep(40);
                const pause = (await ctx.use((d) => d.require("__pause_service__"))) as PauseLike;
                pause.register({
                  event: "approve",
                  conditions: [
                    { path: "orderId", op: "==", value: (ctx.state() as { orderId: string }).orderId },
                  ],
                });
              },
            },
          ],
        },
        {
          id: "ship",
          steps: [
            {
              id: "label",
              action: async (ctx) => {
                ctx.logger.info("shipping", {
                  orderId: (ctx.state() as { orderId: string }).orderId,
                  carrier: "dhl",
                });
                await sleep(80);
              },
            },
            { id: "notify", action: () => sleep(50) },
          ],
        },
      ],
    },
  },
};

let attempts = 0;
const inventorySync: Workflow = {
  id: "inventory-sync",
  triggers: { tick: { event: "inventory.tick", pipeline: "sync" } },
  pipelines: {
    sync: {
      stages: [
        {
          id: "fetch",
          steps: [
            {
              id: "pull",
              retry: { attempts: 2, backoffMs: 30 },
              action: async (ctx) => {
                await sleep(50);
                if (++attempts === 1) {
                  ctx.logger.warn("supplier timed out, retrying", { attempt: attempts });
                  throw new Error("supplier API timed out");
                }
              },
            },
          ],
        },
        { id: "apply", steps: [{ id: "write", action: () => sleep(90) }] },
      ],
    },
  },
};

function runIdOf(result: RunResult): string {
  const runId = result.metadata.runId;
  if (runId === undefined) throw new Error("the runtime returned a result without a runId");
  return runId;
}

async function main(): Promise<void> {
  const bus = createEventBus<any>();
  const timeline = await createMemoryTimelineStore();
  const errors: string[] = [];
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry: new StoreRegistry(),
    timelineStore: timeline,
    env: {},
    onError: (error) => void errors.push(error.message),
    timeline: { flushIntervalMs: 10 },
  });
  await runtime.register(orderApproval);
  await runtime.register(inventorySync);

  defineTimelineViewer();
  const viewer = document.createElement("sluice-timeline");
  viewer.pollMs = 50;
  viewer.store = timeline;
  viewer.live = true;
  document.body.append(viewer);

  // A runtime that never settles a run must fail the test with a reason, not time it out.
  function runScenario(): Promise<ScenarioRuns> {
    return Promise.race([
      scenario(),
      sleep(20_000).then(() => {
        throw new Error("the scenario did not finish within 20 s (a run never settled)");
      }),
    ]);
  }

  async function scenario(): Promise<ScenarioRuns> {
    const approvedRun = runtime.invoke("order-approval", "placed", { orderId: "o-1", amount: 120 });
    await sleep(30);
    const failedRun = runtime.invoke("order-approval", "placed", { orderId: "o-2", amount: 0 });
    const syncRun = runtime.invoke("inventory-sync", "tick", {});
    const paused = await approvedRun;
    if (!paused.ok || paused.value.status !== "paused")
      throw new Error(`o-1 did not pause: ${JSON.stringify(paused)}`);
    const failed = await failedRun;
    if (failed.ok) throw new Error("o-2 did not fail");
    await sleep(20);
    const waiting = await runtime.invoke("order-approval", "placed", { orderId: "o-3", amount: 45 });
    // Leave o-1 paused for a moment so the pause shows as a stretch, then approve it on the bus.
    await sleep(200);
    const completed = new Promise<void>((resolve) => {
      const poll = () =>
        runtime.watch("order-approval", runIdOf(paused))?.status === "completed"
          ? resolve()
          : setTimeout(poll, 10);
      poll();
    });
    bus.emit("approve", { orderId: "o-1", approvedBy: "ann" });
    await completed;
    const synced = await syncRun;
    await runtime.flushTimeline();
    if (errors.length > 0) throw new Error(`the runtime reported: ${errors.join("; ")}`);
    return {
      approved: runIdOf(paused),
      failed: runIdOf(failed),
      waiting: runIdOf(waiting),
      synced: runIdOf(synced),
      failureMessage: failed.error.message,
    };
  }

  window.__sluice = { runScenario, viewer, createMemoryTimelineStore, manyRuns };
}

main().catch((error: unknown) => {
  window.__sluiceError = error instanceof Error ? (error.stack ?? error.message) : String(error);
});
