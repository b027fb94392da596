import { createEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Workflow, WorkflowRuntime, type WorkflowRuntimeOptions } from "../src/index.js";
import { type Harness, harness, tick } from "./helpers.js";

const job: Workflow = {
  id: "job",
  triggers: { go: { event: "job.go", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              action: async (ctx) => {
                const env = await ctx.use((d) =>
                  d.require<{ get(k: string): string | undefined }>("__env__"),
                );
                return { region: env.get("REGION") ?? null };
              },
            },
          ],
        },
      ],
    },
  },
};

const base = (): WorkflowRuntimeOptions => ({
  bus: createEventBus(),
  storeRegistry: new StoreRegistry(),
  env: {},
});

let h: Harness | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.runtime.stop();
  h = undefined;
});

describe("new WorkflowRuntime(options) refuses junk with INVALID_INPUT naming the option", () => {
  const store = {
    append: async () => {},
    query: async () => ({ events: [] }),
    delete: async () => 0,
    close: async () => {},
  };
  const cases: Array<[string, Partial<WorkflowRuntimeOptions> | Record<string, unknown>, string]> = [
    ["timeline not an object", { timelineStore: store, timeline: "x" }, "options.timeline"],
    [
      "maxBatch NaN",
      { timelineStore: store, timeline: { maxBatch: Number.NaN } },
      "options.timeline.maxBatch",
    ],
    ["maxBatch 0", { timelineStore: store, timeline: { maxBatch: 0 } }, "options.timeline.maxBatch"],
    [
      "maxBuffered negative",
      { timelineStore: store, timeline: { maxBuffered: -5 } },
      "options.timeline.maxBuffered",
    ],
    [
      "flushIntervalMs past a timer's range",
      { timelineStore: store, timeline: { flushIntervalMs: 1e12 } },
      "options.timeline.flushIntervalMs",
    ],
    ["unknown timeline key", { timelineStore: store, timeline: { maxBach: 10 } }, "options.timeline.maxBach"],
    [
      "timelineStore with append only",
      { timelineStore: { append: async () => {} } },
      "options.timelineStore",
    ],
    [
      "timelineStore a promise (an adapter's factory not awaited)",
      { timelineStore: Promise.resolve(store) },
      "options.timelineStore is a Promise: await the store's factory first",
    ],
    [
      "timelineStore with an appendBatch that is not a function",
      { timelineStore: { ...store, appendBatch: true } },
      "options.timelineStore.appendBatch",
    ],
    ["onError not a function", { onError: "log" }, "options.onError"],
    ["hookTimeoutMs 0", { hookTimeoutMs: 0 }, "options.hookTimeoutMs"],
    ["hookTimeoutMs not a number", { hookTimeoutMs: "30s" }, "options.hookTimeoutMs"],
    ["maxBufferedEventsPerRun fraction", { maxBufferedEventsPerRun: 1.5 }, "options.maxBufferedEventsPerRun"],
    ["controlEvents not an object", { controlEvents: "ignore" }, "options.controlEvents must be an object"],
    [
      "controlEvents.onUnknownRun not report or ignore",
      { controlEvents: { onUnknownRun: "drop" } },
      'options.controlEvents.onUnknownRun must be "report" or "ignore" (got "drop")',
    ],
    [
      "unknown controlEvents key",
      { controlEvents: { onUnknown: "ignore" } },
      "options.controlEvents.onUnknown",
    ],
  ];
  for (const [name, extra, path] of cases) {
    it(name, () => {
      expect(() => new WorkflowRuntime({ ...base(), ...extra } as WorkflowRuntimeOptions)).toThrow(
        expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining(path) }),
      );
    });
  }

  it("options that throw when read are INVALID_INPUT with the thrown error as cause", () => {
    const boom = new Error("keys boom");
    const options = new Proxy(base(), {
      ownKeys() {
        throw boom;
      },
    });
    expect(() => new WorkflowRuntime(options)).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", cause: boom }),
    );
  });

  it("accepts every timeline option in range", async () => {
    const runtime = new WorkflowRuntime({
      ...base(),
      timelineStore: await createMemoryTimelineStore(),
      timeline: { maxBatch: 10, maxBuffered: 100, flushIntervalMs: 0, closeTimeoutMs: 50 },
    });
    await runtime.stop();
  });
});

describe("runtime options at run time", () => {
  it("an onError that throws strands nothing: the run completes with its hooks and stop() resolves", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const cleaned: string[] = [];
    h = await harness({
      onError: () => {
        throw new Error("the host's reporter is broken");
      },
    });
    await h.runtime.register(job, {
      onComplete: () => {
        throw new Error("onComplete fails");
      },
      onCleanup: (info) => void cleaned.push(info.status),
    });
    const result = await h.runtime.invoke("job", "go", {});
    expect(result.ok && result.value.status).toBe("completed");
    expect(cleaned).toEqual(["completed"]);
    const stopped = h.runtime.stop();
    expect(await Promise.race([stopped.then(() => "stopped"), tick(1_000).then(() => "hung")])).toBe(
      "stopped",
    );
  });

  it("the global env layer is process.env when options.env is left out (the seed's default)", async () => {
    vi.stubEnv("REGION", "from-process-env");
    try {
      const runtime = new WorkflowRuntime({ bus: createEventBus(), storeRegistry: new StoreRegistry() });
      try {
        await runtime.register(job);
        const result = await runtime.invoke("job", "go", {});
        expect(result.ok && result.value.state.region).toBe("from-process-env");
      } finally {
        await runtime.stop();
      }
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("the global env layer is copied when the runtime is constructed", async () => {
    const env: Record<string, string | undefined> = { REGION: "eu" };
    h = await harness({ env });
    env.REGION = "changed after construction";
    await h.runtime.register(job);
    const result = await h.runtime.invoke("job", "go", {});
    expect(result.ok && result.value.state.region).toBe("eu");
  });
});
