import type { SystemError } from "@sluice/errors";
import { createEventBus, type EventBus } from "@sluice/events";
import type { PauseRegistration } from "@sluice/pause";
import { StoreRegistry } from "@sluice/store";
import type { TimelineEvent, TimelineStore } from "@sluice/timeline";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { afterEach, describe, expect, it } from "vitest";
import type {
  DispatchResult,
  ExecutionMode,
  PauseService,
  RegisterOptions,
  RunCheckpoint,
  RunResult,
  ServiceDefinition,
  Workflow,
  WorkflowServiceDefinition,
} from "../src/index.js";
import { WorkflowRuntime } from "../src/index.js";
import { deferred, tick } from "./helpers.js";

type S = Record<string, unknown>;

interface Options {
  /** The waits the "wait" stage registers (default: "ok" with key == state.key). */
  waits?: (state: S) => PauseRegistration[];
  services?: WorkflowServiceDefinition[];
  globals?: ServiceDefinition[];
  /** Resolve these services in the waiting step and in the step after it. */
  use?: string[];
  register?: RegisterOptions<S>;
  bus?: EventBus<any>;
}

interface Node {
  runtime: WorkflowRuntime;
  bus: EventBus<any>;
  timeline: TimelineStore;
  ended: RunResult<S>[];
  dispatched: DispatchResult[];
  errors: SystemError[];
  log: string[];
}

const nodes: Node[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.runtime.stop();
});

/** wait (registers its waits) → after ({ after: true }). */
function workflow(options: Options): Workflow<S> {
  const use = options.use ?? [];
  return {
    id: "w",
    triggers: { go: { event: "go", pipeline: "p" } },
    ...(options.services === undefined ? {} : { services: options.services }),
    pipelines: {
      p: {
        stages: [
          {
            id: "wait",
            steps: [
              {
                id: "ask",
                action: async (ctx) => {
                  for (const id of use) await ctx.use((d) => d.require(id));
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  const waits = options.waits?.(ctx.state()) ?? [
                    { event: "ok", conditions: [{ path: "key", op: "==", value: String(ctx.state().key) }] },
                  ];
                  for (const wait of waits) pause.register(wait);
                },
              },
            ],
          },
          {
            id: "after",
            steps: [
              {
                id: "after",
                action: async (ctx) => {
                  for (const id of use) await ctx.use((d) => d.require(id));
                  return { after: true };
                },
              },
            ],
          },
        ],
      },
    },
  };
}

async function node(options: Options = {}, given?: TimelineStore): Promise<Node> {
  // not a default parameter: the factory resolves to the store, and a default cannot await
  const timeline = given ?? (await createMemoryTimelineStore());
  const bus = options.bus ?? createEventBus<any>();
  const errors: SystemError[] = [];
  const log: string[] = [];
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry: new StoreRegistry(),
    timelineStore: timeline,
    onError: (e) => errors.push(e),
    ...(options.globals === undefined ? {} : { services: options.globals }),
  });
  const n: Node = { runtime, bus, timeline, ended: [], dispatched: [], errors, log };
  await runtime.register(workflow(options), {
    onComplete: (r) => void n.ended.push(r),
    onDispatch: (d) => void n.dispatched.push(d),
    ...options.register,
  });
  nodes.push(n);
  return n;
}

async function parked(n: Node, key: string): Promise<string> {
  const result = await n.runtime.invoke("w", "go", { key });
  expect(result.ok && result.value.status).toBe("paused");
  return result.metadata.runId!;
}

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value));

async function eventsOf(n: Node, runId: string): Promise<TimelineEvent[]> {
  await n.runtime.flushTimeline();
  return (await n.timeline.query({ runId, limit: 1000 })).events;
}

/** Resolves "timeout" when `promise` has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms = 1_000): Promise<T | "timeout"> {
  return Promise.race([promise, tick(ms).then(() => "timeout" as const)]);
}

describe("detach() while the runtime ends the workflow", () => {
  it("a parked run's onComplete that detaches another parked run while deregister() aborts them: deregister() and stop() still resolve", async () => {
    const saved: RunCheckpoint[] = [];
    let detaching: Promise<void> | undefined;
    const ids: string[] = [];
    const a = await node({
      register: {
        onComplete: (r) => {
          // the first run aborted saves the other one, still paused
          const other = ids.find((id) => id !== r.metadata.runId)!;
          detaching ??= a.runtime.detach(other).then((c) => void saved.push(c));
          a.ended.push(r);
        },
      },
    });
    ids.push(await parked(a, "k1"), await parked(a, "k2"));
    expect(await within(a.runtime.deregister("w"))).toBe(true);
    await detaching;
    expect(a.ended.map((r) => r.ok && r.value.status)).toEqual(["aborted"]);
    expect(saved).toHaveLength(1);
    expect(await within(a.runtime.stop())).toBeUndefined();
  });

  it.each(["stop", "deregister"] as const)(
    "%s() while detach() waits for the run's service cleanups: the workflow's and global services are disposed after them",
    async (end) => {
      const log: string[] = [];
      const cleanup = deferred();
      const a = await node({
        use: ["session", "repo", "pool"],
        globals: [
          {
            id: "pool",
            factory: (ctx) => {
              ctx.onCleanup(() => void log.push("global disposed"));
              return {};
            },
          },
        ],
        services: [
          {
            id: "session",
            scope: "run",
            factory: (ctx) => {
              ctx.onCleanup(async () => {
                await cleanup.promise;
                log.push("session disposed");
              });
              return {};
            },
          },
          {
            id: "repo",
            factory: (ctx) => {
              ctx.onCleanup(() => void log.push("workflow disposed"));
              return {};
            },
          },
        ],
        register: { pauseWindowMs: Infinity },
      });
      const runId = await parked(a, "k1");
      const detaching = a.runtime.detach(runId);
      const ending = end === "stop" ? a.runtime.stop() : a.runtime.deregister("w");
      await tick(10);
      cleanup.resolve();
      expect((await detaching).runId).toBe(runId);
      await ending;
      const expected = ["session disposed", "workflow disposed"];
      if (end === "stop") expected.push("global disposed");
      await expect.poll(() => log, { timeout: 1_000 }).toEqual(expected);
    },
  );
});

describe("detach() racing the run's other ways out", () => {
  it("resume() right after detach() is NOT_FOUND; detach() right after resume() is INVALID_STATE and the run completes", async () => {
    const a = await node();
    const first = await parked(a, "k1");
    const detaching = a.runtime.detach(first);
    const resumed = await a.runtime.resume(first, { x: 1 });
    expect(!resumed.ok && resumed.error.code).toBe("NOT_FOUND");
    expect((await detaching).state).toEqual({ key: "k1" });

    const second = await parked(a, "k2");
    const resuming = a.runtime.resume(second, { x: 1 });
    await expect(a.runtime.detach(second)).rejects.toMatchObject({ code: "INVALID_STATE" });
    const result = await resuming;
    expect(result.ok && result.value).toEqual({
      status: "completed",
      state: { key: "k2", x: 1, after: true },
    });
  });

  it("abort() and detach() in either order: the first wins, the second is refused, one ending at most", async () => {
    const a = await node();
    const first = await parked(a, "k1");
    const aborting = a.runtime.abort(first);
    await expect(a.runtime.detach(first)).rejects.toMatchObject({ code: "INVALID_STATE" });
    await aborting;
    const second = await parked(a, "k2");
    const detaching = a.runtime.detach(second);
    await expect(a.runtime.abort(second)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await detaching;
    expect(a.ended.map((r) => r.metadata.runId)).toEqual([first]);
    expect((await eventsOf(a, second)).at(-1)!.type).toBe("run.paused");
  });

  it("the control events and a matching bus event after detach() reach nothing: reported NOT_FOUND, no timeline event, no hook", async () => {
    const a = await node();
    const runId = await parked(a, "k1");
    const before = (await eventsOf(a, runId)).length;
    const detaching = a.runtime.detach(runId);
    a.bus.emit("ok", { key: "k1" });
    a.bus.emit("sluice.run.resume", { runId, patch: { x: 1 } });
    a.bus.emit("sluice.run.signal", { runId, patch: { x: 1 } });
    a.bus.emit("sluice.run.abort", { runId });
    const checkpoint = await detaching;
    await tick(10);
    expect(checkpoint.state).toEqual({ key: "k1" });
    expect(a.errors.map((e) => e.code)).toEqual(["NOT_FOUND", "NOT_FOUND", "NOT_FOUND"]);
    expect(a.ended).toEqual([]);
    expect(await eventsOf(a, runId)).toHaveLength(before);
  });

  it("a signal before detach() travels in the checkpoint", async () => {
    const a = await node({ register: { pauseWindowMs: 0 } });
    const runId = await parked(a, "k1");
    await tick(5); // released: the signal goes into its JSON
    a.runtime.signal(runId, { note: "released" });
    expect((await a.runtime.detach(runId)).state).toEqual({ key: "k1", note: "released" });
  });

  it("abort() while detach() waits for the run's service cleanups is refused NOT_FOUND (detached), not taken as done", async () => {
    // found by the order-service trial: a customer's cancel arriving during a graceful shutdown
    // was answered as done while the run went on (and shipped) in the process that adopted it
    const cleanup = deferred();
    const a = await node({
      use: ["session"],
      services: [
        {
          id: "session",
          scope: "run",
          factory: (ctx) => {
            ctx.onCleanup(() => cleanup.promise);
            return {};
          },
        },
      ],
      register: { pauseWindowMs: Infinity },
    });
    const runId = await parked(a, "k1");
    const detaching = a.runtime.detach(runId);
    const aborting = a.runtime.abort(runId);
    a.bus.emit("sluice.run.abort", { runId });
    cleanup.resolve();
    await expect(aborting).rejects.toMatchObject({ code: "NOT_FOUND", details: { runId, detached: true } });
    await detaching;
    expect(a.errors.map((e) => [e.code, e.details])).toEqual([
      ["NOT_FOUND", { event: "sluice.run.abort", runId, detached: true }],
    ]);
    expect(a.ended).toEqual([]);
  });

  it("a deadline that would fire while detach() waits for cleanups does not resume the run here", async () => {
    const cleanup = deferred();
    const a = await node({
      use: ["session"],
      waits: () => [{ event: "ok", timeoutMs: 20 }],
      services: [
        {
          id: "session",
          scope: "run",
          factory: (ctx) => {
            ctx.onCleanup(() => cleanup.promise);
            return {};
          },
        },
      ],
      register: { pauseWindowMs: Infinity },
    });
    const runId = await parked(a, "k1");
    const detaching = a.runtime.detach(runId);
    await tick(60);
    cleanup.resolve();
    await detaching;
    await tick(10);
    expect(a.ended).toEqual([]);
    expect((await eventsOf(a, runId)).at(-1)!.type).toBe("run.paused");
  });

  it("detach() while the pause window's release is still disposing the run's services waits for them, and the checkpoint has the state", async () => {
    const cleanup = deferred();
    const log: string[] = [];
    const a = await node({
      use: ["session"],
      services: [
        {
          id: "session",
          scope: "run",
          factory: (ctx) => {
            ctx.onCleanup(async () => {
              await cleanup.promise;
              log.push("disposed");
            });
            return {};
          },
        },
      ],
      register: { pauseWindowMs: 1 },
    });
    const runId = await parked(a, "k1");
    a.runtime.signal(runId, { live: true });
    await tick(20); // the window has passed: the release waits for the cleanup
    let done = false;
    const detaching = a.runtime.detach(runId).then((c) => {
      done = true;
      return c;
    });
    await tick(10);
    expect(done).toBe(false);
    cleanup.resolve();
    expect((await detaching).state).toEqual({ key: "k1", live: true });
    expect(log).toEqual(["disposed"]);
  });

  it("detach() twice at once: the second is NOT_FOUND, the first resolves", async () => {
    const a = await node();
    const runId = await parked(a, "k1");
    const first = a.runtime.detach(runId);
    await expect(a.runtime.detach(runId)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await first).runId).toBe(runId);
  });
});

describe("detach() and adopt() called from host code", () => {
  it("from a step and from onDispatch of another workflow's run, and adopt() from a step and an onComplete", async () => {
    const b = await node();
    const a = await node({
      register: {
        onDispatch: (d) => {
          if (d.outcome === "started") a.dispatched.push(d);
        },
      },
    });
    const ids = [await parked(a, "k1"), await parked(a, "k2"), await parked(a, "k3")];
    const moved: Promise<RunCheckpoint>[] = [];
    await a.runtime.register(
      {
        id: "mover",
        triggers: { go: { event: "move", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "s",
                steps: [
                  {
                    id: "s",
                    action: async () => {
                      moved.push(a.runtime.detach(ids[0]!));
                      const c = await moved[0]!;
                      b.runtime.adopt(json(c));
                    },
                  },
                ],
              },
            ],
          },
        },
      },
      {
        onDispatch: () => void moved.push(a.runtime.detach(ids[1]!)),
        onComplete: async () => {
          b.runtime.adopt(json(await moved[1]!));
        },
      },
    );
    a.bus.emit("move", {});
    await expect.poll(() => b.runtime.listAllRuns().length).toBe(2);
    expect(
      a.runtime
        .listAllRuns()
        .filter((r) => r.workflowId === "w")
        .map((r) => r.runId),
    ).toEqual([ids[2]]);
    b.bus.emit("ok", { key: "k1" });
    b.bus.emit("ok", { key: "k2" });
    await expect.poll(() => b.ended.length).toBe(2);
    expect(a.ended).toEqual([]);
  });

  it("adopt() from a parked run's onComplete while deregister() aborts it: NOT_FOUND (the workflow has gone), nothing half-adopted", async () => {
    const donor = await node();
    const checkpoint = json(await donor.runtime.detach(await parked(donor, "k9")));
    let refused: unknown;
    const a = await node({
      register: {
        onComplete: () => {
          try {
            a.runtime.adopt(checkpoint);
          } catch (error) {
            refused = error;
          }
        },
      },
    });
    await parked(a, "k1");
    await a.runtime.deregister("w");
    expect(refused).toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("adopt(): what the adopted run does", () => {
  /** A checkpoint of workflow "w" paused before "after", as another runtime would have made it. */
  function made(fields: Partial<RunCheckpoint> & Record<string, unknown> = {}): RunCheckpoint {
    return {
      version: 1,
      runId: "elsewhere-1",
      workflowId: "w",
      triggerId: "go",
      pipelineId: "p",
      nextStage: 1,
      nextStageId: "after",
      state: { key: "k1" },
      event: { key: "k1" },
      pause: [{ id: "ok", event: "ok", conditions: [{ path: "key", op: "==", value: "k1" }] }],
      seq: 6,
      startedAt: Date.now() - 1_000,
      dispatched: false,
      ...fields,
    } as RunCheckpoint;
  }

  it("a direct-resume wait beside event waits: resume() resumes it, and so does each event wait and the direct wait's deadline", async () => {
    const a = await node();
    const waits = [
      { id: "direct", timeoutMs: 60_000, deadline: Date.now() + 60_000, timeoutPatch: { via: "timeout" } },
      { id: "e1", event: "ok", conditions: [{ path: "key", op: "==" as const, value: "k1" }] },
      { id: "e2", event: "other" },
    ];
    a.runtime.adopt(made({ runId: "r1", pause: waits }));
    a.runtime.adopt(made({ runId: "r2", pause: waits }));
    a.runtime.adopt(made({ runId: "r3", pause: waits }));
    a.runtime.adopt(
      made({ runId: "r4", pause: [{ ...waits[0]!, deadline: Date.now() + 30 }, waits[1]!, waits[2]!] }),
    );
    const resumed = await a.runtime.resume("r1", { via: "resume" });
    expect(resumed.ok && resumed.value.state).toEqual({ key: "k1", via: "resume", after: true });
    a.bus.emit("ok", { key: "k1", via: "ok" }); // r2, r3, r4 all wait on it
    await expect.poll(() => a.ended.length).toBe(4);
    expect(a.ended.map((r) => r.ok && [r.metadata.runId, r.value.state.via]).sort()).toEqual([
      ["r1", "resume"],
      ["r2", "ok"],
      ["r3", "ok"],
      ["r4", "ok"],
    ]);
    a.runtime.adopt(made({ runId: "r5", pause: [{ ...waits[0]!, deadline: Date.now() + 20 }, waits[1]!] }));
    a.runtime.adopt(made({ runId: "r6", pause: [waits[0]!, waits[2]!] }));
    a.bus.emit("other", { via: "other" });
    await expect.poll(() => a.ended.length).toBe(6);
    expect(a.ended.slice(4).map((r) => r.ok && [r.metadata.runId, r.value.state.via])).toEqual([
      ["r6", "other"],
      ["r5", "timeout"],
    ]);
  });

  it("run-scoped services: built again after the adopted run resumes, disposed when it ends", async () => {
    const log: string[] = [];
    let built = 0;
    const a = await node({
      use: ["session"],
      services: [
        {
          id: "session",
          scope: "run",
          factory: (ctx) => {
            const n = ++built;
            ctx.onCleanup(() => void log.push(`disposed ${n}`));
            return {};
          },
        },
      ],
    });
    a.runtime.adopt(made());
    expect(built).toBe(0);
    a.bus.emit("ok", { key: "k1" });
    await expect.poll(() => a.ended.length).toBe(1);
    expect(built).toBe(1);
    expect(log).toEqual(["disposed 1"]);
  });

  it.each([0, Infinity])(
    "pauseWindowMs %s: an adopted run pausing again here keeps (or releases) its context as any run here",
    async (pauseWindowMs) => {
      const b = await node({ register: { pauseWindowMs } });
      const a = await node({ register: { pauseWindowMs } });
      // a run of "w" in b, paused, moved to a, resumed there at "wait" again: it pauses in a
      const runId = await parked(b, "k1");
      const checkpoint = json(await b.runtime.detach(runId));
      a.runtime.adopt({ ...checkpoint, nextStage: 0, nextStageId: "wait" });
      a.bus.emit("ok", { key: "k1", again: true });
      await expect.poll(() => a.runtime.watch("w", runId)?.stage).toBe("after");
      expect(a.runtime.watch("w", runId)?.status).toBe("paused");
      await tick(10);
      // a released run takes only JSON patches; a live one takes anything its store does
      const signal = () => a.runtime.signal(runId, { big: 1n as unknown as number });
      if (pauseWindowMs === 0) expect(signal).toThrow(/JSON-serialisable/);
      else expect(signal).not.toThrow();
      a.bus.emit("ok", { key: "k1" });
      await expect.poll(() => a.ended.length).toBe(1);
      expect(a.ended[0]!.ok && a.ended[0]!.value.state.after).toBe(true);
    },
  );

  it("a state with __proto__, constructor and prototype keys (own keys, as JSON.parse makes them): the run's state never holds them, rebuilt or not", async () => {
    const a = await node();
    const state = JSON.parse(
      '{"key":"k1","__proto__":{"polluted":true},"constructor":{"x":1},"prototype":2}',
    );
    a.runtime.adopt(made({ runId: "r1", state }));
    a.runtime.adopt(made({ runId: "r2", state }));
    expect(Object.keys(a.runtime.checkpoint("r1")!.state)).toEqual(["key"]);
    await a.runtime.abort("r2");
    const aborted = a.ended[0]!;
    expect(aborted.ok && Object.keys(aborted.value.state)).toEqual(["key"]);
    const resumed = await a.runtime.resume("r1", {});
    expect(resumed.ok && Object.keys(resumed.value.state)).toEqual(["key", "after"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("a wait the bus refuses to subscribe to: adopt() throws and leaves nothing behind (no run, no slot, no subscription)", async () => {
    const inner = createEventBus<any>();
    const bus: EventBus<any> = {
      ...inner,
      on: ((event: string, handler: (payload: unknown) => void) => {
        if (event === "refused") throw new Error("no such topic");
        return inner.on(event, handler);
      }) as EventBus<any>["on"],
    };
    const a = await node({ bus, register: { mode: { type: "exclusive", onBusy: "reject" } } });
    const waits = [
      { id: "fine", event: "ok" },
      { id: "refused", event: "refused" },
    ];
    expect(() => a.runtime.adopt(made({ dispatched: true, pause: waits }))).toThrow(/refused a subscription/);
    expect(a.runtime.listAllRuns()).toEqual([]);
    inner.emit("ok", {});
    await tick(10);
    expect(a.ended).toEqual([]);
    // the slot is free, and the same checkpoint, fixed, can be adopted
    expect(a.runtime.adopt(made({ dispatched: true, pause: [waits[0]!] })).status).toBe("paused");
    await a.runtime.stop();
    expect(inner.listenerCount("ok")).toBe(0);
  });

  it("a deadline past the longest timer (~24.8 days) is not fired early, and fires when it comes", async () => {
    const { vi } = await import("vitest");
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      const a = await node();
      const day = 86_400_000;
      const deadline = Date.now() + 30 * day;
      a.runtime.adopt(
        made({
          pause: [{ id: "t", event: "ok", timeoutMs: 30 * day, deadline, timeoutPatch: { late: true } }],
        }),
      );
      await vi.advanceTimersByTimeAsync(25 * day);
      expect(a.runtime.watch("w", "elsewhere-1")?.status).toBe("paused");
      await vi.advanceTimersByTimeAsync(5 * day - 10);
      expect(a.runtime.watch("w", "elsewhere-1")?.status).toBe("paused");
      await vi.advanceTimersByTimeAsync(20);
      await vi.waitFor(() => expect(a.ended).toHaveLength(1));
      expect(a.ended[0]!.ok && a.ended[0]!.value.state).toEqual({ key: "k1", late: true, after: true });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("execution modes: the slot of a run that comes and goes", () => {
  async function pair(mode: ExecutionMode) {
    const timeline = await createMemoryTimelineStore();
    return [
      await node({ register: { mode } }, timeline),
      await node({ register: { mode } }, timeline),
    ] as const;
  }

  async function dispatchedPaused(n: Node, key: string): Promise<string> {
    const before = n.dispatched.length;
    n.bus.emit("go", { key });
    expect(n.dispatched[before]!.outcome).toBe("started");
    const runId = n.dispatched[before]!.runId!;
    await expect.poll(() => n.runtime.watch("w", runId)?.status).toBe("paused");
    return runId;
  }

  it("exclusive: adopt, detach and adopt again, back and forth, leave one slot holder at a time and none at the end", async () => {
    const [a, b] = await pair({ type: "exclusive", onBusy: "reject" });
    const runId = await dispatchedPaused(a, "k1");
    let checkpoint = json(await a.runtime.detach(runId));
    for (const [from, to] of [
      [a, b],
      [b, a],
      [a, b],
    ] as const) {
      // `from` is free: the run left it
      expect(from.runtime.adopt(checkpoint).status).toBe("paused");
      from.bus.emit("go", { key: "busy" });
      expect(from.dispatched.at(-1)!.outcome).toBe("rejected");
      checkpoint = json(await from.runtime.detach(runId));
      expect(checkpoint.dispatched).toBe(true);
      to.runtime.adopt(checkpoint);
      to.bus.emit("go", { key: "busy" });
      expect(to.dispatched.at(-1)!.outcome).toBe("rejected");
      checkpoint = json(await to.runtime.detach(runId));
    }
    // refused adoptions take no slot
    expect(() => b.runtime.adopt({ ...checkpoint, pause: [{ id: "x", event: "*" }] })).toThrow(
      /checkpoint.pause/,
    );
    b.runtime.adopt(checkpoint);
    expect(() => b.runtime.adopt(checkpoint)).toThrow(/already known/);
    await b.runtime.resume(runId, {});
    b.bus.emit("go", { key: "k2" });
    expect(b.dispatched.at(-1)!.outcome).toBe("started");
    const next = await dispatchedPaused(a, "k3");
    expect(a.runtime.watch("w", next)?.status).toBe("paused");
  });

  it("exclusive queue_single: a run queued behind an adopted run starts when the adopted one ends", async () => {
    const [a, b] = await pair({ type: "exclusive", onBusy: "queue_single" });
    const runId = await dispatchedPaused(a, "k1");
    b.runtime.adopt(json(await a.runtime.detach(runId)));
    b.bus.emit("go", { key: "k2" });
    expect(b.dispatched.at(-1)!.outcome).toBe("queued");
    const queued = b.dispatched.at(-1)!.runId!;
    b.bus.emit("ok", { key: "k1" });
    await expect.poll(() => b.runtime.watch("w", queued)?.status).toBe("paused");
    expect(b.runtime.watch("w", runId)?.status).toBe("completed");
  });

  it("singleton_loop replace: a newer event aborts the adopted run holding the slot (run.aborted continues its seq) and starts a new one", async () => {
    const [a, b] = await pair({ type: "singleton_loop", onBusy: "replace" });
    const runId = await dispatchedPaused(a, "k1");
    const checkpoint = json(await a.runtime.detach(runId));
    b.runtime.adopt(checkpoint);
    b.bus.emit("go", { key: "k2" });
    expect(b.dispatched.at(-1)).toMatchObject({ outcome: "replaced", replacedRunId: runId });
    expect(b.ended.map((r) => r.ok && [r.metadata.runId, r.value.status])).toEqual([[runId, "aborted"]]);
    expect((await eventsOf(b, runId)).at(-1)).toMatchObject({ type: "run.aborted", seq: checkpoint.seq + 1 });
    await expect.poll(() => b.runtime.watch("w", b.dispatched.at(-1)!.runId!)?.status).toBe("paused");
  });

  it("singleton_loop signal: a newer event's state reaches the adopted run holding the slot", async () => {
    const [a, b] = await pair({ type: "singleton_loop", onBusy: "signal" });
    const runId = await dispatchedPaused(a, "k1");
    b.runtime.adopt(json(await a.runtime.detach(runId)));
    b.bus.emit("go", { key: "k1", extra: "signalled" });
    expect(b.dispatched.at(-1)).toMatchObject({ outcome: "signalled", runId });
    expect(b.runtime.checkpoint(runId)!.state).toEqual({ key: "k1", extra: "signalled" });
    b.bus.emit("ok", { key: "k1" });
    await expect.poll(() => b.ended.length).toBe(1);
    expect(b.ended[0]!.ok && b.ended[0]!.value.state).toEqual({ key: "k1", extra: "signalled", after: true });
  });
});

describe("what the runtimes report, and what a detached run leaves behind", () => {
  it("registry, listAllRuns and watch agree after each move; one timeline across three runtimes, no event written for a detached run", async () => {
    const timeline = await createMemoryTimelineStore();
    const [a, b, c] = [await node({}, timeline), await node({}, timeline), await node({}, timeline)];
    const runId = await parked(a, "k1");
    const listed = (n: Node) => [
      n.runtime.listAllRuns().map((r) => [r.runId, r.status, r.stage]),
      n.runtime
        .registry("w")!
        .list()
        .map((r) => [r.runId, r.status, r.stage]),
      n.runtime.watch("w", runId)?.status,
    ];
    expect(listed(a)).toEqual([[[runId, "paused", "after"]], [[runId, "paused", "after"]], "paused"]);
    const c1 = json(await a.runtime.detach(runId));
    expect(listed(a)).toEqual([[], [], undefined]);
    // b resumes it at "wait" again (a definition where it loops), so it pauses a second time there
    b.runtime.adopt({ ...c1, nextStage: 0, nextStageId: "wait" });
    expect(listed(b)).toEqual([[[runId, "paused", "wait"]], [[runId, "paused", "wait"]], "paused"]);
    b.bus.emit("ok", { key: "k1" });
    await expect.poll(() => b.runtime.watch("w", runId)?.stage).toBe("after");
    const c2 = json(await b.runtime.detach(runId));
    expect(listed(b)).toEqual([[], [], undefined]);
    c.runtime.adopt(c2);
    a.bus.emit("ok", { key: "k1" });
    b.bus.emit("ok", { key: "k1" });
    await tick(10);
    expect(c.runtime.watch("w", runId)?.status).toBe("paused");
    c.bus.emit("ok", { key: "k1" });
    await expect.poll(() => c.runtime.watch("w", runId)?.status).toBe("completed");
    expect(listed(c)).toEqual([
      [[runId, "completed", "after"]],
      [[runId, "completed", "after"]],
      "completed",
    ]);
    await a.runtime.flushTimeline();
    await b.runtime.flushTimeline();
    const events = await eventsOf(c, runId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.type === "run.paused").map((e) => e.seq)).toEqual([c1.seq, c2.seq]);
    expect(events.filter((e) => e.type === "run.resumed").map((e) => e.seq)).toEqual([
      c1.seq + 1,
      c2.seq + 1,
    ]);
    expect(events.map((e) => e.type).filter((t) => t.startsWith("run."))).toEqual([
      "run.started",
      "run.paused",
      "run.resumed",
      "run.paused",
      "run.resumed",
      "run.completed",
    ]);
    expect([a.ended, b.ended, c.ended.length]).toEqual([[], [], 1]);
  });

  it("a detached run's bus subscription goes idle as an ended run's does, and stop() removes it", async () => {
    const a = await node();
    const baseline = a.bus.listenerCount("ok");
    const ended = await parked(a, "k1");
    await a.runtime.resume(ended, {});
    const afterEnd = a.bus.listenerCount("ok");
    const detached = await parked(a, "k2");
    await a.runtime.detach(detached);
    expect(a.bus.listenerCount("ok")).toBe(afterEnd);
    // the idle subscription is reused, not doubled, by the next run waiting on it
    const again = await parked(a, "k3");
    expect(a.bus.listenerCount("ok")).toBe(afterEnd);
    await a.runtime.detach(again);
    await a.runtime.stop();
    expect(a.bus.listenerCount("ok")).toBe(baseline);
  });
});
