// A run waits for its hooks (onPrepare, onResume, the onPause before a resume) or for an abort,
// whichever comes first. Each of those waits used to leave a waiter for the abort on the run
// until the run ended: a run paused and resumed a thousand times held a thousand of them.
import type { PauseService } from "@sluice/pause";
import { afterEach, describe, expect, it } from "vitest";
import type { Workflow } from "../src/index.js";
import { type Harness, harness, tick } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

const STAGES = 6;

/** Every stage but the last waits for a `next` event. */
const hopping: Workflow = {
  id: "hops",
  triggers: { go: { event: "go", pipeline: "p" } },
  pipelines: {
    p: {
      stages: Array.from({ length: STAGES }, (_, i) => ({
        id: `s${i}`,
        steps: [
          {
            id: `s${i}`,
            action: async (ctx) => {
              if (i === STAGES - 1) return;
              const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
              pause.register({ event: "next" });
            },
          },
        ],
      })),
    },
  },
};

describe("waiting for hooks leaves no abort waiter behind", () => {
  it("a run paused and resumed many times, with async onPrepare, onPause and onResume, holds none once each settles", async () => {
    h = await harness();
    await h.runtime.register(hopping, {
      onPrepare: async () => tick(1),
      onPause: async () => tick(1),
      onResume: async () => tick(1),
    });
    const first = await h.runtime.invoke("hops", "go", {});
    const runId = first.metadata.runId!;
    const record = (h.runtime as any).runs.get(runId);
    const waiting = () => record.abortWaiters?.length ?? 0;
    expect(waiting()).toBe(0);
    for (let hop = 1; hop < STAGES; hop++) {
      await tick(5); // its onPause is over
      const result = await h.runtime.resume(runId);
      expect(result.ok && result.value.status).toBe(hop < STAGES - 1 ? "paused" : "completed");
      expect(waiting()).toBe(0);
    }
  });

  it("an abort still ends a run waiting for its onResume, without waiting for the hook", async () => {
    h = await harness();
    await h.runtime.register(hopping, { onResume: () => new Promise(() => {}) });
    const runId = (await h.runtime.invoke("hops", "go", {})).metadata.runId!;
    const resumed = h.runtime.resume(runId);
    await tick(5);
    await h.runtime.abort(runId);
    const result = await resumed;
    expect(result.ok && result.value.status).toBe("aborted");
  });
});
