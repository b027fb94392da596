import { afterEach, describe, expect, it, vi } from "vitest";
import type { RegisterOptions, TriggerDefinition } from "../src/index.js";
import type { Harness } from "./helpers.js";
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

describe("a trigger's throttle (review)", () => {
  it("an event of the key emitted while a turn goes on (from its map) waits behind the line: the next waiting event does not overtake the one going on", async () => {
    const t = await setup({
      throttle: { limit: 2, periodMs: 100 },
      map: (p: { n: number }) => {
        if (p.n === 3) h!.bus.emit("go", { n: 99 });
        return p;
      },
    });
    for (let n = 1; n <= 5; n++) t.emit({ n });
    await t.later(100);
    // 3's turn came first: 4 goes on after it, not from inside its map; 5 and 99 wait
    expect(t.reports()).toEqual([
      ["started", 1],
      ["started", 2],
      ["started", 3],
      ["started", 4],
    ]);
    await t.later(100);
    expect(t.reports().slice(4)).toEqual([
      ["started", 5],
      ["started", 99],
    ]);
    await vi.waitFor(() => expect(t.ran).toEqual([1, 2, 3, 4, 5, 99]));
  });

  it("deregister() after an event of the key came during a turn (from onDispatch) leaves no timer armed", async () => {
    const t = await setup(
      { throttle: { limit: 2, periodMs: 60_000 } },
      {
        onDispatch: (r) => {
          t.dispatched.push(r);
          if ((r.payload as { n: number }).n === 3) h!.bus.emit("go", { n: 99 });
        },
      },
    );
    for (let n = 1; n <= 5; n++) t.emit({ n });
    await t.later(60_000);
    expect(t.reports().map(([, n]) => n)).toEqual([1, 2, 3, 4]);
    await h!.runtime.deregister("throttled");
    expect(t.reports().slice(4)).toEqual([
      ["dropped", 5],
      ["dropped", 99],
    ]);
    await t.later(59_000);
    // a second timer for the key, armed by a release nested in the first, was not cleared: it kept
    // the process alive for up to periodMs
    expect(vi.getTimerCount()).toBe(0);
  });

  it("drain() sends a trigger's waiting throttled events on before the newer event its debounce holds (the key's order)", async () => {
    const t = await setup({ debounce: { periodMs: 10 }, throttle: { limit: 1, periodMs: 1000 } });
    t.emit({ n: 1 });
    await t.later(10); // 1 goes on
    t.emit({ n: 2 });
    await t.later(10); // 2 waits for the throttle's window
    t.emit({ n: 3 }); // held by the debounce
    expect(t.reports()).toEqual([["started", 1]]);
    const drained = h!.runtime.drain({ triggers: "start" });
    expect(t.reports()).toEqual([
      ["started", 1],
      ["started", 2],
      ["started", 3],
    ]);
    await t.later(0);
    expect((await drained).drained).toBe(true);
    expect(t.ran).toEqual([1, 2, 3]);
  });

  it('drain({ triggers: "start" }): an event host code emits as a waiting event goes on waits behind the rest of its key\'s line', async () => {
    const t = await setup({
      throttle: { limit: 1, periodMs: 60_000 },
      map: (p: { n: number }) => {
        if (p.n === 2) h!.bus.emit("go", { n: 99 });
        return { n: p.n };
      },
    });
    for (let n = 1; n <= 3; n++) t.emit({ n });
    expect(t.reports()).toEqual([["started", 1]]);
    const drained = h!.runtime.drain({ triggers: "start" });
    await t.later(0);
    expect((await drained).drained).toBe(true);
    // 99 came after 3, which waited already
    expect(t.ran).toEqual([1, 2, 3, 99]);
  });

  it("an event that comes as its key's late turn goes on stays ahead of one host code emits during that turn", async () => {
    // real timers: the event loop is kept busy past the waiting event's turn
    const t = await setup(
      { throttle: { limit: 1, periodMs: 30 } },
      {
        onDispatch: (r) => {
          t.dispatched.push(r);
          if ((r.payload as { n: number }).n === 2) h!.bus.emit("go", { n: 4 });
        },
      },
      false,
    );
    t.emit({ n: 1 });
    t.emit({ n: 2 });
    const busyUntil = performance.now() + 40;
    while (performance.now() < busyUntil) {
      // the timer for n: 2 cannot run
    }
    // n: 2 goes on as n: 3 comes (its turn had come); its onDispatch emits n: 4, which came after n: 3
    t.emit({ n: 3 });
    expect(t.reports()).toEqual([
      ["started", 1],
      ["started", 2],
    ]);
    await vi.waitFor(() => expect(t.reports()).toHaveLength(4));
    expect(t.reports().slice(2)).toEqual([
      ["started", 3],
      ["started", 4],
    ]);
  });

  it("says a capacity of one in the singular when it drops an event", async () => {
    const t = await setup({ throttle: { limit: 1, periodMs: 100, capacity: 1 } });
    for (let n = 1; n <= 3; n++) t.emit({ n });
    expect(t.reports()).toEqual([
      ["started", 1],
      ["dropped", 3],
    ]);
    expect(t.dispatched[1]!.reason).toBe("throttled: 1 event waits already (throttle.capacity)");
  });
});
