import { refuseUnknownKeys, SystemError } from "@sluice/errors";
import type { TimelineEvent, TimelineLevel } from "@sluice/timeline";
import { axisTicks } from "./axis-ticks.js";
import type {
  TimelineBar,
  TimelineBarStatus,
  TimelineLayout,
  TimelineLayoutOptions,
  TimelineLogTick,
  TimelineMarker,
  TimelinePause,
  TimelineRow,
  TimelineRunStatus,
  TimelineRunSummary,
} from "./layout-types.js";
import { shortRunIds } from "./short-run-ids.js";
import { timeScale } from "./time-scale.js";
import { type ReadEvent, readTimelineEvents } from "./validate-events.js";

const LEVELS: ReadonlySet<string> = new Set(["debug", "info", "warn", "error"]);

interface Draft {
  kind: "stage" | "step";
  stage: string;
  step?: string;
  start: number;
  end: number;
  open: boolean;
  status: TimelineBarStatus;
  attempt?: number;
  message?: string;
}

interface PauseDraft {
  start: number;
  end: number;
  open: boolean;
  stage?: string;
  nextStage?: string;
  resumedBy?: string;
  resumedByEvent?: string;
}

interface RunDraft {
  runId: string;
  workflowId: string;
  status: TimelineRunStatus;
  first: number;
  last: number;
  bars: Draft[];
  pauses: PauseDraft[];
  markers: TimelineMarker[];
  logs: TimelineLogTick[];
  message?: string;
}

/** The event's message, else the `data.error.message` the runtime records with failures. */
function errorMessage(event: ReadEvent): string | undefined {
  if (typeof event.message === "string" && event.message !== "") return event.message;
  return event.dataErrorMessage;
}

function bySeq(a: ReadEvent, b: ReadEvent): number {
  return a.seq - b.seq || a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Sets `start`/`end` of a bar that closes at `event`, or records an instant bar when it never opened. */
function closeBar(
  open: Map<string, Draft>,
  key: string,
  draft: RunDraft,
  event: ReadEvent,
  kind: "stage" | "step",
  status: TimelineBarStatus,
): void {
  let bar = open.get(key);
  if (bar === undefined) {
    // The opening event is outside what we were given (a page, a time range): show an instant.
    bar = { kind, stage: event.stage ?? "", start: event.at, end: event.at, open: false, status };
    if (kind === "step" && event.step !== undefined) bar.step = event.step;
    draft.bars.push(bar);
  } else {
    open.delete(key);
    bar.end = Math.max(bar.start, event.at);
    bar.open = false;
    bar.status = status;
  }
  if (status === "failed" || status === "retried") {
    const message = errorMessage(event);
    if (message !== undefined) bar.message = message;
  }
  const attempt = event.attempt;
  if (attempt !== undefined) bar.attempt = attempt;
}

function openBar(
  open: Map<string, Draft>,
  key: string,
  draft: RunDraft,
  event: ReadEvent,
  kind: "stage" | "step",
) {
  const bar: Draft = {
    kind,
    stage: event.stage ?? "",
    start: event.at,
    end: event.at,
    open: true,
    status: "running",
  };
  if (kind === "step" && event.step !== undefined) bar.step = event.step;
  const attempt = event.attempt;
  if (attempt !== undefined) bar.attempt = attempt;
  // A second start without a close (lost events) leaves the first one as an instant.
  const previous = open.get(key);
  if (previous !== undefined) previous.open = false;
  open.set(key, bar);
  draft.bars.push(bar);
}

/**
 * Handles `run.paused`; returns the pause it leaves open. A run cannot pause again without resuming
 * first, so a repeated `run.paused` (no `run.resumed` in between) continues the open pause: the run
 * shows one paused stretch, from when it paused to when it resumed, never two overlapping ones or
 * a first pause that looks as if it never ended. The repeat only fills in what the first did not name.
 */
function pauseRun(draft: RunDraft, open: PauseDraft | undefined, event: ReadEvent): PauseDraft {
  draft.status = "paused";
  if (open !== undefined) {
    if (open.stage === undefined && event.stage !== undefined) open.stage = event.stage;
    if (open.nextStage === undefined && event.nextStage !== undefined) open.nextStage = event.nextStage;
    return open;
  }
  const pause: PauseDraft = { start: event.at, end: event.at, open: true };
  if (event.stage !== undefined) pause.stage = event.stage;
  if (event.nextStage !== undefined) pause.nextStage = event.nextStage;
  draft.pauses.push(pause);
  return pause;
}

/** Handles `run.resumed`: closes the open pause, if any, and marks the resume; no pause is left open. */
function resumeRun(draft: RunDraft, open: PauseDraft | undefined, event: ReadEvent): undefined {
  draft.status = "running";
  if (open !== undefined) {
    open.end = Math.max(open.start, event.at);
    open.open = false;
    if (open.nextStage === undefined && event.nextStage !== undefined) open.nextStage = event.nextStage;
    if (event.resumedBy !== undefined) open.resumedBy = event.resumedBy;
    if (event.resumedByEvent !== undefined) open.resumedByEvent = event.resumedByEvent;
  }
  const marker: TimelineMarker = { kind: "resume", at: event.at, x: 0 };
  if (event.resumedBy !== undefined) marker.resumedBy = event.resumedBy;
  if (event.resumedByEvent !== undefined) marker.resumedByEvent = event.resumedByEvent;
  draft.markers.push(marker);
  return undefined;
}

function draftRun(events: ReadEvent[]): RunDraft {
  events.sort(bySeq);
  const head = events[0]!;
  const draft: RunDraft = {
    runId: head.runId,
    workflowId: head.workflowId,
    status: "running",
    first: head.at,
    last: head.at,
    bars: [],
    pauses: [],
    markers: [],
    logs: [],
  };
  const openStages = new Map<string, Draft>();
  const openSteps = new Map<string, Draft>();
  let openPause: PauseDraft | undefined;
  for (const event of events) {
    if (event.at < draft.first) draft.first = event.at;
    if (event.at > draft.last) draft.last = event.at;
    const stage = event.stage ?? "";
    const stepKey = `${stage}\u0000${event.step ?? ""}`;
    if (event.source === "logger" || event.type === "log") {
      const level: TimelineLevel =
        typeof event.level === "string" && LEVELS.has(event.level) ? event.level : "info";
      const tick: TimelineLogTick = { at: event.at, x: 0, level, message: event.message ?? "" };
      if (event.stage !== undefined) tick.stage = event.stage;
      if (event.step !== undefined) tick.step = event.step;
      if (event.data !== undefined) tick.data = event.data;
      draft.logs.push(tick);
      continue;
    }
    switch (event.type) {
      case "run.started":
        draft.status = "running";
        break;
      case "run.paused":
        openPause = pauseRun(draft, openPause, event);
        break;
      case "run.resumed":
        openPause = resumeRun(draft, openPause, event);
        break;
      case "run.completed":
        draft.status = "completed";
        break;
      case "run.failed":
      case "run.aborted": {
        const failed = event.type === "run.failed";
        draft.status = failed ? "failed" : "aborted";
        const marker: TimelineMarker = { kind: failed ? "failure" : "abort", at: event.at, x: 0 };
        if (event.stage !== undefined) marker.stage = event.stage;
        const message = errorMessage(event);
        if (message !== undefined) marker.message = draft.message = message;
        draft.markers.push(marker);
        break;
      }
      case "stage.started":
        openBar(openStages, stage, draft, event, "stage");
        break;
      case "stage.completed":
        closeBar(openStages, stage, draft, event, "stage", "completed");
        break;
      case "stage.failed":
        closeBar(openStages, stage, draft, event, "stage", "failed");
        break;
      case "step.started":
        openBar(openSteps, stepKey, draft, event, "step");
        break;
      case "step.completed":
        closeBar(openSteps, stepKey, draft, event, "step", "completed");
        break;
      case "step.failed":
        closeBar(openSteps, stepKey, draft, event, "step", "failed");
        break;
      case "step.retried":
        closeBar(openSteps, stepKey, draft, event, "step", "retried");
        break;
      case "step.skipped":
        closeBar(openSteps, stepKey, draft, event, "step", "skipped");
        break;
      default:
        // Any other type is stored by adapters but has nothing to draw.
        break;
    }
  }
  return draft;
}

function finished(status: TimelineRunStatus): boolean {
  return status === "completed" || status === "failed" || status === "aborted";
}

/** Assigns each bar the lowest lane whose previous bar has ended; returns how many lanes were used. */
function assignLanes(bars: TimelineBar[]): number {
  bars.sort((a, b) => a.start - b.start || a.end - b.end);
  const laneEnds: number[] = [];
  for (const bar of bars) {
    let lane = laneEnds.findIndex((end) => end <= bar.start);
    if (lane === -1) lane = laneEnds.length;
    laneEnds[lane] = bar.end;
    bar.lane = lane;
  }
  return laneEnds.length;
}

const OPTIONS: ReadonlySet<string> = new Set(["width", "now", "workflowId", "runId"]);
const UNKNOWN_OPTION = {
  message: (key: string, options: string) =>
    `layoutTimeline options.${key} is not an option (options: ${options})`,
};

function assertOptions(options: unknown): asserts options is TimelineLayoutOptions {
  if (typeof options !== "object" || options === null) {
    throw new SystemError("INVALID_INPUT", "layoutTimeline options must be an object like { width: 800 }");
  }
  refuseUnknownKeys(options, OPTIONS, "options", UNKNOWN_OPTION);
  const { width, now, workflowId, runId } = options as Record<string, unknown>;
  if (typeof width !== "number" || !Number.isFinite(width) || width <= 0) {
    throw new SystemError(
      "INVALID_INPUT",
      `layoutTimeline options.width must be a positive number of pixels (got ${String(width)})`,
      { details: { width } },
    );
  }
  if (now !== undefined && (typeof now !== "number" || !Number.isFinite(now))) {
    throw new SystemError(
      "INVALID_INPUT",
      "layoutTimeline options.now must be epoch milliseconds (a finite number)",
    );
  }
  for (const [name, value] of [
    ["workflowId", workflowId],
    ["runId", runId],
  ] as const) {
    if (value !== undefined && typeof value !== "string") {
      throw new SystemError("INVALID_INPUT", `layoutTimeline options.${name} must be a string when given`);
    }
  }
}

/**
 * Lays out timeline events as a Gantt chart: one row per run, stage and step bars from each
 * `*.started` event to its `*.completed` / `*.failed` (or to `now` while running), paused
 * stretches, resume / failure / abort markers and logger ticks, on a shared time axis of `width`
 * pixels. Pure: the input may be in any order (runs are read in `seq` order), duplicates (same
 * `id`) count once, each event is read once, and nothing is mutated. Any finite `at` values lay
 * out in bounded time with finite positions and widths (times 1e308 apart give a single `"0"` axis
 * tick), and the axis has at most 1001 ticks.
 *
 * @example
 * ```ts
 * const { rows, ticks } = layoutTimeline(events, { width: 800 });
 * for (const bar of rows[0].bars) console.log(bar.kind, bar.stage, bar.x, bar.width, bar.status);
 * ```
 * @throws SystemError `INVALID_INPUT` when `events` is not an array of events, an event cannot be
 * read (reading it or its `data` throws: a throwing getter, a hostile `Proxy`; the message names
 * the event and `cause` is what was thrown), `width` is not positive, or `options` has a key
 * {@link TimelineLayoutOptions} does not (`layoutTimeline options.widht is not an option (options:
 * width, now, workflowId, runId)`).
 */
export function layoutTimeline(
  events: readonly TimelineEvent[],
  options: TimelineLayoutOptions,
): TimelineLayout {
  // Read once, up front: a getter that throws (or changes its answer) on a later read cannot
  // reach the layout math.
  const read = readTimelineEvents(events, "layoutTimeline events");
  assertOptions(options);
  const { width, workflowId, runId } = options;

  const byRun = new Map<string, ReadEvent[]>();
  const seen = new Set<string>();
  const workflows = new Set<string>();
  let newest = Number.NEGATIVE_INFINITY;
  for (const event of read) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    workflows.add(event.workflowId);
    if (event.at > newest) newest = event.at;
    const list = byRun.get(event.runId);
    if (list === undefined) byRun.set(event.runId, [event]);
    else list.push(event);
  }
  const now = Math.max(options.now ?? Date.now(), newest);

  const drafts: RunDraft[] = [];
  for (const list of byRun.values()) drafts.push(draftRun(list));
  drafts.sort((a, b) => a.first - b.first || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));

  const shortIds = shortRunIds([...byRun.keys()]);
  const runs: TimelineRunSummary[] = [];
  const shown: RunDraft[] = [];
  for (const draft of drafts) {
    if (workflowId !== undefined && draft.workflowId !== workflowId) continue;
    runs.push({
      runId: draft.runId,
      workflowId: draft.workflowId,
      shortRunId: shortIds.get(draft.runId)!,
      status: draft.status,
    });
    if (runId !== undefined && draft.runId !== runId) continue;
    shown.push(draft);
  }

  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const draft of shown) {
    const runEnd = finished(draft.status) ? draft.last : now;
    if (draft.first < start) start = draft.first;
    if (runEnd > end) end = runEnd;
  }
  if (shown.length === 0) start = end = now;
  const scale = timeScale(start, end, width);
  const toX = scale.toX;

  const rows: TimelineRow[] = shown.map((draft) => {
    const done = finished(draft.status);
    const runEnd = done ? draft.last : now;
    const stages: TimelineBar[] = [];
    const steps: TimelineBar[] = [];
    for (const d of draft.bars) {
      const barEnd = d.open ? Math.max(d.start, runEnd) : d.end;
      const bar: TimelineBar = {
        kind: d.kind,
        stage: d.stage,
        status: d.status,
        lane: 0,
        start: d.start,
        end: barEnd,
        x: toX(d.start),
        width: toX(barEnd) - toX(d.start),
      };
      if (d.step !== undefined) bar.step = d.step;
      if (d.attempt !== undefined) bar.attempt = d.attempt;
      if (d.message !== undefined) bar.message = d.message;
      (d.kind === "stage" ? stages : steps).push(bar);
    }
    const stageLanes = Math.max(1, assignLanes(stages));
    const stepLanes = assignLanes(steps);
    const pauses: TimelinePause[] = draft.pauses.map((p) => {
      const pauseEnd = p.open ? Math.max(p.start, runEnd) : p.end;
      const pause: TimelinePause = {
        start: p.start,
        end: pauseEnd,
        x: toX(p.start),
        width: toX(pauseEnd) - toX(p.start),
        resumed: !p.open,
      };
      if (p.stage !== undefined) pause.stage = p.stage;
      if (p.nextStage !== undefined) pause.nextStage = p.nextStage;
      if (p.resumedBy !== undefined) pause.resumedBy = p.resumedBy;
      if (p.resumedByEvent !== undefined) pause.resumedByEvent = p.resumedByEvent;
      return pause;
    });
    for (const marker of draft.markers) marker.x = toX(marker.at);
    for (const log of draft.logs) log.x = toX(log.at);
    draft.markers.sort((a, b) => a.at - b.at);
    draft.logs.sort((a, b) => a.at - b.at);
    const short = shortIds.get(draft.runId)!;
    const row: TimelineRow = {
      runId: draft.runId,
      workflowId: draft.workflowId,
      shortRunId: short,
      status: draft.status,
      label: `${draft.workflowId} · ${short} · ${draft.status}`,
      start: draft.first,
      end: runEnd,
      x: toX(draft.first),
      width: toX(runEnd) - toX(draft.first),
      bars: [...stages, ...steps],
      stageLanes,
      stepLanes,
      pauses,
      markers: draft.markers,
      logs: draft.logs,
    };
    if (draft.message !== undefined) row.message = draft.message;
    return row;
  });

  return {
    width,
    start,
    end: scale.end,
    now,
    ticks: axisTicks(start, scale.end, width),
    rows,
    workflows: [...workflows].sort(),
    runs,
  };
}
