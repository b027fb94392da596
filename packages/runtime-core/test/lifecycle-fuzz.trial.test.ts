/**
 * A model-based test of the run lifecycle: fast-check generates sequences of what a host does to
 * two runtimes (three workflows each, in random modes, with pausing, failing, retrying stages and
 * sync, async, slow, throwing or re-entrant hooks): bus events (triggers, resuming events, control
 * events), invoke, resume, signal, abort, result, watch, checkpoint, detach + adopt/recover into
 * the other runtime, deregister + register, drain, stop, and a fake clock moved past pause
 * windows, deadlines and hook limits (or stepped like a wall clock). Once the sequence is over and
 * both runtimes stopped, it checks what a user relies on: every started run ends once (one
 * terminal timeline event; one onPrepare, onComplete, onCleanup, in that order), its timeline is
 * seq 1..n from run.started, every promise settled with the run's real result, onDispatch told
 * the truth, the registries agree with the hooks, modes held their slots, no run saw another's
 * state, nothing was unhandled, and no timer or bus listener was left. Failures shrink to the
 * smallest sequence; each bug it found has a plain regression test beside the feature's others.
 *
 * More of it: `FUZZ_SEED=7 FUZZ_RUNS=3000 npx vitest run test/lifecycle-fuzz.trial.test.ts`.
 */
import { SystemError } from "@sluice/errors";
import { createDeferredEventBus, createEventBus, type EventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import type { TimelineEvent, TimelineStore } from "@sluice/timeline";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ControlEvent,
  type DispatchResult,
  type ExecutionMode,
  type PauseService,
  type RegisterOptions,
  type RunCheckpoint,
  type RunInfo,
  type Workflow,
  WorkflowRuntime,
} from "../src/index.js";

// ───────────────────────── the model's vocabulary ─────────────────────────

/** What a run does, carried in its trigger payload so that every run of a sequence differs. */
interface Plan {
  /** The first stage's step: succeeds, fails once (the retry succeeds), always fails, or times out. */
  fail: "none" | "once" | "always" | "timeout";
  /** Fake ms the first step takes. */
  delay: 0 | 5 | 200;
  /** The wait of the second stage: none, a bus event, a bus event or a deadline, `resume()` only. */
  pause: "none" | "event" | "timeout" | "manual";
  /** A second pause (an event or a 300 ms deadline) after the third stage. */
  again: boolean;
  /** `onPrepare` returns the run's owner, throws after setting it, takes most of `hookTimeoutMs`, or outlives it. */
  prep: "ok" | "throw" | "medium" | "slow";
  /** The last step emits the next workflow's trigger event (a run starting runs). */
  chain: boolean;
  /** The waiting step emits the event its wait waits for itself (buffered, drained as it pauses). */
  selfGo: boolean;
  /**
   * How an event wait makes the resuming event a patch: the payload itself, a function, one of the
   * workflow's named `patches`, or a function that throws for every other event (which is then ignored).
   */
  mapper: "none" | "fn" | "named" | "picky";
  /** The first step calls the runtime about its own run or workflow, awaiting the call. */
  selfCall: "none" | "abort" | "control" | "signal" | "invoke" | "deregister";
}

/** How a hook behaves; `reenter` calls back into the runtime about its own run, as documented to be safe. */
type HookStyle = "sync" | "async" | "medium" | "throw" | "reject" | "slow" | "reenter";

interface WorkflowConfig {
  /** A run-scoped service the first step uses, whose cleanup is quick or outlives `hookTimeoutMs`. */
  runService: "none" | "quick" | "slow";
  /** The first stage runs its step beside a second one, concurrently. */
  concurrent: boolean;
  /** Finished runs the registry keeps (retention). */
  maxFinished: number;
  /** `onDispatch` throws after it has noted the report. */
  dispatchThrows: boolean;
  mode: ExecutionMode;
  pauseWindowMs: number;
  onComplete: HookStyle;
  onCleanup: HookStyle;
  onPause: HookStyle | "none";
  onResume: HookStyle | "none";
}

type Op =
  | { t: "emit"; rt: number; wf: number; key: number; plan: Plan }
  | { t: "go"; rt: number; key: number }
  | { t: "control"; rt: number; kind: "abort" | "signal" | "resume"; run: number }
  | { t: "invoke"; rt: number; wf: number; key: number; plan: Plan }
  | { t: "resume"; rt: number; run: number; patch: boolean }
  | { t: "signal"; rt: number; run: number }
  | { t: "abort"; rt: number; run: number }
  | { t: "result"; rt: number; run: number }
  | { t: "watch"; rt: number; run: number }
  | { t: "checkpoint"; rt: number; run: number }
  | { t: "move"; rt: number; run: number; recover: boolean }
  | { t: "reregister"; rt: number; wf: number }
  | { t: "drain"; rt: number }
  | { t: "stop"; rt: number }
  | { t: "advance"; ms: number }
  | { t: "jump"; ms: number }
  | { t: "settle" };

interface Scenario {
  deferredBus: boolean;
  /** Both runtimes on one bus (two workers), else one bus each. */
  sharedBus: boolean;
  /** The timeline store: answers at once, takes 40 ms per append, or rejects every third append. */
  store: "quick" | "slow" | "failing";
  workflows: WorkflowConfig[];
  ops: Op[];
  drain: [boolean, boolean];
  /** Ends with the documented hand-over: runtime 0 drains, its parked runs move to runtime 1, it stops. */
  handover: boolean;
}

const HOOK_TIMEOUT_MS = 1000;
const WORKFLOW_IDS = ["alpha", "beta", "gamma"];
const modes: ExecutionMode[] = [
  { type: "transient", concurrency: 1, capacity: 1 },
  { type: "transient", concurrency: 2, capacity: 2 },
  { type: "serialized", capacity: 1 },
  { type: "singleton_loop", onBusy: "drop" },
  { type: "singleton_loop", onBusy: "signal" },
  { type: "singleton_loop", onBusy: "replace" },
  { type: "exclusive", onBusy: "reject" },
  { type: "exclusive", onBusy: "queue_single" },
];

const planArb: fc.Arbitrary<Plan> = fc.record({
  fail: fc.constantFrom("none", "none", "none", "none", "once", "always", "timeout"),
  delay: fc.constantFrom(0, 5, 200),
  pause: fc.constantFrom("none", "event", "event", "event", "timeout", "manual"),
  again: fc.boolean(),
  prep: fc.constantFrom("ok", "ok", "ok", "ok", "ok", "ok", "throw", "medium", "slow"),
  chain: fc.constantFrom(false, false, false, true),
  selfGo: fc.constantFrom(false, false, false, true),
  mapper: fc.constantFrom<Plan["mapper"]>("none", "none", "fn", "named", "picky"),
  selfCall: fc.constantFrom<Plan["selfCall"]>(
    ...Array<Plan["selfCall"]>(12).fill("none"),
    "abort",
    "control",
    "signal",
    "invoke",
    "deregister",
  ),
});
const hookArb = fc.constantFrom<HookStyle>(
  "sync",
  "sync",
  "sync",
  "async",
  "medium",
  "throw",
  "reject",
  "slow",
  "reenter",
);
const workflowArb: fc.Arbitrary<WorkflowConfig> = fc.record({
  runService: fc.constantFrom("none", "none", "quick", "slow"),
  concurrent: fc.boolean(),
  maxFinished: fc.constantFrom(1, 1000, 1000),
  dispatchThrows: fc.constantFrom(false, false, false, true),
  mode: fc.constantFrom(...modes),
  pauseWindowMs: fc.constantFrom(0, 100, 30_000),
  onComplete: hookArb,
  onCleanup: hookArb,
  onPause: fc.constantFrom<HookStyle | "none">("none", "none", "sync", "async", "medium", "throw", "slow"),
  onResume: fc.constantFrom<HookStyle | "none">("none", "none", "sync", "async", "medium", "throw", "slow"),
});
const rt = fc.constantFrom(0, 0, 0, 1);
const wf = fc.constantFrom(0, 1, 2);
const key = fc.constantFrom(0, 1);
const run = fc.nat(40);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant("emit" as const), rt, wf, key, plan: planArb }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("go" as const), rt, key }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("control" as const),
      rt,
      kind: fc.constantFrom("abort" as const, "signal" as const, "resume" as const),
      run,
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("invoke" as const), rt, wf, key, plan: planArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("resume" as const), rt, run, patch: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("signal" as const), rt, run }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("abort" as const), rt, run }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("result" as const), rt, run }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("watch" as const), rt, run }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("checkpoint" as const), rt, run }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("move" as const), rt, run, recover: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("reregister" as const), rt, wf }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("drain" as const), rt: fc.constantFrom(0, 1, 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("stop" as const), rt: fc.constant(1) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("advance" as const),
      ms: fc.constantFrom(1, 10, 60, 150, 1200, 6000),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ t: "settle" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("jump" as const), ms: fc.constantFrom(3_600_000, -3_600_000) }),
  },
);
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  deferredBus: fc.boolean(),
  sharedBus: fc.boolean(),
  store: fc.constantFrom<Scenario["store"]>("quick", "quick", "slow", "failing"),
  workflows: fc.tuple(workflowArb, workflowArb, workflowArb),
  ops: fc.array(opArb, { minLength: 1, maxLength: 40, size: "max" }),
  drain: fc.tuple(fc.boolean(), fc.boolean()),
  handover: fc.boolean(),
});

// ───────────────────────── the world a sequence runs in ─────────────────────────

interface LogEntry {
  rt: number;
  kind: string;
  runId: string;
  detail?: unknown;
}

interface Tracked {
  label: string;
  settled: boolean;
  value?: unknown;
  error?: unknown;
}

/** A timeline store that keeps every event appended, duplicates included (the memory store keeps the first of an id). */
async function recordingStore(world: World): Promise<TimelineStore> {
  const inner = await createMemoryTimelineStore();
  let appends = 0;
  return {
    append: async (events) => {
      for (const e of events) world.appended.push(structuredClone(e));
      if (world.scenario.store === "slow") await world.sleep(40);
      if (world.scenario.store === "failing" && ++appends % 3 === 0) throw new Error("store unavailable");
      return inner.append(events);
    },
    query: (filter) => inner.query(filter),
    delete: (filter) => inner.delete(filter),
    close: () => inner.close(),
  } as TimelineStore;
}

class World {
  readonly buses: EventBus<any>[] = [];
  readonly runtimes: WorkflowRuntime[] = [];
  readonly appended: TimelineEvent[] = [];
  readonly log: LogEntry[] = [];
  readonly violations: string[] = [];
  readonly errors: { rt: number; error: SystemError }[] = [];
  readonly busErrors: unknown[] = [];
  readonly tracked: Tracked[] = [];
  /** Every run id handed out, in the order first seen. */
  readonly runIds: string[] = [];
  readonly known = new Set<string>();
  /** Runs detached whose adoption failed: in no runtime any more. */
  readonly lost = new Set<string>();
  /** Runtimes each run was detached from. */
  readonly movedFrom = new Map<string, Set<number>>();
  readonly workflowOf = new Map<string, string>();
  /** The last patch `signal()` accepted for each run: its end state must have it (or a later one). */
  readonly signalled = new Map<string, number>();
  /** Calls of "picky" patch mappers: every other one throws. */
  pickyCalls = 0;
  /** The wall clock was stepped back: events of a run may be stamped out of seq order (documented). */
  clockSetBack = false;
  /** Hook calls under way (started, not settled). */
  hooksInFlight = 0;
  /** The test's own fake timers (slow hooks, step delays) not fired or cleared yet. */
  ownTimers = 0;
  private tags = 0;
  private patches = 0;

  constructor(readonly scenario: Scenario) {}

  async start(): Promise<void> {
    const timelineStore = await recordingStore(this);
    const { deferredBus, sharedBus } = this.scenario;
    for (let i = 0; i < 2; i++) {
      const onError = (error: unknown) => this.busErrors.push(error);
      const bus =
        sharedBus && i === 1
          ? this.buses[0]!
          : deferredBus
            ? createDeferredEventBus<any>({ onError })
            : createEventBus<any>({ onError });
      this.buses.push(bus);
      const index = i;
      this.runtimes.push(
        new WorkflowRuntime({
          bus,
          storeRegistry: new StoreRegistry(),
          timelineStore,
          env: {},
          hookTimeoutMs: HOOK_TIMEOUT_MS,
          maxBufferedEventsPerRun: 2,
          onError: (error) => this.errors.push({ rt: index, error }),
          ...(sharedBus ? { controlEvents: { onUnknownRun: "ignore" as const } } : {}),
        }),
      );
    }
    for (let r = 0; r < 2; r++) for (let w = 0; w < 3; w++) await this.register(r, w);
  }

  seen(runId: string | undefined): void {
    if (runId === undefined || this.known.has(runId)) return;
    this.known.add(runId);
    this.runIds.push(runId);
  }

  pick(index: number): string {
    if (this.runIds.length === 0 || index >= 38) return "no-such-run";
    return this.runIds[index % this.runIds.length]!;
  }

  track(label: string, promise: Promise<unknown>): void {
    const entry: Tracked = { label, settled: false };
    this.tracked.push(entry);
    promise.then(
      (value) => {
        entry.settled = true;
        entry.value = value;
      },
      (error) => {
        entry.settled = true;
        entry.error = error;
      },
    );
  }

  /** A fake-clock sleep the test counts as its own, ended early by `signal`. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      this.ownTimers++;
      let pending = true;
      const end = () => {
        if (!pending) return;
        pending = false;
        clearTimeout(timer);
        this.ownTimers--;
        resolve();
      };
      const timer = setTimeout(end, ms);
      signal?.addEventListener("abort", end, { once: true });
    });
  }

  /** Runs a hook body in a style, logging its call; `value` is what a plain hook returns. */
  hook(style: HookStyle, rt: number, kind: string, runId: string, detail?: unknown): unknown {
    this.seen(runId);
    this.log.push({ rt, kind, runId, detail });
    if (style === "sync") return undefined;
    if (style === "reenter") return this.reenter(rt, kind, runId);
    if (style === "throw") throw new Error(`${kind} hook fails`);
    this.hooksInFlight++;
    const done = () => {
      this.hooksInFlight--;
    };
    const ms = style === "slow" ? HOOK_TIMEOUT_MS * 3 : style === "medium" ? HOOK_TIMEOUT_MS * 0.6 : 5;
    const slept = this.sleep(ms).then(done, done);
    return style === "reject" ? slept.then(() => Promise.reject(new Error(`${kind} hook rejects`))) : slept;
  }

  /**
   * From a hook, what the docs say is safe about the hook's own run: in onComplete and onCleanup,
   * abort() and result() resolve at once (its result is decided); in onPause, checkpoint() gives
   * the run's checkpoint; in onResume, result() would wait for the run itself, so it is not awaited.
   */
  reenter(rt: number, kind: string, runId: string): unknown {
    const runtime = this.runtimes[rt]!;
    if (kind === "pause") {
      const checkpoint = runtime.checkpoint(runId);
      if (checkpoint?.runId !== runId)
        this.violations.push(`onPause of ${runId}: checkpoint() gave ${checkpoint?.runId}`);
      return undefined;
    }
    if (kind === "resume") {
      this.track(`result@${rt} ${runId}`, runtime.result(runId));
      return undefined;
    }
    this.hooksInFlight++;
    const done = () => {
      this.hooksInFlight--;
    };
    const own = Promise.all([runtime.abort(runId), runtime.result(runId)]).then(([, result]) => {
      if (result.ok === false && result.error.code === "NOT_FOUND") {
        this.violations.push(`${kind} of ${runId}: result() of its own run is NOT_FOUND`);
      }
    });
    this.track(`reenter@${rt} ${kind} ${runId}`, own);
    return own.then(done, done);
  }

  checkOwner(where: string, runId: string, state: Readonly<Record<string, unknown>>): void {
    if (state.owner !== undefined && state.owner !== runId) {
      this.violations.push(`${where} of ${runId} sees the state of ${String(state.owner)}`);
    }
  }

  workflow(w: number, rt: number): Workflow {
    const id = WORKFLOW_IDS[w]!;
    const step = (stage: string) => (ctx: any) => {
      this.seen(ctx.runId);
      this.log.push({ rt, kind: `step:${stage}`, runId: ctx.runId });
      this.checkOwner(`step ${stage}`, ctx.runId, ctx.state());
    };
    const waitFor = async (ctx: any, kind: Plan["pause"], selfGo = false) => {
      if (kind === "none") return;
      const pause = await ctx.use((d: any) => d.require("__pause_service__") as PauseService);
      const onKey = [{ path: "key", op: "==" as const, value: ctx.state().key as number }];
      const mapper = (ctx.state().plan as Plan).mapper;
      const patch =
        mapper === "fn"
          ? { patch: (p: any) => ({ go: p.go, mapped: "fn" }) }
          : mapper === "named"
            ? { patch: "fromGo" }
            : mapper === "picky"
              ? {
                  patch: (p: any) => {
                    if (++this.pickyCalls % 2 === 0) throw new Error("not this one");
                    return { go: p.go, mapped: "picky" };
                  },
                }
              : {};
      if (kind === "manual") pause.register({});
      else if (kind === "event") pause.register({ event: "go", conditions: onKey, ...patch });
      else pause.register({ event: "go", conditions: onKey, timeoutMs: 300, ...patch });
      if (selfGo) this.buses[rt]!.emit("go", { key: ctx.state().key, go: `self ${ctx.runId}` });
    };
    const config = this.scenario.workflows[w]!;
    const side = {
      id: "side",
      action: async (ctx: any) => {
        step("side")(ctx);
        await this.sleep(3, ctx.signal);
        return { side: true };
      },
    };
    return {
      id,
      patches: { fromGo: (p: any) => ({ go: p.go, mapped: "named" }) },
      ...(config.runService === "none"
        ? {}
        : {
            services: [
              {
                id: "session",
                scope: "run" as const,
                factory: (ctx: any) => {
                  const owner = ctx.state().owner;
                  if (config.runService === "slow") ctx.onCleanup(() => this.sleep(HOOK_TIMEOUT_MS * 3));
                  return { owner };
                },
              },
            ],
          }),
      triggers: { start: { event: `${id}.start`, pipeline: "main" } },
      pipelines: {
        main: {
          stages: [
            {
              id: "work",
              concurrent: config.concurrent,
              steps: [
                ...(config.concurrent ? [side] : []),
                {
                  id: "work",
                  retry: { attempts: 2, backoffMs: 10 },
                  timeoutMs: 1000,
                  action: async (ctx: any) => {
                    if (ctx.attempt === 1) this.checkSlot(ctx.runId);
                    step("work")(ctx);
                    if (config.runService !== "none") {
                      const session = await ctx.use((d: any) => d.require("session"));
                      if (session.owner !== ctx.runId) {
                        this.violations.push(`${ctx.runId}'s run service was built for ${session.owner}`);
                      }
                    }
                    const plan = ctx.state().plan as Plan;
                    if (plan.selfCall !== "none" && ctx.attempt === 1)
                      await this.selfCall(rt, w, ctx.runId, plan, ctx.signal);
                    if (plan.delay > 0) await this.sleep(plan.delay, ctx.signal);
                    if (plan.fail === "timeout") await this.sleep(5000, ctx.signal);
                    if (plan.fail === "always" || (plan.fail === "once" && ctx.attempt === 1)) {
                      throw new Error("work fails");
                    }
                    return { worked: ctx.attempt };
                  },
                },
              ],
            },
            {
              id: "ask",
              steps: [
                {
                  id: "ask",
                  action: async (ctx: any) => {
                    step("ask")(ctx);
                    const plan = ctx.state().plan as Plan;
                    await waitFor(ctx, plan.pause, plan.selfGo);
                  },
                },
              ],
            },
            {
              id: "again",
              steps: [
                {
                  id: "again",
                  action: async (ctx: any) => {
                    step("again")(ctx);
                    if ((ctx.state().plan as Plan).again) await waitFor(ctx, "timeout");
                  },
                },
              ],
            },
            {
              id: "done",
              steps: [
                {
                  id: "done",
                  action: (ctx: any) => {
                    step("done")(ctx);
                    const plan = ctx.state().plan as Plan;
                    if (plan.chain && w < 2) {
                      const next = { ...plan, chain: false };
                      this.buses[rt]!.emit(
                        `${WORKFLOW_IDS[w + 1]}.start`,
                        this.payload({ key: ctx.state().key, plan: next }),
                      );
                    }
                    return { done: true };
                  },
                },
              ],
            },
          ],
        },
      },
    };
  }

  options(w: number, rt: number, gen: number): RegisterOptions {
    const config = this.scenario.workflows[w]!;
    const options: RegisterOptions = {
      retention: { maxFinished: config.maxFinished },
      mode: config.mode,
      pauseWindowMs: config.pauseWindowMs,
      hookTimeoutMs: HOOK_TIMEOUT_MS,
      onDispatch: (result: DispatchResult) => {
        this.seen(result.runId);
        if (result.runId !== undefined && ["started", "queued", "replaced"].includes(result.outcome)) {
          this.dispatchedBy.set(result.runId, { rt, w, gen });
        }
        if (result.replacedRunId !== undefined) this.replaced.add(result.replacedRunId);
        this.log.push({ rt, kind: "dispatch", runId: result.runId ?? "", detail: { ...result } });
        if (config.dispatchThrows) throw new Error("onDispatch fails");
      },
      onPrepare: async (ctx) => {
        this.seen(ctx.runId);
        this.log.push({ rt, kind: "prepare", runId: ctx.runId });
        if (this.heldAtDrain[rt] !== undefined && !this.heldAtDrain[rt]!.has(ctx.runId)) {
          this.violations.push(`runtime ${rt} started ${ctx.runId} after drain()`);
        }
        this.workflowOf.set(ctx.runId, ctx.workflowId);
        this.checkOwner("onPrepare", ctx.runId, ctx.state());
        const prep = (ctx.state().plan as Plan | undefined)?.prep;
        if (prep === "throw") {
          ctx.set({ owner: ctx.runId });
          throw new Error("onPrepare fails");
        }
        if (prep === "slow") await this.hook("slow", rt, "prepare-slow", ctx.runId);
        if (prep === "medium") await this.hook("medium", rt, "prepare-medium", ctx.runId);
        return { owner: ctx.runId };
      },
      onComplete: (result) => {
        const runId = result.metadata.runId!;
        if (result.ok) this.checkOwner("onComplete", runId, result.value.state);
        return this.hook(config.onComplete, rt, "complete", runId, result);
      },
      onCleanup: (info) => this.hook(config.onCleanup, rt, "cleanup", info.runId, { ...info }),
    };
    if (config.onPause !== "none") {
      const style = config.onPause;
      options.onPause = (ctx) => {
        this.checkOwner("onPause", ctx.runId, ctx.state());
        return this.hook(style, rt, "pause", ctx.runId);
      };
    }
    if (config.onResume !== "none") {
      const style = config.onResume;
      options.onResume = (ctx) => {
        this.checkOwner("onResume", ctx.runId, ctx.state());
        return this.hook(style, rt, "resume", ctx.runId, { restored: ctx.restored });
      };
    }
    return options;
  }

  register(rt: number, w: number): Promise<void> {
    const gen = ++this.generation;
    return this.runtimes[rt]!.register(this.workflow(w, rt), this.options(w, rt, gen));
  }

  /** Registrations made so far: each gets its own execution policy. */
  private generation = 0;
  /** The registration whose mode a bus event handed each run to. */
  readonly dispatchedBy = new Map<string, { rt: number; w: number; gen: number }>();
  /** Runs a `replaced` report named as aborted: they may end after their replacement started. */
  readonly replaced = new Set<string>();

  /**
   * A bus-dispatched run starts its first step: its mode must have had a slot for it. Counted from
   * the log, only where a slot is surely held: `singleton_loop` / `exclusive` from the start to
   * onComplete, `transient` / `serialized` while in the first stage (a pausing run gives its slot back).
   */
  checkSlot(runId: string): void {
    const mine = this.dispatchedBy.get(runId);
    if (mine === undefined) return;
    const mode = this.scenario.workflows[mine.w]!.mode;
    const ended = (id: string) =>
      this.decided(id) || this.replaced.has(id) || this.movedFrom.get(id)?.has(mine.rt) === true;
    const holders: string[] = [];
    for (const [id, by] of this.dispatchedBy) {
      if (id === runId || by.rt !== mine.rt || by.gen !== mine.gen || ended(id)) continue;
      const kinds = this.log.filter((e) => e.runId === id).map((e) => e.kind);
      if (!kinds.includes("prepare")) continue;
      if (mode.type === "singleton_loop" || mode.type === "exclusive") holders.push(id);
      else if (kinds.includes("step:work") && !kinds.includes("step:ask")) holders.push(id);
    }
    const slots = mode.type === "transient" ? mode.concurrency : 1;
    if (holders.length >= slots) {
      this.violations.push(
        `${runId} started under ${JSON.stringify(mode)} while ${holders.join(", ")} held the slots`,
      );
    }
  }

  payload(op: { key: number; plan: Plan }): Record<string, unknown> {
    return { tag: ++this.tags, key: op.key, plan: op.plan };
  }

  /** Issues one operation without waiting for what it starts (those promises are tracked). */
  async apply(op: Op): Promise<void> {
    switch (op.t) {
      case "emit":
        this.buses[op.rt]!.emit(`${WORKFLOW_IDS[op.wf]}.start`, this.payload(op));
        return;
      case "go":
        this.buses[op.rt]!.emit("go", { key: op.key, go: ++this.patches });
        return;
      case "control": {
        const runId = this.pick(op.run);
        const name = { abort: ControlEvent.Abort, signal: ControlEvent.Signal, resume: ControlEvent.Resume }[
          op.kind
        ];
        this.buses[op.rt]!.emit(
          name,
          op.kind === "abort" ? { runId } : { runId, patch: { ctl: ++this.patches } },
        );
        return;
      }
      case "invoke": {
        const promise = this.runtimes[op.rt]!.invoke(WORKFLOW_IDS[op.wf]!, "start", this.payload(op));
        this.track(`invoke@${op.rt}`, promise);
        promise.then((r) => this.seen(r.metadata.runId));
        return;
      }
      case "resume": {
        const runId = this.pick(op.run);
        const patch = op.patch ? { resumed: ++this.patches } : undefined;
        const paused = this.statusIn(op.rt, runId) === "paused" && !this.decided(runId);
        const resumed = this.runtimes[op.rt]!.resume(runId, patch);
        this.track(`resume@${op.rt} ${runId}`, resumed);
        resumed.then((r) => {
          if (paused && !r.ok && (r.error.code === "NOT_FOUND" || r.error.code === "INVALID_STATE")) {
            this.violations.push(`resume(${runId}) of a paused run: ${r.error.code} ${r.error.message}`);
          }
        });
        return;
      }
      case "signal":
        try {
          const runId = this.pick(op.run);
          const sig = ++this.patches;
          this.runtimes[op.rt]!.signal(runId, { sig });
          this.signalled.set(runId, sig);
        } catch (error) {
          this.expectCoded("signal", error, ["NOT_FOUND", "INVALID_STATE"]);
        }
        return;
      case "abort": {
        const runId = this.pick(op.run);
        let promise: Promise<void>;
        try {
          promise = this.runtimes[op.rt]!.abort(runId);
        } catch (error) {
          this.violations.push(`abort(${runId}) threw synchronously: ${String(error)}`);
          return;
        }
        const undecided = this.isActive(op.rt, runId) && !this.decided(runId);
        const started = this.log.some((e) => e.kind === "prepare" && e.runId === runId);
        this.track(
          `abort@${op.rt} ${runId}`,
          promise.then(() => {
            if (undecided && started && !this.log.some((e) => e.kind === "cleanup" && e.runId === runId)) {
              this.violations.push(`abort(${runId}) resolved before its onCleanup ran`);
            }
          }),
        );
        return;
      }
      case "result": {
        const runId = this.pick(op.run);
        const active = this.isActive(op.rt, runId) && !this.decided(runId);
        const result = this.runtimes[op.rt]!.result(runId);
        this.track(`result@${op.rt} ${runId}`, result);
        result.then((r) => {
          if (active && !r.ok && r.error.code === "NOT_FOUND" && r.error.details?.detached !== true) {
            this.violations.push(`result(${runId}) asked while it was active: NOT_FOUND ${r.error.message}`);
          }
        });
        return;
      }
      case "watch": {
        const runId = this.pick(op.run);
        for (const id of WORKFLOW_IDS) {
          const info = this.runtimes[op.rt]!.watch(id, runId);
          if (info !== undefined && (info.runId !== runId || info.workflowId !== id)) {
            this.violations.push(`watch(${id}, ${runId}) gave ${JSON.stringify(info)}`);
          }
        }
        return;
      }
      case "checkpoint": {
        const runId = this.pick(op.run);
        let checkpoint: RunCheckpoint | undefined;
        try {
          checkpoint = this.runtimes[op.rt]!.checkpoint(runId);
        } catch (error) {
          this.violations.push(`checkpoint(${runId}) threw: ${String(error)}`);
          return;
        }
        if (checkpoint !== undefined && checkpoint.runId !== runId) {
          this.violations.push(`checkpoint(${runId}) is of ${checkpoint.runId}`);
        }
        if (checkpoint !== undefined)
          this.checkOwner("checkpoint", runId, checkpoint.state as Record<string, unknown>);
        return;
      }
      case "move": {
        const runId = this.pick(op.run);
        const from = this.runtimes[op.rt]!;
        const to = this.runtimes[1 - op.rt]!;
        // (marked at once: a deregister() while the detach is under way does not wait for the run)
        let leaving = this.movedFrom.get(runId);
        if (leaving === undefined) this.movedFrom.set(runId, (leaving = new Set()));
        leaving.add(op.rt);
        const moved = from.detach(runId).then(
          async (checkpoint) => {
            const text = JSON.stringify(checkpoint);
            try {
              if (op.recover) await to.recover(JSON.parse(text));
              else to.adopt(JSON.parse(text));
            } catch (error) {
              // a slot held in the other runtime, or its workflow deregistered meanwhile: the run is gone
              this.lost.add(runId);
              this.expectCoded(`adopt(${runId})`, error, ["INVALID_STATE", "NOT_FOUND"]);
            }
          },
          (error) => this.expectCoded(`detach(${runId})`, error, ["INVALID_STATE", "NOT_FOUND"]),
        );
        this.track(`move@${op.rt} ${runId}`, moved);
        return;
      }
      case "reregister": {
        const runtime = this.runtimes[op.rt]!;
        const id = WORKFLOW_IDS[op.wf]!;
        const before = this.startedIn(op.rt);
        const again = runtime.deregister(id).then(async (removed) => {
          if (!removed) return;
          this.expectDecided(`deregister@${op.rt}(${id})`, op.rt, id, before);
          try {
            await this.register(op.rt, op.wf);
          } catch (error) {
            this.expectCoded(`register(${id})`, error, ["DUPLICATE_KEY", "INVALID_STATE"]);
          }
        });
        this.track(`reregister@${op.rt} ${id}`, again);
        return;
      }
      case "stop": {
        const rt = op.rt;
        this.noteDrain(rt);
        this.track(
          `stop@${rt}`,
          this.runtimes[rt]!.stop().then(() => this.expectDecided(`stop@${rt}`, rt)),
        );
        return;
      }
      case "drain":
        this.track(`drain@${op.rt}`, this.drainAndCheck(op.rt, { timeoutMs: 2000 }));
        return;
      case "advance":
        await this.advance(op.ms);
        return;
      case "jump":
        // the wall clock is stepped (NTP, a machine resumed); timers are not
        if (op.ms < 0) this.clockSetBack = true;
        vi.setSystemTime(Date.now() + op.ms);
        return;
      case "settle":
        await this.settle();
        checkRunsAgreeWithHooks(this);
        return;
    }
  }

  /** What a step may do about its own run or workflow (see Plan.selfCall). */
  async selfCall(rt: number, w: number, runId: string, plan: Plan, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return; // its run was aborted while the step waited: nothing more is the run's
    const runtime = this.runtimes[rt]!;
    const id = WORKFLOW_IDS[w]!;
    const label = `self ${plan.selfCall}@${rt} ${runId}`;
    switch (plan.selfCall) {
      case "abort": {
        const aborted = runtime.abort(runId);
        this.track(label, aborted);
        await aborted.catch(() => undefined);
        return;
      }
      case "control":
        this.buses[rt]!.emit(ControlEvent.Abort, { runId });
        return;
      case "signal":
        try {
          runtime.signal(runId, { selfSignal: true });
        } catch (error) {
          if (!signal.aborted)
            this.violations.push(`signal() of its own running run ${runId} threw ${String(error)}`);
        }
        return;
      case "invoke": {
        const next = WORKFLOW_IDS[(w + 1) % 3]!;
        const invoked = runtime.invoke(
          next,
          "start",
          this.payload({ key: 0, plan: { ...plan, selfCall: "none" } }),
        );
        this.track(`invoke@${rt}`, invoked);
        invoked.then((r) => this.seen(r.metadata.runId));
        await invoked;
        return;
      }
      case "deregister": {
        const cycle = runtime.deregister(id).then(async (removed) => {
          if (!removed) return;
          try {
            await this.register(rt, w);
          } catch (error) {
            this.expectCoded(`register(${id})`, error, ["DUPLICATE_KEY", "INVALID_STATE"]);
          }
        });
        this.track(label, cycle);
        await cycle;
        return;
      }
    }
  }

  /** Every run started in runtime `rt` (of workflow `id`, if given) still there has had its onComplete. */
  expectDecided(what: string, rt: number, id?: string, among?: Set<string>): void {
    for (const entry of this.log) {
      if (entry.kind !== "prepare" || entry.rt !== rt) continue;
      if (among !== undefined && !among.has(entry.runId)) continue;
      if (id !== undefined && this.workflowOf.get(entry.runId) !== id) continue;
      if (this.movedFrom.get(entry.runId)?.has(rt)) continue;
      if (!this.log.some((e) => e.kind === "complete" && e.runId === entry.runId)) {
        this.violations.push(`${what} resolved while ${entry.runId} has no decided result`);
      }
    }
  }

  /** Per runtime, once drained: the runs it held then; it may start no other. */
  readonly heldAtDrain: (Set<string> | undefined)[] = [undefined, undefined];

  noteDrain(rt: number): void {
    this.heldAtDrain[rt] ??= new Set(this.runtimes[rt]!.listAllRuns().map((r) => r.runId));
  }

  /** The runs started in runtime `rt` so far. */
  startedIn(rt: number): Set<string> {
    return new Set(this.log.filter((e) => e.kind === "prepare" && e.rt === rt).map((e) => e.runId));
  }

  /** Its result is decided: its onComplete has been called. */
  decided(runId: string): boolean {
    return this.log.some((e) => e.kind === "complete" && e.runId === runId);
  }

  statusIn(rt: number, runId: string): RunInfo["status"] | undefined {
    return this.runtimes[rt]!.listAllRuns().find((r) => r.runId === runId)?.status;
  }

  isActive(rt: number, runId: string): boolean {
    const status = this.statusIn(rt, runId);
    return status === "queued" || status === "running" || status === "paused";
  }

  /** drain(); once it says drained, no run of that runtime may be queued or running. */
  async drainAndCheck(rt: number, options: { timeoutMs: number }): Promise<unknown> {
    this.noteDrain(rt);
    const report = await this.runtimes[rt]!.drain(options);
    if (report.drained) {
      const busy = this.runtimes[rt]!.listAllRuns().filter(
        (r) => r.status === "queued" || r.status === "running",
      );
      const paused = this.runtimes[rt]!.listAllRuns()
        .filter((r) => r.status === "paused")
        .map((r) => r.runId);
      // (a run may be resumed by an event in the same tick; only report runs the report missed)
      for (const r of busy)
        if (!report.paused.includes(r.runId))
          this.violations.push(`drain@${rt} drained, but ${r.runId} is ${r.status}`);
      for (const id of report.paused)
        if (
          !paused.includes(id) &&
          this.runtimes[rt]!.listAllRuns().some(
            (r) => r.runId === id && r.status !== "paused" && r.status !== "running",
          )
        ) {
          this.violations.push(`drain@${rt} lists ${id} paused, it is not`);
        }
    }
    return report;
  }

  expectCoded(what: string, error: unknown, codes: string[]): void {
    if (!(error instanceof SystemError) || !codes.includes(error.code)) {
      this.violations.push(
        `${what} failed with ${error instanceof SystemError ? error.code : ""} ${String(error)}`,
      );
    }
  }

  /** Moves the fake clock, firing timers and letting promises run between them. */
  async advance(ms: number): Promise<void> {
    try {
      await vi.advanceTimersByTimeAsync(ms);
    } catch (error) {
      this.violations.push(`a timer threw: ${String(error)}`);
    }
  }

  /** Lets every promise chain and zero-delay timer run until nothing is left to do now. */
  async settle(): Promise<void> {
    for (let i = 0; i < 30; i++) {
      await this.advance(0);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}

// ───────────────────────── invariants ─────────────────────────

const TERMINAL = new Set(["run.completed", "run.failed", "run.aborted"]);

/** Checks, at a quiet moment before stop(), that the registries agree with the hooks. */
function checkRunsAgreeWithHooks(world: World): void {
  if (world.hooksInFlight > 0) return;
  const active = new Map<string, number>();
  for (let r = 0; r < 2; r++) {
    for (const info of world.runtimes[r]!.listAllRuns()) {
      world.seen(info.runId);
      const watched = world.runtimes[r]!.watch(info.workflowId, info.runId);
      if (JSON.stringify(watched) !== JSON.stringify(info)) {
        world.violations.push(
          `watch() and listAllRuns() disagree on ${info.runId}: ${JSON.stringify([watched, info])}`,
        );
      }
      if (info.status === "completed" && info.stage !== "done") {
        world.violations.push(`${info.runId} completed, listed at stage ${info.stage}`);
      }
      const completes = world.log.filter((e) => e.kind === "complete" && e.runId === info.runId);
      const ended = info.status === "completed" || info.status === "failed" || info.status === "aborted";
      if (!ended) {
        if (active.has(info.runId)) world.violations.push(`${info.runId} is active in both runtimes`);
        active.set(info.runId, r);
        if (completes.length > 0) {
          world.violations.push(`${info.runId} is listed ${info.status} after its onComplete`);
        }
        continue;
      }
      const started = world.log.some((e) => e.kind === "prepare" && e.runId === info.runId);
      if (!started) continue; // never started: no hooks
      const last = completes.at(-1);
      if (last === undefined) {
        world.violations.push(`${info.runId} is listed ${info.status} but onComplete never ran`);
        continue;
      }
      if (last.rt !== r) continue; // an older record of a run that moved on
      const result = last.detail as { ok: boolean; value?: { status: string } };
      const expected = result.ok ? result.value!.status : "failed";
      if (expected !== info.status) {
        world.violations.push(`${info.runId} is listed ${info.status}, onComplete got ${expected}`);
      }
    }
  }
}

function checkAfterStop(world: World): void {
  const v = world.violations;
  for (const t of world.tracked) if (!t.settled) v.push(`${t.label} never settled`);
  // only abort() (of a run never known) and drain() (after stop()) may reject
  const mayReject: Record<string, string> = { abort: "NOT_FOUND", drain: "INVALID_STATE" };
  for (const t of world.tracked) {
    if (t.error === undefined) continue;
    const code = mayReject[t.label.split("@")[0]!];
    if (!(t.error instanceof SystemError) || t.error.code !== code)
      v.push(`${t.label} rejected: ${String(t.error)}`);
  }
  for (const e of world.busErrors) v.push(`a bus handler threw: ${String(e)}`);

  const byRun = new Map<string, TimelineEvent[]>();
  for (const e of world.appended) {
    world.seen(e.runId);
    let list = byRun.get(e.runId);
    if (list === undefined) byRun.set(e.runId, (list = []));
    list.push(e);
  }

  for (const runId of world.runIds) {
    if (runId === "no-such-run" || world.lost.has(runId)) continue;
    const events = (byRun.get(runId) ?? []).slice().sort((a, b) => a.seq - b.seq);
    const hooks = world.log.filter((e) => e.runId === runId && e.kind !== "dispatch");
    const kinds = hooks.map((h) => h.kind);
    const seqs = events.map((e) => e.seq);
    const neverStarted =
      events.length === 1 && events[0]!.type === "run.aborted" && (events[0]!.data as any)?.neverStarted;
    if (neverStarted) {
      if (seqs[0] !== 1) v.push(`${runId}: never-started run.aborted has seq ${seqs[0]}`);
      if (hooks.length > 0) v.push(`${runId}: never started but hooks ran: ${kinds.join(",")}`);
      continue;
    }
    if (events.length === 0) {
      v.push(`${runId}: no timeline events (hooks: ${kinds.join(",")})`);
      continue;
    }
    for (let i = 0; i < seqs.length; i++) {
      if (seqs[i] !== i + 1) {
        v.push(`${runId}: timeline seqs ${seqs.join(",")} are not 1..n`);
        break;
      }
    }
    if (events[0]!.type !== "run.started") v.push(`${runId}: timeline starts with ${events[0]!.type}`);
    // run.* events follow started (paused resumed)* [paused] end; the clock never goes back
    const lifecycle = events
      .filter((e) => e.type.startsWith("run."))
      .map((e) => ({ "run.started": "S", "run.paused": "P", "run.resumed": "R" })[e.type as string] ?? "E")
      .join("");
    if (!/^S(PR)*P?E$/.test(lifecycle))
      v.push(`${runId}: run events ${lifecycle} (S started, P paused, R resumed, E end)`);
    for (let i = 1; i < events.length && !world.clockSetBack; i++) {
      if (events[i]!.at < events[i - 1]!.at) {
        v.push(`${runId}: seq ${events[i]!.seq} is stamped before seq ${events[i - 1]!.seq}`);
        break;
      }
    }
    // each run.resumed had its onResume (an abort during the last one ends the run before its run.resumed)
    const resumeCalls = hooks.filter((h) => h.kind === "resume").length;
    const resumedEvents = events.filter((e) => e.type === "run.resumed").length;
    const onResume =
      world.scenario.workflows[WORKFLOW_IDS.indexOf(world.workflowOf.get(runId) ?? "")]?.onResume;
    if (onResume !== "none" && (resumeCalls < resumedEvents || resumeCalls > resumedEvents + 1)) {
      v.push(`${runId}: ${resumedEvents} run.resumed, ${resumeCalls} onResume calls`);
    }
    const pauses = hooks.filter((h) => h.kind === "pause").length;
    const pausedEvents = events.filter((e) => e.type === "run.paused").length;
    if (pauses > pausedEvents) v.push(`${runId}: ${pausedEvents} run.paused, ${pauses} onPause calls`);
    const terminals = events.filter((e) => TERMINAL.has(e.type));
    if (terminals.length !== 1)
      v.push(`${runId}: ${terminals.length} terminal events (${terminals.map((e) => e.type)})`);
    else if (events.at(-1) !== terminals[0])
      v.push(`${runId}: ${events.at(-1)!.type} after ${terminals[0]!.type}`);
    const completes = kinds.filter((k) => k === "complete").length;
    const cleanups = kinds.filter((k) => k === "cleanup").length;
    const prepares = kinds.filter((k) => k === "prepare").length;
    if (completes !== 1 || cleanups !== 1 || prepares !== 1) {
      v.push(`${runId}: hooks ${kinds.join(",")} (want one prepare, complete, cleanup)`);
    } else {
      const c = kinds.indexOf("complete");
      if (kinds.indexOf("cleanup") < c) v.push(`${runId}: onCleanup before onComplete`);
      if (kinds.indexOf("prepare") !== 0) v.push(`${runId}: ${kinds[0]} before onPrepare`);
      const later = kinds.slice(c + 1).filter((k) => k !== "cleanup");
      if (later.length > 0) v.push(`${runId}: ${later.join(",")} after onComplete`);
      const result = hooks[c]!.detail as {
        ok: boolean;
        value?: { status: string; state: Record<string, unknown> };
        error?: SystemError;
      };
      // what signal() accepted, and what singleton_loop signalled in, is in the state it ends with
      if (result.ok) {
        const sig = world.signalled.get(runId);
        const state = result.value!.state;
        if (sig !== undefined && !((state.sig as number) >= sig)) {
          v.push(`${runId}: signal({ sig: ${sig} }) was accepted, it ended with sig ${state.sig}`);
        }
        const tags = world.log
          .filter(
            (e) =>
              e.kind === "dispatch" &&
              e.runId === runId &&
              (e.detail as DispatchResult).outcome === "signalled",
          )
          .map((e) => ((e.detail as DispatchResult).payload as { tag: number }).tag);
        if (tags.length > 0 && state.tag !== Math.max(...tags)) {
          v.push(`${runId}: signalled with tags ${tags}, it ended with tag ${state.tag}`);
        }
      }
      const terminal = terminals[0]?.type;
      const expected = result.ok ? `run.${result.value!.status}` : "run.failed";
      if (terminal !== undefined && terminal !== expected)
        v.push(`${runId}: onComplete got ${expected}, timeline ${terminal}`);
      // result(), and invoke() or resume() that did not park, give the result onComplete got
      for (const t of world.tracked) {
        const got = t.value as
          | {
              ok: boolean;
              value?: { status: string; state: unknown };
              error?: SystemError;
              metadata?: { runId?: string };
            }
          | undefined;
        const about =
          t.label.startsWith("result") || t.label.startsWith("resume")
            ? t.label.endsWith(` ${runId}`)
            : t.label.startsWith("invoke") && got?.metadata?.runId === runId;
        if (!about || got === undefined) continue;
        if (!got.ok && ["NOT_FOUND", "INVALID_STATE", "INVALID_INPUT"].includes(got.error!.code)) continue;
        if (got.ok && got.value!.status === "paused") continue;
        const same =
          got.ok === result.ok &&
          (got.ok
            ? got.value!.status === result.value!.status &&
              JSON.stringify(got.value!.state) === JSON.stringify((result as any).value.state)
            : got.error!.code === result.error!.code);
        if (!same) {
          const what = (r: any) =>
            r.ok ? `${r.value.status} ${JSON.stringify(r.value.state)}` : r.error.code;
          v.push(`${t.label} of ${runId}: ${what(got)}, onComplete got ${what(result)}`);
        }
      }
    }
  }

  // every onDispatch report matches what became of the run
  for (const entry of world.log) {
    if (entry.kind !== "dispatch") continue;
    const d = entry.detail as DispatchResult;
    const events = (d.runId === undefined ? [] : (byRun.get(d.runId) ?? []))
      .slice()
      .sort((a, b) => a.seq - b.seq);
    const started = events[0]?.type === "run.started";
    const neverStarted = events.length === 1 && (events[0]!.data as any)?.neverStarted === true;
    switch (d.outcome) {
      case "started":
      case "replaced":
        if (!started && !world.lost.has(d.runId!))
          v.push(`dispatch ${d.outcome} ${d.runId}: the run has no run.started`);
        if (d.outcome === "replaced") {
          const old = (byRun.get(d.replacedRunId!) ?? []).filter((e) => TERMINAL.has(e.type));
          if (old.length !== 1 || old[0]!.type !== "run.aborted")
            v.push(`dispatch replaced ${d.replacedRunId}: it ended ${old.map((e) => e.type)}`);
        }
        break;
      case "queued": {
        if (!started && !neverStarted) v.push(`dispatch queued ${d.runId}: neither started nor dropped`);
        const byHost = neverStarted && /aborted by the host/.test(events[0]!.message ?? "");
        const dropped = world.log.some(
          (e) =>
            e.kind === "dispatch" &&
            e.runId === d.runId &&
            (e.detail as DispatchResult).outcome === "dropped",
        );
        if (neverStarted && !byHost && !dropped)
          v.push(`queued ${d.runId} never started (${events[0]!.message}), no dropped report`);
        break;
      }
      case "dropped":
        if (d.runId !== undefined && !neverStarted)
          v.push(`dispatch dropped ${d.runId}: ${events.map((e) => e.type)}`);
        break;
      case "rejected":
        // (typed as never naming one: checked at run time all the same)
        if ((d as { runId?: unknown }).runId !== undefined)
          v.push(`dispatch rejected names run ${String((d as { runId?: unknown }).runId)}`);
        break;
      case "signalled":
        if (!started) v.push(`dispatch signalled ${d.runId}: no such started run`);
        break;
    }
  }

  // nothing is left behind by stop()
  for (let r = 0; r < 2; r++) {
    const listeners = world.buses[r]!.listenerCount();
    if (listeners !== 0) v.push(`runtime ${r}: ${listeners} bus listeners after stop()`);
    if (world.runtimes[r]!.listAllRuns().length !== 0) v.push(`runtime ${r}: runs listed after stop()`);
  }
  const timers = vi.getTimerCount() - world.ownTimers;
  if (timers !== 0) v.push(`${timers} timers left after stop()`);

  for (const { rt, error } of world.errors) {
    if (!(error instanceof SystemError)) v.push(`onError got a non-SystemError: ${String(error)}`);
    else if (!EXPECTED_REPORTS[error.code]?.test(error.message))
      v.push(`runtime ${rt} reported ${error.code}: ${error.message}`);
    else if (error.code === "STORAGE_FAILED" && world.scenario.store !== "failing") {
      v.push(`runtime ${rt} reported STORAGE_FAILED with a working store: ${error.message}`);
    } else if (error.code === "TIMEOUT") {
      // only what was made to outlive hookTimeoutMs times out
      const details = (error.details ?? {}) as { workflowId?: string; runId?: string; hook?: string };
      const config = world.scenario.workflows[WORKFLOW_IDS.indexOf(details.workflowId ?? "")];
      const style: Record<string, string | undefined> = {
        onPrepare: world.log.some((e) => e.kind === "prepare-slow" && e.runId === details.runId)
          ? "slow"
          : "quick",
        onComplete: config?.onComplete,
        onCleanup: config?.onCleanup,
        onPause: config?.onPause,
        onResume: config?.onResume,
      };
      const slow =
        details.hook === undefined ? config?.runService === "slow" : style[details.hook] === "slow";
      if (!slow) v.push(`runtime ${rt} reported a TIMEOUT of what settles at once: ${error.message}`);
    }
  }
}

/** What onError may report in these sequences, and about what. */
const EXPECTED_REPORTS: Record<string, RegExp> = {
  // throwing and rejecting hooks, onDispatch included
  HOOK_FAILED: /./,
  // slow hooks and slow run-service cleanups (checked against the scenario below)
  TIMEOUT: /./,
  // a slow run-service cleanup left behind at its limit
  ABORTED: /^cleanup of artifact/,
  // control events for runs this runtime does not hold (stale, moved, never known)
  NOT_FOUND: /^control event/,
  // control events for runs not in the state they need; a function mapper cannot travel (detach)
  INVALID_STATE: /^control event|^detach\(.*patch mapper/,
  // a "picky" patch mapper refused the resuming event
  INVALID_INPUT: /the resuming event was ignored: not this one/,
  // the "failing" timeline store
  STORAGE_FAILED: /./,
  // maxBufferedEventsPerRun: 2
  CAPACITY_EXCEEDED: /./,
};

/** Waits for `promise` on the fake clock: settles, then moves the clock, until it settles. */
async function await_<T>(world: World, promise: Promise<T>): Promise<T | undefined> {
  let done = false;
  let value: T | undefined;
  promise.then(
    (v) => {
      done = true;
      value = v;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < 20 && !done; i++) {
    await world.settle();
    if (!done) await world.advance(500);
  }
  return value;
}

/**
 * The graceful hand-over the docs describe: drain runtime 0 (events still flowing), detach every
 * parked run in one synchronous stretch, stop it, adopt the checkpoints into runtime 1, where the
 * events that resume them then arrive.
 */
async function handOver(world: World): Promise<void> {
  const [from, to] = world.runtimes as [WorkflowRuntime, WorkflowRuntime];
  const drained = world.drainAndCheck(0, { timeoutMs: 3000 });
  world.track("drain@0", drained);
  const report = (await await_(world, drained)) as { paused: string[] } | undefined;
  if (report === undefined) return;
  const detaching = report.paused.map((runId) => {
    const leaving = world.movedFrom.get(runId) ?? new Set<number>();
    world.movedFrom.set(runId, leaving.add(0));
    return from.detach(runId).then((checkpoint) => JSON.stringify(checkpoint));
  });
  const settled = await await_(world, Promise.allSettled(detaching));
  const stopped = from.stop().then(() => world.expectDecided("stop@0", 0));
  world.track("stop@0", stopped);
  await await_(world, stopped);
  for (const [i, outcome] of (settled ?? []).entries()) {
    const runId = report.paused[i]!;
    if (outcome.status === "rejected") {
      world.expectCoded(`detach(${runId})`, outcome.reason, ["INVALID_STATE", "NOT_FOUND"]);
      continue;
    }
    try {
      to.adopt(JSON.parse(outcome.value));
    } catch (error) {
      world.lost.add(runId);
      world.expectCoded(`adopt(${runId})`, error, ["INVALID_STATE", "NOT_FOUND"]);
    }
  }
  for (const key of [0, 1]) world.buses[1]!.emit("go", { key, go: `after hand-over ${key}` });
  await world.settle();
  await world.advance(500);
  await world.settle();
}

async function runScenario(scenario: Scenario): Promise<string[]> {
  const world = new World(scenario);
  await world.start();
  for (const op of scenario.ops) {
    await world.apply(op);
  }
  await world.settle();
  checkRunsAgreeWithHooks(world);
  if (scenario.handover) await handOver(world);
  for (let r = 0; r < 2; r++) {
    if (scenario.drain[r]) world.track(`drain@${r}`, world.drainAndCheck(r, { timeoutMs: 5000 }));
  }
  await world.advance(6000);
  await world.settle();
  for (let r = 0; r < 2; r++) {
    world.track(
      `stop@${r}`,
      world.runtimes[r]!.stop().then(() => world.expectDecided(`stop@${r}`, r)),
    );
  }
  for (let i = 0; i < 20 && world.tracked.some((t) => !t.settled); i++) {
    await world.settle();
    await world.advance(HOOK_TIMEOUT_MS);
  }
  // slow hooks left running in the background finish
  await world.advance(HOOK_TIMEOUT_MS * 4);
  await world.settle();
  checkAfterStop(world);
  return world.violations;
}

// ───────────────────────── the property ─────────────────────────

const unexpected: unknown[] = [];
const onUnexpected = (error: unknown) => unexpected.push(error);

afterEach(() => {
  vi.useRealTimers();
  process.off("unhandledRejection", onUnexpected);
  process.off("uncaughtException", onUnexpected);
});

describe("run lifecycle under random operation sequences (model-based)", () => {
  it("every run ends once, in hook order, with a gapless timeline; nothing hangs or leaks", async () => {
    process.on("unhandledRejection", onUnexpected);
    process.on("uncaughtException", onUnexpected);
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        vi.useFakeTimers({
          toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date", "performance"],
          now: 1_700_000_000_000,
        });
        unexpected.length = 0;
        try {
          const violations = await runScenario(scenario);
          // unhandled rejections surface a macrotask later
          await new Promise<void>((resolve) => setImmediate(resolve));
          for (const e of unexpected) violations.push(`unhandled: ${String(e)}`);
          expect(violations).toEqual([]);
        } finally {
          vi.useRealTimers();
        }
      }),
      {
        seed: Number(process.env.FUZZ_SEED ?? 5),
        numRuns: Number(process.env.FUZZ_RUNS ?? 300),
        endOnFailure: false,
      },
    );
  }, 60_000);
});
