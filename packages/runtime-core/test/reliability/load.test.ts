import type { PauseService } from "@sluice/pause";
import { afterEach, describe, expect, it } from "vitest";
import type { DispatchResult, ExecutionMode, RunResult, Workflow } from "../../src/index.js";
import { type Harness, harness } from "../helpers.js";
import { figure, size, until } from "./support.js";

/** Events per burst: the 100k under SLUICE_FULL, 5k in CI. */
const N = size(5_000, 100_000);
/** Queue capacity: the 10k at full size; in CI small enough that a 5k burst overflows it. */
const CAPACITY = size(2_000, 10_000);
/** Runs parked at once, then resumed by as many events. */
const PARKED = size(1_000, 10_000);

const TIMEOUT = size(30_000, 600_000);

const job: Workflow = {
  id: "load",
  triggers: { go: { event: "job", pipeline: "main" } },
  pipelines: {
    main: {
      stages: [
        {
          id: "work",
          steps: [
            { id: "a", action: async (ctx) => ({ seen: ctx.state().n }) },
            { id: "b", action: (ctx) => ({ doubled: (ctx.state().n as number) * 2 }) },
          ],
        },
      ],
    },
  },
};

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

/** Registers `job` under `mode`, recording every dispatch report and every finished run. */
async function loadSetup(mode: ExecutionMode) {
  h = await harness();
  const dispatched: DispatchResult[] = [];
  const completed: RunResult[] = [];
  await h.runtime.register(job, {
    mode,
    onDispatch: (r) => void dispatched.push(r),
    onComplete: (r) => void completed.push(r),
  });
  const burst = (from: number, count: number) => {
    for (let i = from; i < from + count; i++) h.bus.emit("job", { n: i });
  };
  return { dispatched, completed, burst };
}

function tally(dispatched: readonly DispatchResult[]) {
  const counts: Record<string, number> = {
    started: 0,
    queued: 0,
    dropped: 0,
    rejected: 0,
    signalled: 0,
    replaced: 0,
  };
  for (const d of dispatched) counts[d.outcome] = (counts[d.outcome] ?? 0) + 1;
  return counts;
}

/**
 * The bookkeeping every mode must satisfy: every run id handed out (started or queued) ends
 * exactly once, either completed (onComplete) or reported dropped with that run id; every event
 * without a run id was reported dropped or rejected. Nothing is counted twice, nothing vanishes.
 */
function expectExactAccounting(
  events: number,
  dispatched: readonly DispatchResult[],
  completed: RunResult[],
) {
  const handedOut = new Set<string>();
  const droppedIds = new Set<string>();
  let refusedWithoutRun = 0;
  for (const d of dispatched) {
    if (d.outcome === "started" || d.outcome === "queued") {
      expect(d.runId).toBeTypeOf("string");
      expect(handedOut.has(d.runId!)).toBe(false);
      handedOut.add(d.runId!);
    } else if (d.outcome === "dropped" && d.runId !== undefined) {
      expect(droppedIds.has(d.runId)).toBe(false);
      droppedIds.add(d.runId);
    } else if (d.outcome === "dropped" || d.outcome === "rejected") {
      refusedWithoutRun++;
    } else {
      throw new Error(`unexpected outcome ${d.outcome}`);
    }
  }
  // one primary report per event
  expect(handedOut.size + refusedWithoutRun).toBe(events);
  const completedIds = new Set<string>();
  for (const r of completed) {
    expect(r.ok && r.value.status).toBe("completed");
    const id = r.metadata.runId!;
    expect(completedIds.has(id)).toBe(false);
    completedIds.add(id);
  }
  for (const id of droppedIds) expect(completedIds.has(id)).toBe(false);
  expect(completedIds.size + droppedIds.size).toBe(handedOut.size);
  for (const id of completedIds) expect(handedOut.has(id)).toBe(true);
  for (const id of droppedIds) expect(handedOut.has(id)).toBe(true);
}

describe("load: bursts of bus events", () => {
  it(
    `transient (concurrency 100, capacity ${CAPACITY}): a burst of ${N} events is started, queued or dropped, and the counts add up exactly`,
    async () => {
      const t = await loadSetup({ type: "transient", concurrency: 100, capacity: CAPACITY });
      const started = performance.now();
      for (let wave = 0; wave < 2; wave++) {
        const before = t.dispatched.length;
        const completedBefore = t.completed.length;
        t.burst(wave * N, N);
        const counts = tally(t.dispatched.slice(before));
        // a synchronous burst: exactly `concurrency` start, exactly `capacity` queue, the rest drop
        expect(counts).toMatchObject({ started: 100, queued: CAPACITY, dropped: N - 100 - CAPACITY });
        await until(
          () => t.completed.length === completedBefore + 100 + CAPACITY,
          TIMEOUT,
          "the burst to drain",
        );
      }
      figure(`transient burst ${N}×2 ms`, Math.round(performance.now() - started));
      expectExactAccounting(2 * N, t.dispatched, t.completed);
      for (const r of t.completed)
        expect(r.ok && r.value.state.doubled).toBe(r.ok ? (r.value.state.n as number) * 2 : NaN);
      expect(h.storeRegistry.size).toBe(0);
      // retention keeps the finished-runs registry bounded however many runs completed
      expect(h.runtime.listAllRuns().length).toBeLessThanOrEqual(1000);
    },
    TIMEOUT,
  );

  it(
    `serialized (capacity ${CAPACITY}): a burst of ${N} runs one at a time in FIFO order, the overflow is reported dropped`,
    async () => {
      const t = await loadSetup({ type: "serialized", capacity: CAPACITY });
      const started = performance.now();
      t.burst(0, N);
      expect(tally(t.dispatched)).toMatchObject({ started: 1, queued: CAPACITY, dropped: N - 1 - CAPACITY });
      await until(() => t.completed.length === 1 + CAPACITY, TIMEOUT, "the queue to drain");
      figure(`serialized burst ${N} ms`, Math.round(performance.now() - started));
      expectExactAccounting(N, t.dispatched, t.completed);
      // FIFO: runs complete in the order their events were accepted
      const acceptedOrder = t.dispatched.filter((d) => d.runId !== undefined).map((d) => d.runId);
      expect(t.completed.map((r) => r.metadata.runId)).toEqual(acceptedOrder);
    },
    TIMEOUT,
  );

  it(
    `exclusive reject: of ${N} events in waves, one per idle moment starts, every other is reported rejected`,
    async () => {
      const t = await loadSetup({ type: "exclusive", onBusy: "reject" });
      const waves = 50;
      const perWave = N / waves;
      for (let w = 0; w < waves; w++) {
        t.burst(w * perWave, perWave);
        await until(() => t.completed.length === w + 1, TIMEOUT, `wave ${w} to finish`);
      }
      expect(tally(t.dispatched)).toMatchObject({
        started: waves,
        rejected: N - waves,
        queued: 0,
        dropped: 0,
      });
      expectExactAccounting(N, t.dispatched, t.completed);
    },
    TIMEOUT,
  );

  it(
    `exclusive queue_single: a burst of ${N} keeps one pending run, each newer one supersedes it (reported dropped)`,
    async () => {
      const t = await loadSetup({ type: "exclusive", onBusy: "queue_single" });
      const started = performance.now();
      t.burst(0, N);
      expect(tally(t.dispatched)).toMatchObject({ started: 1, queued: N - 1, dropped: N - 2 });
      await until(() => t.completed.length === 2, TIMEOUT, "the active and the last pending run");
      figure(`exclusive queue_single burst ${N} ms`, Math.round(performance.now() - started));
      expectExactAccounting(N, t.dispatched, t.completed);
      // the survivor is the newest event (latest wins)
      expect(t.completed.map((r) => r.ok && r.value.state.n)).toEqual([0, N - 1]);
      expect(h.storeRegistry.size).toBe(0);
    },
    TIMEOUT,
  );
});

describe("load: parked runs", () => {
  for (const pauseWindowMs of [30_000, 0]) {
    it(
      `${PARKED} runs park at once (pauseWindowMs ${pauseWindowMs}), then ${PARKED} events each resume exactly its own run`,
      async () => {
        h = await harness();
        const completed: RunResult[] = [];
        const listenersBefore = h.bus.listenerCount();
        await h.runtime.register(
          {
            id: "parked",
            triggers: { go: { event: "order", pipeline: "p" } },
            pipelines: {
              p: {
                stages: [
                  {
                    id: "wait",
                    steps: [
                      {
                        id: "w",
                        action: async (ctx) => {
                          const pause = (await ctx.use((d) =>
                            d.require("__pause_service__"),
                          )) as PauseService;
                          pause.register({
                            event: "approve",
                            conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId as string }],
                          });
                        },
                      },
                    ],
                  },
                  {
                    id: "ship",
                    steps: [{ id: "s", action: (ctx) => ({ shipped: ctx.state().approvedFor }) }],
                  },
                ],
              },
            },
          },
          {
            mode: { type: "transient", concurrency: 100, capacity: PARKED },
            pauseWindowMs,
            onComplete: (r) => void completed.push(r),
          },
        );
        const t0 = performance.now();
        for (let i = 0; i < PARKED; i++) h.bus.emit("order", { orderId: `o${i}` });
        const registry = h.runtime.registry("parked")!;
        const paused = () => registry.list().filter((r) => r.status === "paused").length;
        await until(() => paused() === PARKED, TIMEOUT, "every run to park");
        const parkedMs = performance.now() - t0;
        if (pauseWindowMs === 0) expect(h.storeRegistry.size).toBe(0); // only checkpoints are held
        const t1 = performance.now();
        // resume in reverse order, so no run can be resumed by position
        for (let i = PARKED - 1; i >= 0; i--)
          h.bus.emit("approve", { orderId: `o${i}`, approvedFor: `o${i}` });
        await until(() => completed.length === PARKED, TIMEOUT, "every run to resume and complete");
        figure(
          `park ${PARKED} runs (window ${pauseWindowMs}) ms`,
          `${Math.round(parkedMs)} park, ${Math.round(performance.now() - t1)} resume`,
        );
        const ids = new Set<string>();
        for (const r of completed) {
          expect(r.ok && r.value.status).toBe("completed");
          if (!r.ok) continue;
          expect(r.value.state.shipped).toBe(r.value.state.orderId);
          ids.add(r.metadata.runId!);
        }
        expect(ids.size).toBe(PARKED);
        expect(h.storeRegistry.size).toBe(0);
        await h.runtime.deregister("parked");
        expect(h.bus.listenerCount()).toBe(listenersBefore);
      },
      TIMEOUT,
    );
  }
});
