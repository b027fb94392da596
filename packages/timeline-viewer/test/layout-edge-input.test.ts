import { SystemError } from "@sluice/errors";
import type { TimelineEvent } from "@sluice/timeline";
import { describe, expect, it } from "vitest";
import { layoutTimeline, type TimelineLayout } from "../src/index.js";
import type { DrawNode } from "../src/reconcile.js";
import { chartNodes, rowHeight, rowNode } from "../src/render-chart.js";
import { layoutInWorker } from "./layout-in-worker.js";
import { runEvents } from "./synthetic-events.js";

/** Every number in `value` (a layout, a row), with where it is, for finiteness checks. */
function numbersIn(value: unknown, path = "layout"): Array<[string, number]> {
  if (typeof value === "number") return [[path, value]];
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => numbersIn(inner, `${path}.${key}`));
}

function findNode(nodes: readonly DrawNode[], key: string): DrawNode | undefined {
  for (const node of nodes) {
    if (node.key === key) return node;
    const inner = findNode(node.children ?? [], key);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/** The chart the element draws for `layout` when every row is in view. */
function drawLayout(layout: TimelineLayout, live: boolean): DrawNode[] {
  const rows = layout.rows.map((row) => rowNode(row, layout.width));
  const height = layout.rows.reduce(
    (sum, row) => sum + rowHeight(row.stageLanes, row.stepLanes, row.logs.length > 0),
    0,
  );
  const active = layout.rows.some((row) => row.status === "running" || row.status === "paused");
  return chartNodes(layout, rows.length === 0 ? undefined : { nodes: rows, top: 0, height }, live && active);
}

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("layoutTimeline with extreme but finite times", () => {
  it("lays out events at -1e308 and 1e308 quickly, with finite positions and one axis tick", async () => {
    const events = runEvents("wf", "r")
      .add(-1e308, "run.started")
      .add(-1e308, "stage.started", { stage: "a" })
      .add(0, "run.paused", { stage: "a" })
      .add(1e307, "run.resumed")
      .add(5e307, "log", { message: "late" })
      .add(1e308, "run.failed", { stage: "a", message: "boom" }).events;
    const layout = await layoutInWorker(events, { width: 800 }, 4000);
    expect(layout).toMatchObject({ start: -1e308, end: 1e308 });
    // The span (2e308) is more than a number holds: no tick but the origin can be labelled.
    expect(layout.ticks).toEqual([{ at: -1e308, x: 0, label: "0" }]);
    const nonFinite = numbersIn(layout).filter(([, n]) => !Number.isFinite(n));
    expect(nonFinite).toEqual([]);
    const row = layout.rows[0]!;
    expect(row).toMatchObject({ x: 0, width: 800 });
    expect(row.bars[0]).toMatchObject({ x: 0, width: 800, status: "running" });
    // 0 is the middle of the axis; 1e307 is 1/20 of the span further.
    expect(row.pauses[0]!.x).toBeCloseTo(400);
    expect(row.pauses[0]!.width).toBeCloseTo(40);
    expect(row.logs[0]!.x).toBeCloseTo(600);
  });

  it("draws such an axis: the now line at the right end, times outside Date's range as numbers", async () => {
    const events = runEvents("wf", "r").add(-1e308, "run.started").events;
    const layout = await layoutInWorker(events, { width: 800, now: 1e308 }, 4000);
    const nodes = drawLayout(layout, true);
    expect(findNode(nodes, "now")?.style).toBe("left:800px");
    expect(findNode(nodes, "origin")).toMatchObject({
      text: "from -1e+308 ms",
      attrs: { title: "-1e+308 ms" },
    });
  });

  it("keeps the axis to at most 1001 ticks whatever the width", async () => {
    const events = runEvents("wf", "r").add(0, "run.started").add(1e12, "run.completed").events;
    const layout: TimelineLayout = await layoutInWorker(events, { width: 1e15 }, 4000);
    expect(layout.ticks.length).toBeGreaterThan(1);
    expect(layout.ticks.length).toBeLessThanOrEqual(1001);
    expect(numbersIn(layout.ticks).every(([, n]) => Number.isFinite(n))).toBe(true);
  });

  it("gives a finite span of 1e307 several ticks (only spans past what a number holds get one)", () => {
    const events = runEvents("wf", "r").add(0, "run.started").add(1e307, "run.completed").events;
    const layout = layoutTimeline(events, { width: 800 });
    expect(layout.ticks.length).toBeGreaterThan(1);
  });
});

describe("layoutTimeline pauses", () => {
  it("says what resumed a run, from run.resumed's data.by and data.event, on the pause and the resume marker", () => {
    const resumedBy = (data?: object) =>
      runEvents("wf", "r")
        .add(0, "run.started")
        .add(10, "run.paused", { stage: "ask", data: { nextStage: "close" } })
        .add(30, "run.resumed", data === undefined ? {} : { data: { nextStage: "close", ...data } })
        .add(40, "run.completed").events;
    const titles = (data?: object) => {
      const layout = layoutTimeline(resumedBy(data), { width: 100, now: 100 });
      const nodes = drawLayout(layout, false);
      const pause = findNode(nodes, "pause:0")!.attrs!;
      const marker = findNode(nodes, "marker:0")!.attrs!;
      return {
        pause: pause.title,
        marker: marker.title,
        by: [pause["data-resumed-by"], marker["data-resumed-by"]],
      };
    };
    const row = layoutTimeline(resumedBy({ by: "timeout", event: "ticket.replied", wait: "reply" }), {
      width: 100,
      now: 100,
    }).rows[0]!;
    expect(row.pauses).toEqual([
      {
        start: 10,
        end: 30,
        x: 25,
        width: 50,
        resumed: true,
        stage: "ask",
        nextStage: "close",
        resumedBy: "timeout",
        resumedByEvent: "ticket.replied",
      },
    ]);
    expect(row.markers).toEqual([
      { kind: "resume", at: 30, x: 75, resumedBy: "timeout", resumedByEvent: "ticket.replied" },
    ]);
    expect(titles({ by: "timeout", event: "ticket.replied" })).toEqual({
      pause:
        "paused for 20 ms after stage ask; continues with close; resumed by timeout (waiting for ticket.replied)",
      marker: "resumed by timeout (waiting for ticket.replied)",
      by: ["timeout", "timeout"],
    });
    expect(titles({ by: "event", event: "ticket.replied" })).toMatchObject({
      marker: "resumed by ticket.replied",
      by: ["event", "event"],
    });
    expect(titles({ by: "timeout" }).marker).toBe("resumed by timeout");
    expect(titles({ by: "resume" }).marker).toBe("resumed by resume()");
    expect(titles({ by: "control" }).marker).toBe("resumed by control event");
    expect(titles({ by: "webhook", event: "x" }).marker).toBe("resumed by webhook (x)");
    // events written before run.resumed said (or by something else): as before
    expect(titles()).toEqual({
      pause: "paused for 20 ms after stage ask; continues with close",
      marker: "resumed",
      by: [undefined, undefined],
    });
    expect(titles({ by: 1, event: ["x"] }).marker).toBe("resumed");
    // only run.resumed's data is read for it
    const other = runEvents("wf", "r")
      .add(0, "run.started")
      .add(10, "run.paused", { data: { by: "timeout" } }).events;
    expect(layoutTimeline(other, { width: 100, now: 100 }).rows[0]!.pauses[0]).not.toHaveProperty(
      "resumedBy",
    );
  });

  it("treats a repeated run.paused before the resume as the same pause", () => {
    const events = runEvents("wf", "r")
      .add(0, "run.started")
      .add(10, "run.paused", { stage: "a" })
      .add(20, "run.paused", { stage: "b", data: { nextStage: "c" } })
      .add(30, "run.resumed").events;
    const row = layoutTimeline(events, { width: 100, now: 100 }).rows[0]!;
    expect(row.status).toBe("running");
    expect(row.pauses).toEqual([
      { start: 10, end: 30, x: 10, width: 20, resumed: true, stage: "a", nextStage: "c" },
    ]);
    expect(row.markers).toEqual([{ kind: "resume", at: 30, x: 30 }]);
  });

  it("extends a repeated pause that is still open to now, once", () => {
    const events = runEvents("wf", "r")
      .add(0, "run.started")
      .add(10, "run.paused")
      .add(20, "run.paused").events;
    const row = layoutTimeline(events, { width: 100, now: 100 }).rows[0]!;
    expect(row.status).toBe("paused");
    expect(row.pauses).toEqual([{ start: 10, end: 100, x: 10, width: 90, resumed: false }]);
  });

  it("ends a pause the run never resumed from where the run ended, not resumed", () => {
    const events = runEvents("wf", "r")
      .add(0, "run.started")
      .add(10, "run.paused")
      .add(20, "run.aborted", { message: "gave up" }).events;
    const row = layoutTimeline(events, { width: 100, now: 100 }).rows[0]!;
    expect(row.status).toBe("aborted");
    // The axis ends with the run: 100 px for 20 ms.
    expect(row.pauses).toEqual([{ start: 10, end: 20, x: 50, width: 50, resumed: false }]);
  });
});

describe("layoutTimeline with a run that never started", () => {
  // A queued run cancelled before it started: the runtime writes one run.aborted and nothing else.
  const message = "never started: superseded by run r3";
  const neverStarted: TimelineEvent = {
    id: "r2:1",
    runId: "r2",
    workflowId: "wf",
    seq: 1,
    at: 50,
    source: "runtime",
    type: "run.aborted",
    message,
    data: { neverStarted: true },
  };

  it("draws it as an aborted instant with its reason, and leaves the other runs' axis alone", () => {
    const ran = runEvents("wf", "r1").add(0, "run.started").add(100, "run.completed").events;
    const layout = layoutTimeline([...ran, neverStarted], { width: 100, now: 1000 });
    // Both runs are over: the axis ends with the last event, not at now.
    expect(layout).toMatchObject({ start: 0, end: 100 });
    expect(layout.runs.map((r) => [r.runId, r.status])).toEqual([
      ["r1", "completed"],
      ["r2", "aborted"],
    ]);
    expect(layout.rows[1]).toMatchObject({
      runId: "r2",
      status: "aborted",
      label: "wf · r2 · aborted",
      start: 50,
      end: 50,
      x: 50,
      width: 0,
      bars: [],
      stageLanes: 1,
      stepLanes: 0,
      pauses: [],
      markers: [{ kind: "abort", at: 50, x: 50, message }],
      logs: [],
      message,
    });
    const nodes = drawLayout(layout, true);
    expect(findNode(nodes, "run:r2")?.attrs).toMatchObject({ "data-status": "aborted" });
    const row = findNode(nodes, "run:r2")!;
    expect(findNode([row], "marker:0")?.attrs).toMatchObject({
      "data-kind": "abort",
      title: `run aborted: ${message}`,
    });
    // (no running or paused run: no now line)
    expect(findNode(nodes, "now")).toBeUndefined();
  });

  it("alone, lays out on a one-instant axis with finite positions", () => {
    const layout = layoutTimeline([neverStarted], { width: 300, now: 50 });
    expect(layout.rows).toMatchObject([{ runId: "r2", status: "aborted", x: 0, width: 0 }]);
    expect(layout.end).toBeGreaterThan(layout.start);
    expect(numbersIn(layout).filter(([, n]) => !Number.isFinite(n))).toEqual([]);
  });
});

describe("layoutTimeline with events that throw when read", () => {
  const trap = new Error("trap");
  const hostile = new Proxy(
    {},
    {
      getOwnPropertyDescriptor() {
        throw trap;
      },
      has() {
        throw trap;
      },
    },
  );

  it("reports data that throws as INVALID_INPUT naming the event, with the thrown value as cause", () => {
    const events = runEvents("wf", "r").add(0, "run.failed", { data: hostile }).events;
    const error = thrownBy(() => layoutTimeline(events, { width: 10 }));
    expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
    expect((error as Error).message).toBe(
      'layoutTimeline events[0] (id "r:0"): "data" could not be read (reading it threw Error: trap)',
    );
    expect((error as Error).cause).toBe(trap);
    expect((error as SystemError).details).toEqual({ path: "layoutTimeline events[0].data" });
  });

  it("reports an event, or an array, that throws when read as INVALID_INPUT with the cause", () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const [good] = runEvents("wf", "r").add(0, "run.started").events;
    const unreadableArray = new Proxy([good], {
      get(target, key) {
        if (key === "0") throw trap;
        return Reflect.get(target, key);
      },
    });
    const cases: Array<[unknown, string]> = [
      [[good, hostile], "layoutTimeline events[1] could not be read (reading it threw Error: trap)"],
      [[proxy], "layoutTimeline events[0] could not be read (reading it threw TypeError: "],
      [unreadableArray, "layoutTimeline events[0] could not be read (reading it threw Error: trap)"],
    ];
    for (const [events, message] of cases) {
      const error = thrownBy(() => layoutTimeline(events as TimelineEvent[], { width: 10 }));
      expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
      expect((error as Error).message.startsWith(message)).toBe(true);
      expect((error as Error).cause).toBeDefined();
    }
  });

  it("reads each field once: a getter that throws on a second read cannot break the layout", () => {
    const [event] = runEvents("wf", "r").add(5, "run.completed").events;
    let reads = 0;
    const flaky = { ...event! };
    Object.defineProperty(flaky, "id", {
      enumerable: true,
      get() {
        reads++;
        if (reads > 1) throw new Error("second read");
        return "once";
      },
    });
    const layout = layoutTimeline([flaky], { width: 10, now: 5 });
    expect(layout.rows.map((row) => [row.runId, row.status])).toEqual([["r", "completed"]]);
    expect(reads).toBe(1);
  });
});
