import { SystemError } from "@sluice/errors";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { afterEach, describe, expect, it } from "vitest";
import {
  type DispatchResult,
  defineWorkflow,
  type ExecutionMode,
  type PauseService,
  type RegisterOptions,
  type RunCheckpoint,
  type RunResult,
  type WorkflowRuntime,
} from "../src/index.js";
import { deferred, type Harness, harness } from "./helpers.js";

type Order = {
  orderId: string;
  hold?: boolean;
  pause?: boolean;
  retried?: boolean;
  shipped?: boolean;
  /** An order id its run's first step emits `order.placed` for. */
  echo?: string;
};

/** Steps waiting for the test, by order id: `open(id)` lets the run of that order go on. */
function gates() {
  const waiting = new Map<string, ReturnType<typeof deferred<void>>>();
  const gate = (id: string) => {
    let d = waiting.get(id);
    if (d === undefined) waiting.set(id, (d = deferred<void>()));
    return d;
  };
  return { wait: (id: string) => gate(id).promise, open: (id: string) => gate(id).resolve() };
}

/**
 * "orders", keyed by order id through both triggers (`placed`, and `retried`, which maps): a run
 * whose state says `hold` waits in its first step until the test opens its gate; one that says
 * `pause` parks for `order.approved` of its order before it ships.
 */
function orders(g = gates(), emit?: (order: Order) => void) {
  return defineWorkflow<Order>({
    id: "orders",
    triggers: {
      placed: { event: "order.placed", pipeline: "fulfil", key: (p: Order) => p.orderId },
      retried: {
        event: "order.retried",
        pipeline: "fulfil",
        key: (p: Order) => p.orderId,
        map: (p: Order) => ({ orderId: p.orderId, retried: true }),
      },
    },
    pipelines: {
      fulfil: {
        stages: [
          {
            id: "work",
            steps: [
              {
                id: "echo",
                when: (ctx) => ctx.state().echo !== undefined,
                action: (ctx) => emit?.({ orderId: ctx.state().echo! }),
              },
              {
                id: "work",
                when: (ctx) => ctx.state().hold === true,
                action: (ctx) => g.wait(ctx.state().orderId),
              },
            ],
          },
          {
            id: "approval",
            steps: [
              {
                id: "ask",
                when: (ctx) => ctx.state().pause === true,
                action: async (ctx) => {
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({
                    event: "order.approved",
                    conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                  });
                },
              },
            ],
          },
          { id: "ship", steps: [{ id: "ship", action: () => ({ shipped: true }) }] },
        ],
      },
    },
  });
}

/** The runtime's key table of a workflow (internal): how many keys its unfinished runs hold. */
function heldKeys(runtime: WorkflowRuntime, workflowId: string): number {
  const internals = runtime as unknown as { workflows: Map<string, { keys: { size: number } }> };
  return internals.workflows.get(workflowId)!.keys.size;
}

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

/** `orders` registered on a fresh harness, every dispatch recorded, each run's result asked for. */
async function setup(mode?: ExecutionMode, options: RegisterOptions<Order> = {}, g = gates()) {
  h = await harness();
  const dispatched: DispatchResult[] = [];
  const results = new Map<string, Promise<RunResult>>();
  const parked: string[] = [];
  let parkedNow = deferred<string>();
  await h.runtime.register(
    orders(g, (order) => h.bus.emit("order.placed", order)),
    {
      mode,
      onDispatch: (d) => {
        dispatched.push(d);
        if ((d.outcome === "started" || d.outcome === "queued") && !results.has(d.runId))
          results.set(d.runId, h.runtime.result(d.runId));
      },
      onPause: (ctx) => {
        parked.push(ctx.runId);
        parkedNow.resolve(ctx.runId);
        parkedNow = deferred<string>();
      },
      ...options,
    },
  );
  const emit = (order: Order, event = "order.placed") => h.bus.emit(event, order);
  return {
    ...g,
    dispatched,
    results,
    parked,
    emit,
    /** Resolves with the id of the next run that parks. */
    nextPark: () => parkedNow.promise,
    outcomes: () => dispatched.map((d) => d.outcome),
  };
}

describe("a trigger's idempotency key", () => {
  it("refuses an event whose key a running run holds, naming that run, and takes it again once the run has ended", async () => {
    const t = await setup();
    t.emit({ orderId: "o1", hold: true });
    const first = t.dispatched[0]!;
    expect(first.outcome).toBe("started");
    expect(h.runtime.findRun(first.runId!)).toMatchObject({ status: "running", key: "o1" });

    t.emit({ orderId: "o1", hold: true });
    expect(t.dispatched[1]).toMatchObject({ outcome: "duplicate", runId: first.runId, triggerId: "placed" });
    expect(t.dispatched[1]!.reason).toBe(
      `key "o1" is held by run ${first.runId} (running): no second run starts under a key while the run holding it is unfinished`,
    );
    // a duplicate makes no run at all
    expect(h.runtime.listAllRuns().map((r) => r.runId)).toEqual([first.runId]);

    t.open("o1");
    const ended = await t.results.get(first.runId!)!;
    expect(ended.ok && ended.value.state.shipped).toBe(true);
    // the ended run's RunInfo still names its key
    expect(h.runtime.watch("orders", first.runId!)).toMatchObject({ status: "completed", key: "o1" });
    expect(heldKeys(h.runtime, "orders")).toBe(0);

    t.emit({ orderId: "o1" });
    expect(t.dispatched[2]!.outcome).toBe("started");
    expect(t.dispatched[2]!.runId).not.toBe(first.runId);
    await t.results.get(t.dispatched[2]!.runId!);
  });

  it("refuses a duplicate while the holder is paused, live or released past its pause window", async () => {
    for (const pauseWindowMs of [30_000, 0]) {
      const t = await setup(undefined, { pauseWindowMs });
      t.emit({ orderId: "o1", pause: true });
      const runId = await t.nextPark();
      // live within its window; with none (0 ms), released to its checkpoint as it parked
      expect(h.storeRegistry.has(runId)).toBe(pauseWindowMs > 0);
      t.emit({ orderId: "o1" });
      expect(t.dispatched[1]).toMatchObject({ outcome: "duplicate", runId });
      expect(t.dispatched[1]!.reason).toContain("(paused)");
      t.emit({ orderId: "o1" }, "order.retried");
      expect(t.dispatched[2]).toMatchObject({ outcome: "duplicate", runId, triggerId: "retried" });

      h.bus.emit("order.approved", { orderId: "o1" });
      const ended = await t.results.get(runId)!;
      expect(ended.ok && ended.value.state).toEqual({ orderId: "o1", pause: true, shipped: true });
      expect(heldKeys(h.runtime, "orders")).toBe(0);
      await h.runtime.stop();
    }
  });

  it("refuses a duplicate of a queued run without taking a queue slot, and a queued run holds its key until it has run", async () => {
    const t = await setup({ type: "serialized", capacity: 1 });
    t.emit({ orderId: "o1", hold: true });
    t.emit({ orderId: "o2", hold: true });
    const queued = t.dispatched[1]!;
    expect(queued.outcome).toBe("queued");
    expect(h.runtime.findRun(queued.runId!)).toMatchObject({ status: "queued", key: "o2" });
    // the queue (capacity 1) is full: a duplicate is told as one, not dropped at capacity
    t.emit({ orderId: "o2" });
    expect(t.dispatched[2]).toMatchObject({ outcome: "duplicate", runId: queued.runId });
    expect(t.dispatched[2]!.reason).toContain("(queued)");
    t.emit({ orderId: "o3" });
    expect(t.dispatched[3]).toMatchObject({ outcome: "dropped", reason: "queue is at capacity (1)" });

    t.open("o1");
    t.open("o2");
    await t.results.get(queued.runId!);
    expect(t.outcomes()).toEqual(["started", "queued", "duplicate", "dropped"]);
    expect(heldKeys(h.runtime, "orders")).toBe(0);
  });

  it("shares one key space between the triggers of a workflow that declare a key", async () => {
    const t = await setup();
    t.emit({ orderId: "o1", hold: true }, "order.retried");
    const holder = t.dispatched[0]!;
    expect(holder).toMatchObject({ outcome: "started", triggerId: "retried" });
    t.emit({ orderId: "o1" }, "order.placed");
    expect(t.dispatched[1]).toMatchObject({ outcome: "duplicate", triggerId: "placed", runId: holder.runId });
    // another order is another key, through either trigger
    t.emit({ orderId: "o2" }, "order.placed");
    expect(t.dispatched[2]!.outcome).toBe("started");
    t.open("o1");
    await Promise.all(t.results.values());
  });

  it("starts one run between two triggers on one event keyed alike, and one each when each trigger prefixes its key", async () => {
    for (const prefixed of [false, true]) {
      h = await harness();
      const dispatched: DispatchResult[] = [];
      const keyOf = (trigger: string) => (p: Order) => (prefixed ? `${trigger}:${p.orderId}` : p.orderId);
      await h.runtime.register(
        defineWorkflow<Order>({
          ...orders(),
          triggers: {
            fulfil: { event: "order.placed", pipeline: "fulfil", key: keyOf("fulfil") },
            invoice: { event: "order.placed", pipeline: "fulfil", key: keyOf("invoice") },
          },
        }),
        { onDispatch: (d) => dispatched.push(d) },
      );
      h.bus.emit("order.placed", { orderId: "o1" });
      expect(
        dispatched.map((d) => [d.triggerId, d.outcome]),
        `prefixed: ${prefixed}`,
      ).toEqual([
        ["fulfil", "started"],
        ["invoice", prefixed ? "started" : "duplicate"],
      ]);
      await h.runtime.stop();
    }
  });

  it("keeps a duplicate away from the execution mode: it signals, replaces or is refused as busy by none", async () => {
    for (const mode of [
      { type: "singleton_loop", onBusy: "signal" },
      { type: "singleton_loop", onBusy: "replace" },
      { type: "exclusive", onBusy: "reject" },
      { type: "exclusive", onBusy: "queue_single" },
    ] satisfies ExecutionMode[]) {
      const t = await setup(mode);
      t.emit({ orderId: "o1", hold: true });
      const holder = t.dispatched[0]!.runId!;
      t.emit({ orderId: "o1", retried: true } as Order);
      expect(t.dispatched[1], mode.type).toMatchObject({ outcome: "duplicate", runId: holder });
      t.open("o1");
      const ended = await t.results.get(holder)!;
      // not signalled into the run, nor aborting it
      expect(ended.ok && ended.value).toEqual({
        status: "completed",
        state: { orderId: "o1", hold: true, shipped: true },
      });
      expect(t.outcomes()).toEqual(["started", "duplicate"]);
      await h.runtime.stop();
    }
  });

  it("frees the key of a queue_single run that a newer event supersedes", async () => {
    const t = await setup({ type: "exclusive", onBusy: "queue_single" });
    t.emit({ orderId: "o1", hold: true });
    t.emit({ orderId: "o2" });
    const superseded = t.dispatched[1]!.runId!;
    t.emit({ orderId: "o3" });
    expect(t.outcomes()).toEqual(["started", "queued", "dropped", "queued"]);
    expect(t.dispatched[2]).toMatchObject({
      runId: superseded,
      reason: expect.stringContaining("superseded"),
    });
    expect(heldKeys(h.runtime, "orders")).toBe(2); // o1 (running) and o3 (queued)
    // o2 is free again: it supersedes o3 in turn
    t.emit({ orderId: "o2" });
    expect(t.dispatched[5]).toMatchObject({ outcome: "queued" });
    t.open("o1");
    await Promise.all(t.results.values());
    expect(heldKeys(h.runtime, "orders")).toBe(0);
  });

  it("takes an ended run's key again from the run its freed slot starts next", async () => {
    const t = await setup({ type: "exclusive", onBusy: "queue_single" });
    t.emit({ orderId: "o1", hold: true });
    // queued behind o1; once o1 has ended, its first step emits o1 again
    t.emit({ orderId: "o2", echo: "o1" });
    t.open("o1");
    await Promise.all(t.results.values());
    expect(t.outcomes()).toEqual(["started", "queued", "queued"]);
    expect(t.dispatched[2]!.runId).not.toBe(t.dispatched[0]!.runId);
    await Promise.all(t.results.values());
  });

  it("frees an ended run's key before its slot starts the next run, whose onPrepare or synchronous first step may emit it", async () => {
    // (the `orders` steps have `when`s, so a run's first step starts a microtask after its launch:
    // here the one step is plain, and runs within the launch, as does onPrepare)
    for (const from of ["first step", "onPrepare"] as const) {
      h = await harness();
      const dispatched: DispatchResult[] = [];
      const held = deferred<void>();
      /** Order `o2`'s run emits `o1` again as it starts: `o1`'s run has ended by then. */
      const echo = (orderId: string) => {
        if (orderId === "o2") h.bus.emit("order.placed", { orderId: "o1" });
      };
      await h.runtime.register(
        defineWorkflow<Order>({
          id: "orders",
          triggers: { placed: { event: "order.placed", pipeline: "fulfil", key: (p: Order) => p.orderId } },
          pipelines: {
            fulfil: {
              stages: [
                {
                  id: "work",
                  steps: [
                    {
                      id: "work",
                      action: (ctx) => {
                        const { orderId, hold } = ctx.state();
                        if (hold === true) return held.promise;
                        if (from === "first step") echo(orderId);
                      },
                    },
                  ],
                },
              ],
            },
          },
        }),
        {
          mode: { type: "serialized" },
          onDispatch: (d) => dispatched.push(d),
          // (a workflow with onPrepare starts its steps after it: only where the hook echoes)
          ...(from === "onPrepare" ? { onPrepare: (ctx) => echo(ctx.state().orderId) } : {}),
        },
      );
      h.bus.emit("order.placed", { orderId: "o1", hold: true });
      h.bus.emit("order.placed", { orderId: "o2" });
      const first = dispatched[0]!.runId!;
      const ended = h.runtime.result(first);
      held.resolve();
      await ended;
      await h.runtime.drain();
      // o1 again is queued behind o2 (serialized), not refused as held by the run that has ended
      expect(
        dispatched.map((d) => d.outcome),
        from,
      ).toEqual(["started", "queued", "queued"]);
      expect(dispatched[2]!.runId).not.toBe(first);
      expect(heldKeys(h.runtime, "orders")).toBe(0);
      await h.runtime.stop();
    }
  });

  it("holds a run's key through its own onComplete (an event it emits there under the key is a duplicate), not in its onCleanup", async () => {
    for (const hook of ["onComplete", "onCleanup"] as const) {
      // a loop whose every turn is one key: its next turn emitted from the hook
      let turns = 0;
      const next = () => {
        if (++turns < 3) h.bus.emit("order.placed", { orderId: "loop" });
      };
      const t = await setup({ type: "singleton_loop", onBusy: "drop" }, { [hook]: next });
      t.emit({ orderId: "loop" });
      // until no run the last ones started is left to end
      for (let ended = 0; ended < t.results.size; ) {
        ended = t.results.size;
        await Promise.all(t.results.values());
      }
      expect(t.outcomes(), hook).toEqual(
        hook === "onComplete" ? ["started", "duplicate"] : ["started", "started", "started"],
      );
      await h.runtime.stop();
    }
  });

  it("reports a duplicate rather than dropping it while the runtime drains", async () => {
    const t = await setup();
    t.emit({ orderId: "o1", hold: true });
    const draining = h.runtime.drain();
    t.emit({ orderId: "o1" });
    t.emit({ orderId: "o2" });
    expect(t.dispatched[1]).toMatchObject({ outcome: "duplicate", runId: t.dispatched[0]!.runId });
    expect(t.dispatched[2]).toMatchObject({ outcome: "dropped" });
    t.open("o1");
    expect((await draining).drained).toBe(true);
  });

  it("starts one run when map() emits the same key while the event is being dispatched", async () => {
    h = await harness();
    const dispatched: DispatchResult[] = [];
    let nested = true;
    await h.runtime.register(
      defineWorkflow<Order>({
        ...orders(),
        triggers: {
          placed: {
            event: "order.placed",
            pipeline: "fulfil",
            key: (p: Order) => p.orderId,
            map: (p: Order) => {
              if (nested) {
                nested = false;
                h.bus.emit("order.placed", p);
              }
              return { orderId: p.orderId };
            },
          },
        },
      }),
      { onDispatch: (d) => dispatched.push(d) },
    );
    h.bus.emit("order.placed", { orderId: "o1" });
    expect(dispatched.map((d) => d.outcome)).toEqual(["started", "duplicate"]);
    expect(dispatched[1]!.runId).toBe(dispatched[0]!.runId);
  });

  it("refuses an event whose key() throws or gives no non-empty string (rejected, or INVALID_INPUT without onDispatch)", async () => {
    h = await harness();
    const dispatched: DispatchResult[] = [];
    const keyOf = (p: { k: unknown }) => {
      if (p.k === "throw") throw new Error("no order id");
      return p.k as string;
    };
    await h.runtime.register(
      defineWorkflow({
        id: "keyed",
        triggers: { go: { event: "go", pipeline: "p", key: keyOf } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => ({}) }] }] } },
      }),
      { onDispatch: (d) => dispatched.push(d) },
    );
    for (const k of ["throw", 42, "", undefined, Promise.resolve("o1")]) h.bus.emit("go", { k });
    expect(dispatched.map((d) => d.outcome)).toEqual([
      "rejected",
      "rejected",
      "rejected",
      "rejected",
      "rejected",
    ]);
    expect(dispatched.map((d) => d.reason)).toEqual([
      'workflow "keyed" trigger "go": key() threw: no order id',
      `workflow "keyed" trigger "go": key() must return a non-empty string, the run's idempotency key (got 42)`,
      `workflow "keyed" trigger "go": key() must return a non-empty string, the run's idempotency key (got "")`,
      `workflow "keyed" trigger "go": key() must return a non-empty string, the run's idempotency key (got undefined)`,
      `workflow "keyed" trigger "go": key() returned a promise; key must be synchronous (the key is compared as the event is dispatched): compute it from the payload alone`,
    ]);
    expect(h.runtime.listAllRuns()).toEqual([]);

    // the same through invoke, and without onDispatch through onError
    const invoked = await h.runtime.invoke("keyed", "go", { k: 42 });
    expect(!invoked.ok && invoked.error.code).toBe("INVALID_INPUT");
    expect(!invoked.ok && invoked.error.message).toContain("key() must return a non-empty string");
    await h.runtime.deregister("keyed");
    await h.runtime.register(
      defineWorkflow({
        id: "keyed",
        triggers: { go: { event: "go", pipeline: "p", key: keyOf } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => ({}) }] }] } },
      }),
    );
    h.bus.emit("go", { k: "throw" });
    expect(h.errors.map((e) => [e.code, e.message])).toEqual([
      [
        "INVALID_INPUT",
        'bus event "go" started no run of workflow "keyed": workflow "keyed" trigger "go": key() threw: no order id (reported here because the workflow has no onDispatch, which would be told it was rejected)',
      ],
    ]);
  });

  it("refuses a payload that is not a plain object, for a trigger without map, as such rather than as key()'s fault", async () => {
    h = await harness();
    const dispatched: DispatchResult[] = [];
    await h.runtime.register(orders(), { onDispatch: (d) => dispatched.push(d) });
    const notPlain =
      'workflow "orders" trigger "placed": the event payload must be a plain object (it becomes the run\'s initial state); give the trigger a map(payload) to accept other payloads';
    // key (p) => p.orderId throws on the first, and gives undefined for the others
    for (const payload of [undefined, "o1", ["o1"]]) h.bus.emit("order.placed", payload);
    expect(dispatched.map((d) => [d.outcome, d.reason])).toEqual([
      ["rejected", notPlain],
      ["rejected", notPlain],
      ["rejected", notPlain],
    ]);
    const invoked = await h.runtime.invoke("orders", "placed", "o1");
    expect(!invoked.ok && [invoked.error.code, invoked.error.message]).toEqual(["INVALID_INPUT", notPlain]);
    // with a map, any payload is the map's to read: a key that fails on it is the key's fault
    const retried = await h.runtime.invoke("orders", "retried", undefined);
    expect(!retried.ok && retried.error.message).toMatch(
      /^workflow "orders" trigger "retried": key\(\) threw: /,
    );
  });

  it("refuses a trigger key that is not a function at register()", async () => {
    h = await harness();
    const wf = {
      ...orders(),
      triggers: { placed: { event: "order.placed", pipeline: "fulfil", key: "orderId" } },
    };
    const refused = await h.runtime.register(wf as never).catch((e: unknown) => e);
    expect(SystemError.is(refused, "INVALID_DEFINITION")).toBe(true);
    expect((refused as SystemError).message).toBe(
      'triggers.placed.key: must be a function of the payload returning the run\'s idempotency key, e.g. key: (p) => p.orderId (got "orderId")',
    );
  });
});

describe("invoke through a trigger with a key", () => {
  it("resolves DUPLICATE_KEY naming the run that holds the key, and the invoked run holds its key against bus events", async () => {
    const t = await setup();
    const paused = await h.runtime.invoke("orders", "placed", { orderId: "o1", pause: true });
    expect(paused.ok && paused.value.status).toBe("paused");
    const holder = paused.metadata.runId!;
    expect(h.runtime.findRun(holder)?.key).toBe("o1");

    const duplicate = await h.runtime.invoke("orders", "retried", { orderId: "o1" });
    expect(duplicate.ok).toBe(false);
    const error = !duplicate.ok ? duplicate.error : undefined;
    expect(error?.code).toBe("DUPLICATE_KEY");
    expect(error?.details).toEqual({ workflowId: "orders", triggerId: "retried", key: "o1", runId: holder });
    expect(error?.message).toBe(
      `invoke("orders", "retried"): key "o1" is held by run ${holder} (paused): no second run starts under a key while the run holding it is unfinished; find it with findRun("${holder}") or await result("${holder}")`,
    );
    expect(duplicate.metadata).toEqual({ workflowId: "orders", triggerId: "retried" });

    t.emit({ orderId: "o1" });
    expect(t.dispatched[0]).toMatchObject({ outcome: "duplicate", runId: holder });

    const ended = h.runtime.result(holder);
    h.bus.emit("order.approved", { orderId: "o1" });
    expect((await ended).ok).toBe(true);
    const again = await h.runtime.invoke("orders", "placed", { orderId: "o1" });
    expect(again.ok && again.value.status).toBe("completed");
    expect(heldKeys(h.runtime, "orders")).toBe(0);
  });

  it("refuses the outer call when map() invoked a run under the same key meanwhile", async () => {
    h = await harness();
    let inner: Promise<RunResult> | undefined;
    let nested = true;
    await h.runtime.register(
      defineWorkflow<Order>({
        ...orders(),
        triggers: {
          placed: {
            event: "order.placed",
            pipeline: "fulfil",
            key: (p: Order) => p.orderId,
            map: (p: Order) => {
              if (nested) {
                nested = false;
                inner = h.runtime.invoke("orders", "placed", p);
              }
              return { orderId: p.orderId };
            },
          },
        },
      }),
    );
    const outer = await h.runtime.invoke("orders", "placed", { orderId: "o1" });
    const first = await inner!;
    expect(first.ok && first.value.status).toBe("completed");
    expect(!outer.ok && outer.error.code).toBe("DUPLICATE_KEY");
    expect(!outer.ok && outer.error.details?.runId).toBe(first.metadata.runId);
    expect(h.storeRegistry.size).toBe(0); // the outer call's state store was let go
  });
});

describe("the key of a run that moves", () => {
  it("travels in checkpoint(), detach() and adopt(): the adopted run holds it, and the detached one no longer does", async () => {
    const t = await setup();
    t.emit({ orderId: "o1", pause: true });
    const runId = await t.nextPark();
    expect(h.runtime.checkpoint(runId)?.key).toBe("o1");
    const checkpoint = JSON.parse(JSON.stringify(await h.runtime.detach(runId))) as RunCheckpoint;
    expect(checkpoint.key).toBe("o1");
    expect(Object.keys(checkpoint).slice(0, 5)).toEqual([
      "version",
      "runId",
      "workflowId",
      "triggerId",
      "key",
    ]);
    expect(heldKeys(h.runtime, "orders")).toBe(0);
    const here = h;

    const t2 = await setup();
    expect(h.runtime.adopt(checkpoint)).toMatchObject({ runId, status: "paused", key: "o1" });
    t2.emit({ orderId: "o1" });
    expect(t2.dispatched[0]).toMatchObject({ outcome: "duplicate", runId });
    const ended = h.runtime.result(runId);
    h.bus.emit("order.approved", { orderId: "o1" });
    expect((await ended).ok).toBe(true);
    t2.emit({ orderId: "o1" });
    expect(t2.dispatched[1]!.outcome).toBe("started");
    await here.runtime.stop();
  });

  it("refuses to adopt or recover a run whose key an unfinished run there holds, naming both; the checkpoint stays the caller's", async () => {
    const t = await setup();
    t.emit({ orderId: "o1", pause: true });
    const moving = await t.nextPark();
    const checkpoint = JSON.parse(JSON.stringify(await h.runtime.detach(moving))) as RunCheckpoint;
    const text = JSON.stringify(checkpoint);
    const first = h;

    h = await harness({ timelineStore: await createMemoryTimelineStore() });
    const g = gates();
    await h.runtime.register(orders(g));
    h.bus.emit("order.placed", { orderId: "o1", hold: true });
    const started = h.runtime.listAllRuns()[0]!.runId;
    const refusal = (reader: string) =>
      `${reader}(checkpoint): run ${moving} has idempotency key "o1", which run ${started} (running) of workflow "orders" holds here; a key has one unfinished run at a time: ${
        reader === "adopt"
          ? "adopt the checkpoint once that run has ended, or in another runtime"
          : "recover checkpoints before the host's event sources start (an event that came first started that run, maybe for the same work), or recover this one once that run has ended"
      }`;

    const adopted = (() => {
      try {
        return h.runtime.adopt(checkpoint);
      } catch (error) {
        return error;
      }
    })();
    expect(SystemError.is(adopted, "DUPLICATE_KEY")).toBe(true);
    expect((adopted as SystemError).message).toBe(refusal("adopt"));
    expect((adopted as SystemError).details).toEqual({
      runId: moving,
      workflowId: "orders",
      key: "o1",
      holderRunId: started,
    });
    const recovered = await h.runtime.recover(checkpoint).catch((e: unknown) => e);
    expect(SystemError.is(recovered, "DUPLICATE_KEY")).toBe(true);
    expect((recovered as SystemError).message).toBe(refusal("recover"));
    // nothing of the moving run is here, and its checkpoint is as it was
    expect(h.runtime.findRun(moving)).toBeUndefined();
    expect(JSON.stringify(checkpoint)).toBe(text);

    // once the holder has ended, the run moves in and holds the key
    const holderEnded = h.runtime.result(started);
    g.open("o1");
    await holderEnded;
    expect(await h.runtime.recover(checkpoint)).toMatchObject({ runId: moving, status: "paused", key: "o1" });
    expect(heldKeys(h.runtime, "orders")).toBe(1);
    await first.runtime.stop();
  });

  it("holds no key between detach() and adopt(): a drained runtime drops the events that come meanwhile, and a keyless checkpoint given a key holds it", async () => {
    const t = await setup();
    t.emit({ orderId: "o1", pause: true });
    const runId = await t.nextPark();
    await h.runtime.drain();
    const checkpoint = await h.runtime.detach(runId);
    // nothing holds o1 here now: the drain drops it, where it would have started a run
    t.emit({ orderId: "o1" });
    expect(t.dispatched[1]).toMatchObject({ outcome: "dropped" });
    const left = h;

    // made before keys existed: given the key its trigger would give, it holds it when adopted
    const { key: _, ...keyless } = checkpoint;
    const t2 = await setup();
    expect(h.runtime.adopt({ ...keyless, key: "o1" }).key).toBe("o1");
    t2.emit({ orderId: "o1" });
    expect(t2.dispatched[0]).toMatchObject({ outcome: "duplicate", runId });
    await left.runtime.stop();
  });

  it("refuses a checkpoint whose key is not a non-empty string", async () => {
    const t = await setup();
    t.emit({ orderId: "o1", pause: true });
    const checkpoint = JSON.parse(
      JSON.stringify(await h.runtime.detach(await t.nextPark())),
    ) as RunCheckpoint;
    for (const key of [42, "", null]) {
      const thrown = (() => {
        try {
          h.runtime.adopt({ ...checkpoint, key: key as string });
        } catch (error) {
          return error as SystemError;
        }
      })();
      expect(thrown?.code).toBe("INVALID_INPUT");
      expect(thrown?.message).toBe(
        `adopt(checkpoint): checkpoint.key must be a non-empty string, or absent for a run without a key (got ${JSON.stringify(key)})`,
      );
    }
    // a checkpoint without a key (a trigger without one, or made before keys existed) is adopted keyless
    const { key: _, ...keyless } = checkpoint;
    expect(h.runtime.adopt(keyless).key).toBeUndefined();
    expect(heldKeys(h.runtime, "orders")).toBe(0);
  });
});

describe("the key table", () => {
  it("200 events under 50 keys make 50 runs and 150 duplicates, and the table empties as they end", async () => {
    const t = await setup({ type: "transient", concurrency: 4 });
    for (let i = 0; i < 200; i++) t.emit({ orderId: `o${(i * 7) % 50}`, hold: true });
    const outcomes = t.outcomes();
    expect(outcomes.filter((o) => o === "started")).toHaveLength(4);
    expect(outcomes.filter((o) => o === "queued")).toHaveLength(46);
    expect(outcomes.filter((o) => o === "duplicate")).toHaveLength(150);
    expect(heldKeys(h.runtime, "orders")).toBe(50);
    const keys = h.runtime.listAllRuns().map((r) => r.key);
    expect(new Set(keys).size).toBe(50);
    for (let i = 0; i < 50; i++) t.open(`o${i}`);
    const ended = await Promise.all(t.results.values());
    expect(ended.every((r) => r.ok)).toBe(true);
    expect(heldKeys(h.runtime, "orders")).toBe(0);
  });

  it("holds nothing once 10 000 runs with distinct keys have ended", async () => {
    h = await harness();
    let ended = 0;
    const allEnded = deferred();
    await h.runtime.register(orders(), {
      mode: { type: "transient", concurrency: 10 },
      retention: { maxFinished: 10 },
      onComplete: () => {
        if (++ended === 10_000) allEnded.resolve();
      },
    });
    for (let i = 0; i < 5_000; i++) h.bus.emit("order.placed", { orderId: `bus-${i}` });
    for (let i = 0; i < 5_000; i++) await h.runtime.invoke("orders", "placed", { orderId: `invoke-${i}` });
    await allEnded.promise;
    expect(heldKeys(h.runtime, "orders")).toBe(0);
  });
});
