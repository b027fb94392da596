import type { SystemError } from "@sluice/errors";
import { afterEach, describe, expect, it } from "vitest";
import {
  ControlEvent,
  type DispatchResult,
  type ExecutionMode,
  type PauseService,
  type RegisterOptions,
  type RunResult,
  type Workflow,
} from "../src/index.js";
import { type Harness, harness, tick } from "./helpers.js";

// Execution modes and onDispatch under re-entrant host code: hooks and onDispatch that emit,
// register or deregister while a dispatch decision is being taken.

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

/** One stage whose step records that it ran. */
function job(id: string): Workflow {
  return {
    id,
    triggers: { go: { event: "job", pipeline: "p" } },
    pipelines: { p: { stages: [{ id: "s", steps: [{ id: "x", action: () => ({ ran: true }) }] }] } },
  };
}

/** Runs that park at their first stage boundary until "never" (so until aborted). */
const parking: Workflow = {
  id: "parking",
  triggers: { go: { event: "job", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "wait",
          steps: [
            {
              id: "wait",
              action: async (ctx) => {
                const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                pause.register({ event: "never" });
              },
            },
          ],
        },
        { id: "done", steps: [{ id: "done", action: () => ({ done: true }) }] },
      ],
    },
  },
};

describe("singleton_loop replace: onDispatch hears of the replacement before the replaced run ends", () => {
  it("the replaced run's onComplete (run at once for a paused run) emitting the next event: each run is reported before it is replaced", async () => {
    h = await harness();
    const log: string[] = [];
    const names = new Map<string, string>();
    const name = (runId: string | undefined) => {
      if (runId === undefined) return "-";
      if (!names.has(runId)) names.set(runId, `r${names.size + 1}`);
      return names.get(runId)!;
    };
    const results: Promise<RunResult>[] = [];
    let emitted = false;
    await h.runtime.register(parking, {
      mode: { type: "singleton_loop", onBusy: "replace" },
      onDispatch: (d) => {
        log.push(
          `${d.outcome} ${name(d.runId)}${d.replacedRunId ? ` (aborts ${name(d.replacedRunId)})` : ""}`,
        );
        // asked from onDispatch, where the run cannot have ended yet (result()'s TSDoc)
        results.push(h.runtime.result(d.runId!) as Promise<RunResult>);
      },
      onComplete: (r) => {
        log.push(`onComplete ${name(r.metadata.runId)}`);
        // the documented loop: the run emits its next event from onComplete
        if (!emitted) {
          emitted = true;
          h.bus.emit("job", { n: 3 });
        }
      },
    });
    h.bus.emit("job", { n: 1 });
    await expect.poll(() => h.runtime.listAllRuns().map((r) => r.status)).toEqual(["paused"]);
    h.bus.emit("job", { n: 2 });
    expect(log).toEqual([
      "started r1",
      "replaced r2 (aborts r1)",
      "onComplete r1",
      "replaced r3 (aborts r2)",
    ]);
    const ended = await Promise.all(results.slice(0, 2));
    expect(ended.map((r) => r.ok && r.value.status)).toEqual(["aborted", "aborted"]);
    await expect.poll(() => h.runtime.listAllRuns().filter((r) => r.status === "paused")).toHaveLength(1);
  });

  it("the replaced run's onComplete deregistering the workflow: the replacement is reported replaced, then dropped", async () => {
    h = await harness();
    const reports: DispatchResult[] = [];
    await h.runtime.register(parking, {
      mode: { type: "singleton_loop", onBusy: "replace" },
      onDispatch: (d) => void reports.push(d),
      onComplete: () => void h.runtime.deregister("parking"),
    });
    h.bus.emit("job", { n: 1 });
    await expect.poll(() => h.runtime.listAllRuns().map((r) => r.status)).toEqual(["paused"]);
    h.bus.emit("job", { n: 2 });
    const replacement = reports[1]!.runId;
    expect(reports.map((d) => [d.outcome, d.runId, d.reason])).toEqual([
      ["started", reports[0]!.runId, undefined],
      ["replaced", replacement, undefined],
      ["dropped", replacement, "the workflow was deregistered"],
    ]);
  });
  it("the replaced run is still held when onDispatch hears replaced: result(replacedRunId) asked there gives its end", async () => {
    h = await harness();
    const asked: Promise<RunResult>[] = [];
    // no hooks: a paused run without them ends at once when aborted
    await h.runtime.register(parking, {
      mode: { type: "singleton_loop", onBusy: "replace" },
      onDispatch: (d) => {
        if (d.outcome === "replaced") asked.push(h.runtime.result(d.replacedRunId!) as Promise<RunResult>);
      },
    });
    h.bus.emit("job", { n: 1 });
    await expect.poll(() => h.runtime.listAllRuns().map((r) => r.status)).toEqual(["paused"]);
    h.bus.emit("job", { n: 2 });
    const replaced = await asked[0]!;
    expect(replaced.ok && replaced.value.status).toBe("aborted");
  });
});

describe("a workflow registered while a bus event is being dispatched", () => {
  it("is not handed that event: it was emitted before the workflow existed", async () => {
    h = await harness();
    const reports: string[] = [];
    const record = (d: DispatchResult) =>
      void reports.push(`${d.workflowId} n${(d.payload as { n: number }).n}`);
    await h.runtime.register(job("a"), {
      onDispatch: (d) => {
        record(d);
        if (!h.runtime.hasWorkflow("late")) void h.runtime.register(job("late"), { onDispatch: record });
      },
    });
    await h.runtime.register(job("b"), { onDispatch: record });
    h.bus.emit("job", { n: 1 });
    expect(reports).toEqual(["a n1", "b n1"]);
    h.bus.emit("job", { n: 2 });
    expect(reports).toEqual(["a n1", "b n1", "a n2", "b n2", "late n2"]);
    await tick();
  });
});

describe("exclusive: a run is active until its onComplete has returned", () => {
  it.each([
    ["reject", ["started", "rejected"], [1]],
    ["queue_single", ["started", "queued", "queued"], [1, 2, 3]],
  ] as const)("onBusy %s: the next event emitted from onComplete is %o", async (onBusy, outcomes, ran) => {
    h = await harness();
    const reports: string[] = [];
    const completed: number[] = [];
    await h.runtime.register(job("loop"), {
      mode: { type: "exclusive", onBusy },
      onDispatch: (d) => void reports.push(d.outcome),
      onComplete: (r) => {
        const n = (r.ok && (r.value.state.n as number)) || 0;
        completed.push(n);
        if (n < 3) h.bus.emit("job", { n: n + 1 });
      },
    });
    h.bus.emit("job", { n: 1 });
    await expect.poll(() => completed).toEqual(ran);
    await tick(10);
    expect(reports).toEqual(outcomes);
  });
});

describe("serialized: one run executes at a time, across pauses", () => {
  it("a run resumed at once keeps its slot; a parked run gives it back and waits for it to go on", async () => {
    h = await harness();
    const log: string[] = [];
    const gates = new Map<number, () => void>();
    const approvals: Workflow = {
      id: "approvals",
      triggers: { go: { event: "job", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "ask",
              steps: [
                {
                  id: "ask",
                  action: async (ctx) => {
                    const n = ctx.state().n as number;
                    log.push(`run ${n} asks`);
                    if (n === 3) return; // run 3 asks nothing: it goes straight on
                    const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                    pause.register({ event: `approved.${n}` });
                    if (n === 1) h.bus.emit("approved.1", {}); // before the stage ends: buffered
                  },
                },
              ],
            },
            {
              id: "act",
              steps: [
                {
                  id: "act",
                  action: async (ctx) => {
                    const n = ctx.state().n as number;
                    log.push(`run ${n} acts`);
                    await new Promise<void>((resolve) => gates.set(n, resolve));
                    log.push(`run ${n} done`);
                  },
                },
              ],
            },
          ],
        },
      },
    };
    await h.runtime.register(approvals, {
      mode: { type: "serialized" },
      onPause: (ctx) => void log.push(`run ${ctx.state().n} parks`),
    });
    h.bus.emit("job", { n: 1 });
    h.bus.emit("job", { n: 2 });
    // run 1 never parked: it went on in its slot, and run 2 waits for it
    await expect.poll(() => log).toEqual(["run 1 asks", "run 1 acts"]);
    expect(h.runtime.listAllRuns().map((r) => r.status)).toEqual(["running", "queued"]);
    gates.get(1)!();
    await expect.poll(() => log.slice(3)).toEqual(["run 2 asks", "run 2 parks"]);
    // run 2 parked: its slot went back, and run 3 takes it
    h.bus.emit("job", { n: 3 });
    await expect.poll(() => log.slice(5)).toEqual(["run 3 asks", "run 3 acts"]);
    // run 2's approval comes while run 3 executes: run 2 waits for the slot before it acts
    h.bus.emit("approved.2", {});
    await tick(10);
    expect(log.slice(7)).toEqual([]);
    // (run 2 has left its pause and waits for the slot: its RunInfo says queued)
    expect(
      h.runtime
        .listAllRuns()
        .filter((r) => r.status !== "completed")
        .map((r) => r.status),
    ).toEqual(["queued", "running"]);
    gates.get(3)!();
    await expect.poll(() => log.slice(7)).toEqual(["run 3 done", "run 2 acts"]);
    gates.get(2)!();
    await expect.poll(() => log.at(-1)).toBe("run 2 done");
  });
});

// ───────────── every mode, under a seeded interleaving of what a host may do ─────────────

/** A small deterministic random source (a linear congruential generator). */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** What a bus-triggered run does, chosen per event (it is the event's payload). */
interface Script {
  id: string;
  step: "sync" | "gate" | "pause" | "fail" | "ignoresAbort";
  onPrepare: "none" | "throw";
  onComplete: "none" | "throw" | "emit" | "reregister";
  onDispatch: "none" | "abort" | "emit" | "signal" | "reregister";
}

const MODES: ExecutionMode[] = [
  { type: "transient", concurrency: 2, capacity: 3 },
  { type: "serialized", capacity: 2 },
  { type: "singleton_loop", onBusy: "drop" },
  { type: "singleton_loop", onBusy: "signal" },
  { type: "singleton_loop", onBusy: "replace" },
  { type: "exclusive", onBusy: "reject" },
  { type: "exclusive", onBusy: "queue_single" },
];

/**
 * Runs 200 seeded host actions on a workflow in `mode` (bus events whose payload scripts the run's
 * step, hooks and onDispatch; gates opened; parked runs resumed; aborts and signals, through calls
 * and control events; invoke(); deregister() and register() again), lets every run end, and
 * checks what every mode promises.
 */
async function interleave(mode: ExecutionMode, seed: number): Promise<void> {
  h = await harness();
  const random = seeded(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const gates = new Map<string, () => void>();
  const ids: string[] = [];
  const emitted: Script[] = [];
  const reports: DispatchResult[] = [];
  const scripts = new Map<string, Script>();
  const ended = new Map<string, RunResult>();
  const stepRuns = new Map<string, number>();
  const onCompletes = new Map<string, number>();
  const prepared: string[] = [];
  const paused = new Set<string>();
  const broken: string[] = [];

  const gate = (key: string, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      gates.set(key, () => {
        gates.delete(key);
        resolve();
      });
      signal?.addEventListener("abort", () => {
        gates.delete(key);
        reject(signal.reason);
      });
    });
  const emit = (script: Script) => {
    ids.push(script.id);
    if (h.runtime.hasWorkflow("w")) emitted.push(script);
    h.bus.emit("job", script);
  };
  /** More bus-triggered runs hold a slot than the mode allows (replace starts its run before the replaced one ends). */
  const overSlots = () => {
    if (mode.type === "singleton_loop" && mode.onBusy === "replace") return false;
    const runs = h.runtime.listAllRuns().filter((r) => r.triggerId === "go");
    if (mode.type === "transient" || mode.type === "serialized") {
      // a paused run gives its slot back, and does not take one when it resumes
      const inUse = runs.filter((r) => r.status === "running" && !paused.has(r.runId));
      return inUse.length > (mode.type === "transient" ? mode.concurrency : 1);
    }
    return runs.filter((r) => r.status === "running" || r.status === "paused").length > 1;
  };

  const workflow: Workflow = {
    id: "w",
    triggers: {
      go: { event: "job", pipeline: "p" },
      direct: { event: "never.emitted", pipeline: "p" }, // invoke()'s
    },
    pipelines: {
      p: {
        stages: [
          {
            id: "first",
            steps: [
              {
                id: "act",
                action: async (ctx) => {
                  stepRuns.set(ctx.runId, (stepRuns.get(ctx.runId) ?? 0) + 1);
                  const { step, id } = ctx.event as Script;
                  if (id.startsWith("e") && overSlots()) broken.push(`too many runs hold slots at ${id}`);
                  if (step === "gate") await gate(id, ctx.signal);
                  if (step === "ignoresAbort") await gate(id);
                  if (step === "fail") throw new Error("step failed");
                  if (step === "pause") {
                    const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                    pause.register({ event: "resume", conditions: [{ path: "id", op: "==", value: id }] });
                    paused.add(ctx.runId);
                  }
                },
              },
            ],
          },
          { id: "second", steps: [{ id: "end", action: () => ({ ended: true }) }] },
        ],
      },
    },
  };
  const reregister = () => {
    void h.runtime.deregister("w");
    h.runtime.register(workflow, options).catch(() => {}); // (registered again already)
  };
  const options: RegisterOptions = {
    mode,
    onDispatch: (d) => {
      reports.push(d);
      if (d.outcome !== "started" && d.outcome !== "queued" && d.outcome !== "replaced") return;
      const runId = d.runId!;
      const script = d.payload as Script;
      scripts.set(runId, script);
      void h.runtime.result(runId).then((r) => ended.set(runId, r));
      if (script.onDispatch === "abort") void h.runtime.abort(runId);
      if (script.onDispatch === "signal") h.runtime.signal(runId, { signalled: true });
      if (script.onDispatch === "emit") emit({ ...script, id: `${script.id}+`, onDispatch: "none" });
      if (script.onDispatch === "reregister") reregister();
    },
    onPrepare: (ctx) => {
      prepared.push(ctx.runId);
      if ((ctx.event as Script).onPrepare === "throw") throw new Error("onPrepare failed");
    },
    onComplete: (r) => {
      const runId = r.metadata.runId!;
      onCompletes.set(runId, (onCompletes.get(runId) ?? 0) + 1);
      const script = scripts.get(runId);
      if (script?.onComplete === "throw") throw new Error("onComplete failed");
      if (script?.onComplete === "emit") emit({ ...script, id: `${script.id}>`, onComplete: "none" });
      if (script?.onComplete === "reregister") reregister();
    },
  };
  await h.runtime.register(workflow, options);

  const invoked: Promise<RunResult>[] = [];
  for (let i = 0; i < 200; i++) {
    const roll = random();
    const runIds = [...scripts.keys()];
    if (roll < 0.3) {
      emit({
        id: `e${i}`,
        step: pick(["sync", "gate", "gate", "pause", "fail", "ignoresAbort"] as const),
        onPrepare: pick(["none", "none", "none", "throw"] as const),
        onComplete: pick(["none", "none", "throw", "emit", "reregister"] as const),
        onDispatch: pick(["none", "none", "none", "abort", "emit", "signal", "reregister"] as const),
      });
    } else if (roll < 0.5) {
      if (gates.size > 0) gates.get(pick([...gates.keys()]))!();
    } else if (roll < 0.58) {
      if (ids.length > 0) h.bus.emit("resume", { id: pick(ids) });
    } else if (roll < 0.63 && runIds.length > 0) h.bus.emit(ControlEvent.Abort, { runId: pick(runIds) });
    else if (roll < 0.67 && runIds.length > 0)
      h.bus.emit(ControlEvent.Signal, { runId: pick(runIds), patch: { signalled: true } });
    else if (roll < 0.7 && runIds.length > 0)
      h.runtime.abort(pick(runIds)).catch(() => {}); // (NOT_FOUND once its workflow is deregistered)
    else if (roll < 0.74) {
      ids.push(`i${i}`);
      invoked.push(h.runtime.invoke("w", "direct", { id: `i${i}`, step: pick(["sync", "gate", "pause"]) }));
    } else if (roll < 0.77) void h.runtime.deregister("w");
    else if (roll < 0.8 && !h.runtime.hasWorkflow("w")) await h.runtime.register(workflow, options);
    else await tick();
  }
  // wind down: open every gate and resume every parked run, until every run has ended
  for (let round = 0; round < 100 && (ended.size < scripts.size || gates.size > 0); round++) {
    for (const open of [...gates.values()]) open();
    for (const id of ids) h.bus.emit("resume", { id });
    await tick();
  }
  await Promise.all(invoked);
  expect(ended.size).toBe(scripts.size);

  // one first report per event emitted while the workflow was registered; a later one only drops
  // the run the first one handed out (superseded, or the workflow deregistered)
  for (const script of emitted) {
    const [first, ...later] = reports.filter((d) => d.payload === script);
    expect(first, `a report for ${script.id}`).toBeDefined();
    expect(first!.outcome === "dropped" && first!.runId !== undefined).toBe(false);
    for (const again of later) {
      expect(again).toMatchObject({ outcome: "dropped", runId: first!.runId });
      if (first!.outcome !== "queued") expect(again.reason).toBe("the workflow was deregistered");
    }
  }
  // every run handed out ends once: started (onComplete once, its step at most once, after
  // onPrepare; one replaced before it launched runs neither), or never started (no hook at all)
  for (const [runId, result] of ended) {
    const neverStarted = !result.ok && result.error.message.includes("never started");
    const prepares = prepared.filter((id) => id === runId).length;
    expect(onCompletes.get(runId) ?? 0, runId).toBe(neverStarted ? 0 : 1);
    expect(prepares).toBeLessThanOrEqual(neverStarted ? 0 : 1);
    expect(stepRuns.get(runId) ?? 0).toBeLessThanOrEqual(prepares);
  }
  expect(broken).toEqual([]);
  // queued runs start in the order they were queued
  if (mode.type === "transient" || mode.type === "serialized") {
    const queued = reports.filter((d) => d.outcome === "queued").map((d) => d.runId!);
    const startedQueued = prepared.filter((id) => queued.includes(id));
    expect(startedQueued).toEqual(queued.filter((id) => startedQueued.includes(id)));
  }
  // reported faults: the throwing onComplete, and control events for runs that have ended
  const expected = (e: SystemError) =>
    e.message.includes("onComplete failed") ||
    /^control event .*(no active run|has finished|has ended)/.test(e.message);
  expect(h.errors.filter((e) => !expected(e))).toEqual([]);
}

describe.each(MODES)(
  "%o, with bursts, gates, resumes, aborts, signals, faults and re-registration interleaved",
  (mode) => {
    it.each([1, 2, 3])(
      "seed %i: each event is reported once, each run ends once, the slots and FIFO order hold",
      (seed) => interleave(mode, seed),
    );
  },
);
