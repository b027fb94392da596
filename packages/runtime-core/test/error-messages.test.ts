import { SystemError } from "@sluice/errors";
import { createEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { afterEach, describe, expect, it } from "vitest";
import { type Workflow, WorkflowRuntime, type WorkflowRuntimeOptions } from "../src/index.js";

// Each message names the call or option, says what was given (safely: a value that throws when
// turned into text is described, never thrown), and what to pass instead.

const base = (): WorkflowRuntimeOptions => ({ bus: createEventBus(), storeRegistry: new StoreRegistry() });
const store = {
  append: async () => {},
  query: async () => ({ events: [] }),
  delete: async () => 0,
  close: async () => {},
};
/** `String()` of it throws: a message built with `String(value)` would throw instead of explaining. */
const noPrototype = Object.create(null) as object;

const workflow: Workflow = {
  id: "jobs",
  triggers: { job: { event: "job", pipeline: "work" } },
  pipelines: { work: { stages: [{ id: "work", steps: [{ id: "work", action: () => {} }] }] } },
};

function caught(call: () => unknown): SystemError {
  try {
    call();
  } catch (error) {
    if (SystemError.is(error)) return error;
    throw new Error(`threw something other than a SystemError: ${String(error)}`);
  }
  throw new Error("did not throw");
}

let runtime: WorkflowRuntime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

describe("new WorkflowRuntime(options): INVALID_INPUT naming the option, what was given and what to pass", () => {
  const cases: Array<[unknown, string, string]> = [
    [
      undefined,
      "options",
      "new WorkflowRuntime(options): options must be an object with bus and storeRegistry (got undefined)",
    ],
    [
      { storeRegistry: new StoreRegistry() },
      "options.bus",
      "new WorkflowRuntime(options): options.bus must be an EventBus: createEventBus() from @sluice/events (got undefined)",
    ],
    [
      { ...base(), bus: { emit() {} } },
      "options.bus",
      "new WorkflowRuntime(options): options.bus must be an EventBus: createEventBus() from @sluice/events (got an object without on)",
    ],
    [
      { bus: createEventBus() },
      "options.storeRegistry",
      "new WorkflowRuntime(options): options.storeRegistry must be a StoreRegistry: new StoreRegistry() from @sluice/store (got undefined)",
    ],
    [
      { ...base(), timelineStore: { append() {}, query() {} } },
      "options.timelineStore",
      "new WorkflowRuntime(options): options.timelineStore must be a TimelineStore with append, query, delete and close, or left out (got an object without delete, close)",
    ],
    [
      { ...base(), timelineStore: "timeline.db" },
      "options.timelineStore",
      'new WorkflowRuntime(options): options.timelineStore must be a TimelineStore with append, query, delete and close, or left out (got "timeline.db")',
    ],
    [
      { ...base(), timelineStore: { ...store, appendBatch: true } },
      "options.timelineStore.appendBatch",
      "new WorkflowRuntime(options): options.timelineStore.appendBatch must be a function (batch) => Promise<void>, or left out (got true)",
    ],
    [
      { ...base(), onError: "log" },
      "options.onError",
      'new WorkflowRuntime(options): options.onError must be a function (error) => void (got "log")',
    ],
    [
      { ...base(), timeline: [] },
      "options.timeline",
      "new WorkflowRuntime(options): options.timeline must be an object { maxBatch?, flushIntervalMs?, maxBuffered?, closeTimeoutMs? } (got an array of 0 items)",
    ],
    [
      { ...base(), timeline: { maxBatch: noPrototype } },
      "options.timeline.maxBatch",
      "new WorkflowRuntime(options): options.timeline.maxBatch must be an integer from 1 to 1000000 (got an object)",
    ],
    [
      { ...base(), hookTimeoutMs: "30s" },
      "options.hookTimeoutMs",
      'new WorkflowRuntime(options): options.hookTimeoutMs must be a positive number of milliseconds, or Infinity for no limit (got "30s")',
    ],
    [
      { ...base(), controlEvents: "ignore" },
      "options.controlEvents",
      'new WorkflowRuntime(options): options.controlEvents must be an object { onUnknownRun?: "report" | "ignore" } (got "ignore")',
    ],
  ];
  for (const [options, path, message] of cases) {
    it(path, () => {
      const error = caught(() => new WorkflowRuntime(options as WorkflowRuntimeOptions));
      expect({ code: error.code, message: error.message, details: error.details }).toEqual({
        code: "INVALID_INPUT",
        message,
        details: { path },
      });
    });
  }
});

describe("register(workflow, options): INVALID_DEFINITION saying what was given", () => {
  const cases: Array<[Workflow, unknown, string]> = [
    [
      { ...workflow, id: 42 as unknown as string },
      undefined,
      "workflow.id: must be a non-empty string, got 42",
    ],
    [{ ...workflow, label: 7 as unknown as string }, undefined, "workflow.label: must be a string, got 7"],
    [
      workflow,
      "serialized",
      'options: must be an object such as { mode: { type: "serialized" } }, got "serialized"',
    ],
    [
      workflow,
      { mode: { type: "transient", concurrency: "4" } },
      'options.mode.concurrency: must be a positive integer, got "4"',
    ],
    [
      workflow,
      { mode: { type: "serialized", capacity: -1 } },
      "options.mode.capacity: must be a non-negative integer or Infinity, got -1",
    ],
    [
      workflow,
      { mode: { type: "serialized", key: "customerId" } },
      'options.mode.key: must be a function of the run\'s input returning its concurrency key, such as (input) => input.customerId; got "customerId"',
    ],
    [
      workflow,
      { mode: { type: "transient", concurrency: 4, keyConcurrency: 2 } },
      "options.mode.keyConcurrency: limits the runs of one concurrency key: give the mode a key too, such as key: (input) => input.customerId",
    ],
    [
      workflow,
      { mode: { type: "transient", concurrency: 4, key: () => "k", keyConcurrency: 0 } },
      "options.mode.keyConcurrency: must be a positive integer, got 0",
    ],
    [
      workflow,
      { mode: { type: "exclusive", onBusy: "reject", key: () => "k" } },
      "options.mode.key: is not an option here (options: type, onBusy)",
    ],
    [workflow, { onComplete: "log" }, 'options.onComplete: must be a function (got "log")'],
    [
      workflow,
      { pauseWindowMs: noPrototype },
      "options.pauseWindowMs: must be a non-negative number of milliseconds (or Infinity), got an object",
    ],
    [
      workflow,
      { hookTimeoutMs: 0 },
      "options.hookTimeoutMs: must be a positive number of milliseconds (or Infinity for no limit), got 0",
    ],
    [
      workflow,
      { retention: 100 },
      "options.retention: must be an object such as { maxFinished: 1000 }, got 100",
    ],
    [
      workflow,
      { retention: { maxFinished: 1.5 } },
      "options.retention.maxFinished: must be an integer ≥ 0 (finished runs kept), got 1.5",
    ],
    [
      workflow,
      { retention: { maxAgeMs: "1h" } },
      'options.retention.maxAgeMs: must be a number of milliseconds ≥ 0, got "1h"',
    ],
  ];
  for (const [definition, options, message] of cases) {
    it(message.slice(0, message.indexOf(":")), async () => {
      runtime = new WorkflowRuntime(base());
      const error = await runtime.register(definition, options as never).then(
        () => undefined,
        (e: unknown) => e as SystemError,
      );
      expect(error).toMatchObject({ code: "INVALID_DEFINITION", message });
    });
  }
});

describe("run calls: the patch or option that is wrong, and what was given", () => {
  it("signal(runId, patch) says what the patch was", () => {
    runtime = new WorkflowRuntime(base());
    const error = caught(() => runtime!.signal("r1", new Map() as never));
    expect(error).toMatchObject({
      code: "INVALID_INPUT",
      message: "signal(r1, patch): patch must be a plain object (got an instance of Map)",
    });
  });

  it("signal(runId, patch) tells an object that only inherits from a plain one, and a bigint", () => {
    runtime = new WorkflowRuntime(base());
    expect(caught(() => runtime!.signal("r1", Object.create({ approved: true }) as never)).message).toBe(
      "signal(r1, patch): patch must be a plain object (got an object whose prototype is not Object.prototype (such as Object.create(proto)))",
    );
    expect(caught(() => runtime!.signal("r1", 5n as never)).message).toBe(
      "signal(r1, patch): patch must be a plain object (got 5n)",
    );
  });

  it("resume(runId, patch) says what the patch was", async () => {
    runtime = new WorkflowRuntime(base());
    await runtime.register({
      ...workflow,
      id: "waits",
      pipelines: {
        work: {
          stages: [
            {
              id: "wait",
              steps: [
                {
                  id: "wait",
                  action: async (ctx) => {
                    const pause = await ctx.use((d) =>
                      d.require<{ register(r: object): void }>("__pause_service__"),
                    );
                    pause.register({ event: "go" });
                  },
                },
              ],
            },
          ],
        },
      },
    });
    const paused = await runtime.invoke("waits", "job", {});
    const runId = paused.metadata.runId!;
    const result = await runtime.resume(runId, [1, 2] as never);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatchObject({
      code: "INVALID_INPUT",
      message: `resume(${runId}, patch): patch must be a plain object (got an array of 2 items)`,
    });
  });

  it("drain(options) says what was given, and never throws building the message", async () => {
    runtime = new WorkflowRuntime(base());
    await expect(runtime.drain(5 as never)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: "drain(options): options must be an object, e.g. { timeoutMs: 10000 }, or left out (got 5)",
    });
    await expect(runtime.drain({ timeoutMs: noPrototype as unknown as number })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: "drain(options): timeoutMs must be a non-negative number of ms or Infinity, got an object",
    });
  });
});
