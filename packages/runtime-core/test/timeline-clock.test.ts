import type { TimelineEvent, TimelineStore } from "@sluice/timeline";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type DispatchResult, defineWorkflow, type RunResult } from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

// The wall clock set back while runs go on (an NTP step): stores list a run's events by `at`
// first, so each event the runtime writes for a run is stamped no earlier than the run's last one.

let now = 5_000_000;
let h: Harness | undefined;
beforeEach(() => {
  now = 5_000_000;
  vi.spyOn(Date, "now").mockImplementation(() => now);
});
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
  vi.restoreAllMocks();
});

async function eventsOf(store: TimelineStore, runId: string): Promise<TimelineEvent[]> {
  const all: TimelineEvent[] = [];
  let next: string | undefined;
  do {
    const page = await store.query(next === undefined ? { runId } : { runId, next });
    all.push(...page.events);
    next = page.next;
  } while (next !== undefined);
  return all;
}

/** The run's events as a query by run id lists them: in seq order, times never going back. */
async function expectInRunOrder(runId: string): Promise<TimelineEvent[]> {
  await h!.runtime.flushTimeline();
  const events = await eventsOf(h!.timeline, runId);
  expect(events.length).toBeGreaterThan(1);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  return events;
}

function expectDurationNotNegative(result: RunResult): void {
  expect(result.metadata.durationMs).toBeGreaterThanOrEqual(0);
}

/** A step that registers a wait for a `resume()`: the run pauses after its stage. */
const waitForResume = async (ctx: any) => {
  const pause = await ctx.use((d: any) => d.require("__pause_service__"));
  pause.register({});
};

const approval = defineWorkflow({
  id: "approval",
  triggers: { go: { event: "approval.go", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "ask",
          steps: [
            {
              id: "ask",
              action: async (ctx) => {
                now -= 60_000;
                ctx.logger.info("asking");
                await waitForResume(ctx);
              },
            },
          ],
        },
        { id: "ship", steps: [{ id: "ship", action: () => ({ shipped: true }) }] },
      ],
    },
  },
});

describe("a wall clock set back mid-run", () => {
  it("a run's events across a pause and resume: queried by run id they come in seq order", async () => {
    h = await harness();
    await h.runtime.register(approval);
    now += 1_000;
    const paused = await h.runtime.invoke("approval", "go", {});
    expect(paused.ok && paused.value.status).toBe("paused");
    const runId = paused.metadata.runId!;
    expectDurationNotNegative(paused);
    now -= 3_600_000;
    const done = await h.runtime.resume(runId, { approved: true });
    expect(done.ok && done.value.status).toBe("completed");
    expectDurationNotNegative(done);
    const events = await expectInRunOrder(runId);
    expect(events.map((e) => e.type)).toContain("run.resumed");
  });

  it("the same once the run's pause window has released it (the run is rebuilt to resume)", async () => {
    h = await harness();
    await h.runtime.register(approval, { pauseWindowMs: 0 });
    const runId = (await h.runtime.invoke("approval", "go", {})).metadata.runId!;
    await tick(5);
    now -= 3_600_000;
    expectDurationNotNegative(await h.runtime.resume(runId, {}));
    await expectInRunOrder(runId);
  });

  it("a paused run aborted: the runtime's run.aborted comes after its run.paused", async () => {
    h = await harness();
    await h.runtime.register(approval, { keepResults: 1 });
    const runId = (await h.runtime.invoke("approval", "go", {})).metadata.runId!;
    now -= 3_600_000;
    await h.runtime.abort(runId);
    const events = await expectInRunOrder(runId);
    expect(events.at(-1)).toMatchObject({ type: "run.aborted", source: "runtime" });
    expectDurationNotNegative(await h.runtime.result(runId));
  });

  it("a run whose resume fails: the runtime's run.failed comes after its run.paused", async () => {
    h = await harness();
    await h.runtime.register(approval, { pauseWindowMs: 0 });
    const runId = (await h.runtime.invoke("approval", "go", {})).metadata.runId!;
    await tick(5);
    // a released run is rebuilt from its checkpoint: a store registry that refuses fails the resume
    vi.spyOn(h.storeRegistry, "create").mockImplementation(() => {
      throw new Error("no room");
    });
    now -= 3_600_000;
    const failed = await h.runtime.resume(runId, {});
    expect(failed.ok).toBe(false);
    expectDurationNotNegative(failed);
    const events = await expectInRunOrder(runId);
    expect(events.at(-1)).toMatchObject({ type: "run.failed", source: "runtime" });
  });

  it("a run whose onPrepare fails after a step back: its duration is not negative", async () => {
    h = await harness();
    await h.runtime.register(approval, {
      onPrepare: () => {
        now -= 60_000;
        throw new Error("not ready");
      },
    });
    const failed = await h.runtime.invoke("approval", "go", {});
    expect(failed.ok).toBe(false);
    expectDurationNotNegative(failed);
    await expectInRunOrder(failed.metadata.runId!);
  });

  it("a queued run that starts, or never does, after a step back: its duration is not negative", async () => {
    h = await harness();
    const gate = deferred();
    const reports: DispatchResult[] = [];
    const serial = defineWorkflow({
      id: "serial",
      triggers: { go: { event: "serial.go", pipeline: "p" } },
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "a", action: () => gate.promise }] }] } },
    });
    await h.runtime.register(serial, {
      mode: { type: "serialized" },
      keepResults: 3,
      onDispatch: (r) => reports.push(r),
    });
    h.bus.emit("serial.go", {});
    h.bus.emit("serial.go", {});
    h.bus.emit("serial.go", {});
    const [first, second, third] = reports.map((r) => r.runId!);
    expect(reports.map((r) => r.outcome)).toEqual(["started", "queued", "queued"]);
    now -= 60_000;
    await h.runtime.abort(third!);
    gate.resolve();
    await tick(5);
    for (const runId of [first!, second!, third!]) expectDurationNotNegative(await h.runtime.result(runId));
    await expectInRunOrder(second!);
  });

  it("an adopted run whose checkpoint started after this runtime's clock: stamped from its start", async () => {
    h = await harness();
    await h.runtime.register(approval);
    const runId = (await h.runtime.invoke("approval", "go", {})).metadata.runId!;
    const checkpoint = JSON.parse(JSON.stringify(await h.runtime.detach(runId)));
    const other = await harness();
    try {
      await other.runtime.register(approval, { keepResults: 1 });
      // the adopting machine's clock is an hour behind
      now -= 3_600_000;
      other.runtime.adopt(checkpoint);
      const done = await other.runtime.resume(runId, {});
      expectDurationNotNegative(done);
      await other.runtime.flushTimeline();
      const events = await eventsOf(other.timeline, runId);
      for (const event of events) expect(event.at).toBeGreaterThanOrEqual(checkpoint.startedAt);
    } finally {
      await other.runtime.stop();
    }
  });
});
