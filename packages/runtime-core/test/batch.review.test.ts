import { afterEach, describe, expect, it, vi } from "vitest";
import type { BatchPayload, DispatchResult, TriggerDefinition, Workflow } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
  vi.useRealTimers();
});

type Item = { n: number; k?: string };

const fake = () => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });

/**
 * A workflow of one batched trigger `go` (event "go"), whose one step records each run's batch
 * (its events' `n`) and calls `step` with it, synchronously as the run starts.
 */
function batched(
  id: string,
  trigger: Partial<TriggerDefinition<BatchPayload<Item>>>,
  ran: number[][],
  step: (batch: BatchPayload<Item>) => void = () => {},
): Workflow {
  return {
    id,
    triggers: { go: { event: "go", pipeline: "p", ...(trigger as Partial<TriggerDefinition>) } },
    pipelines: {
      p: {
        stages: [
          {
            id: "s",
            steps: [
              {
                id: "s",
                action: (ctx) => {
                  const batch = ctx.state() as unknown as BatchPayload<Item>;
                  ran.push(batch.events.map((e) => e.n));
                  step(batch);
                },
              },
            ],
          },
        ],
      },
    },
  };
}

const ns = (reports: DispatchResult[]) =>
  reports.map((r) => [r.outcome, (r.payload as BatchPayload<Item>).events.map((e) => e.n)]);

describe("a trigger's batch, adversarially", () => {
  it('drain({ triggers: "start"}): an event a released batch\'s run emits goes on after the batch its key was collecting', async () => {
    fake();
    h = await harness();
    const bus = h.bus;
    const ran: number[][] = [];
    const reports: DispatchResult[] = [];
    await h.runtime.register(
      batched("w", { batch: { maxSize: 10, timeoutMs: 1000, key: (p) => p.k! } }, ran, (b) => {
        // the run of key a's batch emits an event of key b, whose batch (n: 2) came before it
        if (b.key === "a") bus.emit("go", { k: "b", n: 3 });
      }),
      { onDispatch: (r) => reports.push(r) },
    );
    bus.emit("go", { k: "a", n: 1 });
    bus.emit("go", { k: "b", n: 2 });
    const drained = h.runtime.drain({ triggers: "start" });
    await vi.advanceTimersByTimeAsync(0);
    expect((await drained).drained).toBe(true);
    expect(ns(reports)).toEqual([
      ["started", [1]],
      ["started", [2]],
      ["started", [3]],
    ]);
    expect(ran).toEqual([[1], [2], [3]]);
  });

  it('drain({ triggers: "start"}): an event another workflow\'s released run emits goes on after the batch its trigger was collecting', async () => {
    fake();
    h = await harness();
    const bus = h.bus;
    const ran: number[][] = [];
    const reports: DispatchResult[] = [];
    // "first" is drained first: its batch's run emits "go" for "second", whose batch (n: 2) came before
    await h.runtime.register({
      ...batched("first", { batch: { maxSize: 10, timeoutMs: 1000 } }, ran, () => bus.emit("go", { n: 3 })),
      triggers: { go: { event: "first", pipeline: "p", batch: { maxSize: 10, timeoutMs: 1000 } } },
    });
    await h.runtime.register(batched("second", { batch: { maxSize: 10, timeoutMs: 1000 } }, ran), {
      onDispatch: (r) => reports.push(r),
    });
    bus.emit("first", { n: 1 });
    bus.emit("go", { n: 2 });
    const drained = h.runtime.drain({ triggers: "start" });
    await vi.advanceTimersByTimeAsync(0);
    expect((await drained).drained).toBe(true);
    expect(ns(reports)).toEqual([
      ["started", [2]],
      ["started", [3]],
    ]);
    expect(ran).toEqual([[1], [2], [3]]);
  });

  it("a released batch whose report deregisters the workflow mid-drain: the other batches are reported dropped once each, none starts", async () => {
    fake();
    h = await harness();
    const runtime = h.runtime;
    const ran: number[][] = [];
    const reports: DispatchResult[] = [];
    await runtime.register(batched("w", { batch: { maxSize: 10, timeoutMs: 1000, key: (p) => p.k! } }, ran), {
      onDispatch: (r) => {
        reports.push(r);
        if (r.outcome === "started") void runtime.deregister("w");
      },
    });
    h.bus.emit("go", { k: "a", n: 1 });
    h.bus.emit("go", { k: "b", n: 2 });
    h.bus.emit("go", { k: "c", n: 3 });
    void runtime.drain();
    expect(ns(reports)).toEqual([
      ["started", [1]],
      ["dropped", [1]],
      ["dropped", [2]],
      ["dropped", [3]],
    ]);
    expect(reports.slice(2).map((r) => r.reason)).toEqual([
      "the workflow was deregistered",
      "the workflow was deregistered",
    ]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(reports).toHaveLength(4);
    expect(ran).toEqual([]);
  });

  it('drain({ triggers: "start"}) with a throttle: batches waiting for it go on before the collecting batch and an event a released run emits', async () => {
    fake();
    h = await harness();
    const bus = h.bus;
    const ran: number[][] = [];
    const reports: DispatchResult[] = [];
    await h.runtime.register(
      batched(
        "w",
        { batch: { maxSize: 2, timeoutMs: 1000 }, throttle: { limit: 1, periodMs: 60_000 } },
        ran,
        (b) => {
          // the run of the first waiting batch emits an event, which comes after every batch before it
          if (b.events[0]!.n === 3) bus.emit("go", { n: 99 });
        },
      ),
      { onDispatch: (r) => reports.push(r) },
    );
    for (let n = 1; n <= 7; n++) bus.emit("go", { n });
    // [1, 2] went on, [3, 4] and [5, 6] wait for the throttle's window, [7] collects
    expect(ns(reports)).toEqual([["started", [1, 2]]]);
    const drained = h.runtime.drain({ triggers: "start" });
    await vi.advanceTimersByTimeAsync(0);
    expect((await drained).drained).toBe(true);
    expect(ns(reports)).toEqual([
      ["started", [1, 2]],
      ["started", [3, 4]],
      ["started", [5, 6]],
      ["started", [7]],
      ["started", [99]],
    ]);
    expect(ran).toEqual([[1, 2], [3, 4], [5, 6], [7], [99]]);
  });
});
