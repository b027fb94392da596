import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defineWorkflow, type PauseService } from "../src/index.js";
import { harness, tick } from "./helpers.js";

/** An `async` host callback, written where the runtime calls it without awaiting it, that fails. */
const failsLater = async (..._args: unknown[]): Promise<any> => {
  throw new Error("failed later");
};

/** A workflow whose one stage waits for `<id>.ok` (resumed through `patch`), then completes. */
function waitsFor(id: string, patch: "mapper" | ((payload: unknown) => object), patches = {}) {
  return defineWorkflow<any>({
    id,
    patches,
    triggers: { go: { event: `${id}.go`, pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          {
            id: "wait",
            steps: [
              {
                id: "ask",
                action: async (ctx) => {
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({ event: `${id}.ok`, patch });
                },
              },
            ],
          },
          { id: "done", steps: [{ id: "done", action: () => ({ done: true }) }] },
        ],
      },
    },
  });
}

describe("async host callbacks the runtime does not await", () => {
  // An unhandled rejection ends a Node process by default: a workflow's fault would take every
  // other workflow's runs with it.
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on("unhandledRejection", record);
  });
  afterEach(() => {
    process.off("unhandledRejection", record);
  });

  it("a rejecting trigger map, wait patch mapper, onDispatch or onError is reported, never an unhandled rejection", async () => {
    const printed: unknown[][] = [];
    const h = await harness();
    const dispatched: string[] = [];
    await h.runtime.register(
      defineWorkflow<any>({
        id: "mapped",
        triggers: { go: { event: "mapped.go", pipeline: "p", map: failsLater } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "a", action: () => {} }] }] } },
      }),
      { onDispatch: (d) => dispatched.push(`${d.outcome}: ${d.reason}`) },
    );
    await h.runtime.register(waitsFor("named", "mapper", { mapper: failsLater }));
    await h.runtime.register(waitsFor("inline", failsLater), { onDispatch: failsLater });
    const invoked = await h.runtime.invoke("mapped", "go", {});
    h.bus.emit("mapped.go", {});
    const named = (await h.runtime.invoke("named", "go", {})).metadata.runId!;
    h.bus.emit("inline.go", {});
    await tick();
    const [inline] = h.runtime.listAllRuns().filter((r) => r.workflowId === "inline");
    h.bus.emit("named.ok", {});
    h.bus.emit("inline.ok", {});
    // a second runtime whose onError is async and fails
    const other = await harness({ onError: failsLater });
    const consoleError = console.error;
    console.error = (...args: unknown[]) => printed.push(args);
    try {
      await other.runtime.register(waitsFor("o", failsLater));
      await other.runtime.invoke("o", "go", {});
      other.bus.emit("o.ok", {});
      await tick(5);
    } finally {
      console.error = consoleError;
    }

    expect(unhandled).toEqual([]);
    const mapRefused =
      'workflow "mapped" trigger "go": map() returned a promise; map must be synchronous (it builds the run\'s initial state as the event is dispatched): do async work in onPrepare or in a first step';
    expect(!invoked.ok && [invoked.error.code, invoked.error.message]).toEqual(["INVALID_INPUT", mapRefused]);
    expect(dispatched).toEqual([`rejected: ${mapRefused}`]);
    // the waits ignore the event (reported), and their runs stay parked
    expect(h.runtime.watch("named", named)?.status).toBe("paused");
    expect(inline?.status).toBe("paused");
    const mapperRefused =
      "the resuming event was ignored: the wait's patch mapper returned a promise; a patch mapper must be synchronous (do async work in the stage after the wait)";
    expect(h.errors.map((e) => [e.code, e.message])).toEqual([
      ["HOOK_FAILED", 'workflow "inline": onDispatch rejected: failed later'],
      ["INVALID_INPUT", `run ${named}: ${mapperRefused}`],
      ["INVALID_INPUT", `run ${inline?.runId}: ${mapperRefused}`],
    ]);
    expect(printed.map((args) => String(args[0]))).toEqual([
      expect.stringMatching(
        /^\[sluice\] options\.onError rejected while reporting INVALID_INPUT: run .*: the resuming event was ignored/,
      ),
    ]);
    await h.runtime.stop();
    await other.runtime.stop();
  });
});

describe("a trigger map whose result cannot be read", () => {
  const trap = () => {
    throw new Error("trap");
  };
  const unreadable: [string, () => object][] = [
    ["a proxy whose traps throw", () => new Proxy({}, { getPrototypeOf: trap, ownKeys: trap, get: trap })],
    [
      "an object with a throwing getter",
      () => ({
        id: 1,
        get total() {
          return trap();
        },
      }),
    ],
  ];
  for (const [what, make] of unreadable) {
    it(`(${what}) is the map's fault, not the event payload's, by invoke() and by the bus alike`, async () => {
      const h = await harness();
      const dispatched: string[] = [];
      await h.runtime.register(
        defineWorkflow<any>({
          id: "orders",
          triggers: { placed: { event: "order.placed", pipeline: "p", map: make } },
          pipelines: { p: { stages: [{ id: "s", steps: [{ id: "a", action: () => {} }] }] } },
        }),
        { onDispatch: (d) => dispatched.push(`${d.outcome}: ${d.reason}`) },
      );
      const invoked = await h.runtime.invoke("orders", "placed", { id: 1 });
      h.bus.emit("order.placed", { id: 1 });
      const message = 'workflow "orders" trigger "placed": what map() returned could not be read: trap';
      expect(!invoked.ok && [invoked.error.code, invoked.error.message]).toEqual(["INVALID_INPUT", message]);
      expect(dispatched).toEqual([`rejected: ${message}`]);
      expect(h.runtime.listAllRuns()).toEqual([]);
      expect(h.storeRegistry.size).toBe(0);
      await h.runtime.stop();
    });
  }
});

describe("an event payload that cannot be read", () => {
  it("(a proxy whose traps throw) is rejected with a reason that names the payload, by invoke() and by the bus alike", async () => {
    const trap = () => {
      throw new Error("trap");
    };
    const h = await harness();
    const dispatched: string[] = [];
    await h.runtime.register(
      defineWorkflow<any>({
        id: "orders",
        triggers: { placed: { event: "order.placed", pipeline: "p" } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "a", action: () => {} }] }] } },
      }),
      { onDispatch: (d) => dispatched.push(`${d.outcome}: ${d.reason}`) },
    );
    const hostile = () => new Proxy({}, { getPrototypeOf: trap, ownKeys: trap, get: trap });
    const invoked = await h.runtime.invoke("orders", "placed", hostile());
    h.bus.emit("order.placed", hostile());
    // the bus's reason was the thrown text alone ("trap")
    const message = 'workflow "orders" trigger "placed": the event payload could not be read: trap';
    expect(!invoked.ok && [invoked.error.code, invoked.error.message]).toEqual(["INVALID_INPUT", message]);
    expect(dispatched).toEqual([`rejected: ${message}`]);
    expect(h.runtime.listAllRuns()).toEqual([]);
    await h.runtime.stop();
  });
});
