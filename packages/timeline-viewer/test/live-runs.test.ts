import { describe, expect, it } from "vitest";
import { layoutTimeline, type TimelineRow } from "../src/index.js";
import { runEvents } from "./synthetic-events.js";

/**
 * Four runs on one timeline: `done` completed, `parked` paused waiting for an event, and `alive`
 * and `dead` both mid-stage with no closing event: one a process still runs, the other's process
 * died at 300 (nothing recorded how it ended).
 */
function timeline() {
  const done = runEvents("wf", "done")
    .add(0, "run.started")
    .add(0, "stage.started", { stage: "a" })
    .add(100, "stage.completed", { stage: "a" })
    .add(100, "run.completed").events;
  const parked = runEvents("wf", "parked").add(0, "run.started").add(50, "run.paused", { stage: "a" }).events;
  const alive = runEvents("wf", "alive")
    .add(200, "run.started")
    .add(200, "stage.started", { stage: "a" }).events;
  const dead = runEvents("wf", "dead")
    .add(100, "run.started")
    .add(100, "stage.started", { stage: "a" })
    .add(150, "step.started", { stage: "a", step: "s" })
    .add(300, "log", { stage: "a", step: "s", message: "last words" }).events;
  return [...done, ...parked, ...alive, ...dead];
}

function byRun(rows: TimelineRow[]): Record<string, TimelineRow> {
  return Object.fromEntries(rows.map((row) => [row.runId, row]));
}

describe("layoutTimeline liveRuns", () => {
  it("draws a run that has no closing event, is not paused and is not live as lost, ending at its last event", () => {
    const layout = layoutTimeline(timeline(), { width: 1000, now: 1000, liveRuns: ["alive"] });
    const rows = byRun(layout.rows);
    expect(rows.dead!.status).toBe("lost");
    expect(rows.dead!.label).toBe("wf · dead · lost");
    // Its row and its open bars stop at its last event (300) instead of growing to now (1000).
    expect(rows.dead!.end).toBe(300);
    expect(rows.dead!.bars.map((bar) => [bar.kind, bar.end, bar.status])).toEqual([
      ["stage", 300, "running"],
      ["step", 300, "running"],
    ]);
    expect(rows.alive).toMatchObject({ status: "running", end: 1000 });
    // A parked run is not live in any process, and is fine: it waits in its checkpoint.
    expect(rows.parked).toMatchObject({ status: "paused", end: 1000 });
    expect(rows.done).toMatchObject({ status: "completed", end: 100 });
    expect(layout.runs.find((run) => run.runId === "dead")?.status).toBe("lost");
  });

  it("takes a Set, any iterable, or a function asked about runs without a closing event", () => {
    const statuses = (liveRuns: Iterable<string> | ((runId: string) => boolean)) =>
      layoutTimeline(timeline(), { width: 100, now: 1000, liveRuns }).rows.map((row) => row.status);
    const expected = ["completed", "paused", "lost", "running"];
    expect(statuses(new Set(["alive"]))).toEqual(expected);
    expect(statuses(new Map([["alive", 1]]).keys())).toEqual(expected);
    const asked: string[] = [];
    expect(
      statuses((runId) => {
        asked.push(runId);
        return runId === "alive";
      }),
    ).toEqual(expected);
    expect(asked.sort()).toEqual(["alive", "dead"]);
  });

  it("without liveRuns, draws every run without a closing event as running, growing to now", () => {
    const rows = byRun(layoutTimeline(timeline(), { width: 1000, now: 1000 }).rows);
    expect(rows.dead).toMatchObject({ status: "running", end: 1000 });
  });

  it("rejects a liveRuns that is not run ids or a function, and a function that throws or answers later", () => {
    const attempt = (liveRuns: unknown) => {
      try {
        layoutTimeline(timeline(), { width: 100, liveRuns } as never);
        return "no error";
      } catch (error) {
        return `${(error as { code?: string }).code}: ${(error as Error).message}`;
      }
    };
    expect(attempt("alive")).toBe(
      'INVALID_INPUT: layoutTimeline options.liveRuns must be run ids (an array or a Set of strings) or a function (runId) => boolean, not "alive"',
    );
    expect(attempt(42)).toBe(
      "INVALID_INPUT: layoutTimeline options.liveRuns must be run ids (an array or a Set of strings) or a function (runId) => boolean, not 42",
    );
    expect(attempt(["alive", 7])).toBe(
      "INVALID_INPUT: layoutTimeline options.liveRuns[1] must be a run id (a string), not 7",
    );
    expect(attempt({ alive: true })).toBe(
      "INVALID_INPUT: layoutTimeline options.liveRuns must be run ids (an array or a Set of strings) or a function (runId) => boolean, not an object",
    );
    expect(
      attempt(() => {
        throw new Error("registry gone");
      }),
    ).toMatch(
      /^INVALID_INPUT: layoutTimeline options\.liveRuns threw for run "(alive|dead)": Error: registry gone$/,
    );
    // details.got keeps the typeof, for a host that branches on it
    for (const [liveRuns, got] of [
      ["alive", "string"],
      [{ alive: true }, "object"],
    ] as const) {
      let refused: unknown;
      try {
        layoutTimeline(timeline(), { width: 100, liveRuns } as never);
      } catch (error) {
        refused = error;
      }
      expect(refused).toMatchObject({ details: { path: "layoutTimeline options.liveRuns", got } });
    }
    expect(attempt(async () => true)).toMatch(
      /^INVALID_INPUT: layoutTimeline options\.liveRuns returned a Promise for run "(alive|dead)": it must answer at once, true or false$/,
    );
  });
});
