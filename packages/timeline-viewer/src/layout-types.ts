import type { TimelineLevel } from "@sluice/timeline";

/** Options of {@link layoutTimeline}. */
export interface TimelineLayoutOptions {
  /** Width of the time axis in pixels (the area the bars are drawn in, without row labels). */
  width: number;
  /**
   * The time that "still running" bars, open pauses and running runs extend to, epoch ms.
   * Default `Date.now()`; never earlier than the newest event.
   */
  now?: number;
  /** Only rows of this workflow. */
  workflowId?: string;
  /** Only the row of this run. */
  runId?: string;
  /**
   * The runs a process still runs, when the caller knows (see {@link TimelineLiveRuns}). When
   * given, a run with no closing event that is not paused and not among them is `lost`: its row
   * stops at its last event instead of growing to `now`. Without it no run is `lost`.
   */
  liveRuns?: TimelineLiveRuns;
}

/**
 * Which runs a live process still runs: their ids (an array, a `Set`, any iterable of strings,
 * read once when given), or a function answering for one run id at a time, asked only about runs
 * whose events have no closing event and that are not paused. A runtime knows its own:
 * `(runId) => runtime.findRun(runId) !== undefined`, or the ids of `runtime.listAllRuns()`. It must
 * cover every process writing to the timeline: a run another process is running would be `lost`.
 */
export type TimelineLiveRuns = Iterable<string> | ((runId: string) => boolean);

/**
 * Where a run stands, as far as its events tell. `lost` only when the caller says which runs are
 * live ({@link TimelineLayoutOptions.liveRuns}): the run has no closing event (`run.completed`,
 * `run.failed`, `run.aborted`), is not paused (parked runs wait in their checkpoint, not in a
 * process) and no live process runs it: the one that did ended without recording how the run ended.
 */
export type TimelineRunStatus = "running" | "paused" | "completed" | "failed" | "aborted" | "lost";

/**
 * Outcome of one stage or step bar. `running` bars have not seen their closing event and extend to
 * `now` (or to the end of a run that finished, or was lost, without closing them); `retried` marks
 * an attempt that failed and was retried.
 */
export type TimelineBarStatus = "running" | "completed" | "failed" | "retried" | "skipped";

/** A horizontal extent on the time axis: epoch ms and pixels. */
export interface TimelineSpan {
  /** Start, epoch ms. */
  start: number;
  /** End, epoch ms (equal to `start` for an instant). */
  end: number;
  /** Left edge in pixels from the start of the axis. */
  x: number;
  /** Width in pixels (0 for an instant; renderers apply their own minimum). */
  width: number;
}

/** One stage or step of a run, from its `*.started` event to its closing event (or to now). */
export interface TimelineBar extends TimelineSpan {
  /** `stage` bars sit in the stage lane; `step` bars in the step lanes below it. */
  kind: "stage" | "step";
  /** Stage id. */
  stage: string;
  /** Step id, for step bars. */
  step?: string;
  /** How it ended, or `running`. */
  status: TimelineBarStatus;
  /** Lane within its kind (0-based); bars in one lane never overlap. */
  lane: number;
  /** Attempt number, when the events carry one (`data.attempt`) or a step was retried. */
  attempt?: number;
  /** The error message, for failed and retried bars. */
  message?: string;
}

/**
 * A stretch of time a run spent paused: `run.paused` to `run.resumed`, or to `now` while it is
 * still paused, or to the run's end when it ended paused. A repeated `run.paused` before the
 * `run.resumed` continues the same pause (a run cannot pause twice without resuming in between).
 */
export interface TimelinePause extends TimelineSpan {
  /**
   * True when a `run.resumed` ended the pause. False when none did: the run is still paused (the
   * pause extends to `now`), or the run ended without resuming (failed, aborted or completed while
   * paused; the pause then ends with the run, at its last event).
   */
  resumed: boolean;
  /** The stage after which the run paused. */
  stage?: string;
  /** The stage the run continues with, when the events name it. */
  nextStage?: string;
  /**
   * What resumed the run, when the `run.resumed` that ended the pause says (its `data.by`):
   * `"event"`, `"timeout"`, `"resume"` or `"control"` from the runtime, or any other string recorded.
   */
  resumedBy?: string;
  /**
   * The event the `run.resumed` names (its `data.event`): the one that resumed the run, or for a
   * timeout the one the run waited for in vain.
   */
  resumedByEvent?: string;
}

/** An instant on a run's row: where it resumed, failed or was aborted. */
export interface TimelineMarker {
  /** What happened. */
  kind: "resume" | "failure" | "abort";
  /** When, epoch ms. */
  at: number;
  /** Pixels from the start of the axis. */
  x: number;
  /** Stage the event names, if any. */
  stage?: string;
  /** The error or abort message. */
  message?: string;
  /** For a resume: what resumed the run, when its `run.resumed` says (see {@link TimelinePause.resumedBy}). */
  resumedBy?: string;
  /** For a resume: the event its `run.resumed` names (see {@link TimelinePause.resumedByEvent}). */
  resumedByEvent?: string;
}

/** One `ctx.logger` call (an event with `source: "logger"`). */
export interface TimelineLogTick {
  /** When, epoch ms. */
  at: number;
  /** Pixels from the start of the axis. */
  x: number;
  /** Severity (`info` when the event has none). */
  level: TimelineLevel;
  /** The logged message ("" when it has none). */
  message: string;
  /** Stage the call was made in. */
  stage?: string;
  /** Step the call was made in. */
  step?: string;
  /** The logged data, as recorded. */
  data?: unknown;
}

/** One run: a row of the chart. */
export interface TimelineRow extends TimelineSpan {
  /** The run. */
  runId: string;
  /** The run's workflow. */
  workflowId: string;
  /**
   * A few characters that tell this run apart from every other run of the input: the id's first 8
   * (`8c2f41d0` for a UUID), or, when every run's id starts with the same `<prefix><separator>`,
   * what follows it (`…-1f`). Runs that would still look alike (the runs of two runtimes on one
   * timeline, each numbering its runs after its own random prefix) show the id's first 4 characters
   * and where it differs (`8x59…-1`, `cihk…-1`), or, failing that, the whole id.
   */
  shortRunId: string;
  /** Where the run stands. */
  status: TimelineRunStatus;
  /** `workflowId · shortRunId · status`, ready to print. */
  label: string;
  /** Stage bars then step bars, each in start order. */
  bars: TimelineBar[];
  /** Lanes the stage bars use (at least 1). */
  stageLanes: number;
  /** Lanes the step bars use (0 when the run has no step events). */
  stepLanes: number;
  /** Paused stretches, in time order. */
  pauses: TimelinePause[];
  /** Resume, failure and abort instants, in time order. */
  markers: TimelineMarker[];
  /** Logger calls, in time order. */
  logs: TimelineLogTick[];
  /** The message of the run's failure or abort, if it failed or was aborted. */
  message?: string;
}

/** A labelled position on the time axis. */
export interface TimelineAxisTick {
  /** Epoch ms. */
  at: number;
  /** Pixels from the start of the axis. */
  x: number;
  /** Time since the start of the axis, e.g. `"0"`, `"250 ms"`, `"1.5 s"`, `"2 m 30 s"`. */
  label: string;
}

/** A run, for pickers: every run of the input (of `workflowId`, when that option is given). */
export interface TimelineRunSummary {
  /** The run. */
  runId: string;
  /** The run's workflow. */
  workflowId: string;
  /** As in {@link TimelineRow.shortRunId}. */
  shortRunId: string;
  /** Where the run stands. */
  status: TimelineRunStatus;
}

/** What {@link layoutTimeline} returns: plain data, ready to draw. */
export interface TimelineLayout {
  /** The axis width the layout was made for, in pixels. */
  width: number;
  /** Left end of the axis, epoch ms (the earliest shown event). */
  start: number;
  /** Right end of the axis, epoch ms. */
  end: number;
  /** The `now` the layout used. */
  now: number;
  /** Axis ticks, left to right. */
  ticks: TimelineAxisTick[];
  /** The shown runs, by start time. */
  rows: TimelineRow[];
  /** Every workflow id in the input (ignores filters), sorted. */
  workflows: string[];
  /** Every run in the input of the `workflowId` filter (all runs without one), by start time. */
  runs: TimelineRunSummary[];
}
