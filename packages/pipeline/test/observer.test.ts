import { describe, expect, it, onTestFinished, vi } from "vitest";
import type { PipelineLifecycleEvent, PipelineObserver, PipelineState, StepLogger } from "../src/index.js";
import { MemoryState, RecordingObserver } from "./helpers.js";
import { Pipeline } from "./loops.js";

function pipeline() {
  return new Pipeline<PipelineState>("orders", {
    stages: [
      {
        id: "validate",
        steps: [
          {
            id: "check",
            action: (ctx) => {
              ctx.logger.info("checking", { orderId: "o1" });
              return { valid: true };
            },
          },
        ],
      },
      { id: "ship", steps: [{ id: "ship", action: async () => ({ shipped: true }) }] },
    ],
  });
}

describe("lifecycle observer", () => {
  it("receives every event in order with seq 1, 2, 3… and the run's ids", async () => {
    const observer = new RecordingObserver();
    await pipeline()
      .start({ runId: "r1", state: new MemoryState<PipelineState>({}), observer })
      .execute();
    expect(observer.trace()).toEqual([
      "run.started",
      "stage.started:validate",
      "step.started:validate/check",
      "log:validate/check",
      "step.completed:validate/check",
      "stage.completed:validate",
      "stage.started:ship",
      "step.started:ship/ship",
      "step.completed:ship/ship",
      "stage.completed:ship",
      "run.completed",
    ]);
    expect(observer.events.map((e) => e.seq)).toEqual(observer.events.map((_, i) => i + 1));
    for (const event of observer.events) {
      expect(event).toMatchObject({ runId: "r1", pipelineId: "orders" });
      expect(typeof event.at).toBe("number");
    }
    const completed = observer.events.filter((e) => e.type.endsWith(".completed"));
    for (const event of completed) expect(event.durationMs).toBeGreaterThanOrEqual(0);
    expect(observer.events.find((e) => e.type === "step.started")?.attempt).toBe(1);
  });

  it("calls onFields, when the observer has it, with the fields onEvent would get, and never onEvent", async () => {
    const run = async (observer: RecordingObserver) => {
      const failing = new Pipeline<PipelineState>("p", {
        stages: [
          {
            id: "s",
            steps: [
              {
                id: "a",
                action: (ctx) => {
                  ctx.logger.warn("careful", { n: 1 });
                  return { a: 1 };
                },
              },
            ],
          },
          { id: "t", steps: [{ id: "b", action: async () => Promise.reject(new Error("no")) }] },
        ],
      });
      await failing.start({ runId: "r9", state: new MemoryState<PipelineState>({}), observer }).execute();
      return observer.events;
    };
    class FieldsObserver extends RecordingObserver {
      objects = 0;
      override onEvent(event: PipelineLifecycleEvent): void {
        this.objects++;
        super.onEvent(event);
      }
      onFields(...fields: Parameters<NonNullable<PipelineObserver["onFields"]>>): void {
        const [
          type,
          runId,
          pipelineId,
          seq,
          at,
          stage,
          step,
          attempt,
          level,
          message,
          data,
          error,
          durationMs,
        ] = fields;
        this.events.push({
          seq,
          at,
          type,
          runId,
          pipelineId,
          stage,
          step,
          attempt,
          level,
          message,
          data,
          error,
          durationMs,
        });
      }
    }
    const byFields = new FieldsObserver();
    const fields = await run(byFields);
    const objects = await run(new RecordingObserver());
    expect(byFields.objects).toBe(0);
    const comparable = (events: PipelineLifecycleEvent[]) =>
      events.map((e) => ({ ...e, at: typeof e.at, durationMs: typeof e.durationMs, error: e.error?.code }));
    expect(comparable(fields)).toEqual(comparable(objects));
    expect(fields.find((e) => e.type === "log")).toMatchObject({
      level: "warn",
      message: "careful",
      data: { n: 1 },
    });
  });

  it("reports a throwing onFields to onObserverError with the event as an object", async () => {
    const seen: Array<[unknown, PipelineLifecycleEvent]> = [];
    const observer: PipelineObserver = {
      onEvent() {},
      onFields() {
        throw new Error("observer bug");
      },
    };
    const result = await pipeline()
      .start({
        runId: "r2",
        state: new MemoryState<PipelineState>({}),
        observer,
        onObserverError: (error, event) => void seen.push([error, event]),
      })
      .execute();
    expect(result.ok && result.value.status).toBe("completed");
    expect(result.metadata.observerFailures).toBe(11);
    expect(seen[0]?.[1]).toMatchObject({ type: "run.started", runId: "r2", pipelineId: "orders", seq: 1 });
    expect(seen[0]?.[0]).toEqual(new Error("observer bug"));
  });

  it("reports a failure as step.failed, stage.failed, run.failed carrying the error", async () => {
    const observer = new RecordingObserver();
    const failing = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              action: () => {
                throw new Error("bad");
              },
            },
          ],
        },
      ],
    });
    const result = await failing.start({ runId: "r", state: new MemoryState({}), observer }).execute();
    expect(observer.trace()).toEqual([
      "run.started",
      "stage.started:s",
      "step.started:s/x",
      "step.failed:s/x",
      "stage.failed:s",
      "run.failed:s",
    ]);
    const errors = observer.events.filter((e) => e.error !== undefined).map((e) => e.error);
    expect(errors).toHaveLength(3);
    expect(errors.every((e) => e === (result.ok ? undefined : result.error))).toBe(true);
  });

  it("a throwing observer never breaks the run; failures are counted and reported", async () => {
    const reported: [unknown, PipelineLifecycleEvent][] = [];
    let calls = 0;
    const result = await pipeline()
      .start({
        runId: "r",
        state: new MemoryState<PipelineState>({}),
        observer: {
          onEvent() {
            calls++;
            throw new Error("observer bug");
          },
        },
        onObserverError: (error, event) => {
          reported.push([error, event]);
          if (event.type === "run.started") throw new Error("reporter bug too");
        },
      })
      .execute();
    expect(result.ok && result.value).toEqual({ status: "completed", state: { valid: true, shipped: true } });
    expect(calls).toBe(11);
    expect(reported).toHaveLength(11);
    expect(reported[0]?.[0]).toEqual(new Error("observer bug"));
    expect(result.metadata.observerFailures).toBe(11);
  });

  it("drops events after the run ended (a late log from a step that kept its logger)", async () => {
    const observer = new RecordingObserver();
    let kept: StepLogger | undefined;
    const p = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              action: (ctx) => {
                kept = ctx.logger;
              },
            },
          ],
        },
      ],
    });
    await p.start({ runId: "r", state: new MemoryState({}), observer }).execute();
    const count = observer.events.length;
    kept?.info("too late");
    expect(observer.events).toHaveLength(count);
    expect(observer.events.at(-1)?.type).toBe("run.completed");
  });

  it("numbers events per run: two runs interleaving keep separate sequences", async () => {
    const a = new RecordingObserver();
    const b = new RecordingObserver();
    const p = pipeline();
    await Promise.all([
      p.start({ runId: "a", state: new MemoryState<PipelineState>({}), observer: a }).execute(),
      p.start({ runId: "b", state: new MemoryState<PipelineState>({}), observer: b }).execute(),
    ]);
    expect(a.events.map((e) => e.seq)).toEqual(a.events.map((_, i) => i + 1));
    expect(b.events.map((e) => e.seq)).toEqual(b.events.map((_, i) => i + 1));
    expect(new Set(a.events.map((e) => e.runId))).toEqual(new Set(["a"]));
  });

  it("never stamps an event before the run's earlier ones when the wall clock is set back mid-run", async () => {
    // an NTP step back during a run: stores order a run's events by `at` first, so a later event
    // stamped earlier would be listed before the events it followed
    let now = 1_000_000;
    const clock = vi.spyOn(Date, "now").mockImplementation(() => now);
    onTestFinished(() => clock.mockRestore());
    const pipeline = new Pipeline<PipelineState>("orders", {
      stages: [
        {
          id: "a",
          steps: [
            {
              id: "a1",
              action: (ctx) => {
                now += 500;
                ctx.logger.info("took a while");
                return { a: 1 };
              },
            },
          ],
        },
        {
          id: "b",
          steps: [
            {
              id: "b1",
              action: async (ctx) => {
                now -= 60_000;
                await Promise.resolve();
                ctx.logger.info("after the step back");
                now -= 1_000;
                return { b: 1 };
              },
            },
            { id: "b2", action: async () => ({ b2: 1 }) },
          ],
        },
      ],
    });
    const observer = new RecordingObserver();
    // a start the caller read from the clock before the step back, too
    const result = await pipeline
      .start({ runId: "r1", state: new MemoryState<PipelineState>({}), observer, startedAt: now + 100 })
      .execute();

    expect(result.ok).toBe(true);
    const ats = observer.events.map((e) => e.at);
    expect(ats).toEqual([...ats].sort((x, y) => x - y));
    expect(ats[0]).toBe(1_000_100);
    expect(result.metadata.finishedAt).toBe(ats[ats.length - 1]);
    expect(result.metadata.durationMs).toBeGreaterThanOrEqual(0);
    for (const event of observer.events) {
      if (event.durationMs !== undefined) expect(event.durationMs).toBeGreaterThanOrEqual(0);
    }
  });
});
