import type { PauseRegistration } from "@sluice/pause";
import { afterEach, describe, expect, it } from "vitest";
import type { PauseService, RegisterOptions, RunCheckpoint, RunResult, Workflow } from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

type S = Record<string, unknown>;
type Wait = (i: number, state: S) => PauseRegistration;

const approvedFor: Wait = (_i, state) => ({
  event: "approved",
  conditions: [{ path: "key", op: "==", value: String(state.key) }],
});

/** `pauses` stages, each recording { stage<i>: true } and registering `wait(i, state)`; then "done". */
function waiting(pauses: number, wait: Wait): Workflow<S> {
  const stages = [];
  for (let i = 0; i < pauses; i++) {
    stages.push({
      id: `wait${i}`,
      steps: [
        {
          id: `ask${i}`,
          action: async (ctx: any) => {
            const pause = (await ctx.use((d: any) => d.require("__pause_service__"))) as PauseService;
            pause.register(wait(i, ctx.state()));
            return { [`stage${i}`]: true };
          },
        },
      ],
    });
  }
  stages.push({ id: "done", steps: [{ id: "done", action: () => ({ done: true }) }] });
  return { id: "w", triggers: { go: { event: "go", pipeline: "p" } }, pipelines: { p: { stages } } };
}

let h: Harness;
const others: Harness[] = [];
afterEach(async () => {
  await h?.runtime.stop();
  for (const other of others.splice(0)) await other.runtime.stop();
});

interface Setup extends RegisterOptions<S> {
  pauses?: number;
  wait?: Wait;
}

/** A harness with workflow "w" registered; `runIds` (onDispatch) and `ended` (onComplete) in order. */
async function setup(options: Setup = {}) {
  h = await harness();
  const { pauses = 1, wait = approvedFor, ...register } = options;
  const runIds: string[] = [];
  const ended: RunResult[] = [];
  await h.runtime.register(waiting(pauses, wait), {
    ...register,
    onDispatch: (d) => void (d.runId !== undefined && runIds.push(d.runId)),
    onComplete: async (result) => {
      ended.push(result);
      await register.onComplete?.(result);
    },
  });
  return { runIds, ended };
}

async function kinds(target: Harness, runId: string): Promise<string[]> {
  await target.runtime.flushTimeline();
  const { events } = await target.timeline.query({ runId, limit: 1000 });
  return events.sort((a, b) => a.seq - b.seq).map((e) => e.type);
}

const statusOf = (r: RunResult | undefined) =>
  r === undefined ? undefined : r.ok ? r.value.status : r.error.code;

describe("onPause probes: resumes while the hook is pending", () => {
  it("a bus event resumes the run once the hook settles; a second matching event meanwhile is buffered, not lost", async () => {
    const gate = deferred();
    const log: string[] = [];
    const { ended } = await setup({
      pauses: 2,
      onPause: async (ctx) => {
        log.push(`onPause ${ctx.nextStage}`);
        if (ctx.nextStage === "wait1") await gate.promise;
        log.push(`onPause ${ctx.nextStage} end`);
      },
      onResume: (ctx) => void log.push(`onResume ${ctx.nextStage}`),
    });
    const first = await h.runtime.invoke("w", "go", { key: "k" });
    expect(statusOf(first)).toBe("paused");
    h.bus.emit("approved", { key: "k", by: "first" });
    // the run is resuming (it waits for its onPause): this one is kept for its next pause
    h.bus.emit("approved", { key: "k", by: "second" });
    await tick(10);
    expect(log).toEqual(["onPause wait1"]);
    gate.resolve();
    await expect.poll(() => ended.length).toBe(1);
    // the second pause took the buffered event at once: it never parked, so no second onPause
    expect(log).toEqual(["onPause wait1", "onPause wait1 end", "onResume wait1", "onResume done"]);
    expect(ended[0]!.ok && ended[0]!.value).toMatchObject({
      status: "completed",
      state: { key: "k", by: "second", stage0: true, stage1: true, done: true },
    });
  });

  it("a deadline passing while the hook is pending resumes with the timeout patch once it settles, and only once", async () => {
    const gate = deferred();
    const log: string[] = [];
    const { ended } = await setup({
      wait: () => ({ event: "approved", timeoutMs: 20, timeoutPatch: { late: true } }),
      onPause: async () => {
        log.push("onPause");
        await gate.promise;
        log.push("onPause end");
      },
      onResume: () => void log.push("onResume"),
    });
    const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
    await tick(60);
    expect(log).toEqual(["onPause"]);
    expect(h.runtime.watch("w", runId)?.status).toBe("running");
    // too late: the deadline has resumed it already
    h.bus.emit("approved", { by: "ann" });
    expect((await h.runtime.resume(runId, { by: "bob" })).ok).toBe(false);
    gate.resolve();
    await expect.poll(() => ended.length).toBe(1);
    expect(log).toEqual(["onPause", "onPause end", "onResume"]);
    const state = ended[0]!.ok ? ended[0]!.value.state : undefined;
    expect(state).toMatchObject({ late: true, done: true });
    expect(state).not.toHaveProperty("by");
    expect(h.errors).toEqual([]);
  });

  it("a sluice.run.resume control event waits for the hook too; a second one meanwhile is reported, not applied", async () => {
    const gate = deferred();
    const log: string[] = [];
    const { ended } = await setup({
      onPause: async () => {
        await gate.promise;
        log.push("onPause end");
      },
      onResume: (ctx) => void log.push(`onResume ${JSON.stringify(ctx.state().by)}`),
    });
    const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
    h.bus.emit("sluice.run.resume", { runId, patch: { by: "ann" } });
    h.bus.emit("sluice.run.resume", { runId, patch: { by: "bob" } });
    await tick(10);
    expect(log).toEqual([]);
    expect(h.errors.map((e) => e.code)).toEqual(["INVALID_STATE"]);
    gate.resolve();
    await expect.poll(() => ended.length).toBe(1);
    expect(log).toEqual(["onPause end", 'onResume "ann"']);
    expect(ended[0]!.ok && ended[0]!.value.state).toMatchObject({ by: "ann", done: true });
  });

  it("ctx.state() and checkpoint() see a signal the run gets while the hook is pending", async () => {
    const signalled = deferred();
    const seen: Array<[unknown, unknown]> = [];
    await setup({
      onPause: async (ctx) => {
        await signalled.promise;
        seen.push([ctx.state().note, h.runtime.checkpoint(ctx.runId)?.state.note]);
      },
    });
    const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
    h.runtime.signal(runId, { note: "hi" });
    signalled.resolve();
    await expect.poll(() => seen).toEqual([["hi", "hi"]]);
  });

  it("a run that pauses several times gets onPause each time, each before the onResume of that pause", async () => {
    const log: string[] = [];
    const waits: Array<readonly unknown[]> = [];
    let gate = deferred();
    const { ended } = await setup({
      pauses: 3,
      onPause: async (ctx) => {
        waits.push(ctx.waits);
        log.push(`pause>${ctx.nextStage}`);
        gate = deferred();
        await gate.promise;
        log.push(`pause>${ctx.nextStage} end`);
      },
      onResume: (ctx) => void log.push(`resume>${ctx.nextStage}`),
    });
    const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
    for (const next of ["wait1", "wait2", "done"]) {
      // resumed while its onPause is still pending
      await expect.poll(() => log.at(-1)).toBe(`pause>${next}`);
      void h.runtime.resume(runId, { [next]: true });
      await tick(5);
      expect(log.at(-1)).toBe(`pause>${next}`);
      gate.resolve();
      await expect.poll(() => log).toContain(`resume>${next}`);
    }
    await expect.poll(() => ended.length).toBe(1);
    expect(log).toEqual([
      "pause>wait1",
      "pause>wait1 end",
      "resume>wait1",
      "pause>wait2",
      "pause>wait2 end",
      "resume>wait2",
      "pause>done",
      "pause>done end",
      "resume>done",
    ]);
    expect(waits.map((w) => w.length)).toEqual([1, 1, 1]);
    expect(ended[0]!.ok && ended[0]!.value.state).toMatchObject({ wait1: true, wait2: true, done: true });
    const timeline = await kinds(h, runId);
    expect(timeline.filter((k) => k === "run.paused" || k === "run.resumed")).toEqual([
      "run.paused",
      "run.resumed",
      "run.paused",
      "run.resumed",
      "run.paused",
      "run.resumed",
    ]);
  });
});

describe("onPause probes: aborts and teardown while the hook is pending", () => {
  it("an abort of a run whose resume waits for the hook does not wait for it: a hook that awaits the abort does not hang", async () => {
    const log: string[] = [];
    const { ended } = await setup({
      hookTimeoutMs: 2_000,
      onPause: async (ctx) => {
        log.push("onPause");
        // the approval comes while the hook runs: the run's resume now waits for it
        h.bus.emit("approved", { key: "k" });
        await h.runtime.abort(ctx.runId);
        log.push("aborted");
      },
      onResume: () => void log.push("onResume"),
      onCleanup: () => void log.push("onCleanup"),
    });
    const started = Date.now();
    const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
    await expect.poll(() => log, { timeout: 1_500 }).toContain("aborted");
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(log).toEqual(["onPause", "onCleanup", "aborted"]);
    expect(ended.map(statusOf)).toEqual(["aborted"]);
    expect(h.errors).toEqual([]);
    // its next stage never began: the timeline goes from the pause to the abort
    expect((await kinds(h, runId)).slice(-2)).toEqual(["run.paused", "run.aborted"]);
  });

  it.each(["abort", "deregister", "stop"] as const)(
    "%s() of a run whose resume waits for a hook that never settles ends it without waiting for hookTimeoutMs",
    async (how) => {
      const log: string[] = [];
      const { ended } = await setup({
        // (a limit the test outlasts: without it the run would wait for the hook for ever)
        hookTimeoutMs: 2_000,
        onPause: () => {
          log.push("onPause");
          return new Promise<void>(() => {});
        },
        onResume: () => void log.push("onResume"),
        onCleanup: () => void log.push("onCleanup"),
      });
      const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
      const resumed = h.runtime.resume(runId, { by: "ann" });
      await tick(5);
      const started = Date.now();
      const ending =
        how === "abort"
          ? h.runtime.abort(runId)
          : how === "deregister"
            ? h.runtime.deregister("w")
            : h.runtime.stop();
      const outcome = await Promise.race([
        ending.then(() => "ended"),
        tick(1_000).then(() => "still waiting"),
      ]);
      expect(outcome).toBe("ended");
      expect(Date.now() - started).toBeLessThan(500);
      expect(statusOf(await resumed)).toBe("aborted");
      expect(log).toEqual(["onPause", "onCleanup"]);
      expect(ended.map(statusOf)).toEqual(["aborted"]);
    },
  );

  it.each(["abort", "deregister", "stop"] as const)(
    "%s() of a parked run whose hook is pending ends it at once: onComplete then onCleanup, run.aborted last",
    async (how) => {
      const log: string[] = [];
      const gate = deferred();
      await setup({
        onPause: async () => {
          log.push("onPause");
          await gate.promise;
          log.push("onPause end");
        },
        onComplete: (r) => void log.push(`onComplete ${statusOf(r)}`),
        onCleanup: (info) => void log.push(`onCleanup ${info.status}`),
      });
      const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
      if (how === "abort") await h.runtime.abort(runId);
      else if (how === "deregister") expect(await h.runtime.deregister("w")).toBe(true);
      else await h.runtime.stop();
      expect(log).toEqual(["onPause", "onComplete aborted", "onCleanup aborted"]);
      gate.resolve();
      await tick(5);
      expect(log.at(-1)).toBe("onPause end");
      if (how !== "stop") expect((await kinds(h, runId)).slice(-2)).toEqual(["run.paused", "run.aborted"]);
      expect(h.errors).toEqual([]);
    },
  );

  it("stop() with many parked runs whose onPause never settles resolves at once, each run aborted once", async () => {
    const { runIds, ended } = await setup({
      mode: { type: "transient", concurrency: 4 },
      hookTimeoutMs: 2_000,
      onPause: () => new Promise<void>(() => {}),
    });
    for (let i = 0; i < 40; i++) h.bus.emit("go", { key: `k${i}` });
    await expect.poll(() => h.runtime.listAllRuns().filter((r) => r.status === "paused").length).toBe(40);
    // a few are resuming, waiting for their hook
    for (let i = 0; i < 5; i++) h.bus.emit("approved", { key: `k${i}` });
    await tick(5);
    expect(h.runtime.listAllRuns().filter((r) => r.status === "running")).toHaveLength(5);
    const started = Date.now();
    await h.runtime.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(ended).toHaveLength(40);
    expect(new Set(ended.map((r) => r.metadata.runId))).toEqual(new Set(runIds));
    expect(ended.every((r) => statusOf(r) === "aborted")).toBe(true);
    expect(h.errors).toEqual([]);
  });
});

describe("onPause probes: the hook acting on its own run", () => {
  it("a hook that resumes its run without awaiting it: the caller hears paused, onResume comes after the hook", async () => {
    const log: string[] = [];
    const { ended } = await setup({
      onPause: async (ctx) => {
        log.push("onPause");
        void h.runtime.resume(ctx.runId, { by: "self" });
        await tick(5);
        log.push("onPause end");
      },
      onResume: (ctx) => void log.push(`onResume ${ctx.state().by}`),
    });
    const result = await h.runtime.invoke("w", "go", { key: "k" });
    expect(statusOf(result)).toBe("paused");
    await expect.poll(() => ended.length).toBe(1);
    expect(log).toEqual(["onPause", "onPause end", "onResume self"]);
    expect(statusOf(ended[0])).toBe("completed");
  });

  it("a hook that awaits its run's resume holds it until hookTimeoutMs (TIMEOUT), then the run goes on", async () => {
    const log: string[] = [];
    const { ended } = await setup({
      hookTimeoutMs: 50,
      onPause: async (ctx) => {
        const r = await h.runtime.resume(ctx.runId, {});
        log.push(`resume resolved ${statusOf(r)}`);
      },
    });
    const started = Date.now();
    await h.runtime.invoke("w", "go", { key: "k" });
    await expect.poll(() => log).toEqual(["resume resolved completed"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(h.errors.map((e) => e.code)).toEqual(["TIMEOUT"]);
    expect(ended.map(statusOf)).toEqual(["completed"]);
  });

  it("a hook that rejects later: the resume waits for the rejection, which is reported HOOK_FAILED, then goes on", async () => {
    const gate = deferred();
    const log: string[] = [];
    const { ended } = await setup({
      onPause: async () => {
        await gate.promise;
        throw new Error("the store is down");
      },
      onResume: () => void log.push("onResume"),
    });
    const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
    const resumed = h.runtime.resume(runId, {});
    await tick(10);
    expect(log).toEqual([]);
    gate.resolve();
    expect(statusOf(await resumed)).toBe("completed");
    expect(log).toEqual(["onResume"]);
    expect(h.errors.map((e) => [e.code, e.message])).toEqual([
      ["HOOK_FAILED", expect.stringContaining("the store is down")],
    ]);
    expect(ended).toHaveLength(1);
  });

  it("detach() from inside the hook hands the run over: no hook runs here, and the adopting runtime resumes it at once", async () => {
    const log: string[] = [];
    const handed: Promise<RunCheckpoint>[] = [];
    const { ended } = await setup({
      onPause: (ctx) => {
        log.push("onPause");
        handed.push(h.runtime.detach(ctx.runId));
      },
      onResume: () => void log.push("onResume here"),
      onCleanup: () => void log.push("onCleanup here"),
    });
    const result = await h.runtime.invoke("w", "go", { key: "k" });
    expect(statusOf(result)).toBe("paused");
    const checkpoint = await handed[0]!;
    expect(checkpoint).toMatchObject({ runId: result.metadata.runId, nextStageId: "done" });
    expect(h.runtime.listAllRuns()).toEqual([]);

    const b = await harness();
    others.push(b);
    const bLog: string[] = [];
    await b.runtime.register(waiting(1, approvedFor), {
      // never settles: the adopted run did not park here, so nothing waits for it
      onPause: () => new Promise<void>(() => {}),
      onResume: (ctx) => void bLog.push(`onResume restored=${ctx.restored}`),
    });
    b.runtime.adopt(checkpoint);
    const resumed = await Promise.race([b.runtime.resume(checkpoint.runId, { by: "b" }), tick(500)]);
    expect(statusOf(resumed as RunResult)).toBe("completed");
    expect(bLog).toEqual(["onResume restored=true"]);
    expect(log).toEqual(["onPause"]);
    expect(ended).toEqual([]);
    expect(h.errors).toEqual([]);
  });

  it("detach() while the hook is pending does not wait for it, and the hook's later settling touches nothing", async () => {
    const gate = deferred();
    const late: Array<[unknown, unknown]> = [];
    const { ended } = await setup({
      onPause: async (ctx) => {
        await gate.promise;
        late.push([h.runtime.checkpoint(ctx.runId), h.runtime.watch("w", ctx.runId)]);
      },
    });
    const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
    const checkpoint = await Promise.race([h.runtime.detach(runId), tick(500).then(() => undefined)]);
    expect(checkpoint).toMatchObject({ runId, state: { key: "k", stage0: true } });
    // adopted again here (as after a restart) while the first hook still runs: it waits afresh
    h.runtime.adopt(checkpoint!);
    gate.resolve();
    await expect.poll(() => late.length).toBe(1);
    expect(late[0]![0]).toMatchObject({ runId });
    const resumed = await Promise.race([h.runtime.resume(runId, {}), tick(500)]);
    expect(statusOf(resumed as RunResult)).toBe("completed");
    expect(ended.map(statusOf)).toEqual(["completed"]);
  });
});

describe("onPause probes: ctx.state() once the run has ended or left", () => {
  it.each([
    ["aborted while parked", 20, "abort"],
    ["aborted while parked, released from memory", 0, "abort"],
    ["detached", 20, "detach"],
    ["detached, released from memory", 0, "detach"],
  ] as const)("%s: the state it ended or left with, not {}", async (_name, pauseWindowMs, how) => {
    const gate = deferred();
    const seen: unknown[] = [];
    const { ended } = await setup({
      pauseWindowMs,
      onPause: async (ctx) => {
        await gate.promise;
        seen.push(ctx.state());
      },
    });
    const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
    h.runtime.signal(runId, { note: "signalled" });
    await tick(5);
    const expected = { key: "k", stage0: true, note: "signalled" };
    if (how === "abort") {
      await h.runtime.abort(runId);
      expect(ended[0]!.ok && ended[0]!.value.state).toEqual(expected);
    } else {
      expect((await h.runtime.detach(runId)).state).toEqual(expected);
    }
    gate.resolve();
    await expect.poll(() => seen).toEqual([expected]);
  });

  it("a hook that reads it after the run went on and completed: the state it completed with", async () => {
    const later = deferred<unknown>();
    await setup({
      // not awaited: the hook settles at once, so the run need not wait for the read
      onPause: (ctx) => {
        setTimeout(() => later.resolve(ctx.state()), 20);
      },
    });
    const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
    expect(statusOf(await h.runtime.resume(runId, { by: "ann" }))).toBe("completed");
    expect(await later.promise).toEqual({ key: "k", stage0: true, by: "ann", done: true });
  });
});

describe("onPause probes: the pause window", () => {
  it("a pause window ending while the hook is pending: the hook still reads the state and the checkpoint; the resume rebuilds", async () => {
    const gate = deferred();
    const seen: Array<[unknown, unknown]> = [];
    const restored: boolean[] = [];
    await setup({
      pauseWindowMs: 10,
      onPause: async (ctx) => {
        await gate.promise;
        seen.push([ctx.state(), h.runtime.checkpoint(ctx.runId)?.state]);
      },
      onResume: (ctx) => void restored.push(ctx.restored),
    });
    const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
    await tick(40);
    h.runtime.signal(runId, { note: "after release" });
    gate.resolve();
    const expected = { key: "k", stage0: true, note: "after release" };
    await expect.poll(() => seen).toEqual([[expected, expected]]);
    const result = await h.runtime.resume(runId, {});
    expect(statusOf(result)).toBe("completed");
    expect(restored).toEqual([true]);
  });

  it("pauseWindowMs 0 with a resume while the hook is pending: onResume (restored) and the next stage wait for the hook", async () => {
    const gate = deferred();
    const log: string[] = [];
    await setup({
      pauseWindowMs: 0,
      onPause: async (ctx) => {
        await gate.promise;
        log.push(`onPause end ${JSON.stringify(ctx.state().by)}`);
      },
      onResume: (ctx) => void log.push(`onResume restored=${ctx.restored}`),
    });
    const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
    const resumed = h.runtime.resume(runId, { by: "ann" });
    await tick(10);
    gate.resolve();
    expect(statusOf(await resumed)).toBe("completed");
    // the hook read the state after the resume began: it has the resume's patch
    expect(log).toEqual(['onPause end "ann"', "onResume restored=true"]);
  });
});

describe("onPause probes: execution modes", () => {
  it("singleton_loop replace while the paused run's hook is pending: the old run ends at once, the new one waits for its own hook", async () => {
    const gates = new Map<string, ReturnType<typeof deferred<void>>>();
    const log: string[] = [];
    const { runIds, ended } = await setup({
      mode: { type: "singleton_loop", onBusy: "replace" },
      onPause: async (ctx) => {
        const key = ctx.state().key;
        const gate = deferred();
        gates.set(ctx.runId, gate);
        await gate.promise;
        log.push(`onPause end ${key}`);
      },
      onResume: (ctx) => void log.push(`onResume ${ctx.state().key}`),
    });
    h.bus.emit("go", { key: "a" });
    await expect.poll(() => gates.size).toBe(1);
    h.bus.emit("go", { key: "b" });
    await expect.poll(() => ended.map(statusOf)).toEqual(["aborted"]);
    await expect.poll(() => gates.size).toBe(2);
    const [a, b] = runIds as [string, string];
    expect(ended[0]!.metadata.runId).toBe(a);
    const resumed = h.runtime.resume(b, {});
    gates.get(a)!.resolve();
    await tick(10);
    expect(log).toEqual(["onPause end a"]);
    gates.get(b)!.resolve();
    expect(statusOf(await resumed)).toBe("completed");
    expect(log).toEqual(["onPause end a", "onPause end b", "onResume b"]);
  });

  it("singleton_loop signal while the paused run's hook is pending: the hook sees the signalled state", async () => {
    const gate = deferred();
    const seen: unknown[] = [];
    await setup({
      mode: { type: "singleton_loop", onBusy: "signal" },
      onPause: async (ctx) => {
        await gate.promise;
        seen.push(ctx.state().extra);
      },
    });
    h.bus.emit("go", { key: "a" });
    await expect.poll(() => h.runtime.listAllRuns().map((r) => r.status)).toEqual(["paused"]);
    h.bus.emit("go", { key: "a", extra: 1 });
    gate.resolve();
    await expect.poll(() => seen).toEqual([1]);
  });

  it("exclusive queue_single: the pending run starts once the paused one (resumed after its hook) ends, and parks with its own onPause", async () => {
    const gate = deferred();
    const paused: string[] = [];
    const { runIds, ended } = await setup({
      mode: { type: "exclusive", onBusy: "queue_single" },
      onPause: async (ctx) => {
        paused.push(ctx.runId);
        if (paused.length === 1) await gate.promise;
      },
    });
    h.bus.emit("go", { key: "a" });
    await expect.poll(() => paused.length).toBe(1);
    h.bus.emit("go", { key: "b" });
    h.bus.emit("approved", { key: "a" });
    await tick(10);
    expect(ended).toEqual([]);
    gate.resolve();
    await expect.poll(() => paused).toEqual(runIds);
    expect(ended.map(statusOf)).toEqual(["completed"]);
  });
});

describe("onPause probes: what the hook is given", () => {
  it("ctx.waits cannot change the run's waits: a hook sorting them in place does not reorder which wait resumes the run", async () => {
    const sorted: string[] = [];
    const ended: RunResult[] = [];
    const wf: Workflow<S> = {
      id: "w",
      triggers: { go: { event: "go", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "ask",
              steps: [
                {
                  id: "ask",
                  action: async (ctx) => {
                    const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                    pause.register({
                      id: "slow",
                      event: "approved",
                      timeoutMs: 60_000,
                      patch: () => ({ via: "slow" }),
                    });
                    pause.register({
                      id: "fast",
                      event: "approved",
                      timeoutMs: 30_000,
                      patch: () => ({ via: "fast" }),
                    });
                  },
                },
              ],
            },
            { id: "done", steps: [{ id: "done", action: () => ({ done: true }) }] },
          ],
        },
      },
    };
    h = await harness();
    await h.runtime.register(wf, {
      // a JS host listing the waits, earliest deadline first
      onPause: (ctx) => {
        try {
          (ctx.waits as Array<{ id: string; deadline?: number }>).sort((a, b) => a.deadline! - b.deadline!);
        } finally {
          sorted.push(ctx.waits.map((w) => w.id).join(","));
        }
      },
      onComplete: (result) => void ended.push(result),
    });
    const runId = (await h.runtime.invoke("w", "go", {})).metadata.runId!;
    expect(sorted).toHaveLength(1);
    expect(h.runtime.checkpoint(runId)!.pause.map((w) => w.id)).toEqual(["slow", "fast"]);
    h.bus.emit("approved", {});
    await expect.poll(() => ended.length).toBe(1);
    // of several waits an event meets, the first registered resumes the run, with its patch
    expect(ended[0]!.ok && ended[0]!.value.state).toEqual({ via: "slow", done: true });
    // the hook's attempt to sort the run's own waits threw: reported, and the run went on
    expect(sorted).toEqual(["slow,fast"]);
    expect(h.errors.map((e) => e.code)).toEqual(["HOOK_FAILED"]);
  });

  it("ctx.waits is frozen all the way down: a hook editing a wait's timeoutPatch cannot change what the run times out with", async () => {
    const tried: string[] = [];
    const { ended } = await setup({
      wait: () => ({
        id: "approval",
        event: "approved",
        timeoutMs: 30,
        timeoutPatch: { approved: false, review: { by: "nobody", notes: ["timed out"] } },
      }),
      onPause: (ctx) => {
        const patch = ctx.waits[0]!.timeoutPatch as {
          approved: boolean;
          review: { by: string; notes: string[] };
        };
        const attempts: Array<[string, () => void]> = [
          ["top", () => void (patch.approved = true)],
          ["nested", () => void (patch.review.by = "ann")],
          ["array", () => void patch.review.notes.push("approved")],
        ];
        for (const [what, attempt] of attempts) {
          try {
            attempt();
            tried.push(`${what}: changed`);
          } catch {
            tried.push(`${what}: refused`);
          }
        }
      },
    });
    const runId = (await h.runtime.invoke("w", "go", { key: "k" })).metadata.runId!;
    expect(tried).toEqual(["top: refused", "nested: refused", "array: refused"]);
    expect(h.runtime.checkpoint(runId)!.pause[0]!.timeoutPatch).toEqual({
      approved: false,
      review: { by: "nobody", notes: ["timed out"] },
    });
    await expect.poll(() => ended.length).toBe(1);
    const state = (ended[0]!.ok ? ended[0]!.value.state : undefined) as Record<string, any>;
    expect(state).toMatchObject({
      approved: false,
      review: { by: "nobody", notes: ["timed out"] },
      done: true,
    });
    // the state resumes with a copy of its own, not the (frozen) wait's objects
    expect(Object.isFrozen(state.review)).toBe(false);
    expect(Object.isFrozen(state.review.notes)).toBe(false);
    expect(h.errors).toEqual([]);
  });
});
