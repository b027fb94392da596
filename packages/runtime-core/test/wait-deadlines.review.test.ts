import { type StateStore, type StoreCreateOptions, StoreRegistry } from "@sluice/store";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RegisterOptions, RunResult } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";
import { type TimedOrder, timedApprovals } from "./timed-approvals.js";

const START = Date.UTC(2026, 0, 1);

type Order = TimedOrder;
const orders = timedApprovals;

let h: Harness | undefined;
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
  vi.useRealTimers();
});

function fakeClock(): void {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: START });
}

/**
 * Registers `orders` (pause window kept open unless `options` says otherwise; results recorded in
 * `ended` unless `registry` is given, when no `onComplete` runs); `park` invokes one run that parks.
 */
async function setup(options: RegisterOptions<Order> = {}, registry?: StoreRegistry) {
  h = await harness(registry === undefined ? {} : { storeRegistry: registry });
  const ended: Array<RunResult<Order>> = [];
  const onComplete = (r: RunResult<Order>) => void ended.push(r);
  await h.runtime.register(orders, {
    pauseWindowMs: Infinity,
    ...(registry === undefined ? { onComplete } : {}),
    ...options,
  });
  const park = async (orderId: string, waitMs: number) => {
    const result = await h!.runtime.invoke("orders", "placed", { orderId, waitMs });
    if (!result.ok || result.value.status !== "paused") throw new Error(`${orderId} did not park`);
    return result.metadata.runId!;
  };
  return { ended, park };
}

describe("wait deadlines on the shared deadline timer (review)", () => {
  it("a fault of the runtime's while it times a run out at its wait deadline is reported, not thrown into the shared timer; the other runs' deadlines still pass", async () => {
    fakeClock();
    // a host registry whose store of order o1 throws as it is disposed (at the run's end)
    class BrittleRegistry extends StoreRegistry {
      override create<S extends object>(id: string, initial: S, options?: StoreCreateOptions): StateStore<S> {
        const store = super.create(id, initial, options);
        if ((initial as unknown as Order).orderId !== "o1") return store;
        const dispose = store.dispose.bind(store);
        store.dispose = () => {
          dispose();
          throw new Error("disk gone");
        };
        return store;
      }
    }
    const t = await setup({ runTimeoutMs: 150 }, new BrittleRegistry());
    const first = await t.park("o1", 100);
    const second = await t.park("o2", 120);
    // the timer comes late (a blocked event loop): when it fires, o1's wait deadline and both run
    // deadlines have passed; o1's wait deadline, the earliest, comes first and finds its run deadline passed
    vi.setSystemTime(START + 60);
    await vi.advanceTimersByTimeAsync(100);
    expect(h!.runtime.watch("orders", first)).toMatchObject({ status: "failed", error: { code: "TIMEOUT" } });
    // o2 fails at its run deadline too: the fault did not stop the timer
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h!.runtime.watch("orders", second)).toMatchObject({
      status: "failed",
      error: { code: "TIMEOUT" },
    });
    expect(h!.errors.map((e) => [e.code, e.message])).toEqual([
      ["INVALID_STATE", expect.stringMatching(/disk gone/)],
    ]);
  });

  it("runs whose wait deadlines fall in the same ms time out in the order they parked, as their own timers did", async () => {
    fakeClock();
    const t = await setup();
    for (const id of ["a", "b", "c", "d", "e"]) await t.park(id, 100);
    await vi.advanceTimersByTimeAsync(101);
    expect(t.ended.map((r) => r.ok && `${r.value.state.orderId}:${r.value.state.pauseTimedOut}`)).toEqual([
      "a:true",
      "b:true",
      "c:true",
      "d:true",
      "e:true",
    ]);
  });
});
