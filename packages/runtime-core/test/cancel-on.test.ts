import { SystemError } from "@sluice/errors";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type CancelOn,
  type DispatchResult,
  defineWorkflow,
  type ExecutionMode,
  type PauseService,
  type RegisterOptions,
  type RunResult,
  type TriggerDefinition,
} from "../src/index.js";
import { deferred, type Harness, harness } from "./helpers.js";

type Order = {
  orderId: string;
  customer?: { id: string };
  hold?: boolean;
  pause?: boolean;
  shipped?: boolean;
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
 * "orders": `placed` (with `cancelOn`) and `imported` (without) run one pipeline: a run whose state
 * says `hold` waits in its step until the test opens its gate; one that says `pause` parks for
 * `order.approved` (or `waitFor`) of its order, then ships.
 */
function orders(cancelOn: CancelOn[], g = gates(), waitFor = "order.approved") {
  const placed: TriggerDefinition<Order, Order> = { event: "order.placed", pipeline: "fulfil", cancelOn };
  return defineWorkflow<Order>({
    id: "orders",
    triggers: { placed, imported: { event: "order.imported", pipeline: "fulfil" } },
    pipelines: {
      fulfil: {
        stages: [
          {
            id: "work",
            steps: [
              {
                id: "work",
                when: (ctx) => ctx.state().hold === true,
                action: (ctx) => g.wait(ctx.state().orderId),
              },
              {
                id: "ask",
                when: (ctx) => ctx.state().pause === true,
                action: async (ctx) => {
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({
                    event: waitFor,
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

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

/** `orders` with `cancelOn` registered on a fresh harness; each run's result asked for as it is made. */
async function setup(
  cancelOn: CancelOn[],
  mode?: ExecutionMode,
  options: RegisterOptions<Order> = {},
  waitFor?: string,
) {
  h = await harness();
  const g = gates();
  const dispatched: DispatchResult[] = [];
  const results = new Map<string, Promise<RunResult>>();
  let parkedNow = deferred<string>();
  await h.runtime.register(orders(cancelOn, g, waitFor), {
    mode,
    onDispatch: (d) => {
      dispatched.push(d);
      if (d.runId !== undefined && !results.has(d.runId)) results.set(d.runId, h.runtime.result(d.runId));
    },
    onPause: (ctx) => {
      parkedNow.resolve(ctx.runId);
      parkedNow = deferred<string>();
    },
    ...options,
  });
  const place = (order: Order, event = "order.placed") => {
    h.bus.emit(event, order);
    return dispatched.at(-1)!.runId!;
  };
  return { ...g, dispatched, results, place, nextPark: () => parkedNow.promise };
}

const CANCELLED = 'cancelled by event "order.cancelled"';

describe("a trigger's cancelOn", () => {
  it("aborts the running run whose payload matches the cancelling event's, and no other", async () => {
    const t = await setup([{ event: "order.cancelled", match: "orderId" }]);
    const o1 = t.place({ orderId: "o1", hold: true });
    const o2 = t.place({ orderId: "o2", hold: true });
    h.bus.emit("order.cancelled", { orderId: "o1" });

    const cancelled = await t.results.get(o1)!;
    expect(cancelled.ok && cancelled.value.status).toBe("aborted");
    expect(cancelled.metadata.abortReason).toBe(CANCELLED);
    expect(h.runtime.findRun(o2)?.status).toBe("running");

    t.open("o2");
    const shipped = await t.results.get(o2)!;
    expect(shipped.ok && shipped.value).toMatchObject({ status: "completed", state: { shipped: true } });
    await h.runtime.flushTimeline();
    const { events } = await h.timeline.query({ runId: o1 });
    expect(events.at(-1)).toMatchObject({ type: "run.aborted" });
    expect(events.at(-1)!.message).toContain(CANCELLED);
  });

  it("aborts a paused run, live or released past its pause window, and the cancelling event never resumes it", async () => {
    for (const pauseWindowMs of [30_000, 0]) {
      // the run waits for the very event that cancels it: cancelling comes first
      const t = await setup(
        [{ event: "order.cancelled", match: "orderId" }],
        undefined,
        { pauseWindowMs },
        "order.cancelled",
      );
      const runId = t.place({ orderId: "o1", pause: true });
      expect(await t.nextPark()).toBe(runId);
      expect(h.storeRegistry.has(runId)).toBe(pauseWindowMs > 0);

      h.bus.emit("order.cancelled", { orderId: "o1" });
      const ended = await t.results.get(runId)!;
      expect(ended.ok && ended.value).toMatchObject({
        status: "aborted",
        state: { orderId: "o1", pause: true },
      });
      expect(ended.ok && ended.value.state).not.toHaveProperty("shipped");
      expect(ended.metadata.abortReason).toBe(CANCELLED);
      await h.runtime.stop();
    }
  });

  it("cancels queued runs too: they never start, and the slot the cancelled run frees goes to another order's", async () => {
    const t = await setup([{ event: "order.cancelled", match: "orderId" }], { type: "serialized" });
    const running = t.place({ orderId: "o1", hold: true });
    const queuedSame = t.place({ orderId: "o1" });
    const queuedOther = t.place({ orderId: "o2" });
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "queued"]);

    h.bus.emit("order.cancelled", { orderId: "o1" });
    const never = await t.results.get(queuedSame)!;
    expect(never.ok).toBe(false);
    expect(!never.ok && never.error.code).toBe("ABORTED");
    expect(!never.ok && never.error.message).toBe(`run ${queuedSame} never started: ${CANCELLED}`);
    const aborted = await t.results.get(running)!;
    expect(aborted.ok && aborted.value.status).toBe("aborted");
    // the other order's run took the freed slot and ran
    const other = await t.results.get(queuedOther)!;
    expect(other.ok && other.value.status).toBe("completed");
    // a queued run cancelled is not a dispatch decision: onDispatch heard only of the three events
    expect(t.dispatched).toHaveLength(3);
  });

  it("without match, cancels every unfinished run of its trigger; runs of the workflow's other triggers stay", async () => {
    const t = await setup([{ event: "orders.halt" }]);
    const a = t.place({ orderId: "o1", hold: true });
    const b = t.place({ orderId: "o2", pause: true });
    const other = t.place({ orderId: "o3", hold: true }, "order.imported");
    await t.nextPark();

    h.bus.emit("orders.halt", undefined);
    for (const runId of [a, b]) {
      const r = await t.results.get(runId)!;
      expect(r.ok && r.value.status).toBe("aborted");
      expect(r.metadata.abortReason).toBe('cancelled by event "orders.halt"');
    }
    expect(h.runtime.findRun(other)?.status).toBe("running");
    t.open("o3");
    expect((await t.results.get(other)!).ok).toBe(true);
  });

  it("cancels only when the event's payload meets `when`, and compares values at a nested path", async () => {
    const t = await setup([
      {
        event: "customer.closed",
        match: "customer.id",
        when: [{ path: "confirmed", op: "==", value: true }],
      },
    ]);
    const a = t.place({ orderId: "o1", customer: { id: "c1" }, hold: true });
    const b = t.place({ orderId: "o2", customer: { id: "c2" }, hold: true });
    const noCustomer = t.place({ orderId: "o3", hold: true });

    h.bus.emit("customer.closed", { customer: { id: "c1" } });
    h.bus.emit("customer.closed", { customer: { id: "c1" }, confirmed: false });
    expect(h.runtime.findRun(a)?.status).toBe("running");

    h.bus.emit("customer.closed", { customer: { id: "c1" }, confirmed: true });
    expect((await t.results.get(a)!).metadata.abortReason).toBe('cancelled by event "customer.closed"');
    // a cancelling payload without the path, or holding an object there, cancels nothing: not even
    // the run whose own payload lacks it
    h.bus.emit("customer.closed", { confirmed: true });
    h.bus.emit("customer.closed", { customer: { id: { nested: "c2" } }, confirmed: true });
    expect(h.runtime.findRun(b)?.status).toBe("running");
    expect(h.runtime.findRun(noCustomer)?.status).toBe("running");
    t.open("o2");
    t.open("o3");
    expect((await t.results.get(b)!).ok).toBe(true);
    expect((await t.results.get(noCustomer)!).ok).toBe(true);
  });

  it("compares the payload as it was when the run was made: mutating it later changes nothing", async () => {
    const t = await setup([{ event: "order.cancelled", match: "orderId" }]);
    const order: Order = { orderId: "o1", hold: true };
    const runId = t.place(order);
    order.orderId = "changed";
    h.bus.emit("order.cancelled", { orderId: "changed" });
    expect(h.runtime.findRun(runId)?.status).toBe("running");
    h.bus.emit("order.cancelled", { orderId: "o1" });
    expect((await t.results.get(runId)!).metadata.abortReason).toBe(CANCELLED);
  });

  it("on the trigger's own event: a newer event cancels the older run of its key and starts its own", async () => {
    const t = await setup([{ event: "order.placed", match: "orderId" }]);
    const first = t.place({ orderId: "o1", hold: true });
    const second = t.place({ orderId: "o1", hold: true });
    expect(second).not.toBe(first);
    expect((await t.results.get(first)!).metadata.abortReason).toBe('cancelled by event "order.placed"');
    expect(h.runtime.findRun(second)?.status).toBe("running");
    t.open("o1");
    expect((await t.results.get(second)!).ok).toBe(true);
  });

  it("cancels runs started by invoke, and a run adopted from another runtime's checkpoint", async () => {
    const t = await setup([{ event: "order.cancelled", match: "orderId" }]);
    const invoked = h.runtime.invoke("orders", "placed", { orderId: "o1", hold: true });
    const [info] = h.runtime.listAllRuns();
    h.bus.emit("order.cancelled", { orderId: "o1" });
    const r = await invoked;
    expect(r.ok && r.value.status).toBe("aborted");
    expect(r.metadata.runId).toBe(info!.runId);

    // a run parked in one runtime, detached, adopted by another with the same definition
    const parked = t.place({ orderId: "o2", pause: true });
    await t.nextPark();
    const checkpoint = JSON.parse(JSON.stringify(await h.runtime.detach(parked)));
    const first = h;
    h = await harness();
    await first.runtime.stop();
    await h.runtime.register(orders([{ event: "order.cancelled", match: "orderId" }]));
    h.runtime.adopt(checkpoint);
    const adopted = h.runtime.result(parked);
    h.bus.emit("order.cancelled", { orderId: "o9" });
    expect(h.runtime.findRun(parked)?.status).toBe("paused");
    h.bus.emit("order.cancelled", { orderId: "o2" });
    const ended = await adopted;
    expect(ended.ok && ended.value.status).toBe("aborted");
    expect(ended.metadata.abortReason).toBe(CANCELLED);
  });

  it("leaves the bus once the workflow is deregistered: its cancel events abort nothing of a new registration without them", async () => {
    const t = await setup([{ event: "order.cancelled", match: "orderId" }]);
    t.place({ orderId: "o1" });
    await h.runtime.deregister("orders");
    const g = gates();
    await h.runtime.register(orders([], g));
    h.bus.emit("order.placed", { orderId: "o1", hold: true });
    const runId = h.runtime.listAllRuns().find((r) => r.status === "running")!.runId;
    h.bus.emit("order.cancelled", { orderId: "o1" });
    expect(h.runtime.findRun(runId)?.status).toBe("running");
    g.open("o1");
    expect((await h.runtime.result(runId)).ok).toBe(true);
  });

  it("keeps no run in its index once the run has ended or left: completed, aborted, cancelled, detached", async () => {
    const t = await setup([{ event: "order.cancelled", match: "orderId" }, { event: "orders.halt" }]);
    const indexed = () => {
      const wf = (h.runtime as unknown as { workflows: Map<string, { cancels: unknown }> }).workflows.get(
        "orders",
      )!;
      const runs = (
        wf.cancels as { byTrigger: Map<string, { all: Set<unknown>; byValue: Map<unknown, unknown>[] }> }
      ).byTrigger.get("placed")!;
      return [runs.all.size, runs.byValue[0]!.size];
    };
    const done = t.place({ orderId: "o1", hold: true });
    const aborted = t.place({ orderId: "o2", hold: true });
    const cancelled = t.place({ orderId: "o3", hold: true });
    const detached = t.place({ orderId: "o4", pause: true });
    await t.nextPark();
    expect(indexed()).toEqual([4, 4]);
    t.open("o1");
    await t.results.get(done);
    await h.runtime.abort(aborted);
    h.bus.emit("order.cancelled", { orderId: "o3" });
    await t.results.get(cancelled);
    await h.runtime.detach(detached);
    expect(indexed()).toEqual([0, 0]);
  });

  it("register refuses a malformed cancelOn with INVALID_DEFINITION naming the field", async () => {
    h = await harness();
    const refusals: Array<[unknown, string]> = [
      [{ event: "order.cancelled" }, "triggers.placed.cancelOn: must be an array"],
      [["order.cancelled"], "triggers.placed.cancelOn[0]: must be an object"],
      [[{ event: "" }], "triggers.placed.cancelOn[0].event: must be a non-empty bus event name"],
      [
        [{ event: "sluice.run.abort" }],
        'triggers.placed.cancelOn[0].event: "sluice.run.abort" is a runtime control event',
      ],
      [[{ event: "*" }], `triggers.placed.cancelOn[0].event: "*" is the bus's wildcard`],
      [[{ event: "x", match: "" }], "triggers.placed.cancelOn[0].match: must be a non-empty dotted path"],
      [[{ event: "x", match: "a..b" }], 'triggers.placed.cancelOn[0].match: "a..b" has an empty segment'],
      [
        [{ event: "x", match: "__proto__.x" }],
        'triggers.placed.cancelOn[0].match: segment "__proto__" is not allowed',
      ],
      [
        [{ event: "x", when: [{ path: "a", op: "~" }] }],
        "triggers.placed.cancelOn[0].when[0].op: must be one of",
      ],
      [[{ event: "x", matches: "orderId" }], "triggers.placed.cancelOn[0].matches"],
    ];
    for (const [cancelOn, message] of refusals) {
      const error = await h.runtime.register(orders(cancelOn as CancelOn[])).catch((e: unknown) => e);
      expect(error, message).toBeInstanceOf(SystemError);
      expect((error as SystemError).code).toBe("INVALID_DEFINITION");
      expect((error as SystemError).message).toContain(message);
      expect(h.runtime.hasWorkflow("orders")).toBe(false);
    }
  });
});

describe("a trigger's cancelOn, for events not yet runs", () => {
  /** A workflow whose trigger `go` has `trigger` merged in and `cancelOn` of `stop` matching `id`; runs record `n`. */
  async function setupHeld(trigger: Partial<TriggerDefinition>) {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    h = await harness();
    const dispatched: DispatchResult[] = [];
    const ran: unknown[] = [];
    await h.runtime.register(
      {
        id: "held",
        triggers: {
          go: { event: "go", pipeline: "p", cancelOn: [{ event: "stop", match: "id" }], ...trigger },
        },
        pipelines: {
          p: { stages: [{ id: "s", steps: [{ id: "s", action: (ctx) => void ran.push(ctx.state().n) }] }] },
        },
      },
      { onDispatch: (d) => dispatched.push(d) },
    );
    return {
      ran,
      dispatched,
      reports: () => dispatched.map((d) => [d.outcome, (d.payload as { n: number }).n]),
    };
  }
  afterEach(() => {
    vi.useRealTimers();
  });

  it("drops the matching events a debounce holds, reported dropped with the cancel's reason; others stay held", async () => {
    const t = await setupHeld({ debounce: { periodMs: 100, key: (p: { id: string }) => p.id } });
    h!.bus.emit("go", { id: "a", n: 1 });
    h!.bus.emit("go", { id: "b", n: 2 });
    h!.bus.emit("stop", { id: "a" });
    expect(t.reports()).toEqual([["dropped", 1]]);
    expect(t.dispatched[0]!.reason).toBe('cancelled by event "stop"');
    await vi.advanceTimersByTimeAsync(100);
    expect(t.reports()).toEqual([
      ["dropped", 1],
      ["started", 2],
    ]);
    await vi.waitFor(() => expect(t.ran).toEqual([2]));
    // no timer left for the dropped one: nothing more ever starts
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.ran).toEqual([2]);
  });

  it("drops the matching events waiting for a throttle, in order, and the rest keep their turns", async () => {
    const t = await setupHeld({ throttle: { limit: 1, periodMs: 100 } });
    h!.bus.emit("go", { id: "a", n: 1 });
    h!.bus.emit("go", { id: "b", n: 2 });
    h!.bus.emit("go", { id: "a", n: 3 });
    h!.bus.emit("go", { id: "c", n: 4 });
    // n: 1 went on and its run ended; 2, 3 and 4 wait
    h!.bus.emit("stop", { id: "a" });
    expect(t.reports()).toEqual([
      ["started", 1],
      ["dropped", 3],
    ]);
    await vi.advanceTimersByTimeAsync(200);
    expect(t.reports().slice(2)).toEqual([
      ["started", 2],
      ["started", 4],
    ]);
  });

  it("a throttle line left empty by a cancel is forgotten with its timer", async () => {
    const t = await setupHeld({ throttle: { limit: 1, periodMs: 60_000 } });
    h!.bus.emit("go", { id: "a", n: 1 });
    h!.bus.emit("go", { id: "a", n: 2 });
    await vi.waitFor(() => expect(t.ran).toEqual([1]));
    await h!.runtime.flushTimeline();
    await vi.advanceTimersByTimeAsync(1_000);
    const timers = vi.getTimerCount();
    h!.bus.emit("stop", { id: "a" });
    expect(t.reports()).toEqual([
      ["started", 1],
      ["dropped", 2],
    ]);
    // the line's timer (due in a minute, for n: 2) went with it
    expect(vi.getTimerCount()).toBe(timers - 1);
  });
});
