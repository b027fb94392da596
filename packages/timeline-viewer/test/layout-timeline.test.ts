import { SystemError } from "@sluice/errors";
import type { TimelineEvent } from "@sluice/timeline";
import { describe, expect, it } from "vitest";
import { formatDuration, layoutTimeline, type TimelineRow } from "../src/index.js";
import { runEvents, scenario } from "./synthetic-events.js";

function row(rows: TimelineRow[], runId: string): TimelineRow {
  const found = rows.find((r) => r.runId === runId);
  if (found === undefined) throw new Error(`no row for ${runId}`);
  return found;
}

describe("layoutTimeline", () => {
  it("draws stage and step bars from started/completed pairs on a shared axis", () => {
    const layout = layoutTimeline(scenario(), { width: 1000, now: 2500 });
    // The axis runs from the earliest event to now (a run is still running).
    expect(layout.start).toBe(0);
    expect(layout.end).toBe(2500);
    const order1 = row(layout.rows, "order-1");
    expect(order1.status).toBe("completed");
    expect(order1.label).toBe("order · order-1 · completed");
    const stages = order1.bars.filter((b) => b.kind === "stage");
    expect(stages.map((b) => [b.stage, b.start, b.end, b.status])).toEqual([
      ["validate", 0, 200, "completed"],
      ["review", 200, 1000, "completed"],
      ["ship", 1600, 2000, "completed"],
    ]);
    // 1000 px for 2500 ms: 0.4 px per ms.
    expect(stages[1]).toMatchObject({ x: 80, width: 320, lane: 0 });
    const steps = order1.bars.filter((b) => b.kind === "step");
    expect(steps).toEqual([
      expect.objectContaining({
        stage: "validate",
        step: "check",
        start: 0,
        end: 200,
        status: "completed",
        lane: 0,
      }),
    ]);
    expect(order1.stageLanes).toBe(1);
    expect(order1.stepLanes).toBe(1);
  });

  it("marks a paused stretch from run.paused to run.resumed, with a resume marker", () => {
    const order1 = row(layoutTimeline(scenario(), { width: 1000, now: 2500 }).rows, "order-1");
    expect(order1.pauses).toEqual([
      { start: 1000, end: 1600, x: 400, width: 240, resumed: true, stage: "review", nextStage: "ship" },
    ]);
    expect(order1.markers).toEqual([{ kind: "resume", at: 1600, x: 640 }]);
  });

  it("extends a pause that has not been resumed to now, and reports the run as paused", () => {
    const events = runEvents("wf", "r")
      .add(0, "run.started")
      .add(0, "stage.started", { stage: "a" })
      .add(100, "stage.completed", { stage: "a" })
      .add(100, "run.paused", { stage: "a" }).events;
    const r = layoutTimeline(events, { width: 100, now: 400 }).rows[0]!;
    expect(r.status).toBe("paused");
    expect(r.pauses).toEqual([{ start: 100, end: 400, x: 25, width: 75, resumed: false, stage: "a" }]);
    expect(r.end).toBe(400);
  });

  it("shows failures in red terms: failed bars and a failure marker carrying the error message", () => {
    const order2 = row(layoutTimeline(scenario(), { width: 1000, now: 2500 }).rows, "order-2");
    expect(order2.status).toBe("failed");
    expect(order2.message).toBe("card declined");
    expect(order2.bars.map((b) => [b.kind, b.status, b.message])).toEqual([
      ["stage", "failed", "card declined"],
      ["step", "failed", "card declined"],
    ]);
    expect(order2.markers).toEqual([
      { kind: "failure", at: 900, x: 360, stage: "validate", message: "card declined" },
    ]);
    // A finished run ends at its last event, not at now.
    expect(order2.end).toBe(900);
  });

  it("takes the error message from data.error when the event has no message", () => {
    const events = runEvents("wf", "r")
      .add(0, "stage.started", { stage: "a" })
      .add(5, "stage.failed", {
        stage: "a",
        data: { error: { code: "TIMEOUT", message: "too slow" } },
      }).events;
    expect(layoutTimeline(events, { width: 10, now: 5 }).rows[0]!.bars[0]!.message).toBe("too slow");
  });

  it("turns logger events into ticks with their level, message and data", () => {
    const layout = layoutTimeline(scenario(), { width: 1000, now: 2500 });
    expect(row(layout.rows, "order-1").logs).toEqual([
      {
        at: 1700,
        x: 680,
        level: "info",
        message: "shipping",
        stage: "ship",
        step: "send",
        data: { carrier: "dhl" },
      },
    ]);
    expect(row(layout.rows, "report-1").logs).toMatchObject([{ level: "warn", message: "slow source" }]);
    // A level outside the known ones reads as info.
    const odd = runEvents("wf", "r").add(0, "log", {
      source: "logger",
      message: "x",
      level: "loud" as never,
    }).events;
    expect(layoutTimeline(odd, { width: 10, now: 0 }).rows[0]!.logs[0]!.level).toBe("info");
  });

  it("draws a still-running stage to now, and a running run's row to now", () => {
    const report = row(layoutTimeline(scenario(), { width: 1000, now: 2500 }).rows, "report-1");
    expect(report.status).toBe("running");
    expect(report.bars).toEqual([
      expect.objectContaining({ kind: "stage", stage: "collect", status: "running", end: 2500 }),
    ]);
    expect(report.end).toBe(2500);
    // now never lies before the newest event
    const early = layoutTimeline(scenario(), { width: 1000, now: 10 });
    expect(early.now).toBe(2000);
  });

  it("ends a bar left open by a run that finished at the run's last event", () => {
    const events = runEvents("wf", "r")
      .add(0, "run.started")
      .add(0, "stage.started", { stage: "a" })
      .add(300, "run.aborted", { message: "stopped by host", source: "runtime" }).events;
    const r = layoutTimeline(events, { width: 300, now: 10_000 }).rows[0]!;
    expect(r.status).toBe("aborted");
    expect(r.bars[0]).toMatchObject({ status: "running", end: 300 });
    expect(r.markers).toEqual([{ kind: "abort", at: 300, x: 300, message: "stopped by host" }]);
  });

  it("filters by workflow and by run, while listing every workflow and the workflow's runs", () => {
    const events = scenario();
    const byWorkflow = layoutTimeline(events, { width: 500, workflowId: "order", now: 2500 });
    expect(byWorkflow.rows.map((r) => r.runId)).toEqual(["order-1", "order-2"]);
    expect(byWorkflow.workflows).toEqual(["order", "report"]);
    expect(byWorkflow.runs.map((r) => [r.runId, r.status])).toEqual([
      ["order-1", "completed"],
      ["order-2", "failed"],
    ]);
    // The axis fits the shown runs only (no running run shown: it ends at the last event).
    expect([byWorkflow.start, byWorkflow.end]).toEqual([0, 2000]);
    const byRun = layoutTimeline(events, { width: 500, runId: "order-2", now: 2500 });
    expect(byRun.rows.map((r) => r.runId)).toEqual(["order-2"]);
    expect([byRun.start, byRun.end]).toEqual([500, 900]);
    expect(byRun.runs).toHaveLength(3);
    expect(layoutTimeline(events, { width: 500, workflowId: "nope" }).rows).toEqual([]);
  });

  it("reads each run in seq order whatever order the input is in, counting duplicate ids once", () => {
    const events = scenario();
    const expected = layoutTimeline(events, { width: 800, now: 2500 });
    const shuffled = [...events].reverse();
    shuffled.splice(3, 0, ...events.slice(0, 5)); // duplicates
    expect(layoutTimeline(shuffled, { width: 800, now: 2500 })).toEqual(expected);
  });

  it("uses seq, not at, to decide what happened last (equal and skewed clocks)", () => {
    // The clock went backwards between the two events: seq still says the run completed last.
    const events = runEvents("wf", "r")
      .add(100, "run.started")
      .add(100, "stage.started", { stage: "a" })
      .add(90, "stage.completed", { stage: "a" })
      .add(90, "run.completed").events;
    const r = layoutTimeline(events.reverse(), { width: 100, now: 500 }).rows[0]!;
    expect(r.status).toBe("completed");
    // A bar never has a negative width.
    expect(r.bars[0]).toMatchObject({ start: 100, end: 100, width: 0, status: "completed" });
  });

  it("orders rows by run start and does not mutate the input", () => {
    const events = scenario();
    const copy = structuredClone(events);
    const layout = layoutTimeline(events, { width: 800, now: 2500 });
    expect(layout.rows.map((r) => r.runId)).toEqual(["order-1", "order-2", "report-1"]);
    expect(events).toEqual(copy);
  });

  it("puts overlapping steps (a concurrent stage) in separate lanes and retried attempts in order", () => {
    const events = runEvents("wf", "r")
      .add(0, "stage.started", { stage: "fan" })
      .add(0, "step.started", { stage: "fan", step: "a" })
      .add(0, "step.started", { stage: "fan", step: "b" })
      .add(50, "step.retried", { stage: "fan", step: "a", data: { error: { message: "flaky" }, attempt: 1 } })
      .add(60, "step.started", { stage: "fan", step: "a", data: { attempt: 2 } })
      .add(80, "step.completed", { stage: "fan", step: "b" })
      .add(90, "step.completed", { stage: "fan", step: "a" })
      .add(90, "step.skipped", { stage: "fan", step: "c" })
      .add(90, "stage.completed", { stage: "fan" }).events;
    const r = layoutTimeline(events, { width: 90, now: 90 }).rows[0]!;
    const steps = r.bars.filter((b) => b.kind === "step");
    expect(steps.map((b) => [b.step, b.start, b.end, b.status, b.lane])).toEqual([
      ["a", 0, 50, "retried", 0],
      ["b", 0, 80, "completed", 1],
      ["a", 60, 90, "completed", 0],
      ["c", 90, 90, "skipped", 0],
    ]);
    expect(steps[0]!.message).toBe("flaky");
    expect(steps[2]!.attempt).toBe(2);
    expect(r.stepLanes).toBe(2);
  });

  it("shows a closing event whose start is missing (a partial page) as an instant", () => {
    const events = runEvents("wf", "r").add(40, "stage.completed", { stage: "late" }).events;
    expect(layoutTimeline(events, { width: 10, now: 40 }).rows[0]!.bars).toEqual([
      expect.objectContaining({ stage: "late", start: 40, end: 40, width: 0, status: "completed" }),
    ]);
  });

  it("shortens run ids to what tells them apart", () => {
    const ids = (runIds: string[]) =>
      layoutTimeline(
        runIds.flatMap((id, i) => runEvents("wf", id).add(i, "run.started").events),
        { width: 100, now: 10 },
      ).rows.map((r) => r.shortRunId);
    // A runtime's `<random prefix>-<counter>` ids: the shared prefix goes.
    expect(ids(["k2j4h5g6f7d8-1", "k2j4h5g6f7d8-2", "k2j4h5g6f7d8-a"])).toEqual(["…-1", "…-2", "…-a"]);
    expect(ids(["k2j4h5g6f7d8-10", "k2j4h5g6f7d8-11"])).toEqual(["…-10", "…-11"]);
    // UUIDs: their first 8 characters; short ids stay whole.
    expect(ids(["3f2504e0-4f89-11d3-9a0c-0305e82c3301", "3a2504e0-4f89-11d3-9a0c-0305e82c3301"])).toEqual([
      "3f2504e0",
      "3a2504e0",
    ]);
    expect(ids(["k2j4h5g6f7d8-1"])).toEqual(["k2j4h5g6"]);
    // Cut between characters, never inside one (an emoji is two UTF-16 code units).
    expect(ids(["a😀😀😀😀"])).toEqual(["a😀😀😀"]);
    expect(ids(["p-a😀😀😀😀", "p-b"])).toEqual(["…-a😀😀😀", "…-b"]);
    // Runs of two runtimes on one timeline (a restart): each numbers its runs after its own random
    // prefix, and every run of one used to show as the same 8 characters.
    expect(ids(["8x59r049qcnu-1", "8x59r049qcnu-2", "cihk9g16r65qg-1", "cihk9g16r65qg-10"])).toEqual([
      "8x59…-1",
      "8x59…-2",
      "cihk…-1",
      "cihk…-10",
    ]);
    expect(ids(["order-A-100", "order-A-101", "order-B-100"])).toEqual(["…-A-100", "…-A-101", "…-B-100"]);
    // No separator to cut at: from where they differ; failing everything else, the whole id.
    expect(ids(["runA0000001", "runA0000002", "x"])).toEqual(["runA…1", "runA…2", "x"]);
    expect(ids(["abcdefghij", "abcdefghijk", "z"])).toEqual(["abcdefghij", "abcd…k", "z"]);
    const label = layoutTimeline(
      runEvents("orders", "p-1").add(0, "run.started").add(1, "run.completed").events,
      {
        width: 10,
      },
    ).rows[0]!.label;
    expect(label).toBe("orders · p-1 · completed");
  });

  it("labels the axis with nice steps relative to its start", () => {
    const layout = layoutTimeline(scenario(), { width: 1000, now: 2500 });
    expect(layout.ticks.map((t) => t.label)).toEqual([
      "0",
      "250 ms",
      "500 ms",
      "750 ms",
      "1 s",
      "1.25 s",
      "1.5 s",
      "1.75 s",
      "2 s",
      "2.25 s",
      "2.5 s",
    ]);
    expect(layout.ticks[4]).toEqual({ at: 1000, x: 400, label: "1 s" });
    const minutes = layoutTimeline(
      runEvents("wf", "r").add(0, "run.started").add(600_000, "run.completed").events,
      { width: 600 },
    );
    expect(minutes.ticks.map((t) => t.label)).toEqual(["0", "2 m", "4 m", "6 m", "8 m", "10 m"]);
  });

  it("handles no events and a single instant", () => {
    const empty = layoutTimeline([], { width: 300, now: 5 });
    expect(empty).toMatchObject({ rows: [], workflows: [], runs: [], start: 5 });
    const one = layoutTimeline(runEvents("wf", "r").add(7, "run.completed").events, { width: 300, now: 7 });
    expect(one.rows[0]).toMatchObject({ start: 7, end: 7, x: 0, width: 0, status: "completed" });
    expect(one.end).toBeGreaterThan(one.start);
  });

  it("rejects bad input with SystemError INVALID_INPUT naming what to fix", () => {
    const bad = (events: unknown, options: unknown) => () =>
      layoutTimeline(events as TimelineEvent[], options as { width: number });
    expect(bad(scenario(), { width: 0 })).toThrow(/options.width must be a positive number/);
    expect(bad(scenario(), undefined)).toThrow(SystemError);
    expect(bad("nope", { width: 10 })).toThrow(/events must be an array/);
    const broken = [...scenario()];
    broken[2] = { ...broken[2]!, at: Number.NaN };
    expect(bad(broken, { width: 10 })).toThrow('layoutTimeline events[2]: "at" must be a finite number');
    let caught: unknown;
    try {
      bad([null], { width: 10 })();
    } catch (error) {
      caught = error;
    }
    expect(SystemError.is(caught, "INVALID_INPUT")).toBe(true);
    expect((caught as Error).message).toBe("layoutTimeline events[0] must be a TimelineEvent object");
  });

  it("keeps hostile ids and messages as plain data", () => {
    const events = runEvents("__proto__", "constructor").add(0, "log", {
      message: "<img src=x onerror=alert(1)>",
      data: JSON.parse('{"__proto__":{"polluted":true}}'),
    }).events;
    const layout = layoutTimeline(events, { width: 10, now: 0 });
    expect(layout.rows[0]).toMatchObject({ runId: "constructor", workflowId: "__proto__" });
    expect(layout.rows[0]!.logs[0]!.message).toBe("<img src=x onerror=alert(1)>");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("formatDuration", () => {
  it("reads like a person writes durations", () => {
    expect([0, 5, 250, 1000, 1500, 59_999, 90_000, 120_000, 3_900_000, -250].map(formatDuration)).toEqual([
      "0",
      "5 ms",
      "250 ms",
      "1 s",
      "1.5 s",
      "60 s",
      "1 m 30 s",
      "2 m",
      "1 h 5 m",
      "-250 ms",
    ]);
  });

  it("carries a rounded-up remainder into the unit above: never 1 m 60 s or 1 h 60 m", () => {
    expect([119_600, 3_599_600, 7_170_000, 86_399_999, -119_600].map(formatDuration)).toEqual([
      "2 m",
      "1 h",
      "2 h",
      "24 h",
      "-2 m",
    ]);
  });
});
