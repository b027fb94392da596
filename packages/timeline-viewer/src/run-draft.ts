import type { TimelineLevel } from "@sluice/timeline";
import type {
  TimelineBarStatus,
  TimelineLogTick,
  TimelineMarker,
  TimelineRunStatus,
} from "./layout-types.js";
import type { ReadEvent } from "./validate-events.js";

const LEVELS: ReadonlySet<string> = new Set(["debug", "info", "warn", "error"]);

/** A stage or step bar in time only: where it sits on the axis is decided when a row is placed. */
export interface BarDraft {
  kind: "stage" | "step";
  stage: string;
  step?: string;
  start: number;
  end: number;
  /** No closing event: the bar extends to the run's end (now, while the run is active). */
  open: boolean;
  status: TimelineBarStatus;
  attempt?: number;
  message?: string;
}

/** A paused stretch in time only; an open one extends to the run's end. */
export interface PauseDraft {
  start: number;
  end: number;
  open: boolean;
  stage?: string;
  nextStage?: string;
  resumedBy?: string;
  resumedByEvent?: string;
}

/** A marker or log tick before it is placed on an axis. */
export type Unplaced<T> = Omit<T, "x">;

/**
 * One run as its events tell it, in time only (no pixels). Never changed once made: a run that
 * gets new events gets a new draft, so a layout made from older drafts stays what was drawn.
 */
export interface RunDraft {
  readonly runId: string;
  readonly workflowId: string;
  /** Where the run stands as far as its events tell (a run without a closing event is `running` or `paused`). */
  readonly status: TimelineRunStatus;
  /** Earliest and latest `at` of the run's events. */
  readonly first: number;
  readonly last: number;
  /** In the order their opening (or, for an instant, closing) event came. */
  readonly bars: readonly BarDraft[];
  readonly pauses: readonly PauseDraft[];
  /** In time order. */
  readonly markers: readonly Unplaced<TimelineMarker>[];
  /** In time order. */
  readonly logs: readonly Unplaced<TimelineLogTick>[];
  readonly message?: string;
}

interface MutableRunDraft {
  runId: string;
  workflowId: string;
  status: TimelineRunStatus;
  first: number;
  last: number;
  bars: BarDraft[];
  pauses: PauseDraft[];
  markers: Unplaced<TimelineMarker>[];
  logs: Unplaced<TimelineLogTick>[];
  message?: string;
}

/** The event's message, else the `data.error.message` the runtime records with failures. */
function errorMessage(event: ReadEvent): string | undefined {
  if (typeof event.message === "string" && event.message !== "") return event.message;
  return event.dataErrorMessage;
}

/** The order a run's events are read in: `seq`, then `at`, then `id` (so equal seqs have one order). */
export function bySeq(a: ReadEvent, b: ReadEvent): number {
  return a.seq - b.seq || a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Sets `start`/`end` of a bar that closes at `event`, or records an instant bar when it never opened. */
function closeBar(
  open: Map<string, BarDraft>,
  key: string,
  draft: MutableRunDraft,
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
  open: Map<string, BarDraft>,
  key: string,
  draft: MutableRunDraft,
  event: ReadEvent,
  kind: "stage" | "step",
): void {
  const bar: BarDraft = {
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
function pauseRun(draft: MutableRunDraft, open: PauseDraft | undefined, event: ReadEvent): PauseDraft {
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
function resumeRun(draft: MutableRunDraft, open: PauseDraft | undefined, event: ReadEvent): undefined {
  draft.status = "running";
  if (open !== undefined) {
    open.end = Math.max(open.start, event.at);
    open.open = false;
    if (open.nextStage === undefined && event.nextStage !== undefined) open.nextStage = event.nextStage;
    if (event.resumedBy !== undefined) open.resumedBy = event.resumedBy;
    if (event.resumedByEvent !== undefined) open.resumedByEvent = event.resumedByEvent;
  }
  const marker: Unplaced<TimelineMarker> = { kind: "resume", at: event.at };
  if (event.resumedBy !== undefined) marker.resumedBy = event.resumedBy;
  if (event.resumedByEvent !== undefined) marker.resumedByEvent = event.resumedByEvent;
  draft.markers.push(marker);
  return undefined;
}

/**
 * Reads one run's events (all of the same `runId`, at least one, ids unique) into a draft. Sorts
 * `events` in place, in `seq` order.
 */
export function draftRun(events: ReadEvent[]): RunDraft {
  events.sort(bySeq);
  const head = events[0]!;
  const draft: MutableRunDraft = {
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
  const openStages = new Map<string, BarDraft>();
  const openSteps = new Map<string, BarDraft>();
  let openPause: PauseDraft | undefined;
  for (const event of events) {
    if (event.at < draft.first) draft.first = event.at;
    if (event.at > draft.last) draft.last = event.at;
    const stage = event.stage ?? "";
    const stepKey = `${stage}\u0000${event.step ?? ""}`;
    if (event.source === "logger" || event.type === "log") {
      const level: TimelineLevel =
        typeof event.level === "string" && LEVELS.has(event.level) ? event.level : "info";
      const tick: Unplaced<TimelineLogTick> = { at: event.at, level, message: event.message ?? "" };
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
        const marker: Unplaced<TimelineMarker> = { kind: failed ? "failure" : "abort", at: event.at };
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
  draft.markers.sort((a, b) => a.at - b.at);
  draft.logs.sort((a, b) => a.at - b.at);
  return draft;
}

/** The order of rows: by the run's first event, then by run id. */
export function byStart(a: RunDraft, b: RunDraft): number {
  return a.first - b.first || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0);
}

/** Whether a run with this status has ended: its row stops at its last event instead of at now. */
export function isFinished(status: TimelineRunStatus): boolean {
  return status !== "running" && status !== "paused";
}

/** A bar's end when its run ends at `runEnd`. */
export function barEnd(bar: BarDraft, runEnd: number): number {
  return bar.open ? Math.max(bar.start, runEnd) : bar.end;
}

/** Where each bar of a run sits: its lane, and the bars in the order a row lists them. */
export interface BarArrangement {
  /** Stage bars then step bars, each in start order. */
  readonly order: readonly BarDraft[];
  /** Lane of each bar of `order`, by index. */
  readonly lanes: readonly number[];
  /** Lanes the stage bars use (at least 1). */
  readonly stageLanes: number;
  /** Lanes the step bars use (0 without steps). */
  readonly stepLanes: number;
}

/** Lowest free lane for each bar of `bars` (sorted in place by start, then end). */
function assignLanes(bars: BarDraft[], runEnd: number, lanes: number[]): number {
  bars.sort((a, b) => a.start - b.start || barEnd(a, runEnd) - barEnd(b, runEnd));
  const laneEnds: number[] = [];
  for (const bar of bars) {
    let lane = laneEnds.findIndex((end) => end <= bar.start);
    if (lane === -1) lane = laneEnds.length;
    laneEnds[lane] = barEnd(bar, runEnd);
    lanes.push(lane);
  }
  return laneEnds.length;
}

function arrange(draft: RunDraft, runEnd: number): BarArrangement {
  const stages = draft.bars.filter((bar) => bar.kind === "stage");
  const steps = draft.bars.filter((bar) => bar.kind === "step");
  const lanes: number[] = [];
  const stageLanes = Math.max(1, assignLanes(stages, runEnd, lanes));
  const stepLanes = assignLanes(steps, runEnd, lanes);
  return { order: [...stages, ...steps], lanes, stageLanes, stepLanes };
}

// Two arrangements per draft: ending at its last event, and ending later (an active run, whose open
// bars reach now). Every end after the last event orders and stacks the bars the same way (open bars
// then outlast every other bar), so a growing run is not re-stacked on each draw.
const atLast = new WeakMap<RunDraft, BarArrangement>();
const afterLast = new WeakMap<RunDraft, BarArrangement>();

/** The lanes of `draft`'s bars when the run ends at `runEnd` (never before its last event). */
export function arrangeBars(draft: RunDraft, runEnd: number): BarArrangement {
  const cache = runEnd > draft.last ? afterLast : atLast;
  let arrangement = cache.get(draft);
  if (arrangement === undefined) {
    arrangement = arrange(draft, runEnd);
    cache.set(draft, arrangement);
  }
  return arrangement;
}
