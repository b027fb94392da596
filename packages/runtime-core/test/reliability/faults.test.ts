import { SystemError } from "@sluice/errors";
import type { PauseService } from "@sluice/pause";
import type { TimelineEvent, TimelineStore } from "@sluice/timeline";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { afterEach, describe, expect, it } from "vitest";
import type { DispatchResult, RunResult, Workflow } from "../../src/index.js";
import { deferred, type Harness, harness } from "../helpers.js";
import { expectSystemError, queryAll, until, withAppendFault, within } from "./support.js";

const CONCURRENCY = 4;

const pauseOf = (ctx: { use: (fn: (d: any) => any) => Promise<any> }) =>
  ctx.use((d) => d.require("__pause_service__")) as Promise<PauseService>;

type Kind =
  | "ok"
  | "throw"
  | "hang"
  | "ignore-abort"
  | "factory-throws"
  | "factory-hangs"
  | "prepare-throws"
  | "complete-throws"
  | "cleanup-throws"
  | "dispatch-throws"
  | "pause-resume-throws"
  | "gate";

/** One workflow whose single step misbehaves as the event's `kind` says. */
function faulty(gates: Map<number, () => void>): Workflow {
  const act = async (ctx: any): Promise<any> => {
    const { kind, n } = ctx.state() as { kind: Kind; n: number };
    switch (kind) {
      case "throw":
        throw new Error(`step of run ${n} blew up`);
      case "hang":
      case "ignore-abort":
        return new Promise(() => {}); // never settles and never looks at ctx.signal
      case "factory-throws":
        await ctx.use((d: any) => d.require("broken"));
        return { unreachable: true };
      case "factory-hangs":
        await ctx.use((d: any) => d.require("stuck"));
        return { unreachable: true };
      case "pause-resume-throws":
        (await pauseOf(ctx)).register({});
        return;
      case "gate":
        await new Promise<void>((resolve) => gates.set(n, resolve));
        return { gated: true };
      default:
        return { done: n };
    }
  };
  return {
    id: "faulty",
    services: [
      {
        id: "broken",
        scope: "run",
        factory: () => {
          throw new Error("factory exploded");
        },
      },
      { id: "stuck", scope: "run", timeoutMs: 30, factory: () => new Promise(() => {}) },
    ],
    triggers: {
      go: { event: "job", pipeline: "guarded" },
      raw: { event: "raw", pipeline: "unguarded" },
    },
    pipelines: {
      guarded: {
        stages: [
          { id: "work", steps: [{ id: "act", timeoutMs: 40, action: act }] },
          { id: "finish", steps: [{ id: "fin", action: () => ({ finished: true }) }] },
        ],
      },
      unguarded: { stages: [{ id: "work", steps: [{ id: "act", action: act }] }] },
    },
  };
}

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

describe("faults in steps, services and hooks", () => {
  it("each fault fails only its own run; the others finish, no slot leaks and the runtime stays usable", async () => {
    h = await harness();
    const gates = new Map<number, () => void>();
    const finished = new Map<number, RunResult>();
    const dispatched: DispatchResult[] = [];
    const runN = new Map<string, number>();
    const faultKinds: Kind[] = [
      "throw",
      "hang",
      "factory-throws",
      "factory-hangs",
      "prepare-throws",
      "complete-throws",
      "cleanup-throws",
      "pause-resume-throws",
    ];
    const kinds: Kind[] = [];
    for (let round = 0; round < 3; round++)
      for (const k of ["ok", ...faultKinds, "ok"] as Kind[]) kinds.push(k);
    kinds.push("ignore-abort"); // on the unguarded pipeline: no timeout, only abort ends it
    await h.runtime.register(faulty(gates), {
      mode: { type: "transient", concurrency: CONCURRENCY, capacity: 1000 },
      onDispatch: (d) => {
        dispatched.push(d);
        if (dispatched.length % 7 === 3) throw new Error("onDispatch exploded");
      },
      onPrepare: (ctx) => {
        if ((ctx.state() as { kind: Kind }).kind === "prepare-throws") throw new Error("onPrepare exploded");
      },
      onResume: () => {
        throw new Error("onResume exploded");
      },
      onComplete: (r) => {
        const n = runN.get(r.metadata.runId!);
        if (n !== undefined) finished.set(n, r);
        if (r.ok && r.value.state.kind === "complete-throws") throw new Error("onComplete exploded");
      },
      onCleanup: (info) => {
        if (kinds[runN.get(info.runId) ?? -1] === "cleanup-throws") throw new Error("onCleanup exploded");
      },
    });
    for (let n = 0; n < kinds.length; n++) {
      const event = kinds[n] === "ignore-abort" ? "raw" : "job";
      const before = dispatched.length;
      h.bus.emit(event, { n, kind: kinds[n] });
      const runId = dispatched[before]?.runId;
      expect(runId).toBeTypeOf("string");
      runN.set(runId!, n);
    }
    // the paused ones are resumed (onResume throws: reported, the run continues)
    const pausing = kinds.flatMap((k, n) => (k === "pause-resume-throws" ? [n] : []));
    const idOf = (n: number) => [...runN].find(([, v]) => v === n)![0];
    for (const n of pausing) {
      await until(() => h.runtime.watch("faulty", idOf(n))?.status === "paused", 5_000, `run ${n} to pause`);
      const resumed = await h.runtime.resume(idOf(n), { resumedBy: "test" });
      expect(resumed.ok && resumed.value.status).toBe("completed");
    }
    const stuck = kinds.indexOf("ignore-abort");
    await until(
      () => finished.size === kinds.length - 1,
      10_000,
      "every run but the abort-ignoring one to end",
    );
    await within(2_000, "abort of a step that ignores its signal", h.runtime.abort(idOf(stuck)));
    expect(finished.size).toBe(kinds.length);

    const expected: Record<Kind, string> = {
      ok: "completed",
      throw: "STEP_FAILED",
      hang: "TIMEOUT",
      "ignore-abort": "aborted",
      "factory-throws": "STEP_FAILED|FACTORY_FAILED",
      "factory-hangs": "STEP_FAILED|TIMEOUT|FACTORY_FAILED",
      "prepare-throws": "HOOK_FAILED",
      "complete-throws": "completed",
      "cleanup-throws": "completed",
      "dispatch-throws": "completed",
      "pause-resume-throws": "completed",
      gate: "completed",
    };
    for (let n = 0; n < kinds.length; n++) {
      const r = finished.get(n)!;
      const got = r.ok ? r.value.status : r.error.code;
      expect(got, `run ${n} (${kinds[n]})`).toMatch(new RegExp(`^(${expected[kinds[n]!]})$`));
      if (!r.ok) expectSystemError(r.error);
      if (r.ok && r.value.status === "completed")
        expect(r.value.state.finished ?? r.value.state.done).toBeDefined();
    }
    // hook faults were reported, never thrown
    const hookFailures = h.errors.filter((e) => e.code === "HOOK_FAILED").map((e) => e.message);
    for (const hook of ["onDispatch", "onResume", "onComplete", "onCleanup"])
      expect(
        hookFailures.some((m) => m.includes(hook)),
        hook,
      ).toBe(true);
    // registry agrees with the results
    for (const [runId, n] of runN) {
      const status = h.runtime.watch("faulty", runId)?.status;
      expect(status, `run ${n} (${kinds[n]})`).toMatch(/completed|failed|aborted/);
    }

    // no slot leaked: `concurrency` new runs start at once, none queues
    const before = dispatched.length;
    for (let k = 0; k < CONCURRENCY; k++) h.bus.emit("job", { n: 1000 + k, kind: "gate" });
    expect(dispatched.slice(before).map((d) => d.outcome)).toEqual(new Array(CONCURRENCY).fill("started"));
    h.bus.emit("job", { n: 2000, kind: "ok" });
    expect(dispatched.at(-1)?.outcome).toBe("queued");
    await until(() => gates.size === CONCURRENCY, 2_000, "the gated runs to start");
    for (const open of gates.values()) open();
    // and the runtime is still usable
    const direct = await h.runtime.invoke("faulty", "go", { n: 3000, kind: "ok" });
    expect(direct.ok && direct.value.state).toMatchObject({ done: 3000, finished: true });
    expect(h.storeRegistry.size).toBeLessThanOrEqual(CONCURRENCY + 1);
  });

  it("a global service whose factory throws or times out fails only the runs that use it", async () => {
    h = await harness({
      services: [
        {
          id: "flaky",
          factory: () => {
            throw new Error("global factory exploded");
          },
        },
        { id: "slow", timeoutMs: 30, factory: () => new Promise(() => {}) },
        { id: "fine", factory: () => ({ fine: true }) },
      ],
    });
    await h.runtime.register({
      id: "users",
      triggers: { go: { event: "use", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "use",
                  action: async (ctx) => {
                    const key = ctx.state().key as string;
                    const svc = (await ctx.use((d) => d.require(key))) as { fine: boolean };
                    return { fine: svc.fine };
                  },
                },
              ],
            },
          ],
        },
      },
    });
    const results = await Promise.all(
      ["fine", "flaky", "fine", "slow", "fine"].map((key) => h.runtime.invoke("users", "go", { key })),
    );
    expect(results.map((r) => (r.ok ? r.value.status : "failed"))).toEqual([
      "completed",
      "failed",
      "completed",
      "failed",
      "completed",
    ]);
    for (const r of results) if (!r.ok) expectSystemError(r.error);
    // a failed build is not cached as a poisoned singleton for good: the others keep working
    const again = await h.runtime.invoke("users", "go", { key: "fine" });
    expect(again.ok && again.value.state.fine).toBe(true);
  });
});

/** A pipeline of three stages and a log line: 11 timeline events per run when nothing is lost. */
const logged: Workflow = {
  id: "logged",
  triggers: { go: { event: "log.go", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "s1",
          steps: [
            {
              id: "log",
              action: (ctx) => {
                const n = ctx.state().n as number;
                // one run in ten logs data a stricter backend refuses (see rowLimited below)
                ctx.logger.info("hello", n % 10 === 3 ? { blob: "x".repeat(ROW_LIMIT) } : { n });
                return { logged: true };
              },
            },
          ],
        },
        { id: "s2", steps: [{ id: "two", action: () => ({ two: true }) }] },
      ],
    },
  },
};
const ROW_LIMIT = 1024;
/**
 * A real memory store behind a backend's row-size limit (as a database with a maximum row or item
 * size has): an event whose JSON passes `ROW_LIMIT` bytes makes the whole append fail with
 * `INVALID_INPUT`, naming it, and nothing of that append is stored. The runtime keeps every event
 * the memory store itself takes, so a stricter backend is where malformed-for-this-store events
 * come from.
 */
function rowLimited(store: TimelineStore): TimelineStore {
  return withAppendFault(store, (events) => {
    const index = events.findIndex((e) => JSON.stringify(e).length > ROW_LIMIT);
    if (index >= 0) {
      throw new SystemError(
        "INVALID_INPUT",
        `events[${index}] is larger than the ${ROW_LIMIT}-byte row limit`,
      );
    }
  });
}
const EVENTS_PER_RUN = 11; // run.started, 2×(stage.started, step.started, step.completed, stage.completed), log, run.completed

function expectContiguous(events: readonly TimelineEvent[]) {
  const seqs = events.map((e) => e.seq).sort((a, b) => a - b);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
}

describe("faults in the timeline store", () => {
  it("a store that refuses one run's malformed event keeps every other event: only that event is reported lost", async () => {
    const store = await createMemoryTimelineStore();
    h = await harness({ timelineStore: rowLimited(store) });
    const completed: RunResult[] = [];
    await h.runtime.register(logged, { onComplete: (r) => void completed.push(r) });
    for (let n = 0; n < 100; n++) h.bus.emit("log.go", { n });
    await until(() => completed.length === 100, 5_000, "all runs");
    await h.runtime.flushTimeline();
    expect(completed.filter((r) => !(r.ok && r.value.status === "completed"))).toEqual([]);
    for (const r of completed) {
      const n = (r.ok && r.value.state.n) as number;
      const events = await queryAll(store, { runId: r.metadata.runId! });
      if (n % 10 === 3) {
        expect(events.length).toBe(EVENTS_PER_RUN - 1);
        expect(events.some((e) => e.type === "log")).toBe(false);
      } else {
        expect(events.length).toBe(EVENTS_PER_RUN);
        expectContiguous(events);
      }
    }
    const lost = h.errors.filter((e) => e.code === "STORAGE_FAILED");
    expect(lost.length).toBe(10);
    for (const e of lost) expect(e.details).toMatchObject({ lost: 1 });
  });

  it("a store whose append always throws: every run completes, the loss is reported, flush and stop resolve", async () => {
    const store = withAppendFault(await createMemoryTimelineStore(), () => {
      throw new Error("disk on fire");
    });
    h = await harness({ timelineStore: store });
    const completed: RunResult[] = [];
    await h.runtime.register(logged, { onComplete: (r) => void completed.push(r) });
    for (let n = 0; n < 50; n++) h.bus.emit("log.go", { n: n * 10 }); // no run logs a large row
    await until(() => completed.length === 50, 5_000, "all runs");
    await within(2_000, "flushTimeline", h.runtime.flushTimeline());
    expect(completed.filter((r) => !(r.ok && r.value.status === "completed"))).toEqual([]);
    expect(store.calls).toBeGreaterThan(0);
    const lost = h.errors.filter((e) => e.code === "STORAGE_FAILED");
    expect(lost.length).toBeGreaterThan(0);
    expect(lost.reduce((sum, e) => sum + ((e.details as { lost: number }).lost ?? 0), 0)).toBe(
      50 * EVENTS_PER_RUN,
    );
    const after = await h.runtime.invoke("logged", "go", { n: 1 });
    expect(after.ok && after.value.status).toBe("completed");
    await within(2_000, "stop", h.runtime.stop());
  });

  it("a slow store does not slow runs: all complete while one append is stalled, then every event lands (bigger batches, nothing lost)", async () => {
    const release = deferred();
    let first = true;
    const real = await createMemoryTimelineStore();
    const store = withAppendFault(real, async () => {
      if (first) {
        first = false;
        await release.promise;
      }
    });
    h = await harness({ timelineStore: store, timeline: { maxBatch: 16, flushIntervalMs: 1 } });
    const completed: RunResult[] = [];
    await h.runtime.register(logged, { onComplete: (r) => void completed.push(r) });
    for (let n = 0; n < 200; n++) h.bus.emit("log.go", { n: n * 10 });
    await until(() => completed.length === 200, 5_000, "all runs while the store is stalled");
    expect(store.calls).toBe(1); // still stuck in the first append
    release.resolve();
    await within(5_000, "flushTimeline", h.runtime.flushTimeline());
    const all = await queryAll(real, { workflowId: "logged" });
    expect(all.length).toBe(200 * EVENTS_PER_RUN);
    // the backlog went out in batches larger than maxBatch, not one call per 16 events
    expect(store.calls).toBeLessThan((200 * EVENTS_PER_RUN) / 16);
    expect(h.errors).toEqual([]);
  });

  it("a store whose append hangs: runs complete, the buffer stays bounded (oldest dropped, reported), stop() gives up after closeTimeoutMs", async () => {
    const store = withAppendFault(await createMemoryTimelineStore(), () => new Promise(() => {}));
    h = await harness({ timelineStore: store, timeline: { maxBuffered: 300, closeTimeoutMs: 100 } });
    const completed: RunResult[] = [];
    await h.runtime.register(logged, { onComplete: (r) => void completed.push(r) });
    for (let n = 0; n < 100; n++) h.bus.emit("log.go", { n: n * 10 });
    await until(() => completed.length === 100, 5_000, "all runs");
    expect(completed.filter((r) => !(r.ok && r.value.status === "completed"))).toEqual([]);
    expect(h.errors.some((e) => e.code === "STORAGE_FAILED" && /dropped/.test(e.message))).toBe(true);
    const second = await h.runtime.invoke("logged", "go", { n: 5 });
    expect(second.ok && second.value.status).toBe("completed");
    const t0 = Date.now();
    await within(2_000, "stop with a hung store", h.runtime.stop());
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(h.errors.some((e) => e.code === "TIMEOUT")).toBe(true);
  });
});

describe("stop() with runs in flight, paused and queued", () => {
  it("resolves; every run ends in a final status; started runs get onComplete; queued runs are reported dropped", async () => {
    h = await harness();
    const gates = new Map<number, () => void>();
    const completed: RunResult[] = [];
    const dispatched: DispatchResult[] = [];
    await h.runtime.register(
      {
        id: "busy",
        triggers: { go: { event: "busy", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "s",
                steps: [
                  {
                    id: "act",
                    action: async (ctx) => {
                      const n = ctx.state().n as number;
                      if (n % 3 === 0) {
                        (await pauseOf(ctx)).register({ event: "never.comes" });
                        return;
                      }
                      if (n % 3 === 1) return new Promise(() => {}); // ignores abort
                      await new Promise<void>((resolve, reject) => {
                        gates.set(n, resolve);
                        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
                      });
                    },
                  },
                ],
              },
              { id: "t", steps: [{ id: "after", action: () => ({ after: true }) }] },
            ],
          },
        },
      },
      {
        mode: { type: "transient", concurrency: 6, capacity: 100 },
        onDispatch: (d) => void dispatched.push(d),
        onComplete: (r) => void completed.push(r),
      },
    );
    for (let n = 0; n < 30; n++) h.bus.emit("busy", { n });
    await until(
      () => h.runtime.listAllRuns().filter((r) => r.status === "paused").length >= 2,
      2_000,
      "some runs to park",
    );
    const registry = h.runtime.registry("busy")!;
    const snapshot = registry.list();
    expect(new Set(snapshot.map((r) => r.status))).toEqual(new Set(["running", "paused", "queued"]));
    const startedIds = new Set(snapshot.filter((r) => r.status !== "queued").map((r) => r.runId));
    const queuedIds = new Set(snapshot.filter((r) => r.status === "queued").map((r) => r.runId));

    await within(3_000, "stop()", h.runtime.stop());

    for (const info of snapshot) {
      expect(registry.get(info.runId)?.status ?? "pruned", info.runId).toMatch(
        /^(completed|failed|aborted)$/,
      );
    }
    // every run that started got exactly one onComplete
    const completedIds = completed.map((r) => r.metadata.runId!);
    expect(new Set(completedIds).size).toBe(completedIds.length);
    expect(new Set(completedIds)).toEqual(startedIds);
    // every queued run is accounted for: reported dropped through onDispatch (README: deregister
    // "drops queued runs (reported `dropped`)")
    const droppedIds = new Set(dispatched.filter((d) => d.outcome === "dropped").map((d) => d.runId));
    for (const id of queuedIds) expect(droppedIds.has(id), `queued run ${id} reported dropped`).toBe(true);
    expect(h.storeRegistry.size).toBe(0);
  });
});
