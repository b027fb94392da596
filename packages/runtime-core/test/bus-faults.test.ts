import type { SystemError } from "@sluice/errors";
import { createEventBus, type EventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { describe, expect, it } from "vitest";
import { type Workflow, WorkflowRuntime } from "../src/index.js";
import { tick } from "./helpers.js";

// A host may pass any object with the EventBus methods as `bus` (a distributed bus, a wrapper).
// These tests wrap the real mitt bus and break one of its methods.

const job: Workflow = {
  id: "job",
  triggers: { go: { event: "job.go", pipeline: "p" } },
  services: [
    {
      id: "svc",
      factory: (ctx) => {
        ctx.onCleanup(() => void disposed.push("svc"));
        return {};
      },
    },
  ],
  pipelines: {
    p: {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              action: async (ctx) => {
                await ctx.use((d) => d.require("svc"));
                return { ran: true };
              },
            },
          ],
        },
      ],
    },
  },
};

let disposed: string[] = [];

/** The real bus, with `on` (and the unsubscribe it returns) passed through `wrap`. */
function wrappedBus(wrapOn: (real: EventBus<any>, type: string, handler: any) => unknown): EventBus<any> {
  const real = createEventBus<any>();
  return {
    on: ((type: string, handler: any) => wrapOn(real, type, handler)) as EventBus<any>["on"],
    emit: (type, payload) => real.emit(type, payload),
    listenerCount: (type) => real.listenerCount(type),
  };
}

function within(promise: Promise<unknown>, ms: number): Promise<"resolved" | "rejected" | "pending"> {
  return Promise.race([
    promise.then(
      () => "resolved" as const,
      () => "rejected" as const,
    ),
    tick(ms).then(() => "pending" as const),
  ]);
}

describe("a bus whose methods fail", () => {
  it("an unsubscribe that throws (a value that is not an Error) is reported: deregister() and stop() resolve, services are disposed, the timeline is flushed", async () => {
    disposed = [];
    const bus = wrappedBus((real, type, handler) => {
      const off = real.on(type, handler);
      return () => {
        off();
        throw Object.create(null);
      };
    });
    const errors: SystemError[] = [];
    const timeline = await createMemoryTimelineStore();
    const runtime = new WorkflowRuntime({
      bus,
      storeRegistry: new StoreRegistry(),
      timelineStore: timeline,
      env: {},
      onError: (e) => errors.push(e),
    });
    await runtime.register(job);
    await runtime.register({ ...job, id: "other", triggers: { go: { event: "other.go", pipeline: "p" } } });
    bus.emit("job.go", {});
    await expect.poll(() => runtime.registry("job")?.list()[0]?.status).toBe("completed");

    expect(await within(runtime.deregister("job"), 1_000)).toBe("resolved");
    expect(disposed).toEqual(["svc"]);
    expect(runtime.hasWorkflow("job")).toBe(false);

    const ran = await runtime.invoke("other", "go", {});
    expect(ran.ok && ran.value.status).toBe("completed");
    expect(await within(runtime.stop(), 1_000)).toBe("resolved");
    expect(disposed).toEqual(["svc", "svc"]);
    const { events } = await timeline.query({ workflowId: "other" });
    expect(events.map((e) => e.type)).toContain("run.completed");
    // every listener the runtime added is gone; each throwing unsubscribe was reported, coded
    expect(bus.listenerCount()).toBe(0);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error.code).toBe("INVALID_STATE");
      expect(error.message).toMatch(/the bus's unsubscribe from "[^"]+" threw/);
    }
  });

  it("a bus whose on() returns no unsubscribe function is refused by the constructor with INVALID_INPUT (stop() used to throw a TypeError)", () => {
    const bus = wrappedBus((real, type, handler) => {
      real.on(type, handler);
      return undefined;
    });
    let thrown: unknown;
    try {
      new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry(), env: {} });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ name: "SystemError", code: "INVALID_INPUT" });
    expect((thrown as Error).message).toMatch(
      /options\.bus\.on\("sluice\.run\.abort", handler\) must return an unsubscribe function/,
    );
  });

  it("a bus whose on() throws while register() subscribes: register rejects with a coded error and leaves nothing registered", async () => {
    disposed = [];
    let failOn: string | undefined;
    const bus = wrappedBus((real, type, handler) => {
      if (type === failOn) throw Object.create(null);
      return real.on(type, handler);
    });
    const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry(), env: {} });
    const twoTriggers: Workflow = {
      ...job,
      triggers: { go: { event: "job.go", pipeline: "p" }, later: { event: "job.later", pipeline: "p" } },
    };
    failOn = "job.later";
    const registering = runtime.register(twoTriggers);
    await expect(registering).rejects.toMatchObject({ name: "SystemError", code: "INVALID_STATE" });
    await expect(registering).rejects.toThrow(/the bus refused a subscription to "job\.later"/);
    expect(runtime.hasWorkflow("job")).toBe(false);
    bus.emit("job.go", {});
    await tick(10);
    expect(runtime.listAllRuns()).toEqual([]);

    failOn = undefined;
    await runtime.register(twoTriggers);
    bus.emit("job.go", {});
    await expect.poll(() => runtime.registry("job")?.list()[0]?.status).toBe("completed");
    expect(runtime.registry("job")!.list()).toHaveLength(1);
    await runtime.stop();
    expect(bus.listenerCount()).toBe(0);
  });
});
