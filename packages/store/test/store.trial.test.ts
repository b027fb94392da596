import { describe, expect, it } from "vitest";
import { createStateStore } from "../src/index.js";

// Trial by outside eyes: what a Zustand/Redux user relies on that no other test covers.
describe("StateStore trial", () => {
  // Each step is O(1) amortized: with a copy per subscribe/unsubscribe, 100 000 took minutes
  // (40 000 took 20 s each way). The timeout leaves a margin of hundreds of times the fixed cost.
  it("subscribes and unsubscribes 100 000 listeners in linear time, delivering in order", () => {
    const store = createStateStore({ n: 0 });
    const seen: number[] = [];
    const offs: Array<() => void> = [];
    for (let i = 0; i < 100_000; i++) offs.push(store.subscribe(() => seen.push(i)));
    // unsubscribe every other one, then the rest but the last: order must hold throughout
    for (let i = 0; i < offs.length; i += 2) offs[i]!();
    store.set({ n: 1 });
    expect(seen.length).toBe(50_000);
    expect(seen.slice(0, 3)).toEqual([1, 3, 5]);
    for (let i = 1; i < offs.length - 1; i += 2) offs[i]!();
    seen.length = 0;
    store.set({ n: 2 });
    expect(seen).toEqual([99_999]);
  }, 20_000);

  it("during a round: a listener added is not called in it, one removed (even later ones) is not called", () => {
    const store = createStateStore({ n: 0 });
    const calls: string[] = [];
    const offs: Array<() => void> = [];
    store.subscribe(({ n }) => {
      calls.push(`first ${n}`);
      if (n === 1) {
        // removes most listeners, so the store compacts its list while this round walks it
        for (const off of offs) off();
        store.subscribe(({ n: m }) => calls.push(`added ${m}`));
      }
    });
    for (let i = 0; i < 5; i++) offs.push(store.subscribe(({ n }) => calls.push(`l${i} ${n}`)));
    store.subscribe(({ n }) => calls.push(`last ${n}`));
    store.set({ n: 1 });
    store.set({ n: 2 });
    expect(calls).toEqual(["first 1", "last 1", "first 2", "last 2", "added 2"]);
  });
});

describe("StateStore trial: re-entrant sets", () => {
  // Queued in one round, delivered in linear time: shifting the queue made 300 000 take ~30 s.
  it("delivers 300 000 sets made by one listener in one round, in order, ending on the last", () => {
    const store = createStateStore({ n: 0 });
    let inRound = false;
    store.subscribe(() => {
      if (inRound) return;
      inRound = true;
      for (let i = 1; i <= 300_000; i++) store.set({ n: i });
    });
    let expected = -1;
    let ordered = true;
    store.subscribe((next, previous) => {
      const expectedPrevious = expected === -1 ? 0 : expected === 1 ? -1 : expected - 1;
      if (next.n !== expected || previous.n !== expectedPrevious) ordered = false;
      expected = expected === -1 ? 1 : expected + 1;
    });
    store.set({ n: -1 });
    expect(ordered).toBe(true);
    expect(expected).toBe(300_001);
    expect(store.get().n).toBe(300_000);
  }, 10_000);
});
