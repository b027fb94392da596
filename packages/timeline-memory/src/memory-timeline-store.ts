import { SystemError } from "@sluice/errors";
import {
  holdsRows,
  resolveDeleteFilter,
  resolveQuery,
  TimelineBatch,
  type TimelineDeleteFilter,
  type TimelineEvent,
  type TimelinePage,
  type TimelineQuery,
  type TimelineStore,
  validateTimelineBatch,
  validateTimelineEvents,
} from "@sluice/timeline";
import { compactLog } from "./compact-log.js";
import { deleteEvents } from "./delete-events.js";
import { EventLog, MIN_CAPACITY, MIN_CHAR_CAPACITY } from "./event-log.js";
import { EventWriter } from "./event-writer.js";
import { LogIndexes } from "./log-indexes.js";
import { queryEvents } from "./query-events.js";
import { type MemoryTimelineStoreOptions, resolveMaxEvents } from "./store-options.js";

export { DEFAULT_MAX_EVENTS, type MemoryTimelineStoreOptions } from "./store-options.js";

/** A {@link TimelineStore} held in memory. */
export interface MemoryTimelineStore extends TimelineStore {
  /** How many events are stored now (at most `maxEvents`; 0 once closed). */
  readonly size: number;
}

/**
 * Resolves to a bounded in-memory {@link TimelineStore}, for tests, development and short-lived
 * processes. Nothing persists: data lives until eviction, `delete` or `close()`. Like the SQLite and
 * IndexedDB factories it returns a promise (the SPEC's adapter factories each resolve to a store),
 * so a host can pick any of the three behind one `() => Promise<TimelineStore>`.
 *
 * - Bounded: at most `maxEvents` events (default 100 000); past that, the oldest by insertion are
 *   evicted, so memory does not grow with the number of runs ever made.
 * - Fast to append: an append checks each event, writes it into the columns of a ring-buffer log
 *   (its id and `data` as code units in a typed-array ring, not as retained strings and objects)
 *   and records its id in a hash table; it allocates nothing per event. Per-run and per-workflow
 *   indexes are built only when a query or delete needs them, and eviction moves a head offset and
 *   forgets ids.
 * - Queries by run or workflow read position indexes sorted into (`at`, `seq`, `id`) order (runs
 *   append in order, so sorting is usually a no-op), and a page starts with a binary search.
 * - Isolated: events are copied in and out, so mutating an appended or returned object never
 *   changes what is stored.
 * - All or nothing: a rejected append stores none of its events. An event that throws when read
 *   (a getter in its `data` that throws, a Proxy) is rejected like any malformed one, with
 *   `INVALID_INPUT` naming it and what it threw as the `cause`.
 *
 * @example
 * ```ts
 * import { createMemoryTimelineStore } from "@sluice/timeline-memory";
 *
 * const timeline = await createMemoryTimelineStore({ maxEvents: 10_000 });
 * await timeline.append([{ id: "e1", runId: "r1", workflowId: "orders", seq: 0, at: Date.now(),
 *   source: "runtime", type: "run.started" }]);
 * const { events } = await timeline.query({ runId: "r1" });
 * ```
 *
 * @param options - an object (or left out).
 * @throws `SystemError` `INVALID_INPUT` (as a rejected promise, never synchronously) for options
 *   that are not an object, a `maxEvents` that is not a positive integer, or a key the options do
 *   not have (`createMemoryTimelineStore: options.maxEvent is not an option (options: maxEvents)`).
 */
export async function createMemoryTimelineStore(
  options: MemoryTimelineStoreOptions = {},
): Promise<MemoryTimelineStore> {
  return new MemoryStore(resolveMaxEvents(options), MAX_POSITION);
}

/**
 * A store whose positions and character offsets are renumbered once they would pass
 * `maxPosition` (normally 2^30): lets tests reach the renumbering paths. Not exported by the
 * package.
 *
 * @internal
 */
export function createMemoryTimelineStoreWithLimit(
  maxEvents: number,
  maxPosition: number,
): MemoryTimelineStore {
  return new MemoryStore(maxEvents, maxPosition);
}

// Positions and character offsets are renumbered before they reach this, so they stay small
// integers: they fit an Int32Array and `& mask` works on them.
const MAX_POSITION = 2 ** 30;

/**
 * The store: the contract's checks and the order of the steps, over an {@link EventLog} (the
 * events, in columns), its {@link LogIndexes} (positions by run and by workflow, built when read)
 * and an {@link EventWriter} (appends). When the log is compacted (`compactLog`: deleted slots
 * dropped, positions renumbered) the store takes the new log, with new indexes.
 */
class MemoryStore implements MemoryTimelineStore {
  private log: EventLog;
  private indexes: LogIndexes;
  private readonly writer = new EventWriter();
  private closed = false;
  /**
   * True while an append runs: it reads the caller's events (getters and Proxies included) while it
   * writes them into the log, so a getter that called the store back would run that call in the
   * middle of the write (see {@link ensureOpen}).
   */
  private appending = false;

  constructor(maxEvents: number, maxPosition: number) {
    this.log = new EventLog(MIN_CAPACITY, MIN_CHAR_CAPACITY, maxEvents, maxPosition);
    this.indexes = new LogIndexes(this.log);
  }

  get size(): number {
    return this.log.live;
  }

  async append(events: readonly TimelineEvent[]): Promise<void> {
    this.ensureOpen("append");
    this.appending = true;
    try {
      this.appendEvents(events);
    } finally {
      this.appending = false;
    }
  }

  async appendBatch(batch: TimelineBatch): Promise<void> {
    this.ensureOpen("appendBatch");
    this.appending = true;
    try {
      this.appendRows(batch);
    } finally {
      this.appending = false;
    }
  }

  private appendEvents(events: readonly TimelineEvent[]): void {
    if (!Array.isArray(events)) validateTimelineEvents(events);
    let count: number;
    try {
      count = events.length;
    } catch (thrown) {
      // a Proxy passes Array.isArray, and its length may throw
      throw new SystemError(
        "INVALID_INPUT",
        "timeline-memory: append(events): the events array could not be read; pass a plain array",
        { cause: thrown, details: { path: "events" } },
      );
    }
    if (count === 0) return;
    const log = this.reserve(count);
    if (!this.writer.writeEvents(log, events, true)) {
      // Not all in the common form: the shared validator throws the contract's INVALID_INPUT (so
      // nothing is written), or the batch is valid after all and takes the general path.
      validateTimelineEvents(events);
      this.writer.writeEvents(log, events, false);
    }
    if (log.live > log.maxEvents) log.evict();
  }

  private appendRows(batch: TimelineBatch): void {
    const count = batch?.length;
    if (!(batch instanceof TimelineBatch) || !holdsRows(batch, count)) validateTimelineBatch(batch);
    if (count === 0) return;
    const log = this.reserve(count);
    if (!this.writer.writeBatch(log, batch, true)) {
      // as in append: the shared validator throws, or the batch takes the general path
      validateTimelineBatch(batch);
      this.writer.writeBatch(log, batch, false);
    }
    if (log.live > log.maxEvents) log.evict();
  }

  async query(filter?: TimelineQuery): Promise<TimelinePage> {
    this.ensureOpen("query");
    return queryEvents(this.log, this.indexes, resolveQuery(filter));
  }

  async delete(filter: TimelineDeleteFilter): Promise<number> {
    this.ensureOpen("delete");
    // the checked copy, each field read once: the caller's filter is not read again
    const f = resolveDeleteFilter(filter);
    const log = this.log;
    const count = deleteEvents(log, this.indexes, f);
    // Deleted slots stay in the log until `head` passes them; rewrite it once they dominate.
    if (count > 0 && log.tail - log.head > 2 * log.live + MIN_CAPACITY) this.compact(0);
    return count;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const { maxEvents, maxPosition } = this.log;
    this.replaceLog(new EventLog(MIN_CAPACITY, MIN_CHAR_CAPACITY, maxEvents, maxPosition));
  }

  /**
   * The log, with room for `count` more events: compacted first when its positions would pass
   * `maxPosition`, then grown as needed.
   */
  private reserve(count: number): EventLog {
    let log = this.log;
    if (log.tail + count > log.maxPosition) log = this.compact(count);
    log.reserve(count);
    return log;
  }

  /** Replaces the log with its live events renumbered, with room for `extra` more (see `compactLog`). */
  private compact(extra: number): EventLog {
    return this.replaceLog(compactLog(this.log, extra));
  }

  /** Makes `log` the store's, with new indexes (the old ones hold the old log's positions). */
  private replaceLog(log: EventLog): EventLog {
    this.log = log;
    this.indexes = new LogIndexes(log);
    return log;
  }

  /**
   * Throws `DISPOSED` once closed, and `INVALID_STATE` for a call made from inside an append (a
   * getter of its events calling the store back). Run there, a nested append wrote into the room
   * reserved for the outer one and was counted twice (or left the outer one writing into columns
   * the log had replaced), and a nested query or delete saw, indexed or removed rows that an undo
   * then took back.
   */
  private ensureOpen(operation: string): void {
    if (this.closed) {
      throw new SystemError(
        "DISPOSED",
        `timeline-memory: ${operation}() called after close(); create a new store`,
      );
    }
    if (this.appending) {
      throw new SystemError(
        "INVALID_STATE",
        `timeline-memory: ${operation}() called while the store is reading the events of an append (from a getter or Proxy in them); call it once that append has settled`,
      );
    }
  }
}
