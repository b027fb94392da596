import type { TimelineBatch } from "./batch.js";

/** Where a timeline event came from. */
export type TimelineSource = "runtime" | "pipeline" | "logger";

/** Severity of a logger event. */
export type TimelineLevel = "debug" | "info" | "warn" | "error";

/**
 * The types of event the runtime writes. Adapters must store any string `type`; this list
 * documents what Sluice itself emits.
 */
export const TimelineEventType = {
  RunStarted: "run.started",
  RunPaused: "run.paused",
  RunResumed: "run.resumed",
  RunCompleted: "run.completed",
  RunFailed: "run.failed",
  RunAborted: "run.aborted",
  StageStarted: "stage.started",
  StageCompleted: "stage.completed",
  StageFailed: "stage.failed",
  StepStarted: "step.started",
  StepCompleted: "step.completed",
  StepFailed: "step.failed",
  StepSkipped: "step.skipped",
  StepRetried: "step.retried",
  Log: "log",
} as const;

/** One of the event types Sluice emits. */
export type TimelineEventType = (typeof TimelineEventType)[keyof typeof TimelineEventType];

/**
 * One recorded fact about a run. Plain, JSON-serialisable data.
 *
 * Order: events sort by `at`, then `seq`, then `id` (the total order every query returns).
 */
export interface TimelineEvent {
  /**
   * Unique id of this event (any non-empty string). Appending an id that is already stored keeps
   * one copy: the first one stored; a later append of the same id is ignored, even with other
   * content. Once deleted or evicted, an id may be appended again.
   */
  id: string;
  /** The run this event belongs to. */
  runId: string;
  /** The workflow of the run. */
  workflowId: string;
  /** Position within the run: a non-negative integer, increasing with each event of the run. */
  seq: number;
  /** When it happened, epoch milliseconds. */
  at: number;
  /** What produced it. */
  source: TimelineSource | (string & {});
  /** What happened, e.g. `"stage.completed"`; see {@link TimelineEventType}. */
  type: TimelineEventType | (string & {});
  /** Stage id, for stage and step events. */
  stage?: string;
  /** Step id, for step events. */
  step?: string;
  /** Level, for logger events. */
  level?: TimelineLevel;
  /** Human-readable text (the logger's message, an error message). */
  message?: string;
  /**
   * Any plain JSON detail: objects, arrays, strings, finite numbers, booleans, `null`; at most
   * `MAX_DATA_DEPTH` levels deep. `null` is stored as `null`, distinct from absent. Functions,
   * `undefined` in arrays, BigInt, symbols, `NaN`/`Infinity`, class instances (Date, Map, …) and
   * cycles are rejected with `INVALID_INPUT`; properties whose value is `undefined` are dropped.
   */
  data?: unknown;
}

/** Which events a query returns. All given fields must match (AND); a field set to `undefined` is not given. */
export interface TimelineQuery {
  /** Only this run's events. */
  runId?: string | undefined;
  /** Only this workflow's events. */
  workflowId?: string | undefined;
  /** Only events with `at >= from`. */
  from?: number | undefined;
  /** Only events with `at < to`. */
  to?: number | undefined;
  /** Most events in one page: an integer from 1 to 10000 (default 1000); others are rejected. */
  limit?: number | undefined;
  /**
   * The opaque cursor from a previous page's `next`; `runId`, `workflowId`, `from` and `to` must be
   * the same as for that page (`limit` may change), or the query is rejected with `INVALID_INPUT`.
   * The page then holds the matching events strictly after the previous page's last event, so
   * paging never repeats or skips an event stored before the first page, even while others append
   * or delete. Cursors are stateless: reusable, and valid after the store is reopened.
   */
  next?: string | undefined;
}

/** One page of a query. */
export interface TimelinePage {
  /** Matching events in (`at`, `seq`, `id`) order; copies the caller may mutate. */
  events: TimelineEvent[];
  /**
   * Present when more events may follow: pass it as `next` with the same filter. Absent on a page
   * with fewer than `limit` events; a page with `next` is never empty.
   */
  next?: string;
}

/**
 * Which events a delete removes (retention): those matching every given field (a field set to
 * `undefined` is not given). At least one field is required (an empty filter is rejected with `INVALID_INPUT`); to delete everything, say so with
 * `{ before: Infinity }`.
 */
export interface TimelineDeleteFilter {
  /** Only this run's events. */
  runId?: string | undefined;
  /** Only this workflow's events. */
  workflowId?: string | undefined;
  /** Only events with `at < before`. */
  before?: number | undefined;
}

/**
 * Where a runtime records its runs. Adapters implement exactly this (`appendBatch` optionally); see
 * `docs/writing-a-timeline-adapter.md` and the conformance suite at `@sluice/timeline/conformance`.
 */
export interface TimelineStore {
  /**
   * Stores a batch of events: all of it or, when any event is malformed (`INVALID_INPUT`, naming
   * `events[i].field`), none of it. Resolves once the events are durable for this backend and
   * visible to `query`. An empty batch is a no-op. Backend failures reject with `STORAGE_FAILED`.
   */
  append(events: readonly TimelineEvent[]): Promise<void>;
  /**
   * Optional: stores a batch given in columns (see {@link TimelineBatch}), exactly as `append` would
   * store `batch.toEvents()`: same checks (`validateTimelineBatch`), same atomicity, idempotency and
   * copies. Writers call it through `appendTimelineBatch(store, batch)`, which falls back to
   * `append` for stores without it. A store that keeps columns itself can take the batch without
   * an object, or an id string, per event. The batch is the writer's again once the returned promise
   * settles (the runtime's writer empties and refills it): keep copies, never the batch or its columns.
   */
  appendBatch?(batch: TimelineBatch): Promise<void>;
  /** Returns events matching `filter`, in (`at`, `seq`, `id`) order, one page at a time. */
  query(filter?: TimelineQuery): Promise<TimelinePage>;
  /** Removes the events matching `filter` (see {@link TimelineDeleteFilter}); resolves to how many were removed. */
  delete(filter: TimelineDeleteFilter): Promise<number>;
  /**
   * Releases the backend. Any later `append`, `query` or `delete` rejects with a `SystemError` coded
   * `DISPOSED`; calling `close()` again (even concurrently) resolves and does nothing.
   */
  close(): Promise<void>;
}
