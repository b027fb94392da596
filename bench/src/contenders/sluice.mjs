// Sluice: the workflow as a user writes it, on a real mitt bus and a StoreRegistry. Three stages of
// one step each (a stage is Sluice's unit of checkpointing, like a LangGraph node or an XState
// state). With `timeline: true` the runtime also writes every run to an in-memory timeline store.
// Parked runs use `pauseWindowMs: 0` unless told otherwise: the live context is released at once and
// a resume rebuilds it from the JSON checkpoint (the cold, conservative path).
import { createEventBus } from "@sluice/events";
import { WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { die, resumePayload } from "../checks.mjs";
import { probe, probed } from "../measure.mjs";

const s1 = { id: "s1", steps: [{ id: "s1", action: async () => probed({ a: 1 }) }] };
const s2 = { id: "s2", steps: [{ id: "s2", action: async () => probed({ b: 2 }) }] };
const s3 = { id: "s3", steps: [{ id: "s3", action: async () => probed({ c: 3 }) }] };

const parkingStep = {
  id: "s1",
  steps: [
    {
      id: "s1",
      action: async (ctx) => {
        probe();
        const pause = await ctx.use((d) => d.require("__pause_service__"));
        pause.register({ event: "approve", conditions: [{ path: "id", op: "==", value: ctx.state().id }] });
        return { a: 1 };
      },
    },
  ],
};

function onError(error) {
  // A runtime error in a benchmark is a failed contender, not noise to average over.
  die("sluice runtime error:", error);
}

async function makeRuntime(withTimeline) {
  const bus = createEventBus();
  // Imported only when used, so the plain Sluice rows do not depend on the adapter's build.
  const timelineStore = withTimeline
    ? await (await import("@sluice/timeline-memory")).createMemoryTimelineStore()
    : undefined;
  const options = { bus, storeRegistry: new StoreRegistry(), env: {}, onError };
  const runtime = new WorkflowRuntime(timelineStore ? { ...options, timelineStore } : options);
  const close = async () => {
    await runtime.flushTimeline();
    await runtime.stop();
    await timelineStore?.close();
  };
  return { bus, runtime, close };
}

function completedState(result, what) {
  if (!result.ok) throw new Error(`sluice ${what} failed: ${result.error?.message ?? result.error}`);
  if (result.value.status !== "completed") throw new Error(`sluice ${what}: status ${result.value.status}`);
  return result.value.state;
}

export function sluiceContender({ timeline, pauseWindowMs = 0 }) {
  return {
    /** @type {import("./contract.mjs").CreateLinear} */
    async createLinear() {
      const { runtime, close } = await makeRuntime(timeline);
      await runtime.register(
        {
          id: "lin",
          triggers: { go: { event: "lin.go", pipeline: "p" } },
          pipelines: { p: { stages: [s1, s2, s3] } },
        },
        { mode: { type: "transient", concurrency: 100, capacity: 200_000 } },
      );
      return {
        invoke: (id) => runtime.invoke("lin", "go", { id }),
        stateOf: (result) => completedState(result, "invoke"),
        close,
      };
    },

    /** @type {import("./contract.mjs").CreatePausing} */
    async createPausing() {
      const { bus, runtime, close } = await makeRuntime(timeline);
      const waiting = new Map();
      await runtime.register(
        {
          id: "pz",
          triggers: { go: { event: "pz.go", pipeline: "p" } },
          pipelines: { p: { stages: [parkingStep, s2, s3] } },
        },
        {
          mode: { type: "transient", concurrency: 100, capacity: 200_000 },
          pauseWindowMs,
          onComplete: (result) => {
            const runId = result.metadata?.runId;
            const resolve = waiting.get(runId);
            if (resolve) {
              waiting.delete(runId);
              resolve(result);
            }
          },
        },
      );
      return {
        async start(id) {
          const result = await runtime.invoke("pz", "go", { id });
          if (!result.ok || result.value.status !== "paused") {
            throw new Error(`sluice start ${id}: expected a paused run, got ${JSON.stringify(result)}`);
          }
          return result.metadata.runId;
        },
        async resume(runId, id) {
          const done = new Promise((resolve) => waiting.set(runId, resolve));
          bus.emit("approve", resumePayload(id));
          return completedState(await done, "resume");
        },
        close,
      };
    },

    /** @type {import("./contract.mjs").CreateDispatch} */
    async createDispatch({ concurrency, capacity, onComplete }) {
      const { bus, runtime, close } = await makeRuntime(timeline);
      await runtime.register(
        {
          id: "disp",
          triggers: { go: { event: "x.go", pipeline: "p" } },
          pipelines: { p: { stages: [s1, s2, s3] } },
        },
        {
          mode: { type: "transient", concurrency, capacity },
          onComplete: (result) => {
            if (!result.ok || result.value.status !== "completed")
              die("sluice dispatch: a run failed", result);
            onComplete(result.value.state);
          },
          onDispatch: (d) => {
            if (d.outcome !== "started" && d.outcome !== "queued")
              die(`sluice dispatch: event ${d.outcome}`, d);
          },
        },
      );
      return { emit: (id) => bus.emit("x.go", { id }), close };
    },
  };
}
