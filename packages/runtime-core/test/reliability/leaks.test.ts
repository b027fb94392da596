import type { PauseService } from "@sluice/pause";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import { ControlEvent, type RunResult, type Workflow } from "../../src/index.js";
import { type Harness, harness } from "../helpers.js";
import { activeTimeouts, figure, MB, settledHeap, size, trackTimers, until, within } from "./support.js";

/** Completed runs measured after warm-up: the 100k under SLUICE_FULL. */
const COMPLETED = size(20_000, 100_000);
/** Abort/resume cycles: the 100k under SLUICE_FULL. */
const CYCLES = size(10_000, 100_000);
/** Most the settled heap may grow over the measured runs (retention and timeline are full at the start). */
const HEAP_MARGIN = 4 * MB;
const TIMEOUT = size(60_000, 900_000);

const pauseOf = (ctx: { use: (fn: (d: any) => any) => Promise<any> }) =>
  ctx.use((d) => d.require("__pause_service__")) as Promise<PauseService>;

let h: Harness | undefined;
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
});

describe("leaks: completed runs", () => {
  it(
    `after ${COMPLETED} completed runs the settled heap is back within ${HEAP_MARGIN / MB} MB, listAllRuns stays at the retention bound, no store survives`,
    async () => {
      const timeline = await createMemoryTimelineStore({ maxEvents: 2_000 });
      const harnessed = await harness({ timelineStore: timeline });
      h = harnessed;
      let done = 0;
      let failed = 0;
      await harnessed.runtime.register(
        {
          id: "leaky",
          services: [{ id: "perRun", scope: "run", factory: () => ({ buffer: new Array(64).fill(0) }) }],
          triggers: { go: { event: "job", pipeline: "p" } },
          pipelines: {
            p: {
              stages: [
                {
                  id: "one",
                  steps: [
                    {
                      id: "a",
                      action: async (ctx) => {
                        await ctx.use((d) => d.require("perRun"));
                        ctx.logger.info("working", { n: ctx.state().n });
                        return { a: true };
                      },
                    },
                  ],
                },
                { id: "two", steps: [{ id: "b", action: () => ({ b: true }) }] },
              ],
            },
          },
        },
        {
          mode: { type: "transient", concurrency: 100 },
          retention: { maxFinished: 1000 },
          onComplete: (r) => {
            if (r.ok && r.value.status === "completed") done++;
            else failed++;
          },
        },
      );
      const runBatches = async (total: number) => {
        const target = done + total;
        for (let i = 0; i < total; i += 1000) {
          const upTo = Math.min(done + 1000, target);
          for (let k = 0; k < 1000 && i + k < total; k++) harnessed.bus.emit("job", { n: i + k });
          await until(() => done === upTo, TIMEOUT, "a batch to complete");
        }
        await harnessed.runtime.flushTimeline();
      };
      await runBatches(3_000); // warm-up: fills retention and the bounded timeline, JITs the hot path
      const before = await settledHeap();
      const t0 = performance.now();
      await runBatches(COMPLETED);
      const ms = performance.now() - t0;
      const after = await settledHeap();
      figure(`heap delta after ${COMPLETED} completed runs`, `${((after - before) / MB).toFixed(2)} MB`);
      figure(`${COMPLETED} completed runs ms`, Math.round(ms));
      expect(failed).toBe(0);
      expect(after - before).toBeLessThan(HEAP_MARGIN);
      expect(harnessed.runtime.listAllRuns().length).toBe(1000);
      expect(harnessed.storeRegistry.size).toBe(0);
    },
    TIMEOUT,
  );
});

/** invoke → paused at `first` → resume → paused at `second` → abort. */
const cycling: Workflow = {
  id: "cycling",
  services: [{ id: "perRun", scope: "run", factory: () => ({ payload: new Array(64).fill(1) }) }],
  triggers: { go: { event: "cycle.start", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "first",
          steps: [
            {
              id: "w1",
              action: async (ctx) => {
                await ctx.use((d) => d.require("perRun"));
                // an event wait with a deadline: a bus subscription and a timer that must not outlive the run
                (await pauseOf(ctx)).register({ event: `cycle.go`, timeoutMs: 600_000 });
              },
            },
          ],
        },
        {
          id: "second",
          steps: [{ id: "w2", action: async (ctx) => void (await pauseOf(ctx)).register({}) }],
        },
        { id: "never", steps: [{ id: "n", action: () => ({ reached: true }) }] },
      ],
    },
  },
};

describe("leaks: abort/resume cycles", () => {
  for (const pauseWindowMs of [30_000, 0]) {
    it(
      `${CYCLES} pause/resume/abort cycles (pauseWindowMs ${pauseWindowMs}) leave the heap, bus listeners, timers and stores where they were`,
      async () => {
        const timers = trackTimers();
        onTestFinished(() => timers.uninstall());
        const harnessed = await harness({
          timelineStore: await createMemoryTimelineStore({ maxEvents: 2_000 }),
        });
        h = harnessed;
        const { runtime, bus } = harnessed;
        const aborted: RunResult[] = [];
        let unexpected = 0;
        await runtime.register(cycling, {
          mode: { type: "transient", concurrency: 100 },
          pauseWindowMs,
          onComplete: (r) => {
            if (r.ok && r.value.status === "aborted") aborted.push(r);
            else unexpected++;
          },
        });
        const cycle = async (i: number) => {
          const first = await runtime.invoke("cycling", "go", { i });
          if (!(first.ok && first.value.status === "paused")) throw new Error(`cycle ${i}: did not pause`);
          const runId = first.metadata.runId!;
          // every other cycle steers the run through the bus control events instead of the methods
          if (i % 2 === 0) {
            const second = await runtime.resume(runId, { resumed: i });
            if (!(second.ok && second.value.status === "paused"))
              throw new Error(`cycle ${i}: did not re-pause`);
            await runtime.abort(runId);
          } else {
            const n = aborted.length;
            bus.emit(ControlEvent.Resume, { runId, patch: { resumed: i } });
            await until(
              () => runtime.watch("cycling", runId)?.stage === "never",
              5_000,
              "the run to re-pause",
            );
            bus.emit(ControlEvent.Abort, { runId });
            await until(() => aborted.length > n, 5_000, "the abort");
          }
        };
        const batch = async (from: number, count: number) => {
          const all: Promise<void>[] = [];
          for (let i = from; i < from + count; i++) all.push(cycle(i));
          await Promise.all(all);
        };
        await batch(0, 1_000); // warm-up
        await runtime.flushTimeline();
        const listeners = bus.listenerCount();
        const timeouts = activeTimeouts();
        const pendingTimers = timers.pending;
        const before = await settledHeap();
        const abortedBefore = aborted.length;
        aborted.length = 0;
        const t0 = performance.now();
        for (let i = 0; i < CYCLES; i += 100) await batch(1_000 + i, 100);
        const ms = performance.now() - t0;
        await runtime.flushTimeline();
        const count = aborted.length;
        aborted.length = 0;
        const after = await settledHeap();
        figure(
          `heap delta after ${CYCLES} abort/resume cycles (window ${pauseWindowMs})`,
          `${((after - before) / MB).toFixed(2)} MB`,
        );
        figure(`${CYCLES} abort/resume cycles (window ${pauseWindowMs}) ms`, Math.round(ms));
        expect(abortedBefore).toBe(1_000);
        expect(count).toBe(CYCLES);
        expect(unexpected).toBe(0);
        expect(after - before).toBeLessThan(HEAP_MARGIN);
        expect(bus.listenerCount()).toBe(listeners);
        // a leak leaves more timers; fewer is fine (the baseline may have caught a pending flush timer)
        expect(activeTimeouts()).toBeLessThanOrEqual(timeouts);
        expect(timers.pending).toBeLessThanOrEqual(pendingTimers);
        expect(harnessed.storeRegistry.size).toBe(0);
        expect(runtime.listAllRuns().length).toBeLessThanOrEqual(1000);
      },
      TIMEOUT,
    );
  }
});

describe("leaks: deregister and stop", () => {
  it("no bus subscription, timer or state store survives deregister() and stop() with runs running, parked, queued and timing out", async () => {
    const timers = trackTimers();
    try {
      const timeoutsAtStart = activeTimeouts();
      const harnessed = await harness({ timeline: { flushIntervalMs: 10_000, maxBatch: 100_000 } });
      h = harnessed;
      const { runtime, bus, storeRegistry } = harnessed;
      // the three control-event subscriptions, and nothing else
      expect(bus.listenerCount()).toBe(3);
      const completed: RunResult[] = [];
      const make = (id: string): Workflow => ({
        id,
        services: [{ id: "svc", scope: "run", factory: () => ({}) }],
        triggers: {
          go: { event: `${id}.go`, pipeline: "p" },
          alt: { event: `${id}.alt`, pipeline: "p", when: [{ path: "alt", op: "exists" }] },
        },
        pipelines: {
          p: {
            stages: [
              {
                id: "maybe-wait",
                steps: [
                  {
                    id: "w",
                    retry: { attempts: 3, backoffMs: 60_000 },
                    timeoutMs: 60_000,
                    action: async (ctx) => {
                      await ctx.use((d) => d.require("svc"));
                      if (ctx.state().park) {
                        (await pauseOf(ctx)).register({ event: `${id}.approve`, timeoutMs: 60_000 });
                        return;
                      }
                      // stays in flight until aborted
                      await new Promise((_, reject) =>
                        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true }),
                      );
                    },
                  },
                ],
              },
              { id: "after", steps: [{ id: "a", action: () => ({ after: true }) }] },
            ],
          },
        },
      });
      const register = (id: string, mode: any) =>
        runtime.register(make(id), { mode, pauseWindowMs: 50, onComplete: (r) => void completed.push(r) });
      await register("slots", { type: "transient", concurrency: 2, capacity: 5 });
      const afterFirst = bus.listenerCount();
      await register("fifo", { type: "serialized" });
      await register("solo", { type: "exclusive", onBusy: "queue_single" });
      for (const id of ["slots", "fifo", "solo"]) {
        bus.emit(`${id}.go`, { park: true }); // parks: a wait subscription, a deadline timer, a park timer
        bus.emit(`${id}.go`, { park: false }); // in flight (transient) or queued
        bus.emit(`${id}.go`, { park: false });
        bus.emit(`${id}.alt`, { alt: 1 });
      }
      await until(
        () => runtime.listAllRuns().filter((r) => r.status === "paused").length >= 2,
        5_000,
        "runs to park",
      );
      expect(activeTimeouts()).toBeGreaterThan(timeoutsAtStart);
      expect(storeRegistry.size).toBeGreaterThan(0);

      expect(await within(5_000, "deregister", runtime.deregister("fifo"))).toBe(true);
      expect(await within(5_000, "deregister", runtime.deregister("solo"))).toBe(true);
      // only the first workflow's subscriptions (and the control events) remain
      expect(bus.listenerCount("slots.approve")).toBe(1); // one shared subscription for the parked run's wait
      expect(bus.listenerCount()).toBe(afterFirst + 1);
      expect(bus.listenerCount("fifo.go") + bus.listenerCount("fifo.approve")).toBe(0);
      expect(bus.listenerCount("solo.go") + bus.listenerCount("solo.approve")).toBe(0);

      await within(5_000, "stop", runtime.stop());
      expect(bus.listenerCount()).toBe(0);
      expect(storeRegistry.size).toBe(0);
      expect(activeTimeouts()).toBe(timeoutsAtStart);
      // unref()ed timers too (the timeline flush timer, the pause-window sweep)
      expect(timers.pending).toBe(0);
      for (const r of completed) expect(r.ok ? r.value.status : r.error.code).toMatch(/aborted|ABORTED/);
    } finally {
      timers.uninstall();
    }
  });
});
