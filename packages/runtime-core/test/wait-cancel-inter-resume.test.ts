import { afterEach, describe, expect, it } from "vitest";
import type { PauseService, Workflow } from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

type Ctx = { use: (fn: (d: { require<T>(key: string): Promise<T> }) => unknown) => Promise<unknown> };
const pauseOf = (ctx: Ctx) =>
  ctx.use((d) => d.require<PauseService>("__pause_service__")) as Promise<PauseService>;

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

function loop(cancelledId: string, gate: Promise<void>): Workflow {
  return {
    id: "w",
    triggers: { go: { event: "w.go", pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          {
            id: "wait1",
            steps: [
              {
                id: "a",
                action: (async (ctx: Ctx) =>
                  void (await pauseOf(ctx)).register({ id: "t", event: "tick" })) as never,
              },
            ],
          },
          {
            id: "work",
            steps: [
              {
                id: "b",
                action: (async (ctx: Ctx) => {
                  // a wait registered and then cancelled (say, not needed after all)
                  (await pauseOf(ctx)).register({ id: cancelledId, event: "tick" }).cancel();
                  await gate;
                }) as never,
              },
            ],
          },
          {
            id: "wait2",
            steps: [
              {
                id: "c",
                action: (async (ctx: Ctx) =>
                  void (await pauseOf(ctx)).register({ id: "t2", event: "tick" })) as never,
              },
            ],
          },
          { id: "end", steps: [{ id: "d", action: (() => ({ ended: true })) as never }] },
        ],
      },
    },
  } as Workflow;
}

describe("cancelling a wait whose id the last pause used", () => {
  for (const cancelledId of ["other", "t"]) {
    it(`a second tick during 'work' is held for wait2 (cancelled wait id "${cancelledId}")`, async () => {
      h = await harness();
      const gate = deferred();
      await h.runtime.register(loop(cancelledId, gate.promise));
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
