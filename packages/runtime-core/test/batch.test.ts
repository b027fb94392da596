import { afterEach, describe, expect, it, vi } from "vitest";
import type { BatchPayload, DispatchResult, TriggerDefinition } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";
import { oneTrigger } from "./one-trigger.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
  vi.useRealTimers();
});

type Item = { n: number; customer?: string };

/**
 * {@link oneTrigger} with workflow "batched", whose trigger's `map` turns a batch into
 * `{ n: [each event's n] }` (so each run records the list of its events), its harness kept for
 * `afterEach` to stop.
 */
async function setup(trigger: Partial<TriggerDefinition>, fakeTimers = true) {
  const t = await oneTrigger(
    "batched",
    { map: (b: BatchPayload<Item>) => ({ n: b.events.map((e) => e.n) }), ...trigger },
    {},
    fakeTimers,
  );
  h = t.h;
  return {
    ...t,
    /** `[outcome, [each event's n]]` of each report; `n` alone for an event reported on its own. */
    batches: () =>
      t.dispatched.map((d) => {
        const p = d.payload as BatchPayload<Item> | Item;
        return [d.outcome, "events" in p ? p.events.map((e) => e.n) : p.n];
      }),
  };
}

describe("a trigger's batch", () => {
  it("starts one run per maxSize events, at once with the event that fills it, reported once with the batch as payload", async () => {
    const t = await setup({ batch: { maxSize: 3, timeoutMs: 1000 } });
    for (let n = 1; n <= 7; n++) t.emit({ n });
    expect(t.batches()).toEqual([
      ["started", [1, 2, 3]],
      ["started", [4, 5, 6]],
    ]);
    expect(t.dispatched[0]!.payload).toEqual({ events: [{ n: 1 }, { n: 2 }, { n: 3 }] });
    expect(t.dispatched[0]!.event).toBe("go");
    await vi.waitFor(() =>
      expect(t.ran).toEqual([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    );
    // n 7 waits for two more, or for the timeout
    expect(t.batches()).toHaveLength(2);
  });

  it("sends a batch that is not full on timeoutMs after its first event, later events not extending it", async () => {
    const t = await setup({ batch: { maxSize: 100, timeoutMs: 1000 } });
    t.emit({ n: 1 });
    await t.later(600);
    t.emit({ n: 2 });
    await t.later(399);
    expect(t.ran).toEqual([]);
    await t.later(1);
    await vi.waitFor(() => expect(t.ran).toEqual([[1, 2]]));
    // the next event begins a new batch, with a timeout of its own
    t.emit({ n: 3 });
    await t.later(999);
    expect(t.ran).toEqual([[1, 2]]);
    await t.later(1);
    await vi.waitFor(() => expect(t.ran).toEqual([[1, 2], [3]]));
  });

  it("without map, the run's initial state is the batch: { events }", async () => {
    h = await harness();
    const states: unknown[] = [];
    await h.runtime.register({
      id: "batched",
      triggers: { go: { event: "go", pipeline: "p", batch: { maxSize: 2, timeoutMs: 1000 } } },
      pipelines: {
        p: { stages: [{ id: "s", steps: [{ id: "s", action: (ctx) => void states.push(ctx.state()) }] }] },
      },
    });
    h.bus.emit("go", { n: 1 });
    h.bus.emit("go", { n: 2 });
    await vi.waitFor(() => expect(states).toEqual([{ events: [{ n: 1 }, { n: 2 }] }]));
  });

  it("collects a batch per key, each payload naming its key", async () => {
    const t = await setup({ batch: { maxSize: 2, timeoutMs: 1000, key: (p: Item) => p.customer! } });
    t.emit({ customer: "a", n: 1 });
    t.emit({ customer: "b", n: 2 });
    t.emit({ customer: "a", n: 3 });
    expect(t.batches()).toEqual([["started", [1, 3]]]);
    expect(t.dispatched[0]!.payload).toEqual({
      key: "a",
      events: [
        { customer: "a", n: 1 },
        { customer: "a", n: 3 },
      ],
    });
    await t.later(1000);
    expect(t.batches()).toEqual([
      ["started", [1, 3]],
      ["started", [2]],
    ]);
    expect(t.dispatched[1]!.payload).toEqual({ key: "b", events: [{ customer: "b", n: 2 }] });
  });

  it("collects only the events the trigger's when lets through", async () => {
    const t = await setup({
      when: [{ path: "n", op: ">", value: 1 }],
      batch: { maxSize: 2, timeoutMs: 1000 },
    });
    t.emit({ n: 1 });
    t.emit({ n: 2 });
    t.emit({ n: 3 });
    expect(t.batches()).toEqual([["started", [2, 3]]]);
  });

  it("refuses an event whose batch key cannot be read: rejected with its own payload, the batches untouched", async () => {
    const t = await setup({
      batch: {
        maxSize: 2,
        timeoutMs: 1000,
        key: (p: Item) => {
          if (p.customer === undefined) throw new Error("no customer");
          return p.customer;
        },
      },
    });
    t.emit({ customer: "a", n: 1 });
    t.emit({ n: 2 });
    t.emit({ customer: "a", n: 3 });
    expect(t.dispatched.map((d) => [d.outcome, d.reason])).toEqual([
      ["rejected", 'workflow "batched" trigger "go": batch.key() threw: no customer'],
      ["started", undefined],
    ]);
    expect(t.dispatched[0]!.payload).toEqual({ n: 2 });
    expect(t.batches()[1]).toEqual(["started", [1, 3]]);
  });

  it("goes through the trigger's idempotency key and throttle as one event: they read and count batches", async () => {
    const t = await setup({
      batch: { maxSize: 2, timeoutMs: 1000 },
      key: (b: BatchPayload<Item>) => `first-${b.events[0]!.n}`,
      throttle: { limit: 1, periodMs: 500 },
    });
    for (let n = 1; n <= 4; n++) t.emit({ n });
    // the second batch waits for the throttle's window
    expect(t.batches()).toEqual([["started", [1, 2]]]);
    await vi.waitFor(() => expect(t.ran).toEqual([[1, 2]]));
    await t.later(500);
    expect(t.batches()).toEqual([
      ["started", [1, 2]],
      ["started", [3, 4]],
    ]);
    const runs = h!.runtime.listAllRuns();
    expect(runs.map((r) => r.key)).toEqual(["first-1", "first-3"]);
  });

  it("invoke() runs the payload at once as a batch of one, under its batch key", async () => {
    const t = await setup({ batch: { maxSize: 10, timeoutMs: 1000, key: (p: Item) => p.customer! } });
    t.emit({ customer: "a", n: 1 });
    const invoked = await h!.runtime.invoke("batched", "go", { customer: "a", n: 2 });
    expect(invoked.ok && invoked.value.status).toBe("completed");
    expect(invoked.ok && invoked.value.state).toEqual({ n: [2] });
    expect(t.ran).toEqual([[2]]);
    // the bus's batch is not touched
    await t.later(1000);
    await vi.waitFor(() => expect(t.ran).toEqual([[2], [1]]));
  });

  it("invoke() with a payload whose batch key cannot be read resolves INVALID_INPUT", async () => {
    await setup({ batch: { maxSize: 10, timeoutMs: 1000, key: () => "" } });
    const invoked = await h!.runtime.invoke("batched", "go", { n: 1 });
    expect(invoked.ok).toBe(false);
    expect(!invoked.ok && invoked.error.code).toBe("INVALID_INPUT");
    expect(!invoked.ok && invoked.error.message).toContain("batch.key()");
  });

  it("deregister() drops the collecting batches, each reported dropped once with its events, and starts none later", async () => {
    const t = await setup({ batch: { maxSize: 10, timeoutMs: 100, key: (p: Item) => p.customer! } });
    t.emit({ customer: "a", n: 1 });
    t.emit({ customer: "b", n: 2 });
    t.emit({ customer: "a", n: 3 });
    await h!.runtime.deregister("batched");
    expect(t.batches()).toEqual([
      ["dropped", [1, 3]],
      ["dropped", [2]],
    ]);
    expect(t.dispatched[0]!.reason).toBe("the workflow was deregistered");
    await t.later(1000);
    expect(t.ran).toEqual([]);
    expect(h!.runtime.listAllRuns()).toEqual([]);
  });

  it("drain() sends the collecting batches on at once and waits for their runs; during it an event is refused as a batch of one", async () => {
    // real timers: drain waits on them; an hour's timeout shows the batches did not wait for it
    const t = await setup(
      { batch: { maxSize: 10, timeoutMs: 3_600_000, key: (p: Item) => p.customer! } },
      false,
    );
    t.emit({ customer: "a", n: 1 });
    t.emit({ customer: "b", n: 2 });
    t.emit({ customer: "a", n: 3 });
    expect(await h!.runtime.drain()).toMatchObject({ drained: true });
    expect(t.ran).toEqual([[1, 3], [2]]);
    t.emit({ customer: "a", n: 4 });
    expect(t.dispatched[2]).toMatchObject({
      outcome: "dropped",
      reason: expect.stringContaining("draining"),
      payload: { key: "a", events: [{ customer: "a", n: 4 }] },
    });
  });

  it('in a drain that lets runs chain (triggers: "start"), collects nothing: each event goes on at once as a batch of one', async () => {
    const t = await setup({ batch: { maxSize: 10, timeoutMs: 3_600_000 } }, false);
    t.emit({ n: 1 });
    const drained = h!.runtime.drain({ triggers: "start" });
    t.emit({ n: 2 });
    t.emit({ n: 3 });
    expect(await drained).toMatchObject({ drained: true });
    expect(t.ran).toEqual([[1], [2], [3]]);
  });

  it("stop() drops the collecting batches (reported dropped) and leaves no timer", async () => {
    const t = await setup({ batch: { maxSize: 10, timeoutMs: 100 } });
    t.emit({ n: 1 });
    await h!.runtime.stop();
    expect(t.batches()).toEqual([["dropped", [1]]]);
    expect(vi.getTimerCount()).toBe(0);
    h = undefined;
  });

  it.each([
    [
      { maxSize: 0, timeoutMs: 10 },
      "triggers.go.batch.maxSize: must be a positive integer (most events in one batch), got 0",
    ],
    [
      { maxSize: 2.5, timeoutMs: 10 },
      "triggers.go.batch.maxSize: must be a positive integer (most events in one batch), got 2.5",
    ],
    [
      { maxSize: 2, timeoutMs: 0 },
      "triggers.go.batch.timeoutMs: must be a positive number of milliseconds, at most 2147483647 (how long a batch collects from its first event), got 0",
    ],
    [
      { maxSize: 2 },
      "triggers.go.batch.timeoutMs: must be a positive number of milliseconds, at most 2147483647 (how long a batch collects from its first event), got undefined",
    ],
    [
      { maxSize: 2, timeoutMs: 10, key: "customer" },
      'triggers.go.batch.key: must be a function of an event\'s payload returning the key of the batch it joins, such as (p) => p.customerId; got "customer"',
    ],
    [
      { maxSize: 2, timeout: 10 },
      "triggers.go.batch.timeout: is not an option here (options: maxSize, timeoutMs, key)",
    ],
    [10, "triggers.go.batch: must be an object such as { maxSize: 100, timeoutMs: 5000 }, got 10"],
  ])("register refuses batch %o: INVALID_DEFINITION", async (batch, message) => {
    h = await harness();
    await expect(
      h.runtime.register({
        id: "batched",
        triggers: { go: { event: "go", pipeline: "p", batch: batch as never } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => {} }] }] } },
      }),
    ).rejects.toMatchObject({ code: "INVALID_DEFINITION", message });
  });

  it.each([
    [{ debounce: { periodMs: 10 } }, "cannot be combined with debounce"],
    [{ cancelOn: [{ event: "stop" }] }, "cannot be combined with cancelOn"],
  ])("register refuses batch beside %o", async (other, problem) => {
    h = await harness();
    await expect(
      h.runtime.register({
        id: "batched",
        triggers: { go: { event: "go", pipeline: "p", batch: { maxSize: 2, timeoutMs: 10 }, ...other } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => {} }] }] } },
      }),
    ).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringContaining(`triggers.go.batch: ${problem}`),
    });
  });

  it("a batch whose timer ran late goes on with the events it had; the event that came after its timeout begins the next batch, before any event that batch's run emits", async () => {
    // real timers: the event loop is kept busy past the batch's timeout
    h = await harness();
    const dispatched: DispatchResult[] = [];
    await h.runtime.register(
      {
        id: "batched",
        triggers: { go: { event: "go", pipeline: "p", batch: { maxSize: 10, timeoutMs: 20 } } },
        pipelines: {
          p: {
            stages: [
              {
                id: "s",
                steps: [
                  {
                    id: "s",
                    // the run of the first batch emits n: 10 as its first step runs, synchronously
                    action: (ctx) => {
                      const { events } = ctx.state() as unknown as BatchPayload<Item>;
                      if (events[0]!.n === 1) h!.bus.emit("go", { n: 10 });
                    },
                  },
                ],
              },
            ],
          },
        },
      },
      { onDispatch: (r) => dispatched.push(r) },
    );
    const ns = () => dispatched.map((d) => (d.payload as BatchPayload<Item>).events.map((e) => e.n));
    h.bus.emit("go", { n: 1 });
    const busyUntil = performance.now() + 30;
    while (performance.now() < busyUntil) {
      // the batch's timer cannot run
    }
    h.bus.emit("go", { n: 2 });
    expect(ns()).toEqual([[1]]);
    await vi.waitFor(() => expect(ns()).toHaveLength(2));
    expect(ns()[1]).toEqual([2, 10]);
  });
});
