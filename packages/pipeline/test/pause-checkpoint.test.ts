import { SystemError } from "@sluice/errors";
import { createStateStore } from "@sluice/store";
import { describe, expect, it } from "vitest";
import type { PauseRequest, PipelineCheckpoint, PipelineRun, PipelineState } from "../src/index.js";
import { MapDependencies, MemoryState, RecordingObserver } from "./helpers.js";
import { Pipeline } from "./loops.js";

interface PauseService {
  register(request: PauseRequest): void;
}

/** Everything a process would rebuild from scratch: definition, closures, state, services. */
function freshContext(initial: PipelineState) {
  const ran: string[] = [];
  const pipeline = new Pipeline<PipelineState>("fulfil", {
    stages: [
      {
        id: "validate",
        steps: [
          {
            id: "check",
            action: () => {
              ran.push("check");
              return { valid: true };
            },
          },
        ],
      },
      {
        id: "approval",
        steps: [
          {
            id: "wait",
            action: async (ctx) => {
              ran.push("wait");
              const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
              pause.register({
                event: "order.approved",
                conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
              });
            },
          },
          {
            id: "note",
            action: () => {
              ran.push("note");
              return { noted: true };
            },
          },
        ],
      },
      {
        id: "ship",
        steps: [
          {
            id: "ship",
            action: (ctx) => {
              ran.push("ship");
              return { shipped: ctx.state().approvedBy !== undefined };
            },
          },
        ],
      },
    ],
  });
  const state = new MemoryState<PipelineState>(initial);
  let current: PipelineRun<PipelineState> | undefined;
  const dependencies = new MapDependencies<PipelineState>(
    { __pause_service__: { register: (request: PauseRequest) => current?.requestPause(request) } },
    state,
  );
  const observer = new RecordingObserver();
  const track = (run: PipelineRun<PipelineState>) => {
    current = run;
    return run;
  };
  return { pipeline, state, dependencies, observer, ran, track };
}

describe("pause and checkpoint", () => {
  it("finishes the stage, stops before the next and yields a checkpoint that survives JSON into a fresh context", async () => {
    const first = freshContext({ orderId: "o-1" });
    const result = await first
      .track(
        first.pipeline.start({
          runId: "run-1",
          state: first.state,
          dependencies: first.dependencies,
          observer: first.observer,
          event: { name: "order.placed", orderId: "o-1" },
        }),
      )
      .execute();
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.status).toBe("paused");
    expect(first.ran).toEqual(["check", "wait", "note"]);
    expect(result.metadata.stage).toBe("approval");
    const checkpoint = result.value.checkpoint!;
    expect(checkpoint).toEqual({
      version: 1,
      runId: "run-1",
      pipelineId: "fulfil",
      nextStage: 2,
      nextStageId: "ship",
      pausedAfterStageId: "approval",
      state: { orderId: "o-1", valid: true, noted: true },
      event: { name: "order.placed", orderId: "o-1" },
      pause: [{ event: "order.approved", conditions: [{ path: "orderId", op: "==", value: "o-1" }] }],
      seq: first.observer.events.at(-1)!.seq,
    });
    expect(first.observer.events.at(-1)).toMatchObject({
      type: "run.paused",
      stage: "approval",
      data: { nextStage: "ship", pause: checkpoint.pause },
    });

    const wire = JSON.stringify(checkpoint);
    const parsed = JSON.parse(wire) as PipelineCheckpoint<PipelineState>;

    const second = freshContext(parsed.state);
    const resumed = await second
      .track(
        second.pipeline.restore(parsed, {
          runId: parsed.runId,
          state: second.state,
          dependencies: second.dependencies,
          observer: second.observer,
          patch: { approvedBy: "alice" },
        }),
      )
      .execute();
    expect(resumed.ok && resumed.value.status).toBe("completed");
    expect(second.ran).toEqual(["ship"]);
    expect(resumed.ok && resumed.value.state).toEqual({
      orderId: "o-1",
      valid: true,
      noted: true,
      approvedBy: "alice",
      shipped: true,
    });
    const types = second.observer.events.map((e) => e.type);
    expect(types[0]).toBe("run.resumed");
    // restored without resumedBy: the host resumed it
    expect(second.observer.events[0]?.data).toEqual({ nextStage: "ship", by: "resume" });
    expect(types.at(-1)).toBe("run.completed");
    expect(second.observer.events.map((e) => e.seq)).toEqual(
      second.observer.events.map((_, i) => checkpoint.seq + 1 + i),
    );
  });

  it("pauses when asked in the last stage, and restoring it completes without running a stage", async () => {
    let run: PipelineRun<PipelineState> | undefined;
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        { id: "a", steps: [{ id: "a", action: () => ({ a: 1 }) }] },
        {
          id: "last",
          steps: [
            {
              id: "ask",
              action: () => {
                run?.requestPause({ reason: "review" });
              },
            },
          ],
        },
      ],
    });
    const state = new MemoryState<PipelineState>({});
    run = pipeline.start({ runId: "r", state });
    const result = await run.execute();
    expect(result.ok && result.value.status).toBe("paused");
    const checkpoint = JSON.parse(JSON.stringify(result.ok && result.value.checkpoint));
    expect(checkpoint).toMatchObject({ nextStage: 2, nextStageId: null, pause: [{ reason: "review" }] });
    expect(run.status).toBe("paused");

    const observer = new RecordingObserver();
    const fresh = new MemoryState<PipelineState>(checkpoint.state);
    const resumed = await pipeline
      .restore(checkpoint, { runId: "r", state: fresh, observer, patch: { ok: true } })
      .execute();
    expect(resumed.ok && resumed.value).toEqual({ status: "completed", state: { a: 1, ok: true } });
    expect(observer.trace()).toEqual(["run.resumed", "run.completed"]);
  });

  it("collects every request of the stage, pauses again after a resume, and drops withdrawn requests", async () => {
    let run: PipelineRun<PipelineState> | undefined;
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "one",
          concurrent: true,
          steps: [
            { id: "x", action: () => void run?.requestPause({ id: "x" }) },
            { id: "y", action: () => void run?.requestPause({ id: "y" }) },
            { id: "z", action: () => void run?.requestPause({ id: "z" }) },
          ],
        },
        {
          id: "two",
          steps: [
            {
              id: "w",
              action: () => {
                run?.requestPause({ id: "w" });
                run?.withdrawPause((r) => r.id === "w");
              },
            },
          ],
        },
        { id: "three", steps: [{ id: "p", action: () => void run?.requestPause({ id: "p" }) }] },
      ],
    });
    const state = new MemoryState<PipelineState>({});
    run = pipeline.start({ runId: "r", state });
    const first = await run.execute();
    const cp1 = first.ok ? first.value.checkpoint! : undefined;
    expect(cp1?.pause).toEqual([{ id: "x" }, { id: "y" }, { id: "z" }]);
    expect(cp1?.nextStageId).toBe("two");

    run = pipeline.restore(cp1!, { runId: "r", state });
    const second = await run.execute();
    // "two" withdrew its only request, so the run went on and paused in "three"
    expect(second.ok && second.value.checkpoint).toMatchObject({
      nextStage: 3,
      nextStageId: null,
      pause: [{ id: "p" }],
    });
  });

  it("detaches each pause request in the checkpoint and shares the trigger event, as documented", async () => {
    let run: PipelineRun<PipelineState> | undefined;
    const request: Record<string, unknown> = { id: "mutable", event: "go" };
    const frozen = Object.freeze({ id: "frozen", event: "go" });
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "ask",
          steps: [
            {
              id: "ask",
              action: () => {
                run?.requestPause(request);
                run?.requestPause(frozen);
                request.event = "changed after the request";
              },
            },
          ],
        },
        { id: "next", steps: [{ id: "n", action: () => undefined }] },
      ],
    });
    const event = { orderId: "o1" };
    run = pipeline.start({ runId: "r", state: new MemoryState<PipelineState>({}), event });
    const result = await run.execute();
    const checkpoint = result.ok ? result.value.checkpoint! : undefined;
    // The request was copied when the run paused, after the step's edit; later edits do not reach it.
    expect(checkpoint?.pause).toEqual([{ id: "mutable", event: "changed after the request" }, frozen]);
    request.event = "changed after the pause";
    request.extra = true;
    expect(checkpoint?.pause[0]).toEqual({ id: "mutable", event: "changed after the request" });
    expect(checkpoint?.pause[0]).not.toBe(request);
    // A frozen request cannot change, so it is kept as is (no copy on the pause service's path).
    expect(checkpoint?.pause[1]).toBe(frozen);
    // The trigger event is shared, not copied.
    expect(checkpoint?.event).toBe(event);
  });

  it("keeps a frozen state snapshot (a @sluice/store's) as is and copies any other state shallowly", async () => {
    let run: PipelineRun<PipelineState> | undefined;
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        { id: "ask", steps: [{ id: "ask", action: () => void run?.requestPause({ id: "p" }) }] },
        { id: "next", steps: [{ id: "n", action: () => undefined }] },
      ],
    });
    // a store whose get() hands out frozen snapshots: the checkpoint shares the snapshot
    const store = createStateStore<PipelineState>({ a: 1, nested: { b: 2 } });
    run = pipeline.start({ runId: "r1", state: store });
    const fromStore = await run.execute();
    const shared = fromStore.ok ? fromStore.value.checkpoint! : undefined;
    expect(shared?.state).toBe(store.get());
    expect(Object.isFrozen(shared?.state)).toBe(true);
    // the store's next write makes a new snapshot: the checkpoint's state stays what it paused with
    store.set({ a: 2, later: true });
    expect(shared?.state).toEqual({ a: 1, nested: { b: 2 } });

    // a state written in place (not frozen) is copied, so writes after the pause do not reach it
    const live: PipelineState = { a: 1, nested: { b: 2 } };
    const inPlace = {
      get: () => live,
      set: (patch: Partial<PipelineState>) => void Object.assign(live, patch),
    };
    run = pipeline.start({ runId: "r2", state: inPlace });
    const fromInPlace = await run.execute();
    const copied = fromInPlace.ok ? fromInPlace.value.checkpoint! : undefined;
    expect(copied?.state).not.toBe(live);
    live.a = 2;
    expect(copied?.state).toEqual({ a: 1, nested: { b: 2 } });
    // shallow: nested values are shared
    expect(copied?.state.nested).toBe(live.nested);
  });

  it("drops pause requests when the stage fails", async () => {
    let run: PipelineRun<PipelineState> | undefined;
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            { id: "ask", action: () => void run?.requestPause({ id: 1 }) },
            {
              id: "fail",
              action: () => {
                throw new Error("x");
              },
            },
          ],
        },
        { id: "t", steps: [{ id: "t", action: () => undefined }] },
      ],
    });
    run = pipeline.start({ runId: "r", state: new MemoryState({}) });
    const result = await run.execute();
    expect(result.ok).toBe(false);
    expect(run.status).toBe("failed");
  });

  it("refuses a pause request when nothing runs", async () => {
    const pipeline = new Pipeline("p", {
      stages: [{ id: "s", steps: [{ id: "x", action: () => undefined }] }],
    });
    const run = pipeline.start({ runId: "r", state: new MemoryState({}) });
    expect(() => run.requestPause({})).toThrow(expect.objectContaining({ code: "INVALID_STATE" }));
    await run.execute();
    expect(() => run.requestPause({})).toThrow(
      /is completed: a pause can only be requested while the run is running/,
    );
  });

  it("refuses a pause request that is not a plain object: its data would not reach the checkpoint", async () => {
    const requests: Array<[string, unknown]> = [
      ["an instance of Map", new Map([["event", "order.approved"]])],
      ["an instance of Date", Object.freeze(new Date(0))],
      [
        "an instance of Wait",
        new (class Wait {
          event = "order.approved";
        })(),
      ],
      // (not "an instance of Object", which reads as the plain object it asks for)
      [
        "an object whose prototype is not Object.prototype (such as Object.create(proto))",
        Object.create({ event: "order.approved" }),
      ],
    ];
    for (const [kind, request] of requests) {
      let refused: unknown;
      let run: PipelineRun<PipelineState> | undefined;
      const pipeline = new Pipeline("p", {
        stages: [
          {
            id: "ask",
            steps: [
              {
                id: "ask",
                action: () => {
                  try {
                    run!.requestPause(request as PauseRequest);
                  } catch (error) {
                    refused = error;
                  }
                },
              },
            ],
          },
          { id: "next", steps: [{ id: "next", action: () => undefined }] },
        ],
      });
      run = pipeline.start({ runId: "r", state: new MemoryState({}) });
      const result = await run.execute();
      expect({ kind, refused }).toEqual({
        kind,
        refused: expect.objectContaining({
          code: "INVALID_INPUT",
          message: `run "r": a pause request must be a plain object (got ${kind})`,
        }),
      });
      expect(result.ok && result.value.status).toBe("completed");
    }
  });

  it("restoring on an aborted signal yields aborted without running anything or applying the patch", async () => {
    const ran: string[] = [];
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        { id: "a", steps: [{ id: "a", action: () => void ran.push("a") }] },
        { id: "b", steps: [{ id: "b", action: () => void ran.push("b") }] },
      ],
    });
    const checkpoint: PipelineCheckpoint<PipelineState> = {
      version: 1,
      runId: "r",
      pipelineId: "p",
      nextStage: 1,
      nextStageId: "b",
      state: { kept: true },
      event: null,
      pause: [{}],
      seq: 7,
    };
    const controller = new AbortController();
    controller.abort("aborted while paused");
    const state = new MemoryState<PipelineState>(checkpoint.state);
    const observer = new RecordingObserver();
    const result = await pipeline
      .restore(checkpoint, {
        runId: "r",
        state,
        observer,
        signal: controller.signal,
        patch: { resumed: true },
      })
      .execute();
    expect(result.ok && result.value).toEqual({ status: "aborted", state: { kept: true } });
    expect(ran).toEqual([]);
    expect(observer.events.map((e) => [e.type, e.seq])).toEqual([["run.aborted", 8]]);
  });

  it("drops patch keys that could reach a prototype", async () => {
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [{ id: "a", steps: [{ id: "a", action: () => undefined }] }],
    });
    const checkpoint = {
      version: 1 as const,
      runId: "r",
      pipelineId: "p",
      nextStage: 1,
      nextStageId: null,
      state: {},
      event: null,
      pause: [],
      seq: 0,
    };
    const state = new MemoryState<PipelineState>({});
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1, "fine": 2}');
    await pipeline.restore(checkpoint, { runId: "r", state, patch }).execute();
    expect(state.get()).toEqual({ fine: 2 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("rejects malformed checkpoints, other pipelines' checkpoints and removed stages with INVALID_INPUT", () => {
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        { id: "a", steps: [{ id: "a", action: () => undefined }] },
        { id: "b", steps: [{ id: "b", action: () => undefined }] },
      ],
    });
    const good = {
      version: 1 as const,
      runId: "r",
      pipelineId: "p",
      nextStage: 1,
      nextStageId: "b",
      state: {},
      event: null,
      pause: [],
      seq: 3,
    };
    const state = new MemoryState<PipelineState>({});
    const attempt =
      (cp: unknown, runId = "r") =>
      () =>
        pipeline.restore(cp as PipelineCheckpoint<PipelineState>, { runId, state });
    expect(attempt(good)).not.toThrow();
    const cases: [unknown, RegExp][] = [
      [null, /checkpoint must be an object/],
      [{ ...good, version: 2 }, /checkpoint\.version: unsupported checkpoint version 2/],
      [
        { ...good, pipelineId: "other" },
        /checkpoint of pipeline "other" cannot be restored into pipeline "p"/,
      ],
      [{ ...good, nextStage: -1 }, /checkpoint\.nextStage: must be a non-negative integer/],
      [{ ...good, nextStageId: "z" }, /pipeline "p" has no stage "z" \(stages: a, b\)/],
      [{ ...good, state: "x" }, /checkpoint\.state: must be an object/],
      [{ ...good, pause: [1] }, /checkpoint\.pause: must be an array of objects/],
      [{ ...good, seq: -1 }, /checkpoint\.seq/],
    ];
    for (const [cp, message] of cases) {
      expect(attempt(cp)).toThrow(message);
      try {
        attempt(cp)();
      } catch (e) {
        expect(SystemError.is(e, "INVALID_INPUT")).toBe(true);
      }
    }
    expect(attempt(good, "someone-else")).toThrow(
      /checkpoint is for run "r" but options.runId is "someone-else"/,
    );
  });

  it("readCheckpoint checks a checkpoint as restore does, without preparing a run, and returns a copy", () => {
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        { id: "a", steps: [{ id: "a", action: () => ({}) }] },
        { id: "b", steps: [{ id: "b", action: () => ({}) }] },
      ],
    });
    const state = { n: 1 };
    const saved = {
      version: 1,
      runId: "r",
      pipelineId: "p",
      nextStage: 1,
      nextStageId: "b",
      state,
      event: { e: 1 },
      pause: [{ id: "w" }],
      seq: 3,
      workflowId: "extra fields are left out",
    };
    const read = pipeline.readCheckpoint(saved);
    expect(read).toEqual({ ...saved, workflowId: undefined });
    expect(Object.keys(read)).not.toContain("workflowId");
    expect(read).not.toBe(saved);
    expect(read.state).toBe(state);
    expect(() => pipeline.readCheckpoint({ ...saved, nextStageId: "z" })).toThrow(
      /the pipeline's stages changed since the run paused/,
    );
    expect(() => pipeline.readCheckpoint("{}")).toThrow(/checkpoint must be an object made by a paused run/);
  });

  describe("restore refuses what it cannot use as documented, with INVALID_INPUT", () => {
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        { id: "a", steps: [{ id: "a", action: () => ({ ranA: true }) }] },
        { id: "b", steps: [{ id: "b", action: () => ({ ranB: true }) }] },
      ],
    });
    const good = () => ({
      version: 1 as const,
      runId: "r",
      pipelineId: "p",
      nextStage: 1,
      nextStageId: "b",
      state: {},
      event: null,
      pause: [],
      seq: 3,
    });
    const refusal = (restore: () => unknown): SystemError => {
      try {
        restore();
      } catch (error) {
        expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
        return error as SystemError;
      }
      throw new Error("restore accepted it");
    };

    it("a seq that is not a safe integer, or that leaves the run's events no room below it (they would share one seq)", () => {
      const state = new MemoryState<PipelineState>({});
      for (const seq of [
        Number.MAX_SAFE_INTEGER + 10,
        2 ** 60,
        Number.MAX_SAFE_INTEGER,
        Number.MAX_SAFE_INTEGER - 100,
        2 ** 52 + 1,
      ]) {
        const error = refusal(() => pipeline.restore({ ...good(), seq }, { runId: "r", state }));
        expect(error.message).toMatch(
          /checkpoint\.seq: must be an integer from 0 to 4503599627370496 \(2\^52/,
        );
        expect(refusal(() => pipeline.readCheckpoint({ ...good(), seq })).message).toBe(error.message);
      }
    });

    it("a seq at the bound (2^52): the restored run numbers its events on from it, each seq its own", async () => {
      const observer = new RecordingObserver();
      const run = pipeline.restore(
        { ...good(), seq: 2 ** 52 },
        { runId: "r", state: new MemoryState<PipelineState>({}), observer },
      );
      await run.execute();
      const seqs = observer.events.map((e) => e.seq);
      expect(seqs.length).toBeGreaterThan(1);
      expect(seqs).toEqual(seqs.map((_, i) => 2 ** 52 + 1 + i));
    });

    it("a patch that is not a plain object: a Map, a Date, a class instance", () => {
      class Approval {
        approved = true;
      }
      for (const [patch, kind] of [
        [new Map([["approved", true]]), "an instance of Map"],
        [new Date(0), "an instance of Date"],
        [new Approval(), "an instance of Approval"],
      ] as const) {
        const state = new MemoryState<PipelineState>({});
        const error = refusal(() =>
          pipeline.restore(good(), { runId: "r", state, patch: patch as unknown as PipelineState }),
        );
        expect(error.message).toBe(
          `pipeline "p" run "r": "patch" must be a plain object of the fields to merge, like { approved: true } (got ${kind})`,
        );
        expect(state.writes).toBe(0);
      }
    });

    it("a patch that throws when read", () => {
      const patch = {
        get approved(): boolean {
          throw new Error("getter boom");
        },
      };
      const error = refusal(() =>
        pipeline.restore(good(), { runId: "r", state: new MemoryState<PipelineState>({}), patch }),
      );
      expect(error.message).toContain('"patch" could not be read (getter boom)');
      expect((error.cause as Error).message).toBe("getter boom");
    });

    it("a checkpoint that throws when read (a Proxy)", () => {
      const checkpoint = new Proxy(good(), {
        get(target, key) {
          if (key === "seq") throw new Error("trap");
          return target[key as keyof typeof target];
        },
      });
      const error = refusal(() =>
        pipeline.restore(checkpoint, { runId: "r", state: new MemoryState<PipelineState>({}) }),
      );
      expect(error.message).toContain("checkpoint could not be read (trap)");
    });

    it("reads each checkpoint field once: a getter cannot pass the checks and then answer otherwise", async () => {
      let reads = 0;
      const checkpoint = {
        ...good(),
        get nextStage(): number {
          reads++;
          return reads === 1 ? 1 : 0;
        },
      };
      const state = new MemoryState<PipelineState>({});
      const result = await pipeline.restore(checkpoint, { runId: "r", state }).execute();
      expect(result.ok && result.value.state).toEqual({ ranB: true });
      expect(reads).toBe(1);
    });
  });
});

describe("restore refuses a patch that only poses as a plain object", () => {
  it("an object whose prototype is a null-prototype look-alike is INVALID_INPUT", async () => {
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [{ id: "s", steps: [{ id: "x", action: () => ({ done: true }) }] }],
    });
    const checkpoint: PipelineCheckpoint<PipelineState> = {
      version: 1,
      runId: "r",
      pipelineId: "p",
      nextStage: 0,
      nextStageId: "s",
      state: {},
      event: {},
      pause: [],
      seq: 0,
    } as unknown as PipelineCheckpoint<PipelineState>;
    const lookalike = Object.assign(Object.create(null), { inherited: 1 });
    const patch = Object.assign(Object.create(lookalike), { own: 1 });
    // the same checkpoint with a plain patch restores: the look-alike is what is refused
    expect(() =>
      pipeline.restore(checkpoint, { runId: "r", state: new MemoryState({}), patch: { own: 1 } }),
    ).not.toThrow();
    expect(() => pipeline.restore(checkpoint, { runId: "r", state: new MemoryState({}), patch })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining("patch") }),
    );
  });
});

describe("run.resumed says what resumed the run (RestoreOptions.resumedBy)", () => {
  async function paused() {
    let run: PipelineRun<PipelineState> | undefined;
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        { id: "ask", steps: [{ id: "ask", action: () => void run?.requestPause({ id: "reply" }) }] },
        { id: "close", steps: [{ id: "close", action: () => ({ closed: true }) }] },
      ],
    });
    run = pipeline.start({ runId: "r", state: new MemoryState<PipelineState>({}) });
    const result = await run.execute();
    if (!result.ok || result.value.status !== "paused") throw new Error("the run did not pause");
    return { pipeline, checkpoint: result.value.checkpoint! };
  }

  async function resumedData(resumedBy: unknown): Promise<unknown> {
    const { pipeline, checkpoint } = await paused();
    const observer = new RecordingObserver();
    const options = { runId: "r", state: new MemoryState<PipelineState>({}), observer, resumedBy };
    const result = await pipeline.restore(checkpoint, options as never).execute();
    expect(result.ok && result.value.status).toBe("completed");
    expect(observer.events[0]?.type).toBe("run.resumed");
    return observer.events[0]?.data;
  }

  it("writes each cause given, only with the fields given, after nextStage", async () => {
    expect(await resumedData({ by: "event", event: "ticket.replied", wait: "reply" })).toEqual({
      nextStage: "close",
      by: "event",
      event: "ticket.replied",
      wait: "reply",
    });
    const timeout = await resumedData({ by: "timeout", event: "ticket.replied" });
    expect(timeout).toEqual({ nextStage: "close", by: "timeout", event: "ticket.replied" });
    expect(Object.keys(timeout as object)).toEqual(["nextStage", "by", "event"]);
    expect(await resumedData({ by: "control" })).toEqual({ nextStage: "close", by: "control" });
    expect(await resumedData({ by: "resume" })).toEqual({ nextStage: "close", by: "resume" });
    // fields given as undefined are left out, as absent ones
    const bare = await resumedData({ by: "timeout", event: undefined, wait: undefined });
    expect(Object.keys(bare as object)).toEqual(["nextStage", "by"]);
  });

  it('without resumedBy the host resumed it: by "resume"', async () => {
    expect(await resumedData(undefined)).toEqual({ nextStage: "close", by: "resume" });
  });

  it("reads resumedBy once, at restore: a later edit does not reach the event", async () => {
    const { pipeline, checkpoint } = await paused();
    const observer = new RecordingObserver();
    let reads = 0;
    const cause = {
      get by() {
        reads++;
        return "event";
      },
      event: "ticket.replied",
    };
    const run = pipeline.restore(checkpoint, {
      runId: "r",
      state: new MemoryState<PipelineState>({}),
      observer,
      resumedBy: cause as never,
    });
    cause.event = "ticket.closed";
    await run.execute();
    expect(reads).toBe(1);
    expect(observer.events[0]?.data).toEqual({ nextStage: "close", by: "event", event: "ticket.replied" });
  });

  it("refuses a resumedBy that is not a ResumeCause, naming the field", async () => {
    const { pipeline, checkpoint } = await paused();
    const restore = (resumedBy: unknown) =>
      pipeline.restore(checkpoint, { runId: "r", state: new MemoryState({}), resumedBy: resumedBy as never });
    const refused = (resumedBy: unknown, message: RegExp) =>
      expect(() => restore(resumedBy)).toThrow(
        expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringMatching(message) }),
      );
    refused("event", /"resumedBy" must be an object/);
    refused(null, /"resumedBy" must be an object/);
    refused(["event"], /"resumedBy" must be an object/);
    refused({}, /resumedBy\.by must be one of "event", "timeout", "resume", "control" \(got undefined\)/);
    refused({ by: "signal" }, /resumedBy\.by must be one of/);
    refused({ by: "event", event: "" }, /resumedBy\.event must be a non-empty string/);
    refused({ by: "event", event: 1 }, /resumedBy\.event must be a non-empty string/);
    refused({ by: "timeout", wait: {} }, /resumedBy\.wait must be a non-empty string/);
    refused(
      { by: "event", evnt: "x" },
      /resumedBy\.evnt is not a field of resumedBy \(fields: by, event, wait\)/,
    );
    const throwing = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("no keys");
        },
      },
    );
    refused(throwing, /"resumedBy" could not be read \(.*no keys/);
    expect(() => restore({ by: "event", event: "x", wait: "w" })).not.toThrow();
  });
});
