import { SystemError } from "@sluice/errors";
import { describe, expect, it, vi } from "vitest";
import { PipelineRun, type PipelineState, type StepContext } from "../src/index.js";
import { deferred, MapDependencies, MemoryState, RecordingObserver } from "./helpers.js";
import { Pipeline } from "./loops.js";

describe("running a pipeline", () => {
  it("runs stages in order and the steps of a stage in order", async () => {
    const order: string[] = [];
    const step = (id: string) => ({
      id,
      action: async () => {
        order.push(`${id}:start`);
        await Promise.resolve();
        order.push(`${id}:end`);
      },
    });
    const pipeline = new Pipeline("p", {
      stages: [
        { id: "one", steps: [step("a"), step("b")] },
        { id: "two", steps: [step("c")] },
      ],
    });
    const result = await pipeline.start({ runId: "r1", state: new MemoryState({}) }).execute();
    expect(result.ok && result.value.status).toBe("completed");
    expect(order).toEqual(["a:start", "a:end", "b:start", "b:end", "c:start", "c:end"]);
  });

  it("merges returned patches shallowly so later steps see earlier ones", async () => {
    const state = new MemoryState<PipelineState>({ orderId: "o1", nested: { keep: true } });
    const seen: unknown[] = [];
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            { id: "sync", action: () => ({ valid: true }) },
            { id: "async", action: async () => ({ nested: { replaced: 1 } }) },
            { id: "none", action: () => undefined },
            {
              id: "read",
              action: (ctx) => {
                seen.push(ctx.state());
              },
            },
          ],
        },
      ],
    });
    const result = await pipeline.start({ runId: "r", state }).execute();
    expect(seen).toEqual([{ orderId: "o1", valid: true, nested: { replaced: 1 } }]);
    expect(result.ok && result.value.state).toEqual({ orderId: "o1", valid: true, nested: { replaced: 1 } });
    expect(state.writes).toBe(2);
  });

  it("fails the step when action returns something that is not a plain object", async () => {
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [{ id: "s", steps: [{ id: "bad", action: (() => [1, 2]) as never }] }],
    });
    const result = await pipeline.start({ runId: "r", state: new MemoryState({}) }).execute();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("STEP_FAILED");
    expect(SystemError.is(result.error.cause, "INVALID_INPUT")).toBe(true);
    expect(result.error.message).toContain(
      'pipelines.p.stages[0].steps[0]: "action" must return a plain object',
    );
  });

  it("fails the step with its own message for every non-patch, whether or not the state checks patches itself", async () => {
    // a state that refuses non-plain patches and says so, and (as @sluice/store's do) takes a
    // function as an updater: a step returning a function must still fail
    class CheckingState extends MemoryState<PipelineState> {
      readonly validatesPatches = true;
      override set(given: unknown): void {
        const patch = typeof given === "function" ? given(this.get()) : given;
        if (Object.getPrototypeOf(patch) !== Object.prototype) {
          throw new SystemError("INVALID_INPUT", "not a plain object");
        }
        super.set(patch);
      }
    }
    const returns: unknown[] = [[1], () => ({ sneaky: true }), new Date(0), 42, "text", new Map()];
    for (const makeState of [() => new MemoryState<PipelineState>({}), () => new CheckingState({})]) {
      for (const value of returns) {
        const state = makeState();
        const result = await new Pipeline<PipelineState>("p", {
          stages: [{ id: "s", steps: [{ id: "bad", action: (() => value) as never }] }],
        })
          .start({ runId: "r", state })
          .execute();
        expect(result.ok).toBe(false);
        if (result.ok) continue;
        expect(result.error.code).toBe("STEP_FAILED");
        expect(result.error.message).toContain('"action" must return a plain object');
        expect(state.get()).toEqual({});
      }
    }
  });

  it("gives a step its context: ids, attempt, event, state, signal, logger and use()", async () => {
    const state = new MemoryState<PipelineState>({ userId: "u7" });
    const dependencies = new MapDependencies<PipelineState>({ api: "api-client" }, state);
    let seen: Record<string, unknown> = {};
    const pipeline = new Pipeline<PipelineState>("orders", {
      stages: [
        {
          id: "stage-a",
          steps: [
            {
              id: "step-a",
              action: async (ctx: StepContext<PipelineState>) => {
                const [api, user, missing] = await ctx.use(async (d) => [
                  await d.require("api"),
                  d.select((s) => s.userId),
                  await d.resolve("nope"),
                ]);
                seen = {
                  runId: ctx.runId,
                  pipelineId: ctx.pipelineId,
                  stage: ctx.stage,
                  step: ctx.step,
                  attempt: ctx.attempt,
                  event: ctx.event,
                  state: ctx.state(),
                  signalAborted: ctx.signal.aborted,
                  api,
                  user,
                  missingOk: (missing as { ok: boolean }).ok,
                };
              },
            },
          ],
        },
      ],
    });
    const result = await pipeline
      .start({ runId: "run-9", state, dependencies, event: { type: "order.placed" } })
      .execute();
    expect(result.ok).toBe(true);
    expect(seen).toEqual({
      runId: "run-9",
      pipelineId: "orders",
      stage: "stage-a",
      step: "step-a",
      attempt: 1,
      event: { type: "order.placed" },
      state: { userId: "u7" },
      signalAborted: false,
      api: "api-client",
      user: "u7",
      missingOk: false,
    });
  });

  it("rejects ctx.use() with INVALID_STATE when the run has no dependency scope", async () => {
    let caught: unknown;
    const pipeline = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              action: async (ctx) => {
                caught = await ctx.use((d) => d.require("anything")).catch((e: unknown) => e);
              },
            },
          ],
        },
      ],
    });
    await pipeline.start({ runId: "r", state: new MemoryState({}) }).execute();
    expect(SystemError.is(caught, "INVALID_STATE")).toBe(true);
    expect((caught as Error).message).toContain("RunOptions.dependencies");
  });

  it("a context method called without ctx fails the step with an error that says how to call it", async () => {
    const calls: Record<string, (ctx: StepContext<PipelineState>) => void> = {
      state: ({ state }) => void state(),
      use: ({ use }) => void use(() => 1),
      logger: ({ logger: { info } }) => info("hi"),
    };
    for (const [method, action] of Object.entries(calls)) {
      const pipeline = new Pipeline("p", { stages: [{ id: "s", steps: [{ id: "t", action }] }] });
      const result = await pipeline.start({ runId: "r", state: new MemoryState({}) }).execute();
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe("STEP_FAILED");
      const cause = result.error.cause as SystemError;
      expect(cause.code).toBe("INVALID_STATE");
      const name = method === "logger" ? "logger.info" : method;
      expect(cause.message).toContain(`ctx.${name}() was called without ctx as its \`this\``);
      expect(cause.message).toContain(`call it as ctx.${name}(…), or pass ctx.${name}.bind(ctx)`);
    }
  });

  it("reports a throwing step as STEP_FAILED with the thrown value as cause, never rejecting", async () => {
    const boom = new TypeError("card declined");
    const after = { ran: false };
    const pipeline = new Pipeline("fulfil", {
      stages: [
        { id: "validate", steps: [{ id: "ok", action: () => ({ checked: true }) }] },
        {
          id: "charge",
          steps: [
            {
              id: "card",
              action: async () => {
                throw boom;
              },
            },
            {
              id: "after",
              action: () => {
                after.ran = true;
              },
            },
          ],
        },
        { id: "ship", steps: [{ id: "ship", action: () => ({ shipped: true }) }] },
      ],
    });
    const state = new MemoryState({});
    const run = pipeline.start({ runId: "r", state });
    const result = await run.execute();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("STEP_FAILED");
    expect(result.error.cause).toBe(boom);
    expect(result.error.message).toBe(
      'pipelines.fulfil.stages[1].steps[0] (stage "charge", step "card") failed on attempt 1 of 1: card declined',
    );
    expect(result.metadata).toMatchObject({
      runId: "r",
      pipelineId: "fulfil",
      stage: "charge",
      step: "card",
      attempts: 1,
    });
    expect(typeof result.metadata.durationMs).toBe("number");
    expect(after.ran).toBe(false);
    expect(state.get()).toEqual({ checked: true });
    expect(run.status).toBe("failed");
  });

  it("reports a synchronously throwing step the same way", async () => {
    const pipeline = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              action: () => {
                throw "plain string";
              },
            },
          ],
        },
      ],
    });
    const result = await pipeline.start({ runId: "r", state: new MemoryState({}) }).execute();
    expect(!result.ok && result.error.code).toBe("STEP_FAILED");
    expect(!result.ok && result.error.cause).toBe("plain string");
  });

  it("exposes status and currentStage while running; execute() twice returns the same promise", async () => {
    const gate = deferred();
    const pipeline = new Pipeline("p", {
      stages: [
        { id: "first", steps: [{ id: "a", action: () => gate.promise }] },
        { id: "second", steps: [{ id: "b", action: () => undefined }] },
      ],
    });
    const run = pipeline.start({ runId: "r", state: new MemoryState({}) });
    expect(run.status).toBe("idle");
    expect(run.currentStage).toBeUndefined();
    const pending = run.execute();
    expect(run.execute()).toBe(pending);
    expect(run.status).toBe("running");
    expect(run.currentStage).toBe("first");
    gate.resolve();
    await pending;
    expect(run.status).toBe("completed");
    expect(run.currentStage).toBeUndefined();
    expect(pipeline.stageIds).toEqual(["first", "second"]);
  });

  it("keeps runs of one pipeline independent", async () => {
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        { id: "s", steps: [{ id: "x", action: async (ctx) => ({ double: (ctx.state().n as number) * 2 }) }] },
      ],
    });
    const states = [1, 2, 3].map((n) => new MemoryState<PipelineState>({ n }));
    const results = await Promise.all(
      states.map((state, i) => pipeline.start({ runId: `r${i}`, state }).execute()),
    );
    expect(results.map((r) => r.ok && r.value.state.double)).toEqual([2, 4, 6]);
  });

  it("does not change a pipeline when its definition object is edited later", async () => {
    const definition = { stages: [{ id: "s", steps: [{ id: "x", action: () => ({ v: 1 }) }] }] };
    const pipeline = new Pipeline<PipelineState>("p", definition);
    definition.stages[0]!.steps[0]!.action = () => ({ v: 2 });
    const result = await pipeline.start({ runId: "r", state: new MemoryState<PipelineState>({}) }).execute();
    expect(result.ok && result.value.state).toEqual({ v: 1 });
  });

  it("fails the step when the state store refuses a patch, and fails the run when it refuses the resume patch", async () => {
    const refusing = {
      get: () => ({}),
      set: () => {
        throw new Error("store disposed");
      },
    };
    const pipeline = new Pipeline("p", {
      stages: [{ id: "s", steps: [{ id: "x", action: () => ({ a: 1 }) }] }],
    });
    const stepResult = await pipeline.start({ runId: "r", state: refusing }).execute();
    expect(!stepResult.ok && stepResult.error.code).toBe("STEP_FAILED");
    expect(!stepResult.ok && (stepResult.error.cause as Error).message).toBe("store disposed");

    const checkpoint = {
      version: 1 as const,
      runId: "r",
      pipelineId: "p",
      nextStage: 0,
      nextStageId: "s",
      state: {},
      event: null,
      pause: [],
      seq: 0,
    };
    const resumeResult = await pipeline
      .restore(checkpoint, { runId: "r", state: refusing, patch: { b: 2 } })
      .execute();
    expect(resumeResult.ok).toBe(false);
    expect(!resumeResult.ok && resumeResult.error.code).toBe("INVALID_STATE");
    expect(!resumeResult.ok && resumeResult.error.message).toContain("store disposed");
  });

  describe("a state store whose get() throws when the run ends: the run fails once, as it reports", () => {
    /** A store that works until `broken` is set, then throws from get(). */
    function breakable() {
      const state = {
        broken: false,
        get: () => {
          if (state.broken) throw new Error("store lost");
          return {};
        },
        set: () => {},
      };
      return state;
    }
    const expectStoreFault = (result: Awaited<ReturnType<PipelineRun<PipelineState>["execute"]>>) => {
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error.code).toBe("INVALID_STATE");
      expect(!result.ok && (result.error.cause as Error).message).toBe("store lost");
    };

    it("completing: run.failed, not run.completed followed by a failed result", async () => {
      const state = breakable();
      const observer = new RecordingObserver();
      const pipeline = new Pipeline("p", {
        stages: [{ id: "s", steps: [{ id: "x", action: () => void (state.broken = true) }] }],
      });
      expectStoreFault(await pipeline.start({ runId: "r", state, observer }).execute());
      expect(observer.events.map((e) => e.type).slice(-1)).toEqual(["run.failed"]);
    });

    it("pausing: run.failed, not run.paused followed by a failed result", async () => {
      const state = breakable();
      const observer = new RecordingObserver();
      const pipeline = new Pipeline("p", {
        stages: [
          {
            id: "s",
            steps: [
              {
                id: "x",
                action: () => {
                  run.requestPause({ event: "go" });
                  state.broken = true;
                },
              },
            ],
          },
          { id: "t", steps: [{ id: "y", action: () => undefined }] },
        ],
      });
      const run = pipeline.start({ runId: "r", state, observer });
      expectStoreFault(await run.execute());
      expect(observer.events.map((e) => e.type).slice(-1)).toEqual(["run.failed"]);
    });

    it("aborted mid-step: abort() does not throw and execute() settles", async () => {
      const state = breakable();
      const observer = new RecordingObserver();
      const started = deferred();
      const pipeline = new Pipeline("p", {
        stages: [
          {
            id: "s",
            steps: [
              {
                id: "x",
                action: () => {
                  started.resolve();
                  return new Promise(() => {});
                },
              },
            ],
          },
        ],
      });
      const run = pipeline.start({ runId: "r", state, observer });
      const outcome = run.execute();
      await started.promise;
      state.broken = true;
      expect(() => run.abort()).not.toThrow();
      const result = await Promise.race([outcome, new Promise((r) => setTimeout(() => r("pending"), 100))]);
      expectStoreFault(result as never);
      expect(
        observer.events
          .map((e) => e.type)
          .filter((t) => t.startsWith("run."))
          .slice(1),
      ).toEqual(["run.failed"]);
    });

    it("aborted before execute(): execute() resolves instead of throwing", async () => {
      const state = breakable();
      const pipeline = new Pipeline("p", {
        stages: [{ id: "s", steps: [{ id: "x", action: () => undefined }] }],
      });
      const run = pipeline.start({ runId: "r", state });
      run.abort();
      state.broken = true;
      let outcome: ReturnType<typeof run.execute> | undefined;
      expect(() => {
        outcome = run.execute();
      }).not.toThrow();
      expectStoreFault(await outcome!);
    });

    it("aborted before executeThen(): the callback is told, executeThen does not throw", async () => {
      const state = breakable();
      const pipeline = new Pipeline("p", {
        stages: [{ id: "s", steps: [{ id: "x", action: () => undefined }] }],
      });
      const run = pipeline.start({ runId: "r", state });
      run.abort();
      state.broken = true;
      const told = deferred<string>();
      expect(() => run.executeThen((ended) => told.resolve(ended.status), undefined)).not.toThrow();
      expect(await told.promise).toBe("failed");
      expectStoreFault(run.result!);
    });
  });

  it("rejects bad run options with INVALID_INPUT", () => {
    const pipeline = new Pipeline("p", {
      stages: [{ id: "s", steps: [{ id: "x", action: () => undefined }] }],
    });
    expect(() => pipeline.start({ runId: "", state: new MemoryState({}) })).toThrow(
      /"runId" must be a non-empty string/,
    );
    expect(() => pipeline.start({ runId: "r", state: {} as never })).toThrow(
      /"state" must have get\(\) and set\(patch\)/,
    );
  });
});

describe("guards", () => {
  it("skips a step whose when() is false and runs one whose when() is true (sync or async)", async () => {
    const ran: string[] = [];
    const observer = new RecordingObserver();
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            { id: "vip", when: (ctx) => ctx.state().tier === "vip", action: () => void ran.push("vip") },
            { id: "all", when: async () => true, action: () => void ran.push("all") },
            { id: "never", when: async () => false, action: () => void ran.push("never") },
          ],
        },
      ],
    });
    const result = await pipeline
      .start({ runId: "r", state: new MemoryState<PipelineState>({ tier: "basic" }), observer })
      .execute();
    expect(result.ok && result.value.status).toBe("completed");
    expect(ran).toEqual(["all"]);
    expect(observer.trace().filter((t) => t.startsWith("step."))).toEqual([
      "step.skipped:s/vip",
      "step.started:s/all",
      "step.completed:s/all",
      "step.skipped:s/never",
    ]);
  });

  it("fails the step when its guard throws", async () => {
    const pipeline = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "g",
              when: () => {
                throw new Error("no tier");
              },
              action: () => undefined,
            },
          ],
        },
      ],
    });
    const result = await pipeline.start({ runId: "r", state: new MemoryState({}) }).execute();
    expect(!result.ok && result.error.code).toBe("STEP_FAILED");
    expect(!result.ok && result.error.message).toContain('its "when" guard threw on attempt 1 of 1: no tier');
  });
});

describe("concurrent stages", () => {
  it("starts every step at once and merges patches in completion order", async () => {
    const started: string[] = [];
    const gates = { a: deferred(), b: deferred(), c: deferred() };
    const state = new MemoryState<PipelineState>({});
    const writes: string[] = [];
    const recording = {
      get: () => state.get(),
      set: (patch: Partial<PipelineState>) => {
        writes.push(Object.keys(patch).join());
        state.set(patch);
      },
    };
    const step = (id: "a" | "b" | "c") => ({
      id,
      action: async () => {
        started.push(id);
        await gates[id].promise;
        return { [id]: true, last: id };
      },
    });
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        { id: "fan", concurrent: true, steps: [step("a"), step("b"), step("c")] },
        {
          id: "after",
          steps: [{ id: "after", action: (ctx) => ({ sawAll: Object.keys(ctx.state()).length }) }],
        },
      ],
    });
    const pending = pipeline.start({ runId: "r", state: recording }).execute();
    await Promise.resolve();
    expect(started).toEqual(["a", "b", "c"]);
    gates.c.resolve();
    await new Promise((r) => setTimeout(r, 0));
    gates.a.resolve();
    await new Promise((r) => setTimeout(r, 0));
    gates.b.resolve();
    const result = await pending;
    expect(writes).toEqual(["c,last", "a,last", "b,last", "sawAll"]);
    expect(result.ok && result.value.state).toEqual({ a: true, b: true, c: true, last: "b", sawAll: 4 });
  });

  it("fails the stage at the first failure and fires the siblings' signal", async () => {
    let siblingSignal: AbortSignal | undefined;
    const boom = new Error("warehouse down");
    const pipeline = new Pipeline("p", {
      stages: [
        {
          id: "fan",
          concurrent: true,
          steps: [
            {
              id: "slow",
              action: (ctx) => {
                siblingSignal = ctx.signal;
                return new Promise<void>(() => {}); // never settles: the stage must not wait for it
              },
            },
            {
              id: "fails",
              action: async () => {
                await Promise.resolve();
                throw boom;
              },
            },
          ],
        },
        { id: "never", steps: [{ id: "n", action: () => ({ reached: true }) }] },
      ],
    });
    const state = new MemoryState({});
    const result = await pipeline.start({ runId: "r", state }).execute();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("STEP_FAILED");
    expect(result.error.cause).toBe(boom);
    expect(result.metadata).toMatchObject({ stage: "fan", step: "fails" });
    expect(siblingSignal?.aborted).toBe(true);
    expect(SystemError.is(siblingSignal?.reason, "ABORTED")).toBe(true);
    expect(state.get()).toEqual({});
  });
});

describe("concurrent stages: what the first failure stops", () => {
  // A sibling that finishes a few microtasks after the failure (two steps awaiting one shared
  // promise, say) must find the stage already stopped.
  for (const ticks of [0, 1, 2, 3]) {
    it(`drops a sibling's result that comes ${ticks} microtask(s) after the failure, and its signal has fired`, async () => {
      let sawAborted: boolean | undefined;
      const pipeline = new Pipeline<PipelineState>("p", {
        stages: [
          {
            id: "fan",
            concurrent: true,
            steps: [
              {
                id: "fails",
                action: async () => {
                  throw new Error("out of stock");
                },
              },
              {
                id: "late",
                action: async (ctx) => {
                  for (let i = 0; i < ticks; i++) await null;
                  if (ticks > 0) sawAborted = ctx.signal.aborted;
                  return { late: true };
                },
              },
            ],
          },
        ],
      });
      const state = new MemoryState<PipelineState>({});
      const observer = new RecordingObserver();
      const result = await pipeline.start({ runId: "r", state, observer }).execute();
      expect(!result.ok && result.error.code).toBe("STEP_FAILED");
      expect(result.metadata.step).toBe("fails");
      expect(state.get()).toEqual({});
      expect(observer.trace().filter((t) => t.startsWith("step.") && !t.startsWith("step.started"))).toEqual([
        "step.failed:fan/fails",
      ]);
      if (ticks > 0) expect(sawAborted).toBe(true);
    });
  }

  it("starts no sibling after a step that failed synchronously", async () => {
    const ran: string[] = [];
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "fan",
          concurrent: true,
          steps: [
            {
              id: "fails",
              action: () => {
                ran.push("fails");
                throw new Error("bad input");
              },
            },
            { id: "after", action: () => void ran.push("after") },
          ],
        },
      ],
    });
    const state = new MemoryState<PipelineState>({});
    const result = await pipeline.start({ runId: "r", state }).execute();
    expect(!result.ok && result.error.code).toBe("STEP_FAILED");
    expect(ran).toEqual(["fails"]);
  });
});

describe("a fault of the engine's own in a concurrent stage", () => {
  it("still ends the run as a SystemError (INVALID_STATE, the fault as cause), and stops the siblings", async () => {
    const fault = new TypeError("engine bug");
    // stands in for any engine bug that makes a step's runner reject with something not a SystemError
    const spy = vi.spyOn(PipelineRun.prototype as unknown as { stepError: () => never }, "stepError");
    spy.mockImplementationOnce(() => {
      throw fault;
    });
    let siblingSignal: AbortSignal | undefined;
    try {
      const pipeline = new Pipeline<PipelineState>("p", {
        stages: [
          {
            id: "fan",
            concurrent: true,
            steps: [
              {
                id: "fails",
                action: async () => {
                  throw new Error("boom");
                },
              },
              {
                id: "waits",
                action: (ctx) => {
                  siblingSignal = ctx.signal;
                  return new Promise<void>(() => {});
                },
              },
            ],
          },
        ],
      });
      const result = await pipeline.start({ runId: "r", state: new MemoryState({}) }).execute();
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(SystemError.is(result.error, "INVALID_STATE")).toBe(true);
      expect(result.error.cause).toBe(fault);
      expect(result.error.message).toContain("engine bug");
      expect(siblingSignal?.aborted).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("thrown values that cannot be made a string", () => {
  const nullPrototype = Object.assign(Object.create(null) as object, { reason: "card declined" });
  const throwingToString = {
    toString() {
      throw new Error("no text");
    },
  };
  const errorWithThrowingMessage = new Error("hidden");
  Object.defineProperty(errorWithThrowingMessage, "message", {
    get() {
      throw new Error("message getter");
    },
  });
  const cases: [string, unknown, string][] = [
    ["an Object.create(null) value", nullPrototype, "[object Object]"],
    ["an object whose toString throws", throwingToString, "[object Object]"],
    ["an Error whose message getter throws", errorWithThrowingMessage, "[object Error]"],
  ];
  for (const concurrent of [false, true]) {
    for (const [what, thrown, text] of cases) {
      it(`${what} is an ordinary STEP_FAILED, retried as configured (${concurrent ? "concurrent" : "sequential"} stage)`, async () => {
        let tries = 0;
        const pipeline = new Pipeline<PipelineState>("p", {
          stages: [
            {
              id: "s",
              concurrent,
              steps: [
                {
                  id: "x",
                  retry: { attempts: 3 },
                  action: async () => {
                    tries++;
                    throw thrown;
                  },
                },
              ],
            },
          ],
        });
        const result = await pipeline.start({ runId: "r", state: new MemoryState({}) }).execute();
        expect(tries).toBe(3);
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(SystemError.is(result.error, "STEP_FAILED")).toBe(true);
        expect(result.error.cause).toBe(thrown);
        expect(result.error.message).toContain(`failed on attempt 3 of 3: ${text}`);
        expect(result.metadata).toMatchObject({ stage: "s", step: "x", attempts: 3 });
      });
    }
  }

  it("a log message that cannot be made a string is logged as what Object.prototype.toString says, not thrown into the step", async () => {
    const observer = new RecordingObserver();
    const unprintable = Object.create(null) as object;
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          // an object message with data beside it that is not a string: no pino order to read
          steps: [{ id: "x", action: (ctx) => ctx.logger.info(unprintable as unknown as string, 42) }],
        },
      ],
    });
    const result = await pipeline.start({ runId: "r", state: new MemoryState({}), observer }).execute();
    expect(result.ok && result.value.status).toBe("completed");
    expect(observer.events.find((e) => e.type === "log")).toMatchObject({
      message: "[object Object]",
      data: 42,
    });
  });

  it("an object logged alone the pino way that cannot be inspected (a revoked Proxy) is not thrown into the step", async () => {
    const observer = new RecordingObserver();
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [{ id: "x", action: (ctx) => ctx.logger.error(proxy as unknown as string) }],
        },
      ],
    });
    const result = await pipeline.start({ runId: "r", state: new MemoryState({}), observer }).execute();
    expect(result.ok && result.value.status).toBe("completed");
    expect(observer.events.find((e) => e.type === "log")).toMatchObject({ level: "error", message: "" });
  });

  it("an object logged the pino way (untyped code) is the data, and a string after it the message", async () => {
    const observer = new RecordingObserver();
    const failure = new Error("card declined");
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              action: (ctx) => {
                const log = ctx.logger as unknown as Record<string, (...args: unknown[]) => void>;
                log.info!.call(ctx.logger, { orderId: "o1" }, "placed");
                log.warn!.call(ctx.logger, { orderId: "o2" });
                log.error!.call(ctx.logger, failure);
              },
            },
          ],
        },
      ],
    });
    await pipeline.start({ runId: "r", state: new MemoryState({}), observer }).execute();
    const logs = observer.events.filter((e) => e.type === "log");
    expect(logs.map((e) => [e.level, e.message, e.data])).toEqual([
      ["info", "placed", { orderId: "o1" }],
      ["warn", "", { orderId: "o2" }],
      ["error", "card declined", failure],
    ]);
  });
});

describe("step logger", () => {
  it("turns every logger call into a log event with level, message, data and where it came from", async () => {
    const observer = new RecordingObserver();
    const pipeline = new Pipeline("p", {
      stages: [
        {
          id: "ship",
          steps: [
            {
              id: "label",
              action: (ctx) => {
                ctx.logger.debug("d");
                ctx.logger.info("shipping", { orderId: "o1" });
                ctx.logger.warn("w");
                ctx.logger.error("e", 42);
              },
            },
          ],
        },
      ],
    });
    await pipeline.start({ runId: "r", state: new MemoryState({}), observer }).execute();
    const logs = observer.events.filter((e) => e.type === "log");
    expect(
      logs.map(({ level, message, data, stage, step, attempt }) => ({
        level,
        message,
        data,
        stage,
        step,
        attempt,
      })),
    ).toEqual([
      { level: "debug", message: "d", data: undefined, stage: "ship", step: "label", attempt: 1 },
      {
        level: "info",
        message: "shipping",
        data: { orderId: "o1" },
        stage: "ship",
        step: "label",
        attempt: 1,
      },
      { level: "warn", message: "w", data: undefined, stage: "ship", step: "label", attempt: 1 },
      { level: "error", message: "e", data: 42, stage: "ship", step: "label", attempt: 1 },
    ]);
    expect(logs[0]!.data).toBeUndefined();
  });

  it("costs nothing and fails nothing without an observer", async () => {
    const pipeline = new Pipeline("p", {
      stages: [{ id: "s", steps: [{ id: "x", action: (ctx) => ctx.logger.info("hello", { big: true }) }] }],
    });
    const result = await pipeline.start({ runId: "r", state: new MemoryState({}) }).execute();
    expect(result.ok && result.value.status).toBe("completed");
  });
});
