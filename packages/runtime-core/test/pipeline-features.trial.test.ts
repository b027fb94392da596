import { afterEach, describe, expect, it, vi } from "vitest";
import { defineWorkflow, type PauseService, type RunResult, type Workflow } from "../src/index.js";
import { type Harness, harness, tick } from "./helpers.js";

const pauseOf = (ctx: { use: (fn: (d: any) => any) => Promise<any> }) =>
  ctx.use((d) => d.require("__pause_service__")) as Promise<PauseService>;

let harnesses: Harness[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const h of harnesses) await h.runtime.stop();
  harnesses = [];
});
async function runtime(): Promise<Harness> {
  const h = await harness();
  harnesses.push(h);
  return h;
}

/** A concurrent stage whose two steps each register a wait, the later-finishing one first. */
const twoWaits: Workflow = {
  id: "wf",
  triggers: { go: { event: "go", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "fan",
          concurrent: true,
          steps: [
            {
              id: "a",
              action: async (ctx) => {
                await tick(1);
                (await pauseOf(ctx)).register({ id: "wa", event: "ev.a" });
                return { a: 1 };
              },
            },
            {
              id: "b",
              action: async (ctx) => {
                (await pauseOf(ctx)).register({ id: "wb", event: "ev.b" });
                return { b: 1 };
              },
            },
          ],
        },
        {
          id: "next",
          steps: [{ id: "n", action: (ctx) => ({ keys: Object.keys(ctx.state()).sort().join() }) }],
        },
      ],
    },
  },
};

describe("a run paused by a concurrent stage", () => {
  for (const where of ["live", "released by its pause window", "adopted by another runtime"] as const) {
    it(`waits on every wait of the stage and resumes on either (${where})`, async () => {
      const h = await runtime();
      const completed: RunResult[] = [];
      const restored: boolean[] = [];
      const hooks = {
        onComplete: (r: RunResult) => void completed.push(r),
        onResume: (ctx: { restored: boolean }) => void restored.push(ctx.restored),
      };
      await h.runtime.register(twoWaits, { pauseWindowMs: where === "live" ? 60_000 : 0, ...hooks });
      const paused = await h.runtime.invoke("wf", "go", { x: 1 });
      expect(paused.ok && paused.value.status).toBe("paused");
      const runId = paused.metadata.runId!;
      let holder = h;
      if (where === "adopted by another runtime") {
        const checkpoint = await h.runtime.detach(runId);
        expect(checkpoint).toMatchObject({ nextStageId: "next", state: { x: 1, a: 1, b: 1 } });
        expect(checkpoint.pause.map((wait) => wait.id)).toEqual(["wb", "wa"]);
        holder = await runtime();
        await holder.runtime.register(twoWaits, hooks);
        holder.runtime.adopt(JSON.parse(JSON.stringify(checkpoint)));
      } else if (where === "released by its pause window") {
        await tick(5);
      }
      holder.bus.emit("ev.a", { via: "a" });
      await expect.poll(() => completed.length).toBe(1);
      expect(completed[0]!.ok && completed[0]!.value.state).toEqual({
        x: 1,
        a: 1,
        b: 1,
        via: "a",
        keys: "a,b,via,x",
      });
      expect(restored).toEqual([where !== "live"]);
      await holder.runtime.flushTimeline();
      const { events } = await holder.timeline.query({ runId });
      expect(events.find((e) => e.type === "run.resumed")?.data).toMatchObject({
        by: "event",
        event: "ev.a",
        wait: "wa",
      });
    });
  }
});

describe("a concurrent stage that fails", () => {
  it("records the log a sibling writes as it stops, nothing after run.failed, and drops the sibling's wait", async () => {
    const h = await runtime();
    let logLate: (() => void) | undefined;
    await h.runtime.register(
      defineWorkflow({
        id: "wf",
        triggers: { go: { event: "go", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "fan",
                concurrent: true,
                steps: [
                  {
                    id: "waits",
                    action: async (ctx) => {
                      (await pauseOf(ctx)).register({ id: "w", event: "ev" });
                      logLate = () => ctx.logger.info("late");
                      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
                      ctx.logger.info("stopping");
                      return { waited: true };
                    },
                  },
                  {
                    id: "fails",
                    action: async () => {
                      await tick(2);
                      throw new Error("boom");
                    },
                  },
                ],
              },
            ],
          },
        },
      }),
    );
    const result = await h.runtime.invoke("wf", "go", {});
    expect(!result.ok && result.error.code).toBe("STEP_FAILED");
    expect(result.metadata).toMatchObject({ stage: "fan" });
    logLate!();
    h.bus.emit("ev", {});
    await tick(5);
    await h.runtime.flushTimeline();
    const { events } = await h.timeline.query({ runId: result.metadata.runId! });
    expect(events.map((e) => [e.type, e.step, e.message].filter((x) => x !== undefined).join(" "))).toEqual([
      "run.started",
      "stage.started",
      "step.started waits",
      "step.started fails",
      expect.stringMatching(/^step\.failed fails .*: boom$/),
      "log waits stopping",
      expect.stringMatching(/^stage\.failed .*: boom$/),
      expect.stringMatching(/^run\.failed .*: boom$/),
    ]);
    expect(h.runtime.watch("wf", result.metadata.runId!)).toMatchObject({ status: "failed", stage: "fan" });
    expect(h.errors).toEqual([]);
  });
});

describe("a run ended while a step waits to retry or to time out", () => {
  for (const how of ["abort", "deregister", "stop"] as const) {
    it(`${how}: ends it at once and leaves no timer behind`, async () => {
      vi.useFakeTimers({
        toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date", "performance"],
      });
      const h = await harness();
      let attempts = 0;
      await h.runtime.register(
        defineWorkflow({
          id: "wf",
          triggers: { go: { event: "go", pipeline: "p" } },
          pipelines: {
            p: {
              stages: [
                {
                  id: "s",
                  concurrent: true,
                  steps: [
                    {
                      id: "flaky",
                      retry: { attempts: 3, backoffMs: 3_600_000 },
                      timeoutMs: 1000,
                      action: () => {
                        attempts++;
                        throw new Error("down");
                      },
                    },
                    { id: "slow", timeoutMs: 7_200_000, action: () => new Promise<never>(() => {}) },
                  ],
                },
              ],
            },
          },
        }),
      );
      const pending = h.runtime.invoke("wf", "go", {});
      await vi.advanceTimersByTimeAsync(10);
      expect(attempts).toBe(1);
      if (how === "abort") await h.runtime.abort(h.runtime.listAllRuns()[0]!.runId);
      if (how === "deregister") await h.runtime.deregister("wf");
      const stopping = h.runtime.stop();
      await vi.advanceTimersByTimeAsync(100); // the timeline's flush
      await stopping;
      const result = await pending;
      expect(result.ok && result.value.status).toBe("aborted");
      expect(attempts).toBe(1);
      expect(vi.getTimerCount()).toBe(0);
    });
  }
});
