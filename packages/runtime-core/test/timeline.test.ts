import { SystemError } from "@sluice/errors";
import { StoreRegistry } from "@sluice/store";
import type { TimelineEvent, TimelineStore } from "@sluice/timeline";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import {
  type DispatchResult,
  type ExecutionMode,
  type RunResult,
  type Workflow,
  WorkflowRuntime,
} from "../src/index.js";
import { registerGated } from "./gated-workflow.js";
import { type Harness, harness } from "./helpers.js";

const logged: Workflow = {
  id: "logged",
  triggers: { go: { event: "logged.go", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "work",
          steps: [
            {
              id: "say",
              action: (ctx) => {
                ctx.logger.info("hello", { to: "world" });
                ctx.logger.warn("careful");
                return { said: true };
              },
            },
          ],
        },
        {
          id: "ask",
          steps: [
            {
              id: "wait",
              action: async (ctx) => {
                const pause = await ctx.use((d) => d.require<any>("__pause_service__"));
                pause.register({ event: "answer" });
              },
            },
          ],
        },
        { id: "end", steps: [{ id: "bye", action: () => ({ done: true }) }] },
      ],
    },
  },
};

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

async function eventsOf(store: TimelineStore, runId: string): Promise<TimelineEvent[]> {
  const all: TimelineEvent[] = [];
  let next: string | undefined;
  do {
    const page = await store.query(next === undefined ? { runId } : { runId, next });
    all.push(...page.events);
    next = page.next;
  } while (next !== undefined);
  return all;
}

describe("timeline capture", () => {
  it("records lifecycle events and logger calls, in seq order across a pause", async () => {
    h = await harness();
    await h.runtime.register(logged);
    const paused = await h.runtime.invoke("logged", "go", {});
    const runId = paused.metadata.runId!;
    await h.runtime.resume(runId, { answer: 42 });
    await h.runtime.flushTimeline();
    const events = await eventsOf(h.timeline, runId);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("run.started");
    expect(types).toContain("run.paused");
    expect(types).toContain("run.resumed");
    expect(types.at(-1)).toBe("run.completed");
    expect(types.indexOf("run.paused")).toBeLessThan(types.indexOf("run.resumed"));
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const logs = events.filter((e) => e.source === "logger");
    expect(logs).toMatchObject([
      { type: "log", level: "info", message: "hello", data: { to: "world" }, stage: "work", step: "say" },
      { type: "log", level: "warn", message: "careful" },
    ]);
    for (const e of events) expect(e).toMatchObject({ runId, workflowId: "logged" });
    const stage = events.find((e) => e.type === "stage.completed" && e.stage === "work");
    expect(stage).toBeDefined();
  });

  it("a failed run and an aborted run end with their terminal events; every event has the SPEC's fields", async () => {
    h = await harness();
    await h.runtime.register({
      id: "failing",
      triggers: { go: { event: "failing.go", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "work",
              steps: [
                {
                  id: "boom",
                  action: () => {
                    throw new Error("out of stock");
                  },
                },
              ],
            },
          ],
        },
      },
    });
    await h.runtime.register(logged);
    const failed = await h.runtime.invoke("failing", "go", {});
    const paused = await h.runtime.invoke("logged", "go", {});
    await h.runtime.abort(paused.metadata.runId!);
    await h.runtime.flushTimeline();

    const failedEvents = await eventsOf(h.timeline, failed.metadata.runId!);
    expect(failedEvents.map((e) => e.type)).toEqual([
      "run.started",
      "stage.started",
      "step.started",
      "step.failed",
      "stage.failed",
      "run.failed",
    ]);
    for (const e of failedEvents.slice(3)) {
      expect(e).toMatchObject({ stage: "work", message: expect.stringContaining("out of stock") });
    }
    expect(failedEvents[3]).toMatchObject({ step: "boom", data: { error: { code: "STEP_FAILED" } } });

    const abortedEvents = await eventsOf(h.timeline, paused.metadata.runId!);
    expect(abortedEvents.map((e) => e.type).slice(-2)).toEqual(["run.paused", "run.aborted"]);
    expect(abortedEvents.at(-1)).toMatchObject({ source: "runtime", message: "aborted by the host" });

    for (const events of [failedEvents, abortedEvents]) {
      const seqs = events.map((e) => e.seq);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i)); // per run, increasing by one
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      for (const e of events) {
        expect(e).toMatchObject({
          id: expect.any(String),
          runId: expect.any(String),
          workflowId: expect.any(String),
          seq: expect.any(Number),
          at: expect.any(Number),
          source: expect.stringMatching(/^(runtime|pipeline|logger)$/),
          type: expect.any(String),
        });
        expect(Math.abs(e.at - Date.now())).toBeLessThan(60_000); // epoch ms
      }
    }
  });

  it("a run that fails outside its pipeline (its state store cannot be made) still begins with run.started and ends with run.failed", async () => {
    let refuse = false;
    class FlakyRegistry extends StoreRegistry {
      override create<S extends object>(id: string, initial: S) {
        if (refuse) throw new Error("registry offline");
        return super.create(id, initial);
      }
    }
    h = await harness({ storeRegistry: new FlakyRegistry() });
    await h.runtime.register(logged, { pauseWindowMs: 0 });
    const results: RunResult[] = [];
    await h.runtime.register(
      { ...logged, id: "queued", triggers: { go: { event: "queued.go", pipeline: "p" } } },
      { onComplete: (r) => void results.push(r) },
    );

    // a parked run released at once, resumed while no store can be made
    const paused = await h.runtime.invoke("logged", "go", {});
    await expect.poll(() => h.runtime.checkpoint(paused.metadata.runId!) !== undefined).toBe(true);
    refuse = true;
    const resumed = await h.runtime.resume(paused.metadata.runId!, {});
    expect(resumed.ok).toBe(false);
    // a bus-triggered run whose store cannot be made when it starts
    h.bus.emit("queued.go", {});
    await expect.poll(() => results.length).toBe(1);
    expect(results[0]!.ok).toBe(false);
    await h.runtime.flushTimeline();

    const resumedEvents = await eventsOf(h.timeline, paused.metadata.runId!);
    expect(resumedEvents.map((e) => e.type).slice(-2)).toEqual(["run.paused", "run.failed"]);
    expect(resumedEvents.at(-1)).toMatchObject({
      source: "runtime",
      seq: resumedEvents.at(-2)!.seq + 1,
      message: expect.stringContaining("registry offline"),
    });
    const startEvents = await eventsOf(h.timeline, results[0]!.metadata.runId!);
    // it failed before its pipeline started, so the runtime writes the run.started it would have
    expect(startEvents).toMatchObject([
      { type: "run.started", source: "pipeline", seq: 1, workflowId: "queued" },
      { type: "run.failed", source: "runtime", seq: 2, message: expect.stringContaining("registry offline") },
    ]);
  });

  it.each([
    [
      "throws",
      () => {
        throw new Error("no stock service");
      },
      "HOOK_FAILED",
    ],
    ["rejects", () => Promise.reject(new Error("no stock service")), "HOOK_FAILED"],
    ["runs out of time", () => new Promise<void>(() => {}), "TIMEOUT"],
  ] as const)(
    "a run whose onPrepare %s begins with run.started, as any run, then ends with run.failed",
    async (_, onPrepare, code) => {
      h = await harness();
      const single: Workflow = {
        id: "prepared",
        triggers: { go: { event: "prepared.go", pipeline: "p" } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "x", action: () => ({ done: true }) }] }] } },
      };
      await h.runtime.register(single, { onPrepare: onPrepare as () => void, hookTimeoutMs: 30 });
      await h.runtime.register({ ...single, id: "plain" });
      const failed = await h.runtime.invoke("prepared", "go", {});
      const healthy = await h.runtime.invoke("plain", "go", {});
      expect(!failed.ok && failed.error.code).toBe(code);
      await h.runtime.flushTimeline();

      const runId = failed.metadata.runId!;
      const events = await eventsOf(h.timeline, runId);
      expect(events).toEqual([
        {
          id: `${runId}:1`,
          runId,
          workflowId: "prepared",
          seq: 1,
          at: expect.any(Number),
          source: "pipeline",
          type: "run.started",
        },
        {
          id: `${runId}:2`,
          runId,
          workflowId: "prepared",
          seq: 2,
          at: expect.any(Number),
          source: "runtime",
          type: "run.failed",
          message: failed.ok ? "" : failed.error.message,
          data: { error: expect.objectContaining({ code }) },
        },
      ]);
      expect(events[1]!.at).toBeGreaterThanOrEqual(events[0]!.at);
      // the same fields a run that starts its pipeline writes for run.started
      const [normalStart] = await eventsOf(h.timeline, healthy.metadata.runId!);
      const { id: _i, runId: _r, workflowId: _w, at: _a, ...normalFields } = normalStart!;
      const { id: _i2, runId: _r2, workflowId: _w2, at: _a2, ...preparedFields } = events[0]!;
      expect(preparedFields).toEqual(normalFields);
      expect(h.runtime.watch("prepared", runId)).toMatchObject({ status: "failed" });
    },
  );

  it("a run aborted during its onPrepare begins with run.started and ends with run.aborted, as its hooks ran", async () => {
    h = await harness();
    const hooks: string[] = [];
    await h.runtime.register(logged, {
      onPrepare: () => void hooks.push("onPrepare"),
      onComplete: (r) => void hooks.push(`onComplete ${r.ok ? r.value.status : r.error.code}`),
      onCleanup: () => void hooks.push("onCleanup"),
    });
    const invoked = h.runtime.invoke("logged", "go", {});
    const runId = h.runtime.listAllRuns()[0]!.runId;
    await h.runtime.abort(runId);
    expect(await invoked).toMatchObject({ ok: true, value: { status: "aborted" } });
    expect(hooks).toEqual(["onPrepare", "onComplete aborted", "onCleanup"]);
    await h.runtime.flushTimeline();
    // (it used to be a lone run.aborted, the timeline of a queued run that never started)
    expect((await eventsOf(h.timeline, runId)).map((e) => [e.seq, e.type])).toEqual([
      [1, "run.started"],
      [2, "run.aborted"],
    ]);
  });

  it("a failing store never fails or blocks a run, and the loss is reported", async () => {
    const broken: TimelineStore = {
      append: () => Promise.reject(new Error("disk on fire")),
      query: () => Promise.resolve({ events: [] }),
      delete: () => Promise.resolve(0),
      close: () => Promise.resolve(),
    };
    h = await harness({ timelineStore: broken });
    await h.runtime.register(logged);
    const paused = await h.runtime.invoke("logged", "go", {});
    const r = await h.runtime.resume(paused.metadata.runId!, {});
    expect(r.ok && r.value.status).toBe("completed");
    await h.runtime.flushTimeline();
    expect(h.errors.some((e) => e.code === "STORAGE_FAILED" && e.message.includes("disk on fire"))).toBe(
      true,
    );
  });

  it("a hung store does not block runs", async () => {
    const hung: TimelineStore = {
      append: () => new Promise(() => {}),
      query: () => Promise.resolve({ events: [] }),
      delete: () => Promise.resolve(0),
      close: () => Promise.resolve(),
    };
    h = await harness({ timelineStore: hung, timeline: { flushIntervalMs: 1, closeTimeoutMs: 50 } });
    await h.runtime.register(logged);
    const runIds: string[] = [];
    for (let i = 0; i < 20; i++) {
      const paused = await h.runtime.invoke("logged", "go", {});
      runIds.push(paused.metadata.runId!);
      const r = await h.runtime.resume(paused.metadata.runId!, {});
      expect(r.ok && r.value.status).toBe("completed");
    }
    await h.runtime.stop();
    const timedOut = h.errors.filter(
      (e) => e.code === "TIMEOUT" && e.message.includes("did not finish writing"),
    );
    expect(timedOut).toHaveLength(1);
    // every run with an event the store never took: those of the first append (hung in flight) too
    expect(timedOut[0]!.details).toMatchObject({ runs: 20, runIds });
  });

  it("stamps an invoked run's first events with the run's own start (one clock read)", async () => {
    const store = await createMemoryTimelineStore();
    h = await harness({ timelineStore: store });
    await h.runtime.register({
      id: "stamped",
      triggers: { go: { event: "stamped.go", pipeline: "p" } },
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "x", action: () => ({ done: true }) }] }] } },
    });
    // a clock that moves on every read: any extra read would show as a later timestamp
    const realNow = Date.now;
    let now = realNow();
    Date.now = () => ++now;
    let result: Awaited<ReturnType<WorkflowRuntime["invoke"]>>;
    try {
      result = await h.runtime.invoke("stamped", "go", {});
    } finally {
      Date.now = realNow;
    }
    await h.runtime.flushTimeline();
    const runId = result.metadata.runId!;
    const events = await eventsOf(store, runId);
    const startedAt = h.runtime.watch("stamped", runId)!.startedAt;
    const first = events.filter((e) => ["run.started", "stage.started", "step.started"].includes(e.type));
    expect(first.map((e) => e.at)).toEqual([startedAt, startedAt, startedAt]);
  });

  it("many batches in a row each reach the store intact (batches are emptied and reused)", async () => {
    const memory = await createMemoryTimelineStore();
    // reads each batch a tick after it is handed over, as an asynchronous backend may
    const store: TimelineStore = {
      append: (events) => memory.append(events),
      appendBatch: async (batch) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        await memory.appendBatch!(batch);
      },
      query: (filter) => memory.query(filter),
      delete: (filter) => memory.delete(filter),
      close: () => memory.close(),
    };
    h = await harness({ timelineStore: store, timeline: { maxBatch: 7, flushIntervalMs: 1 } });
    await h.runtime.register({
      id: "busy",
      triggers: { go: { event: "busy.go", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "x",
                  action: (ctx) => {
                    const n = (ctx.state() as { n: number }).n;
                    // every other run logs: a reused batch must not carry a message or data over
                    if (n % 2 === 0) ctx.logger.info(`run ${n}`, { n });
                  },
                },
              ],
            },
          ],
        },
      },
    });
    const runIds: string[] = [];
    for (let n = 0; n < 40; n++) {
      const result = await h.runtime.invoke("busy", "go", { n });
      runIds.push(result.metadata.runId!);
      // some runs in the same batch, some batches apart
      if (n % 9 === 0) await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await h.runtime.flushTimeline();
    for (const [n, runId] of runIds.entries()) {
      const events = await eventsOf(store, runId);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.every((e) => e.runId === runId && e.id === `${runId}:${e.seq}`)).toBe(true);
      const logs = events.filter((e) => e.source === "logger");
      if (n % 2 === 0) {
        expect(logs.map((e) => [e.message, e.data])).toEqual([[`run ${n}`, { n }]]);
      } else expect(logs).toEqual([]);
      expect(events.filter((e) => e.message !== undefined && e.source !== "logger")).toEqual([]);
      expect(events.at(-1)?.type).toBe("run.completed");
    }
    expect(h.errors).toEqual([]);
  });

  it("one run's unserialisable log data does not lose other runs' events", async () => {
    const store = await createMemoryTimelineStore();
    h = await harness({ timelineStore: store, timeline: { flushIntervalMs: 5 } });
    await h.runtime.register({
      ...logged,
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "x",
                  action: (ctx) => {
                    const cyclic: Record<string, unknown> = {};
                    cyclic.self = cyclic;
                    if (ctx.state().bad) ctx.logger.info("cyclic", cyclic);
                    else ctx.logger.info("fine");
                  },
                },
              ],
            },
          ],
        },
      },
    });
    const good = await h.runtime.invoke("logged", "go", {});
    const bad = await h.runtime.invoke("logged", "go", { bad: true });
    expect(good.ok && bad.ok).toBe(true);
    await h.runtime.flushTimeline();
    const goodEvents = await eventsOf(store, good.metadata.runId!);
    expect(goodEvents.map((e) => e.type)).toContain("run.completed");
    expect(goodEvents.some((e) => e.message === "fine")).toBe(true);
    const badEvents = await eventsOf(store, bad.metadata.runId!);
    expect(badEvents.map((e) => e.type)).toContain("run.completed");
    // the cyclic entry itself is kept too: its message, and data saying why it could not be copied
    const cyclic = badEvents.find((e) => e.message === "cyclic");
    expect(Object.keys(cyclic?.data as object)).toEqual(["unserializable"]);
    expect(h.errors.filter((e) => SystemError.is(e, "STORAGE_FAILED"))).toEqual([]);
  });

  it("logger data is recorded as it was at the call, with errors and BigInts made JSON", async () => {
    const store = await createMemoryTimelineStore();
    h = await harness({ timelineStore: store });
    await h.runtime.register({
      ...logged,
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "x",
                  action: (ctx) => {
                    const progress = { done: 0 };
                    ctx.logger.info("progress", progress);
                    progress.done = 1;
                    const failure = Object.assign(new TypeError("no stock"), { code: "E_STOCK" });
                    ctx.logger.error("failed", failure);
                    ctx.logger.info("big", { amount: 12345678901234567890n });
                  },
                },
              ],
            },
          ],
        },
      },
    });
    const run = await h.runtime.invoke("logged", "go", {});
    await h.runtime.flushTimeline();
    const logs = (await eventsOf(store, run.metadata.runId!)).filter((e) => e.source === "logger");
    expect(logs.map((e) => e.data)).toEqual([
      { done: 0 },
      { name: "TypeError", message: "no stock", code: "E_STOCK", stack: expect.any(String) },
      { amount: "12345678901234567890" },
    ]);
    expect(h.errors).toEqual([]);
  });

  it("every logger call is recorded whatever its data: a top-level NaN or Infinity is null, a function or symbol left out, as JSON would have them", async () => {
    h = await harness();
    const values: unknown[] = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -Infinity,
      () => 1,
      Symbol("s"),
      { nested: Number.NaN },
    ];
    await h.runtime.register({
      ...logged,
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "x",
                  action: (ctx) => {
                    for (const [i, v] of values.entries()) ctx.logger.info(`v${i}`, v);
                  },
                },
              ],
            },
          ],
        },
      },
    });
    const run = await h.runtime.invoke("logged", "go", {});
    await h.runtime.flushTimeline();
    const logs = (await eventsOf(h.timeline, run.metadata.runId!)).filter((e) => e.source === "logger");
    expect(logs.map((e) => [e.message, e.data])).toEqual([
      ["v0", null],
      ["v1", null],
      ["v2", null],
      ["v3", undefined],
      ["v4", undefined],
      ["v5", { nested: null }],
    ]);
    expect(logs.map((e) => "data" in e)).toEqual([true, true, true, false, false, true]);
    expect(h.errors).toEqual([]);
  });
});

describe("a retried step on the timeline", () => {
  it("says which attempt each step event is of, why it was retried and how long it waited; a log sits between its attempt's events", async () => {
    h = await harness();
    await h.runtime.register({
      id: "flaky",
      triggers: { go: { event: "flaky.go", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "work",
              steps: [
                {
                  id: "call",
                  retry: { attempts: 3, backoffMs: 1 },
                  action: (ctx) => {
                    ctx.logger.info(`try ${ctx.attempt}`);
                    if (ctx.attempt < 3) throw new Error(`busy ${ctx.attempt}`);
                    return { called: true };
                  },
                },
              ],
            },
          ],
        },
      },
    });
    const result = await h.runtime.invoke("flaky", "go", {});
    expect(result.ok).toBe(true);
    await h.runtime.flushTimeline();
    const steps = (await eventsOf(h.timeline, result.metadata.runId!)).filter((e) => e.step === "call");
    const failure = (attempt: number) => ({
      code: "STEP_FAILED",
      message: `pipelines.p.stages[0].steps[0] (stage "work", step "call") failed on attempt ${attempt} of 3: busy ${attempt}`,
    });
    expect(steps.map((e) => [e.type, e.message, e.data])).toEqual([
      ["step.started", undefined, undefined],
      ["log", "try 1", undefined],
      ["step.retried", failure(1).message, { delayMs: 1, nextAttempt: 2, error: failure(1) }],
      ["step.started", undefined, { attempt: 2 }],
      ["log", "try 2", undefined],
      ["step.retried", failure(2).message, { delayMs: 2, nextAttempt: 3, error: failure(2), attempt: 2 }],
      ["step.started", undefined, { attempt: 3 }],
      ["log", "try 3", undefined],
      ["step.completed", undefined, { attempt: 3 }],
    ]);
  });
});

describe("a queued run that never starts", () => {
  /** Its whole timeline: the runtime's one `run.aborted`, and no `run.started`. */
  async function expectNeverStarted(runId: string, workflowId: string, reason: string): Promise<void> {
    expect(await eventsOf(h.timeline, runId)).toEqual([
      {
        id: `${runId}:1`,
        runId,
        workflowId,
        seq: 1,
        at: expect.any(Number),
        source: "runtime",
        type: "run.aborted",
        message: `never started: ${reason}`,
        data: { neverStarted: true },
      },
    ]);
  }

  /** A run that did start: begins with its one `run.started`, ends with `last`, nothing added. */
  async function expectStarted(runId: string, last: string): Promise<void> {
    const events = await eventsOf(h.timeline, runId);
    expect(events[0]).toMatchObject({ seq: 1, type: "run.started" });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const runEnds = events.filter((e) => /^run\.(completed|failed|aborted)$/.test(e.type));
    expect(runEnds.map((e) => e.type)).toEqual(last === "run.paused" ? [] : [last]);
    expect(events.at(-1)!.type).toBe(last);
    expect(events.filter((e) => e.type === "run.started")).toHaveLength(1);
    for (const e of events) expect(e.data).not.toEqual({ neverStarted: true });
  }

  const queueing: ExecutionMode[] = [
    { type: "serialized" },
    { type: "transient", concurrency: 1 },
    { type: "exclusive", onBusy: "queue_single" },
  ];

  it("abort() of a queued run: its timeline is one run.aborted; the running run's is its own", async () => {
    h = await harness();
    const t = await registerGated(h, { type: "serialized" });
    t.emit("a");
    t.emit("b");
    await expect.poll(() => t.started).toEqual(["a"]);
    const queued = t.dispatched[1]!;
    expect(queued.outcome).toBe("queued");
    await h.runtime.abort(queued.runId!);
    t.open("a");
    await expect.poll(() => t.completed.length).toBe(1);
    await h.runtime.flushTimeline();
    await expectNeverStarted(queued.runId!, "gated", "aborted by the host");
    await expectStarted(t.dispatched[0]!.runId!, "run.completed");
  });

  it("exclusive queue_single: the superseded run's timeline is one run.aborted; the one that superseded it starts as any run", async () => {
    h = await harness();
    const t = await registerGated(h, { type: "exclusive", onBusy: "queue_single" });
    t.emit("a");
    t.emit("b");
    t.emit("c");
    const [first, superseded, , latest] = t.dispatched;
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "dropped", "queued"]);
    t.open("a");
    await expect.poll(() => t.started).toEqual(["a", "c"]);
    t.open("c");
    await expect.poll(() => t.completed.length).toBe(2);
    await h.runtime.flushTimeline();
    await expectNeverStarted(superseded!.runId!, "gated", `superseded by run ${latest!.runId}`);
    await expectStarted(first!.runId!, "run.completed");
    await expectStarted(latest!.runId!, "run.completed");
  });

  it.each(queueing)(
    "%o: deregister() drops the queued run with one run.aborted; the running run, aborted, has its own",
    async (mode) => {
      h = await harness();
      const t = await registerGated(h, mode);
      t.emit("a");
      t.emit("b");
      await expect.poll(() => t.started).toEqual(["a"]);
      const [running, queued] = t.dispatched;
      expect(queued!.outcome).toBe("queued");
      await h.runtime.deregister("gated");
      await h.runtime.flushTimeline();
      await expectNeverStarted(queued!.runId!, "gated", "the workflow was deregistered");
      await expectStarted(running!.runId!, "run.aborted");
    },
  );

  it.each(queueing)(
    "%o: stop() drops the queued run with one run.aborted, written before the timeline closes",
    async (mode) => {
      h = await harness();
      const t = await registerGated(h, mode);
      t.emit("a");
      t.emit("b");
      await expect.poll(() => t.started).toEqual(["a"]);
      const [running, queued] = t.dispatched;
      expect(queued!.outcome).toBe("queued");
      await h.runtime.stop();
      await expectNeverStarted(queued!.runId!, "gated", "the workflow was deregistered");
      await expectStarted(running!.runId!, "run.aborted");
    },
  );

  it("drain() drops a run queued behind a parked run's exclusive slot with one run.aborted; the parked run's timeline is untouched", async () => {
    h = await harness();
    const dispatched: DispatchResult[] = [];
    await h.runtime.register(
      { ...logged, id: "parking", triggers: { go: { event: "parking.go", pipeline: "p" } } },
      { mode: { type: "exclusive", onBusy: "queue_single" }, onDispatch: (r) => dispatched.push(r) },
    );
    h.bus.emit("parking.go", {});
    const parked = dispatched[0]!.runId!;
    await expect.poll(() => h.runtime.watch("parking", parked)?.status).toBe("paused");
    h.bus.emit("parking.go", {});
    const queued = dispatched[1]!;
    expect(queued.outcome).toBe("queued");
    const report = await h.runtime.drain({ timeoutMs: 1000 });
    expect(report).toMatchObject({ paused: [parked], dropped: [queued.runId] });
    await h.runtime.flushTimeline();
    await expectNeverStarted(
      queued.runId!,
      "parking",
      "the runtime drained while it was queued behind a parked run holding its workflow's slot",
    );
    await expectStarted(parked, "run.paused");
  });
});

describe("createTestTimelineStore", () => {
  /** Installs a fresh fake indexedDB as the host's, for this test only. */
  function hostIndexedDB(): IDBFactory {
    const g = globalThis as Record<string, unknown>;
    const factory = new IDBFactory();
    g.indexedDB = factory;
    g.IDBKeyRange = IDBKeyRange;
    onTestFinished(() => {
      delete g.indexedDB;
      delete g.IDBKeyRange;
    });
    return factory;
  }

  it("returns a working IndexedDB-backed store on the host's indexedDB (fake-indexeddb in Node)", async () => {
    hostIndexedDB();
    const store = await WorkflowRuntime.createTestTimelineStore(`test-${Date.now()}`);
    h = await harness({ timelineStore: store });
    await h.runtime.register(logged);
    const paused = await h.runtime.invoke("logged", "go", {});
    await h.runtime.flushTimeline();
    const events = await eventsOf(store, paused.metadata.runId!);
    expect(events.map((e) => e.type)).toContain("run.paused");
    await store.close();
  });

  it('without a database name uses "sluice-test-timeline"', async () => {
    const factory = hostIndexedDB();
    const store = await WorkflowRuntime.createTestTimelineStore();
    expect((await factory.databases()).map((d) => d.name)).toEqual(["sluice-test-timeline"]);
    await store.close();
  });

  it("keeps what was stored: a second call with the same name sees the first one's events", async () => {
    hostIndexedDB();
    const event = {
      id: "e1",
      runId: "r1",
      workflowId: "w",
      seq: 1,
      at: 1,
      source: "runtime",
      type: "run.started",
    };
    const first = await WorkflowRuntime.createTestTimelineStore();
    await first.append([event]);
    await first.close();
    const second = await WorkflowRuntime.createTestTimelineStore();
    expect((await second.query()).events).toEqual([event]);
    await second.delete({ before: Infinity });
    expect((await second.query()).events).toEqual([]);
    await second.close();
  });

  it("where the host has no indexedDB, rejects INVALID_STATE saying how to get one in Node", async () => {
    expect((globalThis as Record<string, unknown>).indexedDB).toBeUndefined();
    await expect(WorkflowRuntime.createTestTimelineStore("t")).rejects.toMatchObject({
      code: "INVALID_STATE",
      message: expect.stringMatching(
        /^WorkflowRuntime\.createTestTimelineStore: .*import "fake-indexeddb\/auto"/,
      ),
    });
  });

  it.each(["", 42, null])(
    "a database name %o is refused with INVALID_INPUT naming the argument",
    async (database) => {
      hostIndexedDB();
      await expect(WorkflowRuntime.createTestTimelineStore(database as never)).rejects.toMatchObject({
        code: "INVALID_INPUT",
        message: expect.stringContaining(
          "WorkflowRuntime.createTestTimelineStore(database): database must be a non-empty string",
        ),
      });
    },
  );
});
