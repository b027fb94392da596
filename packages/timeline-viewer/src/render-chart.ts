import { formatDuration } from "./format-duration.js";
import type {
  TimelineAxisTick,
  TimelineBar,
  TimelineLayout,
  TimelineLogTick,
  TimelineMarker,
  TimelinePause,
  TimelineRow,
} from "./layout-types.js";
import type { DrawNode } from "./reconcile.js";
import { timeScale } from "./time-scale.js";
import { METRICS } from "./viewer-styles.js";

function px(value: number): string {
  // Two decimals are plenty on screen and keep redraws from touching styles for sub-pixel noise.
  return `${Math.round(value * 100) / 100}px`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function dataText(data: unknown): string {
  if (data === undefined) return "";
  try {
    return clip(JSON.stringify(data) ?? "", 400);
  } catch {
    return "[unserialisable data]";
  }
}

/** The end of a long error message: what failed, without where (`…: amount must be positive`). */
function gist(message: string): string {
  const at = message.lastIndexOf(": ");
  return at > 0 && at < message.length - 2 ? message.slice(at + 2) : message;
}

/** What a row's label says of a lost run, after its status. */
const LOST_NOTE =
  "ended without a record: no live process runs it, and none recorded how it ended (run.completed, run.failed or run.aborted)";

function barTitle(bar: TimelineBar, runStatus: TimelineRow["status"]): string {
  const name = bar.step === undefined ? `stage ${bar.stage}` : `step ${bar.stage} › ${bar.step}`;
  const attempt = bar.attempt !== undefined && bar.attempt > 1 ? `, attempt ${bar.attempt}` : "";
  // A bar still open when its run was lost did not run on: it stops where the record does.
  const status =
    bar.status === "running" && runStatus === "lost"
      ? "unfinished (the run ended without a record)"
      : bar.status;
  const lines = [`${name}: ${status}${attempt}, ${formatDuration(bar.end - bar.start)}`];
  if (bar.message !== undefined) lines.push(bar.message);
  return lines.join("\n");
}

/**
 * What resumed a run, as `run.resumed`'s `data.by` and `data.event` say, worded to follow
 * "resumed": `by ticket.replied`, `by timeout (waiting for ticket.replied)`, `by resume()`, `by
 * control event`. Empty when the event does not say (events written before it did).
 */
function resumedByText(by: string | undefined, event: string | undefined): string {
  switch (by) {
    case undefined:
      return "";
    case "event":
      return event === undefined ? "by an event" : `by ${event}`;
    case "timeout":
      return event === undefined ? "by timeout" : `by timeout (waiting for ${event})`;
    case "resume":
      return "by resume()";
    case "control":
      return "by control event";
    default:
      return event === undefined ? `by ${by}` : `by ${by} (${event})`;
  }
}

function pauseTitle(pause: TimelinePause): string {
  const after = pause.stage === undefined ? "" : ` after stage ${pause.stage}`;
  const next = pause.nextStage === undefined ? "" : `; continues with ${pause.nextStage}`;
  const state = pause.resumed
    ? `paused for ${formatDuration(pause.end - pause.start)}`
    : "paused (still waiting)";
  const by = resumedByText(pause.resumedBy, pause.resumedByEvent);
  return `${state}${after}${next}${by === "" ? "" : `; resumed ${by}`}`;
}

function markerTitle(marker: TimelineMarker): string {
  if (marker.kind === "resume") {
    const by = resumedByText(marker.resumedBy, marker.resumedByEvent);
    return by === "" ? "resumed" : `resumed ${by}`;
  }
  const what = marker.kind === "failure" ? "run failed" : "run aborted";
  return marker.message === undefined ? what : `${what}: ${marker.message}`;
}

function logTitle(log: TimelineLogTick): string {
  const where =
    log.step !== undefined ? ` [${log.stage ?? ""} › ${log.step}]` : log.stage ? ` [${log.stage}]` : "";
  const data = dataText(log.data);
  return `${log.level}${where}: ${log.message}${data === "" ? "" : `\n${data}`}`;
}

/**
 * Height in pixels of a row with these lanes, with or without log ticks. Rows are exactly this
 * tall (the stylesheet gives them no other height), so a chart knows where every row is without
 * drawing it.
 */
export function rowHeight(stageLanes: number, stepLanes: number, hasLogs: boolean): number {
  const { rowPad, stageHeight, stageGap, stepHeight, stepGap, logHeight } = METRICS;
  const logs = hasLogs ? logHeight + 3 : 0;
  const lanes = stageLanes * (stageHeight + stageGap) + stepLanes * (stepHeight + stepGap);
  return Math.max(40, rowPad * 2 + lanes + logs);
}

function labelNode(row: TimelineRow): DrawNode {
  const lost = row.status === "lost" ? `\n${LOST_NOTE}` : "";
  const summary = `${row.workflowId}\nrun ${row.runId}\n${row.status}, ${formatDuration(row.end - row.start)}${lost}`;
  return {
    key: "label",
    tag: "div",
    className: "label",
    attrs: { title: row.message === undefined ? summary : `${summary}\n${row.message}` },
    children: [
      { key: "wf", tag: "div", className: "wf", text: row.workflowId },
      {
        key: "meta",
        tag: "div",
        className: "meta",
        children: [
          { key: "rid", tag: "span", className: "rid", text: row.shortRunId },
          { key: "pill", tag: "span", className: `pill ${row.status}`, text: row.status },
        ],
      },
    ],
  };
}

/** The row of one run, `width` pixels of axis wide. */
export function rowNode(row: TimelineRow, width: number): DrawNode {
  const { rowPad, stageHeight, stageGap, stepHeight, stepGap, minBarWidth, logHeight } = METRICS;
  const height = rowHeight(row.stageLanes, row.stepLanes, row.logs.length > 0);
  const common = { "data-run": row.runId, "data-workflow": row.workflowId };
  const items: DrawNode[] = [
    {
      key: "span",
      tag: "div",
      className: "span-line",
      attrs: { "data-kind": "span" },
      style: `left:${px(row.x)};top:${px(rowPad + stageHeight / 2 - 1)};width:${px(Math.max(row.width, 1))}`,
    },
  ];

  row.pauses.forEach((pause, i) => {
    const attrs: Record<string, string> = {
      ...common,
      "data-kind": "pause",
      "data-resumed": String(pause.resumed),
      title: pauseTitle(pause),
    };
    if (pause.stage !== undefined) attrs["data-stage"] = pause.stage;
    if (pause.resumedBy !== undefined) attrs["data-resumed-by"] = pause.resumedBy;
    items.push({
      key: `pause:${i}`,
      tag: "div",
      className: pause.resumed ? "pause" : "pause open",
      attrs,
      style: `left:${px(pause.x)};width:${px(Math.max(pause.width, minBarWidth))}`,
      text:
        pause.width > 110 && pause.resumed
          ? `paused · ${formatDuration(pause.end - pause.start)}`
          : pause.width > 60
            ? pause.resumed
              ? "paused"
              : "waiting…"
            : "",
    });
  });

  const stepTop = rowPad + row.stageLanes * (stageHeight + stageGap);
  const seen = new Map<string, number>();
  for (const bar of row.bars) {
    const attrs: Record<string, string> = {
      ...common,
      "data-kind": bar.kind,
      "data-stage": bar.stage,
      "data-status": bar.status,
      title: barTitle(bar, row.status),
    };
    if (bar.step !== undefined) attrs["data-step"] = bar.step;
    const id = `${bar.kind}:${bar.stage}:${bar.step ?? ""}`;
    const n = seen.get(id) ?? 0;
    seen.set(id, n + 1);
    const w = Math.max(bar.width, minBarWidth);
    const stage = bar.kind === "stage";
    const top = stage
      ? rowPad + bar.lane * (stageHeight + stageGap)
      : stepTop + bar.lane * (stepHeight + stepGap);
    items.push({
      key: `${id}:${n}`,
      tag: "div",
      className: `bar ${bar.kind} ${bar.status}`,
      attrs,
      style: `left:${px(bar.x)};top:${px(top)};width:${px(w)};height:${stage ? stageHeight : stepHeight}px`,
      text: stage && w > 36 ? bar.stage : "",
    });
  }

  row.markers.forEach((marker, i) => {
    const attrs: Record<string, string> = {
      ...common,
      "data-kind": marker.kind,
      title: markerTitle(marker),
    };
    if (marker.stage !== undefined) attrs["data-stage"] = marker.stage;
    if (marker.resumedBy !== undefined) attrs["data-resumed-by"] = marker.resumedBy;
    const node: DrawNode = {
      key: `marker:${i}`,
      tag: "div",
      className: `marker ${marker.kind}`,
      attrs,
      style: `left:${px(marker.x)}`,
    };
    // Say why a run failed right on the chart when there is room; the tooltip has the whole message.
    const room = width - marker.x - 24;
    if (marker.kind !== "resume" && marker.message !== undefined && room > 80) {
      node.children = [
        {
          key: "note",
          tag: "span",
          className: "note",
          style: `max-width:${px(Math.min(room, 360))}`,
          text: gist(marker.message),
        },
      ];
    }
    items.push(node);
  });

  const logTop = height - rowPad - logHeight;
  row.logs.forEach((log, i) => {
    const attrs: Record<string, string> = {
      ...common,
      "data-kind": "log",
      "data-level": log.level,
      title: logTitle(log),
    };
    if (log.stage !== undefined) attrs["data-stage"] = log.stage;
    items.push({
      key: `log:${i}`,
      tag: "div",
      className: `log ${log.level}`,
      attrs,
      style: `left:${px(log.x)};top:${px(logTop)}`,
    });
  });

  return {
    key: `run:${row.runId}`,
    tag: "div",
    className: "row",
    attrs: { ...common, "data-kind": "run", "data-status": row.status },
    style: `height:${height}px`,
    children: [
      labelNode(row),
      { key: "track", tag: "div", className: "track", style: `width:${px(width)}`, children: items },
    ],
  };
}

// A Date holds ±8.64e15 ms; a valid `at` beyond that (any finite number is) is shown as a number.
function outsideDates(at: number): boolean {
  return Number.isNaN(new Date(at).getTime());
}

function isoTime(at: number): string {
  return outsideDates(at) ? `${at} ms` : new Date(at).toISOString();
}

function clockTime(at: number): string {
  if (outsideDates(at)) return `${at} ms`;
  const d = new Date(at);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** The axis a chart is drawn on (a {@link TimelineLayout} has all of it). */
export interface ChartAxis {
  start: number;
  end: number;
  now: number;
  width: number;
  ticks: readonly TimelineAxisTick[];
}

/** The rows a chart draws: some of its rows, where they start, and how tall all of them are. */
export interface ChartRows {
  /** Row nodes ({@link rowNode}), top to bottom. */
  nodes: readonly DrawNode[];
  /** Pixels above the first of `nodes`: the rows not drawn above it. */
  top: number;
  /** Pixels of every row, drawn or not: the chart is as tall as if all were drawn. */
  height: number;
}

/**
 * Describes the chart (axis, grid, the drawn rows in a box as tall as every row) to be applied
 * with `reconcile`; `nowLine` draws a line at the axis' `now`. Without rows it says there is
 * nothing to show. Text only ever reaches the DOM through `textContent` and attributes, so event
 * data cannot inject markup.
 */
export function chartNodes(axis: ChartAxis, rows: ChartRows | undefined, nowLine: boolean): DrawNode[] {
  const { labelWidth } = METRICS;
  if (rows === undefined) {
    return [
      {
        key: "empty",
        tag: "div",
        className: "empty",
        attrs: { "data-kind": "empty" },
        text: "No runs to show yet.",
      },
    ];
  }
  const axisNodes: DrawNode[] = [
    {
      key: "origin",
      tag: "div",
      className: "origin",
      attrs: { title: isoTime(axis.start) },
      text: `from ${clockTime(axis.start)}`,
    },
  ];
  const grid: DrawNode[] = [];
  axis.ticks.forEach((tick, i) => {
    axisNodes.push({
      key: `tick:${i}`,
      tag: "div",
      className: i === 0 ? "tick-label first" : "tick-label",
      attrs: { "data-kind": "tick" },
      style: `left:${px(labelWidth + tick.x)}`,
      text: tick.label,
    });
    grid.push({ key: `grid:${i}`, tag: "div", className: "grid-line", style: `left:${px(tick.x)}` });
  });
  if (nowLine) {
    // The layout's own scale: `end - start` overflows for far-apart (finite) times, and a NaN
    // left edge would hide the line.
    const x = timeScale(axis.start, axis.end, axis.width).toX(axis.now);
    grid.push({
      key: "now",
      tag: "div",
      className: "now-line",
      attrs: { "data-kind": "now", title: "now" },
      style: `left:${px(x)}`,
    });
  }
  return [
    { key: "axis", tag: "div", className: "axis", attrs: { "data-kind": "axis" }, children: axisNodes },
    {
      key: "grid",
      tag: "div",
      className: "grid",
      style: `left:${labelWidth}px;width:${px(axis.width)}`,
      children: grid,
    },
    {
      key: "rows",
      tag: "div",
      className: "rows",
      // The rows above the drawn ones are padding, those below are the rest of the height.
      style: `height:${rows.height}px;padding-top:${rows.top}px`,
      children: [...rows.nodes],
    },
  ];
}
