import { SystemError } from "@sluice/errors";
import {
  makeTimelinePage,
  resolveQuery,
  type TimelineDeleteFilter,
  type TimelineEvent,
  type TimelinePage,
  type TimelineQuery,
  type TimelineStore,
  validateDeleteFilter,
  validateTimelineEvents,
} from "@sluice/timeline";
import { SortedIndex } from "./sorted-index.js";
import { StoredEvent } from "./stored-event.js";

/** Events kept when `maxEvents` is not given. */
export const DEFAULT_MAX_EVENTS = 100_000;

/** Options of {@link createMemoryTimelineStore}. */
export interface MemoryTimelineStoreOptions {
  /**
   * Most events kept (a positive integer; default {@link DEFAULT_MAX_EVENTS}). When an append goes
   * past it, the events appended longest ago are evicted, whatever their `at`.
   */
  maxEvents?: number;
}

/** A {@link TimelineStore} held in memory. */
export interface MemoryTimelineStore extends TimelineStore {
  /** How many events are stored now (at most `maxEvents`; 0 once closed). */
  readonly size: number;
}

/**
 * A bounded in-memory {@link TimelineStore}, for tests, development and short-lived processes.
 * Nothing persists: data lives until eviction, `delete` or `close()`.
 *
 * - Bounded: at most `maxEvents` events (default 100 000); past that, the oldest by insertion are
 *   evicted, so memory does not grow with the number of runs ever made.
 * - Fast: an append is amortised O(batch); queries by run or workflow read per-run and
 *   per-workflow indexes kept in (`at`, `seq`, `id`) order, and a page starts with a binary search.
 * - Isolated: events are copied in and out, so mutating an appended or returned object never
 *   changes what is stored.
 *
 * @example
 * ```ts
 * import { createMemoryTimelineStore } from "@sluice/timeline-memory";
 *
 * const timeline = createMemoryTimelineStore({ maxEvents: 10_000 });
 * await timeline.append([{ id: "e1", runId: "r1", workflowId: "orders", seq: 0, at: Date.now(),
 *   source: "runtime", type: "run.started" }]);
 * const { events } = await timeline.query({ runId: "r1" });
 * ```
 */
export function createMemoryTimelineStore(options: MemoryTimelineStoreOptions = {}): MemoryTimelineStore {
  const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  if (typeof maxEvents !== "number" || !Number.isSafeInteger(maxEvents) || maxEvents < 1) {
    throw new SystemError(
      "INVALID_INPUT",
      `createMemoryTimelineStore: maxEvents must be a positive integer, got ${String(maxEvents)}`,
      { details: { path: "options.maxEvents" } },
    );
  }
  return new MemoryStore(maxEvents);
}

class MemoryStore implements MemoryTimelineStore {
  private readonly byId = new Map<string, StoredEvent>();
  private all = new SortedIndex();
  private runs = new Map<string, SortedIndex>();
  private workflows = new Map<string, SortedIndex>();
  // insertion order, for eviction; entries before `head` are gone
  private inserted: StoredEvent[] = [];
  private head = 0;
  private closed = false;

  constructor(private readonly maxEvents: number) {}

  get size(): number {
    return this.byId.size;
  }

  async append(events: readonly TimelineEvent[]): Promise<void> {
    this.ensureOpen("append");
    validateTimelineEvents(events);
    const byId = this.byId;
    let runId: string | undefined;
    let run: SortedIndex | undefined;
    let workflowId: string | undefined;
    let workflow: SortedIndex | undefined;
    for (let i = 0; i < events.length; i++) {
      const source = events[i]!;
      if (byId.has(source.id)) continue;
      // batches usually hold one run's events: skip the map lookups while the run repeats
      if (source.runId !== runId || run === undefined) {
        runId = source.runId;
        run = indexFor(this.runs, runId);
      }
      if (source.workflowId !== workflowId || workflow === undefined) {
        workflowId = source.workflowId;
        workflow = indexFor(this.workflows, workflowId);
      }
      const entry = new StoredEvent(source, run, workflow);
      byId.set(source.id, entry);
      this.all.add(entry);
      run.add(entry);
      workflow.add(entry);
      this.inserted.push(entry);
    }
    if (byId.size > this.maxEvents) this.evict();
  }

  async query(filter?: TimelineQuery): Promise<TimelinePage> {
    this.ensureOpen("query");
    const q = resolveQuery(filter);
    const index =
      q.runId !== undefined
        ? this.runs.get(q.runId)
        : q.workflowId !== undefined
          ? this.workflows.get(q.workflowId)
          : this.all;
    if (index === undefined) return { events: [] };
    const items = index.items;
    let i = q.from === undefined ? index.start : index.firstAtOrAfter(q.from);
    if (q.after !== undefined) i = Math.max(i, index.firstAfter(q.after));
    const checkWorkflow = q.runId !== undefined && q.workflowId !== undefined;
    const rows: TimelineEvent[] = [];
    for (; i < items.length && rows.length <= q.limit; i++) {
      const entry = items[i]!;
      if (!entry.alive) continue;
      if (q.to !== undefined && entry.at >= q.to) break;
      if (checkWorkflow && entry.workflowId !== q.workflowId) continue;
      rows.push(entry.toEvent());
    }
    return makeTimelinePage(rows, q);
  }

  async delete(filter: TimelineDeleteFilter): Promise<number> {
    this.ensureOpen("delete");
    validateDeleteFilter(filter);
    const index =
      filter.runId !== undefined
        ? this.runs.get(filter.runId)
        : filter.workflowId !== undefined
          ? this.workflows.get(filter.workflowId)
          : this.all;
    if (index === undefined) return 0;
    // `remove` may compact the index into a new array; this loop keeps reading the old one
    const items = index.items;
    let count = 0;
    for (let i = index.start; i < items.length; i++) {
      const entry = items[i]!;
      if (!entry.alive) continue;
      if (filter.before !== undefined && !(entry.at < filter.before)) break;
      if (filter.runId !== undefined && entry.runId !== filter.runId) continue;
      if (filter.workflowId !== undefined && entry.workflowId !== filter.workflowId) continue;
      this.remove(entry);
      count++;
    }
    return count;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.byId.clear();
    this.all = new SortedIndex();
    this.runs = new Map();
    this.workflows = new Map();
    this.inserted = [];
    this.head = 0;
  }

  private evict(): void {
    while (this.byId.size > this.maxEvents) {
      // re-read the field: remove() may compact the queue
      const entry = this.inserted[this.head++]!;
      if (entry.alive) this.remove(entry);
    }
    this.compactInserted();
  }

  private remove(entry: StoredEvent): void {
    entry.alive = false;
    const event = entry;
    this.byId.delete(event.id);
    this.all.died();
    entry.run.died();
    if (entry.run.live === 0 && this.runs.get(event.runId) === entry.run) this.runs.delete(event.runId);
    entry.workflow.died();
    if (entry.workflow.live === 0 && this.workflows.get(event.workflowId) === entry.workflow) {
      this.workflows.delete(event.workflowId);
    }
    if (this.byId.size * 2 + 1024 < this.inserted.length - this.head) this.compactInserted();
  }

  // Drops evicted and deleted entries from the insertion queue once they dominate it.
  private compactInserted(): void {
    const pending = this.inserted.length - this.head;
    if (this.head > 1024 && this.head * 2 > this.inserted.length) {
      this.inserted = this.inserted.slice(this.head);
      this.head = 0;
    }
    if (pending > this.byId.size * 2 + 1024) {
      this.inserted = this.inserted.slice(this.head).filter((e) => e.alive);
      this.head = 0;
    }
  }

  private ensureOpen(operation: string): void {
    if (this.closed) {
      throw new SystemError(
        "DISPOSED",
        `timeline-memory: ${operation}() called after close(); create a new store`,
      );
    }
  }
}

function indexFor(map: Map<string, SortedIndex>, key: string): SortedIndex {
  let index = map.get(key);
  if (index === undefined) {
    index = new SortedIndex();
    map.set(key, index);
  }
  return index;
}
