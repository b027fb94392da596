import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Pipeline, type PipelineRun, type PipelineState, type StepDefinition } from "../src/index.js";
import { MemoryState, RecordingObserver } from "./helpers.js";

afterEach(() => {
  vi.useRealTimers();
});

/** One step of a random pipeline: how it runs, fails, waits and what else it does. */
const stepShape = fc.record({
  /** ms before it settles; -1: it returns at once; -2 to -4: it settles after 1 to 3 microtasks */
  delayMs: fc.oneof(fc.integer({ min: -4, max: -1 }), fc.integer({ min: 0, max: 40 })),
  /** attempts below this one throw */
  failsUntil: fc.integer({ min: 0, max: 4 }),
  /** its first attempt never settles and ignores its signal */
  hangs: fc.boolean(),
  guard: fc.constantFrom("none", "true", "false", "throws", "async"),
  attempts: fc.integer({ min: 1, max: 3 }),
  backoffMs: fc.integer({ min: 0, max: 20 }),
  /** 0: none */
  timeoutMs: fc.oneof(fc.constant(0), fc.integer({ min: 5, max: 60 })),
  requestsPause: fc.boolean(),
  returnsArray: fc.boolean(),
  /** leaves a timer behind that logs after it returned */
  logsLate: fc.boolean(),
});
const pipelineShape = fc.record({
  stages: fc.array(
    fc.record({ concurrent: fc.boolean(), steps: fc.array(stepShape, { minLength: 1, maxLength: 4 }) }),
    { minLength: 1, maxLength: 3 },
  ),
  /** ms after the start at which the host aborts the run; -1: never */
  abortAtMs: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 100 })),
});
type StepShape = typeof stepShape extends fc.Arbitrary<infer T> ? T : never;

function stepOf(id: string, shape: StepShape, run: () => PipelineRun<PipelineState>): StepDefinition {
  const finish = (attempt: number, logLater: () => void) => {
    if (shape.logsLate) setTimeout(logLater, 3);
    if (shape.requestsPause) run().requestPause({ id });
    if (attempt < shape.failsUntil) throw new Error(`${id} fails on attempt ${attempt}`);
    return shape.returnsArray ? ([attempt] as never) : { [id]: attempt, last: id };
  };
  const step: StepDefinition = {
    id,
    action: (ctx) => {
      const logLater = () => ctx.logger.info("late");
      if (shape.hangs && ctx.attempt === 1) return new Promise<never>(() => {});
      if (shape.delayMs === -1) return finish(ctx.attempt, logLater);
      if (shape.delayMs < 0) {
        const settle = async () => {
          for (let i = shape.delayMs; i < -1; i++) await null;
          return finish(ctx.attempt, logLater);
        };
        return settle();
      }
      return new Promise((resolve, reject) =>
        setTimeout(() => {
          try {
            resolve(finish(ctx.attempt, logLater));
          } catch (error) {
            reject(error);
          }
        }, shape.delayMs),
      );
    },
  };
  if (shape.attempts > 1) step.retry = { attempts: shape.attempts, backoffMs: shape.backoffMs };
  if (shape.timeoutMs > 0) step.timeoutMs = shape.timeoutMs;
  if (shape.guard === "true") step.when = () => true;
  if (shape.guard === "false") step.when = () => false;
  if (shape.guard === "throws")
    step.when = () => {
      throw new Error("guard fails");
    };
  if (shape.guard === "async")
    step.when = () => new Promise((resolve) => setTimeout(() => resolve(1 as never), 2));
  return step;
}

describe("random pipelines of concurrent and sequential stages, guards, retries, timeouts, pauses and an abort", () => {
  it("settle once, emit nothing after, hold exactly the patches of the steps that completed, in completion order, and leave no timer", async () => {
    await fc.assert(
      fc.asyncProperty(pipelineShape, async (shape) => {
        vi.useFakeTimers();
        try {
          const shapes = new Map<string, StepShape>();
          let run!: PipelineRun<PipelineState>;
          const pipeline = new Pipeline<PipelineState>("p", {
            stages: shape.stages.map((stage, i) => ({
              id: `s${i}`,
              concurrent: stage.concurrent,
              steps: stage.steps.map((step, j) => {
                shapes.set(`s${i}.${j}`, step);
                return stepOf(`s${i}.${j}`, step, () => run);
              }),
            })),
          });
          const observer = new RecordingObserver();
          const state = new MemoryState<PipelineState>({});
          run = pipeline.start({ runId: "r", state, observer });
          let result: Awaited<ReturnType<typeof run.execute>> | undefined;
          void run.execute().then((settled) => (result = settled));
          if (shape.abortAtMs >= 0) setTimeout(() => run.abort("host"), shape.abortAtMs);
          for (let i = 0; i < 50 && result === undefined; i++) await vi.advanceTimersByTimeAsync(20);
          if (result === undefined) {
            // only a step that never settles, with no timeout and no abort, holds a run
            const hangs = [...shapes.values()].some((s) => s.hangs && s.timeoutMs === 0);
            expect(hangs && shape.abortAtMs < 0).toBe(true);
            return;
          }
          const events = observer.events;
          const emitted = events.length;
          const endState = state.get();
          await vi.advanceTimersByTimeAsync(1000); // what the steps left behind
          expect(events.length).toBe(emitted);
          expect(state.get()).toBe(endState);
          expect(vi.getTimerCount()).toBe(0);

          expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
          const ends = events.filter((e) => e.type.startsWith("run.") && e.type !== "run.started");
          expect(ends).toEqual([events.at(-1)]);
          const status = result.ok ? result.value.status : "failed";
          expect(events.at(-1)!.type).toBe(`run.${status}`);

          const patched: Record<string, unknown> = {};
          for (const e of events) {
            if (e.type !== "step.completed" || shapes.get(e.step!)!.returnsArray) continue;
            patched[e.step!] = e.attempt;
            patched.last = e.step;
          }
          expect(state.get()).toEqual(patched);
          for (const [id, step] of shapes) {
            const attempts = events
              .filter((e) => e.type === "step.started" && e.step === id)
              .map((e) => e.attempt);
            expect(attempts).toEqual(attempts.map((_, i) => i + 1));
            expect(attempts.length).toBeLessThanOrEqual(step.attempts);
          }
          if (!result.ok) {
            const failed = events.filter((e) => e.type === "step.failed");
            expect(failed.length).toBe(1);
            expect(result.error).toBe(failed[0]!.error);
            expect(result.metadata.step).toBe(failed[0]!.step);
            // the failure stops its siblings at once: they only log as they stop
            const after = events.slice(events.indexOf(failed[0]!) + 1).map((e) => e.type);
            expect(after.filter((type) => type !== "log")).toEqual(["stage.failed", "run.failed"]);
          } else if (result.value.status === "paused") {
            expect(result.value.checkpoint!.seq).toBe(events.at(-1)!.seq);
            expect(result.value.checkpoint!.pause.length).toBeGreaterThan(0);
          }
        } finally {
          vi.useRealTimers();
        }
      }),
      { numRuns: 1000, seed: 20261206 },
    );
  }, 60_000);
});

describe("when guards", () => {
  it("skip a step on any falsy value and run it on any truthy one, returned or resolved", async () => {
    const ran: string[] = [];
    const answers: Record<string, unknown> = {
      zero: 0,
      empty: "",
      nan: Number.NaN,
      nothing: undefined,
      none: null,
      resolvedZero: Promise.resolve(0),
      no: "no",
      object: {},
      array: [],
      one: 1,
      resolvedText: Promise.resolve("yes"),
    };
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: Object.entries(answers).map(([id, answer]) => ({
            id,
            when: () => answer as boolean,
            action: () => void ran.push(id),
          })),
        },
      ],
    });
    const observer = new RecordingObserver();
    const result = await pipeline.start({ runId: "r", state: new MemoryState({}), observer }).execute();
    expect(result.ok).toBe(true);
    expect(ran).toEqual(["no", "object", "array", "one", "resolvedText"]);
    expect(observer.trace().filter((t) => t.startsWith("step.skipped"))).toEqual(
      ["zero", "empty", "nan", "nothing", "none", "resolvedZero"].map((id) => `step.skipped:s/${id}`),
    );
  });
});
