import { SystemError } from "@sluice/errors";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RegisterOptions, TriggerDefinition, Workflow } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";
import { oneTrigger } from "./one-trigger.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
  vi.useRealTimers();
});

/** {@link oneTrigger} with workflow "throttled", its harness kept for `afterEach` to stop. */
async function setup(trigger: Partial<TriggerDefinition>, options: RegisterOptions = {}, fakeTimers = true) {
  const t = await oneTrigger("throttled", trigger, options, fakeTimers);
  h = t.h;
  return t;
}

describe("a trigger's throttle", () => {
  it("lets `limit` events go on in any periodMs; the others wait, in order, and go on as the window opens", async () => {
    const t = await setup({ throttle: { limit: 2, periodMs: 100 } });
    for (let n = 1; n <= 5; n++) t.emit({ n });
    // two went on at once; three wait, reported nothing yet
    expect(t.reports()).toEqual([
      ["started", 1],
      ["started", 2],
    ]);
    await t.later(99);
    expect(t.reports()).toHaveLength(2);
    await t.later(1);
    expect(t.reports().slice(2)).toEqual([
      ["started", 3],
      ["started", 4],
    ]);
    await t.later(100);
    expect(t.reports().slice(4)).toEqual([["started", 5]]);
    await vi.waitFor(() => expect(t.ran).toEqual([1, 2, 3, 4, 5]));
  });

  it("keeps a window and a line per key: one key's backlog never delays another's", async () => {
    const t = await setup({ throttle: { limit: 1, periodMs: 100, key: (p: { k: string }) => p.k } });
    t.emit({ n: 1, k: "a" });
    t.emit({ n: 2, k: "a" });
    t.emit({ n: 3, k: "a" });
    t.emit({ n: 4, k: "b" });
    expect(t.reports()).toEqual([
      ["started", 1],
      ["started", 4],
    ]);
    await t.later(100);
    expect(t.reports().slice(2)).toEqual([["started", 2]]);
    await t.later(100);
    expect(t.reports().slice(3)).toEqual([["started", 3]]);
  });

  it("an event of a key whose turn came while its timer was late goes on first, then the new one waits its own turn", async () => {
    // real timers: the event loop is kept busy past the waiting event's turn
    const t = await setup({ throttle: { limit: 1, periodMs: 30 } }, {}, false);
    t.emit({ n: 1 });
    t.emit({ n: 2 });
    const busyUntil = performance.now() + 40;
    while (performance.now() < busyUntil) {
      // the timer for n: 2 cannot run
    }
    t.emit({ n: 3 });
    // n: 2 went on as n: 3 came (its turn had come), and n: 3 waits for the window it just used
    expect(t.reports()).toEqual([
      ["started", 1],
      ["started", 2],
    ]);
    await vi.waitFor(() => expect(t.reports()).toHaveLength(3));
    expect(t.reports()[2]).toEqual(["started", 3]);
  });

  it("drops an event when `capacity` events wait already, saying so", async () => {
    const t = await setup({ throttle: { limit: 1, periodMs: 100, capacity: 2 } });
    for (let n = 1; n <= 4; n++) t.emit({ n });
    expect(t.reports()).toEqual([
      ["started", 1],
      ["dropped", 4],
    ]);
    expect(t.dispatched[1]!.reason).toBe("throttled: 2 events wait already (throttle.capacity)");
    await t.later(200);
    expect(t.reports().slice(2)).toEqual([
      ["started", 2],
      ["started", 3],
    ]);
  });

  it("a waiting event goes on through the idempotency key, map and the mode when its turn comes, and is reported then", async () => {
    const t = await setup(
      { throttle: { limit: 1, periodMs: 100 }, key: (p: { id: string }) => p.id },
      { mode: { type: "transient", concurrency: 1, capacity: 0 } },
    );
    t.emit({ n: 1, id: "x" });
    t.emit({ n: 2, id: "x" });
    t.emit({ n: 3, id: "y" });
    await vi.waitFor(() => expect(t.ran).toEqual([1]));
    await t.later(100);
    // n: 1's run has ended: its key is free, and n: 2 starts under it
    expect(t.reports()).toEqual([
      ["started", 1],
      ["started", 2],
    ]);
    await t.later(100);
    expect(t.reports()[2]).toEqual(["started", 3]);
  });

  it("a throttle key that throws refuses the event (rejected), with the key named", async () => {
    const t = await setup({
      throttle: {
        limit: 1,
        periodMs: 100,
        key: () => {
          throw new Error("no tenant");
        },
      },
    });
    t.emit({ n: 1 });
    expect(t.reports()).toEqual([["rejected", 1]]);
    expect(t.dispatched[0]!.reason).toContain("throttle.key");
  });

  it("invoke is not throttled", async () => {
    const t = await setup({ throttle: { limit: 1, periodMs: 100_000 } });
    t.emit({ n: 1 });
    t.emit({ n: 2 });
    const r = await h!.runtime.invoke("throttled", "go", { n: 3 });
    expect(r.ok && r.value.status).toBe("completed");
    expect(t.ran).toContain(3);
    expect(t.reports()).toEqual([["started", 1]]);
  });

  it("deregister() drops the waiting events, reported dropped in order, and leaves no timer", async () => {
    const t = await setup({ throttle: { limit: 1, periodMs: 60_000 } });
    for (let n = 1; n <= 3; n++) t.emit({ n });
    await vi.waitFor(() => expect(t.ran).toEqual([1]));
    await h!.runtime.deregister("throttled");
    expect(t.reports().slice(1)).toEqual([
      ["dropped", 2],
      ["dropped", 3],
    ]);
    expect(t.dispatched[1]!.reason).toBe("the workflow was deregistered");
    await t.later(120_000);
    expect(t.ran).toEqual([1]);
    expect(t.reports()).toHaveLength(3);
    // nothing left armed: the throttle's timer was cleared with its events
    expect(vi.getTimerCount()).toBe(0);
  });

  it("drain() sends the waiting events on at once and waits for their runs; while it drains nothing waits", async () => {
    // real timers: drain waits on them; a minute's period shows the events did not wait for it
    const t = await setup({ throttle: { limit: 1, periodMs: 60_000 } }, {}, false);
    for (let n = 1; n <= 3; n++) t.emit({ n });
    const report = await h!.runtime.drain({ triggers: "start" });
    expect(report.drained).toBe(true);
    expect(t.ran).toEqual([1, 2, 3]);
    // the window is full, but nothing is held while draining: it starts at once
    t.emit({ n: 4 });
    expect(t.reports().at(-1)).toEqual(["started", 4]);
  });

  it("register refuses a malformed throttle with INVALID_DEFINITION naming the field", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    h = await harness();
    const refusals: Array<[unknown, string]> = [
      [{ limit: 0, periodMs: 100 }, "triggers.go.throttle.limit: must be a positive integer"],
      [{ limit: 1, periodMs: 0 }, "triggers.go.throttle.periodMs: must be a positive finite number"],
      [{ limit: 1, periodMs: 2 ** 31 }, "at most 2147483647"],
      [{ limit: 1, periodMs: 100, key: "tenant" }, "triggers.go.throttle.key: must be a function"],
      [
        { limit: 1, periodMs: 100, capacity: 1.5 },
        "triggers.go.throttle.capacity: must be a positive integer",
      ],
      [{ limit: 1, periodMs: 100, burst: 2 }, "triggers.go.throttle.burst"],
    ];
    for (const [throttle, message] of refusals) {
      const workflow = {
        id: "w",
        triggers: { go: { event: "go", pipeline: "p", throttle } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => undefined }] }] } },
      } as unknown as Workflow;
      const error = await h.runtime.register(workflow).catch((e: unknown) => e);
      expect(error, message).toBeInstanceOf(SystemError);
      expect((error as SystemError).code).toBe("INVALID_DEFINITION");
      expect((error as SystemError).message).toContain(message);
    }
  });
});
