import { afterEach, describe, expect, it, vi } from "vitest";
import type { DispatchResult, TriggerDefinition } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";

let h: Harness | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await h?.runtime.stop();
  h = undefined;
});

/**
 * A workflow whose trigger `go` has `trigger` merged in and `cancelOn` of `stop` matching `id`;
 * `onReport` runs in onDispatch after the report is recorded.
 */
async function setup(trigger: Partial<TriggerDefinition>, onReport: (d: DispatchResult) => void = () => {}) {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  h = await harness();
  const dispatched: DispatchResult[] = [];
  const ran: unknown[] = [];
  await h.runtime.register(
    {
      id: "held",
      triggers: {
        go: { event: "go", pipeline: "p", cancelOn: [{ event: "stop", match: "id" }], ...trigger },
      },
      pipelines: {
        p: { stages: [{ id: "s", steps: [{ id: "s", action: (ctx) => void ran.push(ctx.state().n) }] }] },
      },
    },
    {
      onDispatch: (d) => {
        dispatched.push(d);
        onReport(d);
      },
    },
  );
  return {
    ran,
    dispatched,
    reports: () => dispatched.map((d) => [d.outcome, (d.payload as { n: number }).n]),
  };
}

describe("review: cancelOn and events not yet runs", () => {
  it("a cancel emitted while a drain sends the throttle's waiting events on drops the matching ones not sent yet", async () => {
    const t = await setup({ throttle: { limit: 1, periodMs: 100 } }, (d) => {
      // the host cancels order a as its second event starts (during the drain)
      if (d.outcome === "started" && (d.payload as { n: number }).n === 2) h!.bus.emit("stop", { id: "a" });
    });
    h!.bus.emit("go", { id: "a", n: 1 });
    h!.bus.emit("go", { id: "a", n: 2 });
    h!.bus.emit("go", { id: "a", n: 3 });
    expect(t.reports()).toEqual([["started", 1]]);
    // (its release is synchronous: the drain then waits for the runs, on timers faked here)
    const drained = h!.runtime.drain();
    // n: 3 still waited when the cancel came: dropped, never a run
    expect(t.reports()).toEqual([
      ["started", 1],
      ["started", 2],
      ["dropped", 3],
    ]);
    expect(t.dispatched[2]!.reason).toBe('cancelled by event "stop"');
    await vi.advanceTimersByTimeAsync(1_000);
    await drained;
    expect(t.ran).not.toContain(3);
  });
});
