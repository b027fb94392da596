import { SystemError } from "@sluice/errors";
import type { TimelineEvent, TimelineLevel, TimelineStore } from "./types.js";
import { unreadableEvent, validateTimelineEvent } from "./validate-event.js";

const EVENT_FIELDS = new Set([
  "id",
  "runId",
  "workflowId",
  "seq",
  "at",
  "source",
  "type",
  "stage",
  "step",
  "level",
  "message",
  "data",
]);

/**
 * Timeline events held in columns, one array per field, instead of one object per event: what a
 * writer that makes many events (the workflow runtime) hands to a store's `appendBatch`, so that
 * neither side builds or walks an object per event.
 *
 * An event's id is `ids[i]`, or, where that is `undefined`, `` `${runIds[i]}:${seqs[i]}` `` (a
 * derived id: the runtime's ids, which an adapter can store and compare without building the
 * string). Either way it is the same id as far as the store is concerned: appending it again, in
 * a batch or as an object, is ignored like any repeated id.
 *
 * The columns are plain arrays a writer fills with {@link TimelineBatch.add}; a store reads them
 * and must check what it reads (see {@link validateTimelineBatch}): a batch is untrusted input like
 * any `append`.
 *
 * @example
 * ```ts
 * const batch = new TimelineBatch();
 * batch.add(undefined, "run-1", "orders", 1, Date.now(), "runtime", "run.started");
 * batch.add(undefined, "run-1", "orders", 2, Date.now(), "logger", "log", "ship", "s1", "info", "shipping", { orderId: "o1" });
 * await appendTimelineBatch(store, batch); // store.appendBatch(batch), or store.append(batch.toEvents())
 * batch.id(0); // "run-1:1"
 * ```
 */
export class TimelineBatch {
  /** How many events the batch holds (the columns may be longer). */
  length = 0;
  /** Explicit ids; `undefined` where the id is derived (`runId:seq`). */
  readonly ids: Array<string | undefined>;
  /** Each event's `runId`. */
  readonly runIds: string[];
  /** Each event's `workflowId`. */
  readonly workflowIds: string[];
  /** Each event's `seq`. */
  readonly seqs: number[];
  /** Each event's `at`. */
  readonly ats: number[];
  /** Each event's `source`. */
  readonly sources: string[];
  /** Each event's `type`. */
  readonly types: string[];
  /** Each event's `stage` (`undefined`: absent). */
  readonly stages: Array<string | undefined>;
  /** Each event's `step` (`undefined`: absent). */
  readonly steps: Array<string | undefined>;
  /** Each event's `level` (`undefined`: absent). */
  readonly levels: Array<TimelineLevel | undefined>;
  /** Each event's `message` (`undefined`: absent). */
  readonly messages: Array<string | undefined>;
  /** Each event's `data` (`undefined`: absent). */
  readonly data: unknown[];

  /** An empty batch whose columns have room for `capacity` events before they grow. */
  constructor(capacity = 0) {
    // preallocated: growing twelve arrays an element at a time was most of a writer's cost
    this.ids = new Array(capacity);
    this.runIds = new Array(capacity);
    this.workflowIds = new Array(capacity);
    this.seqs = new Array(capacity);
    this.ats = new Array(capacity);
    this.sources = new Array(capacity);
    this.types = new Array(capacity);
    this.stages = new Array(capacity);
    this.steps = new Array(capacity);
    this.levels = new Array(capacity);
    this.messages = new Array(capacity);
    this.data = new Array(capacity);
  }

  /**
   * The batch of `events`, with their ids given. Fields are taken as they are (checked by the store
   * that receives the batch). `events` must be an array of objects.
   */
  static of(events: readonly TimelineEvent[]): TimelineBatch {
    const batch = new TimelineBatch(events.length);
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      batch.add(
        e.id,
        e.runId,
        e.workflowId,
        e.seq,
        e.at,
        e.source,
        e.type,
        e.stage,
        e.step,
        e.level,
        e.message,
        e.data,
      );
    }
    return batch;
  }

  /**
   * True when `events` is an array of objects that each have an `id` (a batch would derive a missing
   * one) and no field a batch has no column for: then `TimelineBatch.of(events)` holds exactly what
   * `events` says, and a store's checks see the same thing in both.
   */
  static canHold(events: unknown): events is readonly TimelineEvent[] {
    if (!Array.isArray(events)) return false;
    for (const event of events) {
      if (typeof event !== "object" || event === null || Array.isArray(event)) return false;
      if ((event as { id?: unknown }).id === undefined) return false;
      for (const key of Object.keys(event)) if (!EVENT_FIELDS.has(key)) return false;
    }
    return true;
  }

  /** Adds an event at the end of the batch; `id` `undefined` derives it (`runId:seq`). */
  add(
    id: string | undefined,
    runId: string,
    workflowId: string,
    seq: number,
    at: number,
    source: string,
    type: string,
    stage?: string,
    step?: string,
    level?: TimelineLevel,
    message?: string,
    data?: unknown,
  ): void {
    const i = this.length++;
    this.ids[i] = id;
    this.runIds[i] = runId;
    this.workflowIds[i] = workflowId;
    this.seqs[i] = seq;
    this.ats[i] = at;
    this.sources[i] = source;
    this.types[i] = type;
    this.stages[i] = stage;
    this.steps[i] = step;
    this.levels[i] = level;
    this.messages[i] = message;
    this.data[i] = data;
  }

  /**
   * Empties the batch so a writer can fill it again, keeping its columns' room. What the columns
   * referred to is dropped (`data`, messages and explicit ids; the rest is overwritten as it refills),
   * so a recycled batch does not keep a large log payload alive. Only for a batch no store is still
   * reading: one whose append has settled.
   */
  clear(): void {
    const length = this.length;
    this.length = 0;
    const { ids, messages, data } = this;
    // A loop, not `fill`: `Array.prototype.fill` runs in V8's C++ runtime at ~27 instructions an
    // element, a loop of stores of `undefined` (which need no write barrier) at a few.
    for (let i = 0; i < length; i++) {
      ids[i] = undefined;
      messages[i] = undefined;
      data[i] = undefined;
    }
  }

  /** The id of event `i`: its explicit id, or `runId:seq`. */
  id(i: number): string {
    return idOf(this, i) as string;
  }

  /** Event `i` as a {@link TimelineEvent} (every field present; absent ones `undefined`). */
  event(i: number): TimelineEvent {
    return eventOf(this, i);
  }

  /** Every event of the batch as a {@link TimelineEvent}, in order. */
  toEvents(): TimelineEvent[] {
    const events: TimelineEvent[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) events[i] = this.event(i);
    return events;
  }

  /** A new batch of events `start` (inclusive) to `end` (exclusive) of this one. */
  slice(start: number, end: number = this.length): TimelineBatch {
    const to = Math.min(end, this.length);
    const part = new TimelineBatch(Math.max(0, to - Math.max(0, start)));
    for (let i = Math.max(0, start); i < to; i++) {
      part.add(
        this.ids[i],
        this.runIds[i]!,
        this.workflowIds[i]!,
        this.seqs[i]!,
        this.ats[i]!,
        this.sources[i]!,
        this.types[i]!,
        this.stages[i],
        this.steps[i],
        this.levels[i],
        this.messages[i],
        this.data[i],
      );
    }
    return part;
  }
}

/**
 * Checks a batch handed to `appendBatch` by the same rules as `validateTimelineEvents` (its events
 * are the batch's rows; a derived id counts as given); throws a `SystemError` coded `INVALID_INPUT`
 * naming `events[i].field`, or naming `batch` when it is not a batch at all. Anything thrown while
 * reading a row (a getter in its `data`, say) is `INVALID_INPUT` too, with what was thrown as its
 * `cause`. Adapters call it before writing anything (or when their own faster checks give up), so a
 * bad batch stores nothing.
 */
export function validateTimelineBatch(batch: unknown): asserts batch is TimelineBatch {
  const b = batch as Partial<TimelineBatch> | null;
  const length = b?.length;
  if (
    typeof b !== "object" ||
    b === null ||
    typeof length !== "number" ||
    !Number.isSafeInteger(length) ||
    length < 0 ||
    !COLUMNS.every((column) => Array.isArray(b[column]) && (b[column] as unknown[]).length >= length)
  ) {
    throw new SystemError(
      "INVALID_INPUT",
      "batch must be a TimelineBatch (a length and a column array per field, each at least that long)",
      { details: { path: "batch" } },
    );
  }
  for (let i = 0; i < length; i++) validateTimelineEvent(readRow(b as TimelineBatch, i), i);
}

/** Row `i` of a batch as an event; what reading its columns throws becomes `INVALID_INPUT`. */
function readRow(batch: TimelineBatch, i: number): TimelineEvent {
  try {
    return eventOf(batch, i);
  } catch (thrown) {
    // e.g. a derived id from a run id that cannot become a string (a symbol)
    throw unreadableEvent(i, thrown);
  }
}

/** Event `i`'s id: explicit, or derived from its run id and seq (whatever their types: checked later). */
function idOf(batch: TimelineBatch, i: number): unknown {
  const id = batch.ids[i];
  return id !== undefined ? id : `${batch.runIds[i]}:${batch.seqs[i]}`;
}

/**
 * Event `i` of a batch as an object, its columns' values as they are. Every field is present, the
 * absent ones `undefined` (which the contract treats as absent), so all events share one shape and
 * the code that reads them stays monomorphic.
 */
function eventOf(batch: TimelineBatch, i: number): TimelineEvent {
  return {
    id: idOf(batch, i),
    runId: batch.runIds[i],
    workflowId: batch.workflowIds[i],
    seq: batch.seqs[i],
    at: batch.ats[i],
    source: batch.sources[i],
    type: batch.types[i],
    stage: batch.stages[i],
    step: batch.steps[i],
    level: batch.levels[i],
    message: batch.messages[i],
    data: batch.data[i],
  } as TimelineEvent;
}

const COLUMNS = [
  "ids",
  "runIds",
  "workflowIds",
  "seqs",
  "ats",
  "sources",
  "types",
  "stages",
  "steps",
  "levels",
  "messages",
  "data",
] as const;

/**
 * Appends `batch` to `store`: through `store.appendBatch` when the store has it, else as
 * `store.append` of the batch's rows as events (what `batch.toEvents()` gives). Same outcome either
 * way: a row that throws when read is `INVALID_INPUT` naming `events[i]`, and a batch in plain
 * columns (not a `TimelineBatch` instance, e.g. one that went through `postMessage`) is a batch.
 */
export function appendTimelineBatch(store: TimelineStore, batch: TimelineBatch): Promise<void> {
  if (store.appendBatch !== undefined) return store.appendBatch(batch);
  try {
    // a malformed batch is refused as the store would refuse it, before its rows are read
    if (!(batch instanceof TimelineBatch) || !holdsRows(batch, batch.length)) validateTimelineBatch(batch);
    return store.append(readRows(batch));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The rows of a batch as events, read from its columns (not its methods); see {@link readRow}. */
function readRows(batch: TimelineBatch): TimelineEvent[] {
  const length = batch.length;
  const events: TimelineEvent[] = new Array(length);
  for (let i = 0; i < length; i++) events[i] = readRow(batch, i);
  return events;
}

/**
 * True when `count` (the batch's `length`, read once) is a row count the batch's columns hold: a
 * non-negative integer (`>>> 0` changes anything else: 2.5, -1, NaN, a string), every column an
 * array at least that long. The cheap half of `validateTimelineBatch`, for a batch whose rows are
 * about to be read (or room made for them) with no other check: checked once a batch.
 */
export function holdsRows(batch: TimelineBatch, count: number): boolean {
  return (
    count >>> 0 === count &&
    holds(batch.ids, count) &&
    holds(batch.runIds, count) &&
    holds(batch.workflowIds, count) &&
    holds(batch.seqs, count) &&
    holds(batch.ats, count) &&
    holds(batch.sources, count) &&
    holds(batch.types, count) &&
    holds(batch.stages, count) &&
    holds(batch.steps, count) &&
    holds(batch.levels, count) &&
    holds(batch.messages, count) &&
    holds(batch.data, count)
  );
}

/** True when `column` is an array of at least `count` items. */
function holds(column: readonly unknown[], count: number): boolean {
  return Array.isArray(column) && column.length >= count;
}
