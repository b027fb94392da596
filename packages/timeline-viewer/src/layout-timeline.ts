import { refuseUnknownKeys, SystemError } from "@sluice/errors";
import type { TimelineEvent } from "@sluice/timeline";
import type { TimelineLayout, TimelineLayoutOptions } from "./layout-types.js";
import { readLiveRuns } from "./live-runs.js";
import { byStart, draftRun, type RunDraft } from "./run-draft.js";
import { shortRunIds } from "./short-run-ids.js";
import { frameTimeline, layoutOfFrame, statusWithLiveRuns } from "./timeline-frame.js";
import { type ReadEvent, readTimelineEvents } from "./validate-events.js";

const OPTIONS: ReadonlySet<string> = new Set(["width", "now", "workflowId", "runId", "liveRuns"]);
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
 * tick), and the axis has at most 1001 ticks. With `liveRuns`, a run without a closing event that
 * is neither paused nor live is `lost` and ends at its last event.
 *
 * @example
 * ```ts
 * const { rows, ticks } = layoutTimeline(events, { width: 800 });
 * for (const bar of rows[0].bars) console.log(bar.kind, bar.stage, bar.x, bar.width, bar.status);
 * ```
 * @throws SystemError `INVALID_INPUT` when `events` is not an array of events, an event cannot be
 * read (reading it or its `data` throws: a throwing getter, a hostile `Proxy`; the message names
 * the event and `cause` is what was thrown), `width` is not positive, `liveRuns` is neither run
 * ids nor a function (or a function that throws or answers with a promise), or `options` has a
 * key {@link TimelineLayoutOptions} does not (`layoutTimeline options.widht is not an option
 * (options: width, now, workflowId, runId, liveRuns)`).
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
  const isLive = readLiveRuns(options.liveRuns, "layoutTimeline options.liveRuns");

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
  const drafts: RunDraft[] = [];
  for (const list of byRun.values()) drafts.push(draftRun(list));
  drafts.sort(byStart);
  const frame = frameTimeline(drafts, {
    width,
    now: Math.max(options.now ?? Date.now(), newest),
    workflowId,
    runId,
    shortIds: shortRunIds([...byRun.keys()]),
    workflows: [...workflows].sort(),
    statusOf: isLive === undefined ? undefined : statusWithLiveRuns(isLive),
  });
  return layoutOfFrame(frame);
}
