/**
 * Fault injection through the public API: a timeline store that throws, rejects, hangs or fails
 * at random (seeded), with and without `appendBatch`; bus subscribers that throw; service
 * factories and cleanups that throw, reject or return nothing at every scope; hooks that throw,
 * reject or outlive `hookTimeoutMs`; steps that throw values that are not errors. Many runs in
 * every mode, with pauses, resumes, signals and aborts interleaved. Checked: every run ends once
 * with the status its faults call for; no timeline event is lost unreported (each run's stored
 * events and the events of the appends reported lost make up seq 1..n exactly, ending in its end
 * event); every report is a coded SystemError; nothing is unhandled; stop() finishes and leaves
 * no timer, listener or state store behind.
 *
 * More of it: `FAULT_SEED=100 FAULT_SEEDS=500 npx vitest run test/faults.trial.test.ts`.
 */
import { SystemError } from "@sluice/errors";
import { createEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import type { TimelineBatch, TimelineEvent, TimelineStore } from "@sluice/timeline";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ControlEvent,
  type ExecutionMode,
  type PauseService,
  type RegisterOptions,
  type RunResult,
  type Workflow,
  WorkflowRuntime,
} from "../src/index.js";
import { queryAll, trackTimers, within } from "./reliability/support.js";

// ───────────────────────── seeded randomness ─────────────────────────

function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof rng>;

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

// ───────────────────────── a timeline store that fails as it is told ─────────────────────────

type StoreMode = "ok" | "throw" | "reject" | "hang" | "flaky";

interface AppendCall {
  events: { runId: string; seq: number; type: string }[];
  outcome: "pending" | "stored" | "failed";
}

/** Values a broken store throws: what an adapter's bugs or a backend's driver could throw. */
const STORE_FAULTS: unknown[] = [
  new Error("disk full"),
  "connection reset",
  null,
  Object.freeze({ code: 5, reason: "busy" }),
  new Proxy(
    {},
    {
      get() {
        throw new Error("proxy trap");
      },
      getPrototypeOf() {
        throw new Error("proxy trap");
      },
    },
  ),
];

/**
 * Wraps a real memory store: `mode` decides what each append does. A hung append is held until
 * `release()` settles it (stored or failed, as the store "comes back").
 */
class FaultyStore {
  mode: StoreMode = "ok";
  readonly calls: AppendCall[] = [];
  private held: { call: AppendCall; go: (store: boolean) => void }[] = [];

  constructor(
    readonly inner: TimelineStore,
    private readonly random: Rng,
  ) {}

  private attempt(events: readonly TimelineEvent[]): Promise<void> {
    const call: AppendCall = {
      events: events.map((e) => ({ runId: e.runId, seq: e.seq, type: e.type })),
      outcome: "pending",
    };
    this.calls.push(call);
    const fault = this.random.pick(STORE_FAULTS);
    const fail = (): never => {
      call.outcome = "failed";
      throw fault;
    };
    const store = async () => {
      await this.inner.append(events);
      call.outcome = "stored";
    };
    switch (this.mode) {
      case "throw":
        return fail(); // synchronously, out of append itself
      case "reject":
        return Promise.resolve().then(fail);
      case "flaky":
        return this.random.chance(0.4) ? Promise.resolve().then(fail) : store();
      case "hang":
        return new Promise<void>((resolve, reject) => {
          this.held.push({
            call,
            go: (ok) => {
              if (ok) store().then(resolve, reject);
              else {
                call.outcome = "failed";
                reject(fault);
              }
            },
          });
        });
      default:
        return store();
    }
  }

  /** Settles every hung append: stores it, or fails it. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) h.go(this.random.chance(0.5));
  }

  /** The store the runtime gets: `append`, and `appendBatch` when `columns`. */
  api(columns: boolean): TimelineStore {
    const store: TimelineStore = {
      append: (events) => this.attempt(events),
      query: (filter) => this.inner.query(filter),
      delete: (filter) => this.inner.delete(filter),
      close: () => this.inner.close(),
    };
    if (columns) {
      (store as { appendBatch?: (batch: TimelineBatch) => Promise<void> }).appendBatch = (batch) =>
        this.attempt(batch.toEvents());
    }
    return store;
  }
}

// ───────────────────────── what a run does, carried in its payload ─────────────────────────

/** What the run's first step throws, when it throws. */
const THROWN: Record<string, () => unknown> = {
  null: () => null,
  undefined: () => undefined,
  string: () => "plain words",
  symbol: () => Symbol("thrown"),
  frozen: () => Object.freeze({ code: "E_FROZEN", message: "frozen" }),
  hostile: () => ({
    toString() {
      throw new Error("toString");
    },
    get message() {
      throw new Error("message getter");
    },
  }),
  nullProto: () => Object.create(null),
};

interface Plan {
  n: number;
  key: string;
  /** How the first step ends: returns, throws `THROWN[throws]`, or uses a broken service. */
  throws?: keyof typeof THROWN | undefined;
  service?:
    | "run-throws"
    | "run-rejects"
    | "transient-undefined"
    | "workflow-throws"
    | "run-cleanup-throws"
    | undefined;
  /** The second stage waits for `go` (bus) or `resume()`. */
  pause?: "event" | "manual";
  prepare?: "throw" | "reject" | "hang";
  hook?: "throw" | "reject" | "hang";
  /** How many log lines the last step writes. */
  logs: number;
}

const HOOK_TIMEOUT_MS = 30;

function planFor(random: Rng, n: number): Plan {
  const plan: Plan = { n, key: `k${random.int(4)}`, logs: random.int(4) };
  const fault = random.next();
  if (fault < 0.15) plan.throws = random.pick(Object.keys(THROWN));
  else if (fault < 0.3)
    plan.service = random.pick([
      "run-throws",
      "run-rejects",
      "transient-undefined",
      "workflow-throws",
      "run-cleanup-throws",
    ] as const);
  if (random.chance(0.4)) plan.pause = random.pick(["event", "event", "manual"] as const);
  if (random.chance(0.1)) plan.prepare = random.pick(["throw", "reject", "hang"] as const);
  if (random.chance(0.25)) plan.hook = random.pick(["throw", "reject", "hang"] as const);
  return plan;
}

/** The hook misbehaves as the run's plan says (`hang`: past the limit, then never settles). */
function misbehave(plan: Plan | undefined, hook: string): unknown {
  switch (plan?.hook) {
    case "throw":
      throw new Error(`${hook} exploded`);
    case "reject":
      return Promise.reject(THROWN.hostile!());
    case "hang":
      return new Promise(() => {});
    default:
      return undefined;
  }
}

const pauseOf = (ctx: { use: (fn: (d: any) => any) => Promise<any> }) =>
  ctx.use((d) => d.require("__pause_service__")) as Promise<PauseService>;

/** The plan each run's first step saw (a singleton_loop "signal" event may have changed it since dispatch). */
const actedOn = new Map<string, Plan>();

function workflow(id: string): Workflow {
  return {
    id,
    services: [
      {
        id: "wfBroken",
        scope: "workflow",
        factory: () => {
          throw "workflow service down";
        },
      },
      {
        id: "runThrows",
        scope: "run",
        factory: () => {
          throw THROWN.hostile!();
        },
      },
      { id: "runRejects", scope: "run", factory: () => Promise.reject(null) },
      { id: "transientUndefined", scope: "transient", factory: () => undefined },
      {
        id: "cleanupThrows",
        scope: "run",
        factory: (ctx) => {
          ctx.onCleanup(() => {
            throw new Error("cleanup exploded");
          });
          return { ok: true };
        },
      },
    ],
    triggers: { go: { event: `${id}.start`, pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          {
            id: "first",
            steps: [
              {
                id: "act",
                action: async (ctx) => {
                  const plan = ctx.state() as unknown as Plan;
                  actedOn.set(ctx.runId, plan);
                  if (plan.throws !== undefined) throw THROWN[plan.throws]!();
                  const key = {
                    "run-throws": "runThrows",
                    "run-rejects": "runRejects",
                    "transient-undefined": "transientUndefined",
                    "workflow-throws": "wfBroken",
                    "run-cleanup-throws": "cleanupThrows",
                  }[plan.service ?? "run-cleanup-throws"];
                  if (plan.service !== undefined) {
                    const got = await ctx.use((d) => d.require(key));
                    return { got: got === undefined ? "undefined" : "value" };
                  }
                  return { first: true };
                },
              },
            ],
          },
          {
            id: "wait",
            steps: [
              {
                id: "maybe-pause",
                action: async (ctx) => {
                  const plan = ctx.state() as unknown as Plan;
                  if (plan.pause === "event")
                    (await pauseOf(ctx)).register({
                      event: "go",
                      conditions: [{ path: "key", op: "==", value: plan.key }],
                    });
                  if (plan.pause === "manual") (await pauseOf(ctx)).register({});
                },
              },
            ],
          },
          {
            id: "last",
            steps: [
              {
                id: "log",
                action: (ctx) => {
                  const plan = ctx.state() as unknown as Plan;
                  for (let i = 0; i < plan.logs; i++) ctx.logger.info(`line ${i}`, { i, n: plan.n });
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

const MODES: ExecutionMode[] = [
  { type: "transient", concurrency: 3, capacity: 4 },
  { type: "serialized", capacity: 3 },
  { type: "singleton_loop", onBusy: "drop" },
  { type: "singleton_loop", onBusy: "signal" },
  { type: "singleton_loop", onBusy: "replace" },
  { type: "exclusive", onBusy: "reject" },
  { type: "exclusive", onBusy: "queue_single" },
];

// ───────────────────────── one seeded scenario ─────────────────────────

interface RunTrack {
  workflowId: string;
  plan?: Plan;
  prepared: number;
  completed: RunResult[];
  cleanedUp: number;
  hookOrder: string[];
  result?: Promise<unknown>;
}

const REPORT_CODES = new Set([
  "STORAGE_FAILED",
  "HOOK_FAILED",
  "TIMEOUT",
  "ABORTED",
  "INVALID_STATE",
  "INVALID_INPUT",
  "NOT_FOUND",
  "STEP_FAILED",
  "FACTORY_FAILED",
  "CAPACITY_EXCEEDED",
]);

async function scenario(seed: number): Promise<string[]> {
  const random = rng(seed);
  const violations: string[] = [];
  const fail = (what: string) => violations.push(`seed ${seed}: ${what}`);
  const faulty = new FaultyStore(await createMemoryTimelineStore(), random);
  const busErrors: unknown[] = [];
  const bus = createEventBus<any>({ onError: (error) => busErrors.push(error) });
  const storeRegistry = new StoreRegistry();
  const errors: SystemError[] = [];
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry,
    timelineStore: faulty.api(random.chance(0.5)),
    env: {},
    hookTimeoutMs: HOOK_TIMEOUT_MS,
    timeline: {
      flushIntervalMs: random.pick([0, 1, 5]),
      maxBatch: random.pick([1, 8, 256]),
      maxBuffered: random.pick([100_000, 100_000, 12]),
      closeTimeoutMs: 100,
    },
    onError: (error) => errors.push(error),
  });
  const runs = new Map<string, RunTrack>();
  const track = (runId: string, workflowId: string): RunTrack => {
    let t = runs.get(runId);
    if (t === undefined) {
      t = { workflowId, prepared: 0, completed: [], cleanedUp: 0, hookOrder: [] };
      runs.set(runId, t);
      t.result = runtime.result(runId).then(
        (r) => r,
        (e) => fail(`result(${runId}) rejected: ${String(e)}`),
      );
    }
    return t;
  };

  const ids = ["alpha", "beta", "gamma", "delta"];
  for (const id of ids) {
    // a host subscriber on the same events that throws: the runtime's handlers still get them
    bus.on(`${id}.start`, () => {
      if (random.chance(0.3)) throw new Error("host subscriber exploded");
    });
    const options: RegisterOptions = {
      mode: random.pick(MODES),
      pauseWindowMs: random.pick([0, 5, 30_000]),
      onDispatch: (d) => {
        if (d.runId !== undefined && (d.outcome === "started" || d.outcome === "queued")) {
          track(d.runId, id).plan = d.payload as Plan;
        }
        if (random.chance(0.1)) throw new Error("onDispatch exploded");
      },
      onPrepare: (ctx) => {
        const t = track(ctx.runId, id);
        t.prepared++;
        t.hookOrder.push("prepare");
        const plan = ctx.state() as unknown as Plan;
        t.plan = plan;
        if (plan.prepare === "throw") throw THROWN.frozen!();
        if (plan.prepare === "reject") return Promise.reject("prepare rejected");
        if (plan.prepare === "hang") return new Promise(() => {});
        return undefined;
      },
      onPause: (ctx) => misbehave(runs.get(ctx.runId)?.plan, "onPause"),
      onResume: (ctx) => misbehave(runs.get(ctx.runId)?.plan, "onResume"),
      onComplete: (result) => {
        const runId = result.metadata.runId!;
        const t = track(runId, id);
        t.completed.push(result);
        t.hookOrder.push("complete");
        return misbehave(t.plan, "onComplete");
      },
      onCleanup: (info) => {
        const t = track(info.runId, id);
        t.cleanedUp++;
        t.hookOrder.push("cleanup");
        return misbehave(t.plan, "onCleanup");
      },
    };
    await runtime.register(workflow(id), options);
  }

  let n = 0;
  /** The plan numbers sent to each workflow: a run's state may only hold one of its own workflow's. */
  const ofWorkflow = new Map<string, Set<number>>(ids.map((id) => [id, new Set<number>()]));
  const invoked: Promise<void>[] = [];
  const ops = 40 + random.int(40);
  for (let op = 0; op < ops; op++) {
    const roll = random.next();
    const known = [...runs.keys()];
    if (roll < 0.35) {
      const id = random.pick(ids);
      ofWorkflow.get(id)!.add(++n);
      bus.emit(`${id}.start`, planFor(random, n));
    } else if (roll < 0.45) {
      const id = random.pick(ids);
      const plan = planFor(random, ++n);
      ofWorkflow.get(id)!.add(n);
      invoked.push(
        runtime.invoke(id, "go", plan).then((r) => {
          if (r.metadata.runId === undefined) fail(`invoke of ${id} resolved without a run id`);
          else track(r.metadata.runId, id).plan ??= plan;
        }),
      );
    } else if (roll < 0.6) {
      bus.emit("go", { key: `k${random.int(4)}`, by: "event" });
    } else if (roll < 0.66 && known.length > 0) {
      const runId = random.pick(known);
      invoked.push(runtime.resume(runId, { by: "resume" }).then(() => undefined));
    } else if (roll < 0.7 && known.length > 0) {
      const runId = random.pick(known);
      try {
        runtime.signal(runId, { signalled: true });
      } catch (error) {
        if (!SystemError.is(error)) fail(`signal threw a non-SystemError: ${String(error)}`);
      }
    } else if (roll < 0.75 && known.length > 0) {
      const runId = random.pick(known);
      if (random.chance(0.5)) bus.emit(ControlEvent.Abort, { runId });
      else
        invoked.push(
          runtime.abort(runId).then(
            () => undefined,
            (error) => {
              if (!SystemError.is(error)) fail(`abort threw a non-SystemError: ${String(error)}`);
            },
          ),
        );
    } else if (roll < 0.85) {
      const mode = random.pick<StoreMode>(["ok", "ok", "throw", "reject", "hang", "flaky"]);
      if (faulty.mode === "hang" && mode !== "hang") faulty.release();
      faulty.mode = mode;
    } else {
      for (let i = random.int(4); i >= 0; i--) await settle();
      if (random.chance(0.2)) await new Promise((resolve) => setTimeout(resolve, HOOK_TIMEOUT_MS));
    }
  }
  // everything left ends; the store comes back, or stays hung through stop() and comes back after it
  const hungAtStop = random.chance(0.25);
  if (hungAtStop) faulty.mode = "hang";
  else {
    faulty.mode = "ok";
    faulty.release();
  }
  const drained = await within(30_000, `drain (seed ${seed})`, runtime.drain({ timeoutMs: 20_000 }));
  await within(10_000, `stop (seed ${seed})`, runtime.stop());
  await within(10_000, `invoke/resume/abort calls (seed ${seed})`, Promise.all(invoked));
  await within(10_000, `results (seed ${seed})`, Promise.all([...runs.values()].map((t) => t.result)));
  faulty.mode = "ok";
  faulty.release();
  for (let i = 0; i < 5; i++) await settle();
  if (drained.active.length > 0) fail(`drain left runs active: ${drained.active.join(", ")}`);

  // every run ends once, in hook order, with the status its plan calls for
  for (const [runId, t] of runs) {
    const started = t.prepared > 0;
    if (t.prepared > 1) fail(`${runId}: onPrepare ran ${t.prepared} times`);
    if (!started) {
      if (t.completed.length + t.cleanedUp > 0) fail(`${runId}: never started, yet got hooks`);
      continue;
    }
    const order = t.hookOrder.join(",");
    if (order !== "prepare,complete,cleanup") fail(`${runId}: hooks ran ${order}`);
    const result = t.completed[0];
    if (result === undefined) continue;
    const prepared = t.plan!;
    const acted = actedOn.get(runId);
    const plan: Plan = { ...prepared, throws: acted?.throws, service: acted?.service };
    const ended = await t.result;
    if (ended !== result && JSON.stringify(ended) !== JSON.stringify(result))
      fail(`${runId}: result() differs from onComplete's result`);
    if (result.ok) {
      if (result.value.status === "completed") {
        if (plan.throws !== undefined || plan.prepare !== undefined)
          fail(`${runId}: completed although its plan fails (${JSON.stringify(plan)})`);
        if (
          plan.service !== undefined &&
          plan.service !== "transient-undefined" &&
          plan.service !== "run-cleanup-throws"
        )
          fail(`${runId}: completed although its service fails (${plan.service})`);
      }
    } else {
      const code = (result.error as SystemError).code;
      const expected =
        plan.prepare === "hang"
          ? "TIMEOUT"
          : plan.prepare !== undefined
            ? "HOOK_FAILED"
            : plan.throws !== undefined ||
                (plan.service !== undefined &&
                  plan.service !== "run-cleanup-throws" &&
                  plan.service !== "transient-undefined")
              ? "STEP_FAILED"
              : "none";
      if (code !== expected) fail(`${runId}: failed ${code} (${result.error.message}), expected ${expected}`);
      if (plan.service === "transient-undefined" && plan.throws === undefined && code === "STEP_FAILED")
        fail(`${runId}: a service returning undefined failed the run: ${result.error.message}`);
    }
  }

  // no event lost unreported: stored ∪ reported-lost is seq 1..n, ending in the run's end event
  const stored = await queryAll(faulty.inner);
  const lostByCalls = faulty.calls.filter((c) => c.outcome === "failed");
  const pendingCalls = faulty.calls.filter((c) => c.outcome === "pending");
  if (pendingCalls.length > 0) fail(`${pendingCalls.length} appends never settled after release`);
  const reportedLost = errors
    .filter((e) => e.code === "STORAGE_FAILED")
    .reduce((sum, e) => sum + Number((e.details as { lost?: number })?.lost ?? 0), 0);
  const failedEvents = lostByCalls.reduce((sum, c) => sum + c.events.length, 0);
  if (reportedLost !== failedEvents)
    fail(`the store failed ${failedEvents} events, ${reportedLost} were reported lost`);
  const seqs = new Map<string, number[]>();
  const add = (runId: string, seq: number) => {
    let list = seqs.get(runId);
    if (list === undefined) seqs.set(runId, (list = []));
    list.push(seq);
  };
  for (const e of stored) add(e.runId, e.seq);
  for (const c of lostByCalls) for (const e of c.events) add(e.runId, e.seq);
  const ends = new Map<string, { type: string; seq: number }[]>();
  for (const e of [...stored, ...lostByCalls.flatMap((c) => c.events)])
    if (/^run\.(completed|failed|aborted)$/.test(e.type))
      ends.set(e.runId, [...(ends.get(e.runId) ?? []), { type: e.type, seq: e.seq }]);
  // events dropped unappended: past maxBuffered, or still buffered when stop() gave up on the store
  const reportedDropped = errors.reduce((sum, e) => {
    const details = (e.details ?? {}) as { dropped?: number; pending?: number };
    if (e.code === "STORAGE_FAILED") return sum + (details.dropped ?? 0);
    if (e.code === "TIMEOUT" && e.message.startsWith("timeline store")) return sum + (details.pending ?? 0);
    return sum;
  }, 0);
  let missing = 0;
  let endsKnown = true;
  for (const [runId, list] of seqs) {
    list.sort((a, b) => a - b);
    if (list.some((seq, i) => seq < 1 || (i > 0 && seq === list[i - 1])))
      fail(`${runId}: stored and lost seqs ${list.join(",")} repeat one or start below 1`);
    const end = ends.get(runId);
    if ((end?.length ?? 0) > 1) fail(`${runId}: end events ${end!.map((e) => e.type).join(", ")}`);
    if (end === undefined) endsKnown = false;
    const last = end?.[0]?.seq ?? list[list.length - 1]!;
    if (list[list.length - 1]! > last)
      fail(`${runId}: events after its end (seq ${last}): ${list.join(",")}`);
    missing += last - list.length;
  }
  for (const runId of runs.keys()) if (!seqs.has(runId)) endsKnown = false; // all its events dropped
  if (reportedDropped === 0 && missing > 0) fail(`${missing} events missing, none reported dropped`);
  if (missing > reportedDropped || (endsKnown && missing !== reportedDropped))
    fail(`${missing} events missing from stored and reported-lost ones; ${reportedDropped} reported dropped`);
  for (const [runId, t] of runs) {
    if (!seqs.has(runId) && t.prepared > 0 && reportedDropped === 0)
      fail(`${runId}: no timeline event stored or reported lost`);
  }
  for (const [runId, t] of runs) {
    const result = t.completed[0];
    if (result === undefined) continue;
    const status = result.ok ? result.value.status : "failed";
    const end = ends.get(runId)?.[0]?.type;
    if (end === undefined && reportedDropped > 0) continue; // dropped with the rest, and reported
    if (end !== `run.${status}`) fail(`${runId}: ended ${status}, its timeline says ${end}`);
    if (status === "completed") {
      const state = (result.ok ? result.value.state : {}) as Record<string, unknown>;
      if (state.done !== true) fail(`${runId}: completed without its last step's patch`);
      if (!ofWorkflow.get(t.workflowId)?.has(state.n as number))
        fail(`${runId}: its state holds n ${String(state.n)}, not one of its workflow's events`);
    }
  }

  // every report is a coded SystemError saying what happened
  for (const e of errors) {
    if (!SystemError.is(e) || !REPORT_CODES.has(e.code))
      fail(`report with code ${String(e?.code)}: ${e?.message}`);
    else if (typeof e.message !== "string" || e.message.length < 20)
      fail(`report ${e.code} says too little: ${e.message}`);
  }
  if (busErrors.some((e) => !String((e as Error)?.message).includes("host subscriber")))
    fail(`a runtime handler threw into the bus: ${busErrors.map(String).join("; ")}`);
  if (storeRegistry.size !== 0) fail(`${storeRegistry.size} state stores survive stop()`);
  if (bus.listenerCount() !== ids.length)
    fail(`${bus.listenerCount() - ids.length} runtime listeners survive stop()`);
  return violations;
}

// ───────────────────────── the tests ─────────────────────────

const unexpected: unknown[] = [];
const onUnexpected = (error: unknown) => unexpected.push(error);
beforeEach(() => {
  unexpected.length = 0;
  process.on("unhandledRejection", onUnexpected);
  process.on("uncaughtException", onUnexpected);
});
afterEach(() => {
  process.off("unhandledRejection", onUnexpected);
  process.off("uncaughtException", onUnexpected);
});

const SEEDS = Number(process.env.FAULT_SEEDS ?? 12);
const FIRST_SEED = Number(process.env.FAULT_SEED ?? 1);

describe("fault injection: stores, buses, services, hooks and steps that fail", () => {
  it(`every run ends once as its faults say, no timeline event is lost unreported, nothing is unhandled or left behind (${SEEDS} seeds)`, async () => {
    const timers = trackTimers();
    const violations: string[] = [];
    try {
      for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
        const found = await scenario(seed);
        violations.push(...found);
      }
    } finally {
      timers.uninstall();
    }
    expect(violations.slice(0, 30)).toEqual([]);
    expect(unexpected.map(String)).toEqual([]);
    expect(timers.pending).toBe(0);
  }, 120_000);
});

describe("a hook that throws a SystemError of its own", () => {
  it("is reported HOOK_FAILED naming the hook and the run, its error the cause (it used to pass on as the runtime's own error)", async () => {
    const errors: SystemError[] = [];
    const bus = createEventBus<any>();
    const runtime = new WorkflowRuntime({
      bus,
      storeRegistry: new StoreRegistry(),
      env: {},
      onError: (error) => errors.push(error),
    });
    let runId = "";
    let ended: Promise<unknown> = Promise.resolve();
    await runtime.register(
      {
        id: "orders",
        triggers: { go: { event: "go", pipeline: "p" } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "a", action: () => ({ a: 1 }) }] }] } },
      },
      {
        // a runtime call made too late: it throws INVALID_STATE (the run's result is decided)
        onComplete: () => {
          runtime.signal(runId, { late: true });
        },
        onCleanup: () => Promise.reject(new SystemError("NOT_FOUND", "customer c1 not found")),
        onDispatch: (dispatch) => {
          runId = dispatch.runId!;
          ended = runtime.result(runId);
          throw new SystemError("NOT_FOUND", "customer c2 not found");
        },
      },
    );
    bus.emit("go", {});
    await ended;
    await runtime.stop();
    expect(errors.map((e) => [e.code, e.message, e.details, (e.cause as SystemError).code])).toEqual([
      [
        "HOOK_FAILED",
        'workflow "orders": onDispatch threw: customer c2 not found',
        { workflowId: "orders", hook: "onDispatch", event: "go", runId },
        "NOT_FOUND",
      ],
      [
        "HOOK_FAILED",
        expect.stringMatching(
          new RegExp(`^workflow "orders": onComplete of run ${runId} threw: run ${runId} has ended`),
        ),
        { workflowId: "orders", runId, hook: "onComplete" },
        "INVALID_STATE",
      ],
      [
        "HOOK_FAILED",
        `workflow "orders": onCleanup of run ${runId} threw: customer c1 not found`,
        { workflowId: "orders", runId, hook: "onCleanup" },
        "NOT_FOUND",
      ],
    ]);
  });
});

describe("a timeline store that breaks the batch it was lent", () => {
  const breaks: [string, (batch: TimelineBatch) => void][] = [
    [
      "freezing it (a store that keeps what it stores immutable)",
      (batch) => {
        Object.freeze(batch);
        for (const column of Object.values(batch)) if (Array.isArray(column)) Object.freeze(column);
      },
    ],
    // a column emptying the batch does not write to, which only its refill would find frozen
    ["freezing a column it keeps (seqs)", (batch) => Object.freeze(batch.seqs)],
  ];
  it.each(breaks)(
    "%s: nothing unhandled, every event stored, the misuse reported once",
    async (_, breakBatch) => {
      const inner = await createMemoryTimelineStore();
      const store: TimelineStore = {
        append: (events) => inner.append(events),
        async appendBatch(batch: TimelineBatch) {
          await inner.append(batch.toEvents());
          // against the contract: the batch is lent, and the writer empties and refills it
          breakBatch(batch);
        },
        query: (filter) => inner.query(filter),
        delete: (filter) => inner.delete(filter),
        close: () => inner.close(),
      };
      const errors: SystemError[] = [];
      const runtime = new WorkflowRuntime({
        bus: createEventBus(),
        storeRegistry: new StoreRegistry(),
        timelineStore: store,
        env: {},
        timeline: { maxBatch: 4 },
        onError: (error) => errors.push(error),
      });
      await runtime.register({
        id: "logs",
        triggers: { go: { event: "go", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "s",
                steps: [
                  {
                    id: "log",
                    action: (ctx) => {
                      ctx.logger.info("hello");
                      return { logged: true };
                    },
                  },
                ],
              },
            ],
          },
        },
      });
      const runIds: string[] = [];
      for (let i = 0; i < 5; i++) {
        const result = await runtime.invoke("logs", "go", {});
        expect(result.ok && result.value.status).toBe("completed");
        runIds.push(result.metadata.runId!);
        await runtime.flushTimeline();
      }
      await runtime.stop();
      await settle();
      expect(unexpected.map(String)).toEqual([]);
      for (const runId of runIds) {
        expect((await queryAll(inner, { runId })).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      }
      expect(errors.map((e) => [e.code, e.message])).toEqual([
        ["STORAGE_FAILED", expect.stringContaining("never the batch or its columns")],
      ]);
    },
  );
});
