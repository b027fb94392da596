import { afterEach, describe, expect, it } from "vitest";
import type { PauseService, Workflow } from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

// Event waits at their edges, each once a bug a trial found.

type Ctx = { use: (fn: (d: { require<T>(key: string): Promise<T> }) => unknown) => Promise<unknown> };
const pauseOf = (ctx: Ctx) =>
  ctx.use((d) => d.require<PauseService>("__pause_service__")) as Promise<PauseService>;

/** Workflow "w" (trigger `w.go`): one stage of one step per action, in order. */
function stages(...actions: Array<[string, (ctx: Ctx) => unknown]>): Workflow {
  return {
    id: "w",
    triggers: { go: { event: "w.go", pipeline: "p" } },
    pipelines: {
      p: { stages: actions.map(([id, action]) => ({ id, steps: [{ id, action: action as never }] })) },
    },
  } as Workflow;
}

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

describe("event waits at their edges", () => {
  it("a cancelled wait holds no early event for a wait registered later", async () => {
    h = await harness();
    const gate = deferred();
    await h.runtime.register(
      stages(
        ["first", async (ctx) => (await pauseOf(ctx)).register({ event: "x" }).cancel()],
        ["slow", () => gate.promise],
        ["later", async (ctx) => void (await pauseOf(ctx)).register({ event: "x", id: "late" })],
        ["end", () => ({ ended: true })],
      ),
    );
    const started = h.runtime.invoke("w", "go", {});
    await tick(5);
    h.bus.emit("x", { early: true }); // after the cancel, before "late" exists
    gate.resolve();
    const result = await started;
    expect(result.ok && result.value.status).toBe("paused");
    expect(h.runtime.checkpoint(result.metadata.runId!)!.pause.map((w) => w.id)).toEqual(["late"]);
    expect(h.errors).toEqual([]);
  });

  it("an event held after its wait's deadline passed does not win over the timeout", async () => {
    h = await harness();
    await h.runtime.register(
      stages(
        [
          "ask",
          async (ctx) => {
            (await pauseOf(ctx)).register({
              id: "w1",
              event: "x",
              timeoutMs: 5,
              timeoutPatch: { late: true },
            });
            await tick(30); // the stage goes on past the deadline
          },
        ],
        ["end", () => ({ ended: true })],
      ),
    );
    const started = h.runtime.invoke("w", "go", {});
    await tick(15);
    h.bus.emit("x", { answer: "too late" }); // held: the run is still in its stage
    const runId = (await started).metadata.runId!;
    await tick(10);
    expect(await resumes(runId)).toEqual([{ nextStage: "end", by: "timeout", event: "x", wait: "w1" }]);
    expect(h.runtime.watch("w", runId)?.status).toBe("completed");
  });

  it("an event held before the deadline still resumes the run when its stage ends later", async () => {
    h = await harness();
    await h.runtime.register(
      stages(
        [
          "ask",
          async (ctx) => {
            (await pauseOf(ctx)).register({ id: "w1", event: "x", timeoutMs: 20 });
            await tick(40);
          },
        ],
        ["end", () => ({ ended: true })],
      ),
    );
    const started = h.runtime.invoke("w", "go", {});
    await tick(2);
    h.bus.emit("x", { answer: "in time" });
    const runId = (await started).metadata.runId!;
    expect(await resumes(runId)).toEqual([{ nextStage: "end", by: "event", event: "x", wait: "w1" }]);
  });

  it("cancelling one of two waits on the same event keeps holding early events for the other", async () => {
    h = await harness();
    const gate = deferred();
    await h.runtime.register(
      stages(
        [
          "ask",
          async (ctx) => {
            const pause = await pauseOf(ctx);
            pause.register({ id: "keep", event: "x" });
            pause.register({ id: "drop", event: "x" }).cancel();
            await gate.promise; // the stage goes on; an x arrives meanwhile
          },
        ],
        ["end", () => ({ ended: true })],
      ),
    );
    const started = h.runtime.invoke("w", "go", {});
    await tick(5);
    h.bus.emit("x", { answer: "early" }); // meets "keep": must be held for the run
    gate.resolve();
    const result = await started;
    await tick(5);
    const runId = result.metadata.runId!;
    // Expected: resumed at once by the held x through "keep", and completed.
    expect(await resumes(runId)).toEqual([{ nextStage: "end", by: "event", event: "x", wait: "keep" }]);
    expect(h.runtime.watch("w", runId)?.status).toBe("completed");
  });

  it("an event held after an earlier wait's deadline does not win through another wait", async () => {
    h = await harness();
    await h.runtime.register(
      stages(
        [
          "ask",
          async (ctx) => {
            const pause = await pauseOf(ctx);
            pause.register({ id: "approve", event: "approved", timeoutMs: 5, timeoutPatch: { late: true } });
            pause.register({ id: "reject", event: "rejected" });
            await tick(40); // the stage goes on past approve's deadline
          },
        ],
        ["end", () => ({ ended: true })],
      ),
    );
    const started = h.runtime.invoke("w", "go", {});
    await tick(20);
    h.bus.emit("rejected", {}); // after approve timed out; held: the run is still in its stage
    const runId = (await started).metadata.runId!;
    await tick(20);
    // A parked run would have been resumed by approve's timeout at 5 ms, before "rejected" came.
    expect(await resumes(runId)).toEqual([
      { nextStage: "end", by: "timeout", event: "approved", wait: "approve" },
    ]);
  });

  it("an event reaching a parked run whose deadline passed before its timer fired: the timeout wins", async () => {
    h = await harness();
    await h.runtime.register(
      stages(
        [
          "ask",
          async (ctx) => {
            (await pauseOf(ctx)).register({
              id: "w1",
              event: "x",
              timeoutMs: 5,
              timeoutPatch: { late: true },
            });
            await tick(30); // the stage outlasts the deadline
          },
        ],
        ["end", () => ({ ended: true })],
      ),
    );
    const result = await h.runtime.invoke("w", "go", {});
    expect(result.ok && result.value.status).toBe("paused");
    h.bus.emit("x", {}); // the deadline passed ~25 ms ago; the deadline timer has not fired yet
    const runId = result.metadata.runId!;
    await tick(10);
    expect((await resumes(runId))[0]).toMatchObject({ by: "timeout" });
  });

  for (const cancelledId of ["other", "t"]) {
    it(`cancelling a wait (id "${cancelledId}") keeps the last pause's wait holding events between resumes`, async () => {
      h = await harness();
      const gate = deferred();
      await h.runtime.register(
        stages(
          ["wait1", async (ctx) => void (await pauseOf(ctx)).register({ id: "t", event: "tick" })],
          [
            "work",
            async (ctx) => {
              // a wait registered and then cancelled (say, not needed after all)
              (await pauseOf(ctx)).register({ id: cancelledId, event: "tick" }).cancel();
              await gate.promise;
            },
          ],
          ["wait2", async (ctx) => void (await pauseOf(ctx)).register({ id: "t2", event: "tick" })],
          ["end", () => ({ ended: true })],
        ),
      );
      const first = await h.runtime.invoke("w", "go", {});
      const runId = first.metadata.runId!;
      expect(first.ok && first.value.status).toBe("paused");
      h.bus.emit("tick", { n: 1 }); // resumes wait1
      await tick(10);
      h.bus.emit("tick", { n: 2 }); // arrives while 'work' runs: the inter-resume buffer holds it
      gate.resolve();
      await tick(20);
      expect(h.runtime.watch("w", runId)?.status).toBe("completed");
    });
  }
});
