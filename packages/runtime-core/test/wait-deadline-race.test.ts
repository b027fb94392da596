import { afterEach, describe, expect, it } from "vitest";
import type { PauseService, Workflow } from "../src/index.js";
import { type Harness, harness, tick } from "./helpers.js";

type Ctx = { use: (fn: (d: { require<T>(key: string): Promise<T> }) => unknown) => Promise<unknown> };
const pauseOf = (ctx: Ctx) =>
  ctx.use((d) => d.require<PauseService>("__pause_service__")) as Promise<PauseService>;

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

async function resumes(runId: string) {
  await h.runtime.flushTimeline();
  return (await h.timeline.query({ runId })).events
    .filter((e) => e.type === "run.resumed")
    .map((e) => e.data);
}

const wf = {
  id: "w",
  triggers: { go: { event: "w.go", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "ask",
          steps: [
            {
              id: "ask",
              action: async (ctx: Ctx) => {
                (await pauseOf(ctx)).register({
                  id: "w1",
                  event: "x",
                  timeoutMs: 5,
                  timeoutPatch: { late: true },
                });
                await tick(30); // the stage outlasts the deadline
              },
            },
          ],
        },
        { id: "end", steps: [{ id: "end", action: () => ({ ended: true }) }] },
      ],
    },
  },
} as unknown as Workflow;

describe("an event after the earliest deadline, held or parked: the timeout wins", () => {
  it("held (arrives 25 ms after the deadline, during the stage): the timeout wins", async () => {
    h = await harness();
    await h.runtime.register(wf);
    const started = h.runtime.invoke("w", "go", {});
    await tick(20);
    h.bus.emit("x", {});
    const runId = (await started).metadata.runId!;
    await tick(10);
    expect((await resumes(runId))[0]).toMatchObject({ by: "timeout" });
  });

  it("parked (arrives ~25 ms after the deadline, just after the run parked): the timeout wins too", async () => {
    h = await harness();
    await h.runtime.register(wf);
    const result = await h.runtime.invoke("w", "go", {});
    expect(result.ok && result.value.status).toBe("paused");
    h.bus.emit("x", {}); // the deadline passed ~25 ms ago; the deadline timer has not fired yet
    const runId = result.metadata.runId!;
    await tick(10);
    expect((await resumes(runId))[0]).toMatchObject({ by: "timeout" });
  });
});
