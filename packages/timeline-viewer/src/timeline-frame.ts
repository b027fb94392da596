import { axisTicks } from "./axis-ticks.js";
import type {
  TimelineAxisTick,
  TimelineBar,
  TimelineLayout,
  TimelinePause,
  TimelineRow,
  TimelineRunStatus,
  TimelineRunSummary,
} from "./layout-types.js";
import type { IsLiveRun } from "./live-runs.js";
import { arrangeBars, barEnd, isFinished, type RunDraft } from "./run-draft.js";
import { type TimeScale, timeScale } from "./time-scale.js";

/** A run the frame shows, with where it stands and where its row ends. */
export interface ShownRun {
  readonly draft: RunDraft;
  readonly status: TimelineRunStatus;
  readonly shortRunId: string;
  /** Epoch ms its row, open bars and open pause extend to: its last event once ended, else now. */
  readonly runEnd: number;
}

/**
 * Everything about a chart except its rows' pixels: the shown runs, the axis, the pickers' lists.
 * Rows are placed from it one at a time ({@link placeRow}), so a viewer showing a few of ten
 * thousand runs places only those.
 */
export interface TimelineFrame {
  readonly width: number;
  readonly start: number;
  readonly end: number;
  readonly now: number;
  readonly scale: TimeScale;
  readonly ticks: readonly TimelineAxisTick[];
  /** The shown runs, by start time. */
  readonly shown: readonly ShownRun[];
  readonly workflows: readonly string[];
  readonly runs: readonly TimelineRunSummary[];
}

/** What {@link frameTimeline} needs besides the runs. */
export interface FrameInput {
  width: number;
  /** Already no earlier than the newest event. */
  now: number;
  workflowId?: string | undefined;
  runId?: string | undefined;
  /** Every run's short id. */
  shortIds: ReadonlyMap<string, string>;
  /** Every workflow id of the input, sorted. */
  workflows: readonly string[];
  /** Where a run stands, when something besides its events says (default: its draft's status). */
  statusOf?: ((draft: RunDraft) => TimelineRunStatus) | undefined;
}

/** A run's status when `isLive` says which runs a process still runs: `lost` for one without a closing event, not paused, not live. */
export function statusWithLiveRuns(isLive: IsLiveRun): (draft: RunDraft) => TimelineRunStatus {
  return (draft) => (draft.status === "running" && !isLive(draft.runId) ? "lost" : draft.status);
}

/** The frame of `drafts` (every run, in start order) as `input` asks. */
export function frameTimeline(drafts: readonly RunDraft[], input: FrameInput): TimelineFrame {
  const { width, now, workflowId, runId, shortIds, statusOf } = input;
  const runs: TimelineRunSummary[] = [];
  const shown: ShownRun[] = [];
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const draft of drafts) {
    if (workflowId !== undefined && draft.workflowId !== workflowId) continue;
    const status = statusOf === undefined ? draft.status : statusOf(draft);
    const shortRunId = shortIds.get(draft.runId)!;
    runs.push({ runId: draft.runId, workflowId: draft.workflowId, shortRunId, status });
    if (runId !== undefined && draft.runId !== runId) continue;
    const runEnd = isFinished(status) ? draft.last : now;
    shown.push({ draft, status, shortRunId, runEnd });
    if (draft.first < start) start = draft.first;
    if (runEnd > end) end = runEnd;
  }
  if (shown.length === 0) start = end = now;
  const scale = timeScale(start, end, width);
  return {
    width,
    start,
    end: scale.end,
    now,
    scale,
    ticks: axisTicks(start, scale.end, width),
    shown,
    workflows: input.workflows,
    runs,
  };
}

/** The row of one shown run, in the frame's pixels. */
export function placeRow(run: ShownRun, scale: TimeScale): TimelineRow {
  const { draft, status, shortRunId, runEnd } = run;
  const toX = scale.toX;
  const arrangement = arrangeBars(draft, runEnd);
  const bars = arrangement.order.map((d, i): TimelineBar => {
    const end = barEnd(d, runEnd);
    const bar: TimelineBar = {
      kind: d.kind,
      stage: d.stage,
      status: d.status,
      lane: arrangement.lanes[i]!,
      start: d.start,
      end,
      x: toX(d.start),
      width: toX(end) - toX(d.start),
    };
    if (d.step !== undefined) bar.step = d.step;
    if (d.attempt !== undefined) bar.attempt = d.attempt;
    if (d.message !== undefined) bar.message = d.message;
    return bar;
  });
  const pauses = draft.pauses.map((p): TimelinePause => {
    const end = p.open ? Math.max(p.start, runEnd) : p.end;
    const pause: TimelinePause = {
      start: p.start,
      end,
      x: toX(p.start),
      width: toX(end) - toX(p.start),
      resumed: !p.open,
    };
    if (p.stage !== undefined) pause.stage = p.stage;
    if (p.nextStage !== undefined) pause.nextStage = p.nextStage;
    if (p.resumedBy !== undefined) pause.resumedBy = p.resumedBy;
    if (p.resumedByEvent !== undefined) pause.resumedByEvent = p.resumedByEvent;
    return pause;
  });
  const row: TimelineRow = {
    runId: draft.runId,
    workflowId: draft.workflowId,
    shortRunId,
    status,
    label: `${draft.workflowId} · ${shortRunId} · ${status}`,
    start: draft.first,
    end: runEnd,
    x: toX(draft.first),
    width: toX(runEnd) - toX(draft.first),
    bars,
    stageLanes: arrangement.stageLanes,
    stepLanes: arrangement.stepLanes,
    pauses,
    markers: draft.markers.map((marker) => ({ ...marker, x: toX(marker.at) })),
    logs: draft.logs.map((log) => ({ ...log, x: toX(log.at) })),
  };
  if (draft.message !== undefined) row.message = draft.message;
  return row;
}

/** The whole layout of a frame: every shown row placed. */
export function layoutOfFrame(frame: TimelineFrame): TimelineLayout {
  return {
    width: frame.width,
    start: frame.start,
    end: frame.end,
    now: frame.now,
    ticks: [...frame.ticks],
    rows: frame.shown.map((run) => placeRow(run, frame.scale)),
    workflows: [...frame.workflows],
    runs: [...frame.runs],
  };
}
