import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { HookWatchdog } from "../src/hook-watchdog.js";
import { type Harness, harness } from "./helpers.js";
import { settledHeap } from "./reliability/support.js";

// A runtime that lives for weeks: what it keeps must not grow with the runs it has seen. These
// checks count what stays reachable (WeakRefs after a full GC), not heap figures.

let h: Harness | undefined;
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
});

describe("leaks: hook time limits", () => {
  it("one onComplete still running (within its limit) does not keep every run that ends after it reachable", async () => {
    h = await harness();
    let release: (() => void) | undefined;
    const states: WeakRef<object>[] = [];
    await h.runtime.register(
      {
        id: "slow-hook",
        triggers: { go: { event: "go", pipeline: "p" } },
        pipelines: {
          p: { stages: [{ id: "a", steps: [{ id: "s", action: (ctx) => ({ blob: [ctx.state().n] }) }] }] },
        },
      },
      {
        hookTimeoutMs: 600_000,
        // async, as a hook that writes somewhere is: the runtime times each promise it returns
        onComplete: async (result) => {
          if (!result.ok) return;
          const state = result.value.state as { n: number };
          if (state.n === 0) return new Promise<void>((resolve) => (release = resolve));
          states.push(new WeakRef(state));
        },
      },
    );
    const first = h.runtime.invoke("slow-hook", "go", { n: 0 });
    const { runtime } = h;
    // in a function of its own, so that no variable here holds the last result
    const runAll = async () => {
      let completed = 0;
      for (let n = 1; n <= 200; n++) {
        const result = await runtime.invoke("slow-hook", "go", { n });
        if (result.ok && result.value.status === "completed") completed++;
      }
      return completed;
    };
    expect(await runAll()).toBe(200);
    await settledHeap();
    // every hook call after the slow one settled: nothing may keep its run (it kept all 200, each
    // with its record and state, until the slow hook settled or timed out: up to hookTimeoutMs)
    expect(states.filter((state) => state.deref() !== undefined)).toHaveLength(0);
    release!();
    await first;
  });
});

describe("leaks: the hook watchdog (one timer for every hook's time limit)", () => {
  type Internals = { queues: Map<number, { slots: unknown[] }> };

  it("keeps no queue for a time limit no call uses any more (workflows registered with their own hookTimeoutMs, since gone)", () => {
    vi.useFakeTimers();
    onTestFinished(() => void vi.useRealTimers());
    const watchdog = new HookWatchdog();
    for (let i = 0; i < 100; i++) watchdog.settle(watchdog.start(1_000 + i, () => {}));
    const timedOut = vi.fn();
    watchdog.start(5_000, timedOut);
    vi.advanceTimersByTime(2_000);
    // only the limit of the call still pending
    expect([...(watchdog as unknown as Internals).queues.keys()]).toEqual([5_000]);
    vi.advanceTimersByTime(3_000);
    expect(timedOut).toHaveBeenCalledOnce();
    expect((watchdog as unknown as Internals).queues.size).toBe(0);
  });

  it("forgets only the emptied queue: a call a timeout callback started after making the watchdog idle still times out", () => {
    vi.useFakeTimers();
    onTestFinished(() => void vi.useRealTimers());
    const watchdog = new HookWatchdog();
    const timedOut = vi.fn();
    watchdog.start(100, () => {
      // (the runtime going idle, then a hook with the same limit, within one timeout callback)
      watchdog.idle();
      watchdog.start(100, timedOut);
    });
    vi.advanceTimersByTime(100);
    vi.advanceTimersByTime(100);
    // the sweep dropped the new call's queue with the emptied one: it never timed out
    expect(timedOut).toHaveBeenCalledOnce();
  });

  it("does not grow a queue with the calls that settle behind one still pending", () => {
    const watchdog = new HookWatchdog();
    const slow = watchdog.start(30_000, () => {});
    for (let i = 0; i < 10_000; i++) watchdog.settle(watchdog.start(30_000, () => {}));
    // it grew to hold all 10 001
    expect((watchdog as unknown as Internals).queues.get(30_000)!.slots.length).toBeLessThanOrEqual(32);
    watchdog.settle(slow);
    watchdog.idle();
  });
});
