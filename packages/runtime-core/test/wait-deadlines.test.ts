import { afterEach, describe, expect, it, vi } from "vitest";
import type { RunResult } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";
import { type TimedOrder, timedApprovals } from "./timed-approvals.js";

type Order = TimedOrder;
const orders = timedApprovals;

let h: Harness | undefined;
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
  vi.useRealTimers();
});

/**
 * Registers `orders` with its pause window kept open (no window timer), ending runs recorded in
 * order, on a runtime without a timeline.
 */
async function setup() {
  // no timeline: its writer's flush timer would come and go among the timers counted
  h = await harness({ timelineStore: undefined });
  const ended: string[] = [];
  await h.runtime.register(orders, {
    pauseWindowMs: Infinity,
    onComplete: (r: RunResult<Order>) => {
      if (r.ok)
        ended.push(`${r.value.state.orderId}:${r.value.state.pauseTimedOut ? "timed out" : "approved"}`);
    },
  });
  const park = async (orderId: string, waitMs: number) => {
    const result = await h!.runtime.invoke("orders", "placed", { orderId, waitMs });
    if (!result.ok || result.value.status !== "paused") throw new Error(`${orderId} did not park`);
    return result.metadata.runId;
  };
  return { ended, park };
}

describe("wait deadlines of parked runs", () => {
  it("time out each run at its own deadline, earliest first, on one timer; a run resumed earlier never times out", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: Date.UTC(2026, 0, 1) });
    const t = await setup();
    const timersBefore = vi.getTimerCount();
    await t.park("late", 300);
    await t.park("early", 100);
    await t.park("approved", 200);
    await t.park("middle", 200);
    // four parked runs with a wait deadline: one timer among them (the first's: it was the earliest)
    expect(vi.getTimerCount()).toBe(timersBefore + 1);

    await vi.advanceTimersByTimeAsync(99);
    expect(t.ended).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.ended).toEqual(["early:timed out"]);

    h!.bus.emit("order.approved", { orderId: "approved" });
    await vi.advanceTimersByTimeAsync(0);
    expect(t.ended).toEqual(["early:timed out", "approved:approved"]);

    await vi.advanceTimersByTimeAsync(100);
    expect(t.ended).toEqual(["early:timed out", "approved:approved", "middle:timed out"]);
    await vi.advanceTimersByTimeAsync(100);
    expect(t.ended.at(-1)).toBe("late:timed out");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.ended).toHaveLength(4);
    expect(h!.errors).toEqual([]);
  });

  it("keep Node alive while a parked run has one, and nothing once none has", async () => {
    const t = await setup();
    const armed: Array<{ delay: number | undefined; timer: NodeJS.Timeout }> = [];
    const realSetTimeout = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, "setTimeout").mockImplementation(((fn: () => void, delay?: number) => {
      const timer = realSetTimeout(fn, delay);
      armed.push({ delay, timer });
      return timer;
    }) as typeof setTimeout);
    for (let i = 0; i < 20; i++) await t.park(`o${i}`, 3_600_000 + i);
    spy.mockRestore();
    // twenty waits of about an hour: one timer, armed once, for the earliest
    const hour = armed.filter((a) => a.delay !== undefined && a.delay > 3_000_000);
    expect(hour).toHaveLength(1);
    expect(hour[0]!.timer.hasRef()).toBe(true);
    for (let i = 0; i < 19; i++) h!.bus.emit("order.approved", { orderId: `o${i}` });
    await vi.waitFor(() => expect(t.ended).toHaveLength(19));
    // one still waits: the process stays alive for it
    expect(hour[0]!.timer.hasRef()).toBe(true);
    h!.bus.emit("order.approved", { orderId: "o19" });
    await vi.waitFor(() => expect(t.ended).toHaveLength(20));
    // none waits now: the timer, still armed for the first hour's end, keeps nothing alive
    expect(hour[0]!.timer.hasRef()).toBe(false);
  });

  it("a detached run's wait deadline leaves with it: it never times out here", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: Date.UTC(2026, 0, 1) });
    const t = await setup();
    const runId = await t.park("o1", 100);
    const checkpoint = await h!.runtime.detach(runId);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(t.ended).toEqual([]);
    expect(h!.runtime.findRun(runId)).toBeUndefined();
    expect(checkpoint.pause?.[0]?.deadline).toBe(Date.UTC(2026, 0, 1) + 100);
    expect(h!.errors).toEqual([]);
  });
});
