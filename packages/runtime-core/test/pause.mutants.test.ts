import type { PauseRegistration, PauseService } from "@sluice/pause";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RunResult, Workflow } from "../src/index.js";
import { type Harness, harness, tick } from "./helpers.js";

// Pause and resume behaviour pause.test.ts and pause-edges.test.ts leave open: what happens to
// events buffered for a running run, which wait wins when several match, pause windows of several
// parked runs, and waits on many distinct event names.

const pauseOf = (ctx: { use: (fn: (d: any) => any) => Promise<any> }) =>
  ctx.use((d) => d.require("__pause_service__")) as Promise<PauseService>;

type StageStep = (ctx: any) => void | Record<string, unknown> | Promise<void | Record<string, unknown>>;

/** A workflow of one step per stage, started by `go`. */
function stages(id: string, ...steps: StageStep[]): Workflow {
  return {
    id,
    triggers: { go: { event: `${id}.go`, pipeline: "p" } },
    pipelines: {
      p: { stages: steps.map((action, i) => ({ id: `s${i}`, steps: [{ id: `step${i}`, action }] })) },
    },
  };
}

/** A step that registers `waits`, then emits `emits` while the run is still running. */
const waitThenEmit =
  (h: () => Harness, waits: PauseRegistration[], emits: Array<[string, unknown]> = []): StageStep =>
  async (ctx) => {
    const pause = await pauseOf(ctx);
    for (const wait of waits) pause.register(wait);
    for (const [event, payload] of emits) h().bus.emit(event, payload);
  };

const done: StageStep = () => ({ done: true });

let h: Harness;
afterEach(async () => {
  vi.useRealTimers();
  await h?.runtime.stop();
});

describe("events buffered while a run is running", () => {
  it("resume the run once: a later wait on the same event waits for a new one", async () => {
    h = await harness();
    await h.runtime.register(
      stages(
        "twice",
        waitThenEmit(() => h, [{ event: "tick", patch: (p) => ({ first: p.n }) }], [["tick", { n: 1 }]]),
        waitThenEmit(() => h, [{ event: "tick", patch: (p) => ({ second: p.n }) }]),
        done,
      ),
    );
    const paused = await h.runtime.invoke("twice", "go", {});
    expect(paused.ok && paused.value).toMatchObject({ status: "paused", state: { first: 1 } });
    expect(paused.ok && paused.value.state.second).toBeUndefined();
    const completed = h.runtime.resume(paused.metadata.runId!, {});
    h.bus.emit("tick", { n: 2 });
    const r = await completed;
    expect(r.ok && r.value).toMatchObject({ status: "completed" });
  });

  it("one event that satisfies two waits of the run is buffered once", async () => {
    h = await harness();
    await h.runtime.register(
      stages(
        "both",
        waitThenEmit(
          () => h,
          [
            {
              event: "tick",
              conditions: [{ path: "n", op: "==", value: 1 }],
              patch: () => ({ via: "keyed" }),
            },
            { event: "tick", patch: () => ({ via: "any" }) },
          ],
          [["tick", { n: 1 }]],
        ),
        waitThenEmit(() => h, [{ event: "tick", patch: (p) => ({ next: p.n }) }]),
        done,
      ),
    );
    const paused = await h.runtime.invoke("both", "go", {});
    // the first registered wait the event satisfies gives the patch; the second stage still waits
    expect(paused.ok && paused.value).toMatchObject({ status: "paused", state: { via: "keyed" } });
    const runId = paused.metadata.runId!;
    await tick(5);
    expect(h.runtime.watch("both", runId)?.status).toBe("paused");
    h.bus.emit("tick", { n: 7 });
    await expect.poll(() => h.runtime.watch("both", runId)?.status).toBe("completed");
  });

  it("one whose patch mapper throws is reported and skipped; the next buffered event resumes the run", async () => {
    h = await harness();
    const mapper = (p: { n?: number; bad?: boolean }) => {
      if (p.bad) throw new Error("bad tick");
      return { n: p.n };
    };
    await h.runtime.register(
      stages(
        "skip",
        waitThenEmit(
          () => h,
          [{ event: "tick", patch: mapper }],
          [
            ["tick", { bad: true }],
            ["tick", { n: 2 }],
          ],
        ),
        done,
      ),
    );
    const r = await h.runtime.invoke("skip", "go", {});
    expect(r.ok && r.value).toMatchObject({ status: "completed", state: { n: 2, done: true } });
    expect(h.errors.map((e) => [e.code, e.message])).toEqual([
      ["INVALID_INPUT", expect.stringContaining("the resuming event was ignored: bad tick")],
    ]);
  });

  it("up to maxBufferedEventsPerRun of them wait without loss", async () => {
    h = await harness({ maxBufferedEventsPerRun: 2 });
    await h.runtime.register(
      stages(
        "full",
        waitThenEmit(
          () => h,
          [{ event: "tick", patch: (p) => ({ a: p.n }) }],
          [
            ["tick", { n: 1 }],
            ["tick", { n: 2 }],
          ],
        ),
        waitThenEmit(() => h, [{ event: "tick", patch: (p) => ({ b: p.n }) }]),
        done,
      ),
    );
    const r = await h.runtime.invoke("full", "go", {});
    expect(r.ok && r.value).toMatchObject({ status: "completed", state: { a: 1, b: 2 } });
    expect(h.errors).toEqual([]);
  });

  it("past maxBufferedEventsPerRun the oldest are dropped, and that is reported once", async () => {
    h = await harness({ maxBufferedEventsPerRun: 2 });
    await h.runtime.register(
      stages(
        "overflow",
        waitThenEmit(
          () => h,
          [{ event: "tick", patch: (p) => ({ a: p.n }) }],
          [1, 2, 3, 4].map((n) => ["tick", { n }] as [string, unknown]),
        ),
        waitThenEmit(() => h, [{ event: "tick", patch: (p) => ({ b: p.n }) }]),
        done,
      ),
    );
    const r = await h.runtime.invoke("overflow", "go", {});
    expect(r.ok && r.value).toMatchObject({ status: "completed", state: { a: 3, b: 4 } });
    expect(h.errors.map((e) => e.code)).toEqual(["CAPACITY_EXCEEDED"]);
  });

  it("are kept only if they meet every condition of a wait, so near misses cannot crowd out a match", async () => {
    h = await harness({ maxBufferedEventsPerRun: 2 });
    const nearMiss = { orderId: "o1", ok: false };
    await h.runtime.register(
      stages(
        "strict",
        waitThenEmit(
          () => h,
          [
            {
              event: "approved",
              conditions: [
                { path: "orderId", op: "==", value: "o1" },
                { path: "ok", op: "==", value: true },
              ],
            },
          ],
          [
            ["approved", nearMiss],
            ["approved", nearMiss],
            ["approved", nearMiss],
            ["approved", { orderId: "o1", ok: true, by: "ann" }],
          ],
        ),
        done,
      ),
    );
    const r = await h.runtime.invoke("strict", "go", {});
    expect(r.ok && r.value).toMatchObject({ status: "completed", state: { by: "ann" } });
    expect(h.errors).toEqual([]);
  });
});

describe("resuming events", () => {
  it("a payload that is not an object resumes the wait and leaves the state as it was", async () => {
    h = await harness();
    await h.runtime.register(
      stages(
        "ping",
        waitThenEmit(() => h, [{ event: "ping" }]),
        done,
      ),
    );
    const paused = await h.runtime.invoke("ping", "go", { keep: 1 });
    expect(paused.ok && paused.value.status).toBe("paused");
    const runId = paused.metadata.runId!;
    h.bus.emit("ping", 42);
    await expect.poll(() => h.runtime.watch("ping", runId)?.status).toBe("completed");
    expect(h.errors).toEqual([]);
  });

  it("when one event satisfies several waits, the first one registered gives the patch", async () => {
    h = await harness();
    const completed: RunResult[] = [];
    await h.runtime.register(
      stages(
        "decide",
        waitThenEmit(
          () => h,
          [
            { event: "decision", patch: () => ({ via: "first" }) },
            { event: "decision", patch: () => ({ via: "second" }) },
          ],
        ),
        done,
      ),
      { onComplete: (r) => void completed.push(r) },
    );
    const paused = await h.runtime.invoke("decide", "go", {});
    expect(paused.ok && paused.value.status).toBe("paused");
    h.bus.emit("decision", {});
    await expect.poll(() => completed.length).toBe(1);
    expect(completed[0]!.ok && completed[0]!.value.state.via).toBe("first");
  });

  it("two waits that time out at the same moment: the one registered first gives the timeout patch", async () => {
    // Date is frozen, so both waits of the step get the same deadline
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    h = await harness();
    const completed: RunResult[] = [];
    await h.runtime.register(
      stages(
        "timeouts",
        waitThenEmit(
          () => h,
          [
            { event: "never.a", timeoutMs: 20, timeoutPatch: { timedOut: "first" } },
            { event: "never.b", timeoutMs: 20, timeoutPatch: { timedOut: "second" } },
          ],
        ),
        done,
      ),
      { onComplete: (r) => void completed.push(r) },
    );
    const paused = await h.runtime.invoke("timeouts", "go", {});
    expect(paused.ok && paused.value.status).toBe("paused");
    vi.setSystemTime(start + 1_000);
    await expect.poll(() => completed.length).toBe(1);
    expect(completed[0]!.ok && completed[0]!.value.state.timedOut).toBe("first");
  });
});

describe("pause windows", () => {
  it("end for every parked run, also one that parked while an earlier run's window was running", async () => {
    h = await harness();
    await h.runtime.register(
      stages(
        "windows",
        waitThenEmit(() => h, [{ event: "later" }]),
        done,
      ),
      {
        pauseWindowMs: 200,
      },
    );
    const a = await h.runtime.invoke("windows", "go", {});
    await tick(100);
    const b = await h.runtime.invoke("windows", "go", {});
    const [aId, bId] = [a.metadata.runId!, b.metadata.runId!];
    // a released run keeps only its checkpoint: its state store has left the registry
    expect(h.storeRegistry.has(bId)).toBe(true);
    await expect.poll(() => h.storeRegistry.has(aId), { timeout: 2_000 }).toBe(false);
    await expect.poll(() => h.storeRegistry.has(bId), { timeout: 2_000 }).toBe(false);
    h.bus.emit("later", {});
    await expect.poll(() => h.runtime.watch("windows", bId)?.status).toBe("completed");
  });

  it("a run whose state cannot be released is reported once and stays parked, resumable", async () => {
    h = await harness();
    await h.runtime.register(
      stages(
        "bigint",
        () => ({ big: 10n }),
        waitThenEmit(() => h, [{ event: "later" }]),
        done,
      ),
      { pauseWindowMs: 10 },
    );
    const paused = await h.runtime.invoke("bigint", "go", {});
    const runId = paused.metadata.runId!;
    await expect.poll(() => h.errors.length).toBe(1);
    await tick(100);
    expect(h.errors.map((e) => e.code)).toEqual(["INVALID_STATE"]);
    expect(h.runtime.watch("bigint", runId)?.status).toBe("paused");
    h.bus.emit("later", {});
    await expect.poll(() => h.runtime.watch("bigint", runId)?.status).toBe("completed");
  });
});

describe("waits on many distinct event names", () => {
  it("a run waiting on one event still resumes after many runs waited on (and left) event names of their own", async () => {
    h = await harness();
    const completed: string[] = [];
    await h.runtime.register(
      stages(
        "dynamic",
        async (ctx) => {
          (await pauseOf(ctx)).register({ event: `order.${ctx.state().key}.approved` });
        },
        done,
      ),
      { onComplete: (r) => void completed.push(r.ok ? (r.value.state.key as string) : "failed") },
    );
    const kept = await h.runtime.invoke("dynamic", "go", { key: "kept" });
    expect(kept.ok && kept.value.status).toBe("paused");
    // each of these runs parks on an event name of its own, which its resume leaves unused
    for (let i = 0; i < 80; i++) {
      const other = await h.runtime.invoke("dynamic", "go", { key: `k${i}` });
      expect(other.ok && other.value.status).toBe("paused");
      h.bus.emit(`order.k${i}.approved`, {});
    }
    await expect.poll(() => completed.length).toBe(80);
    h.bus.emit("order.kept.approved", {});
    await expect.poll(() => completed.at(-1)).toBe("kept");
    expect(completed).not.toContain("failed");
  });
});
