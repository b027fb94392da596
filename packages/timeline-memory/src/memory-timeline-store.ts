import { SystemError } from "@sluice/errors";
import {
  makeTimelinePage,
  resolveQuery,
  type TimelineDeleteFilter,
  type TimelineEvent,
  type TimelineLevel,
  type TimelinePage,
  type TimelinePosition,
  type TimelineQuery,
  type TimelineStore,
  validateDeleteFilter,
  validateTimelineEvents,
} from "@sluice/timeline";
import { copyJson } from "./copy-json.js";
import { hashId, IdTable } from "./id-table.js";
import { PositionIndex } from "./position-index.js";

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
 * - Fast: an append is amortised O(batch) and allocates nothing per event beyond a copy of its
 *   `data` object (events live in the columns of a ring-buffer log; ids in a hash table of log
 *   positions). Queries by run or workflow read per-run and per-workflow position indexes, sorted
 *   into (`at`, `seq`, `id`) order when read (runs append in order, so this is usually a no-op),
 *   and a page starts with a binary search.
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

// Positions are renumbered before they reach this, so they stay small integers (and fit the id
// table's Int32Array).
const MAX_POSITION = 2 ** 30;
const MIN_CAPACITY = 1024;
// An index is compacted once it holds this many dead positions and more dead than live ones.
const MIN_INDEX_COMPACT = 64;

/**
 * The store. Events live in an insertion-ordered ring-buffer log held as columns (one array per
 * field), so appending allocates no object per event and eviction of the oldest moves `head`.
 * An event is addressed by its log position (an ever-increasing integer; its slot is
 * `position & mask`); indexes hold positions, and a position is live while it is at or after
 * `head` and not deleted.
 */
class MemoryStore implements MemoryTimelineStore {
  private mask = MIN_CAPACITY - 1;
  private ids: string[] = [];
  private runIds: string[] = [];
  private workflowIds: string[] = [];
  private sources: string[] = [];
  private types: string[] = [];
  private stages: Array<string | undefined> = [];
  private steps: Array<string | undefined> = [];
  private levels: Array<TimelineLevel | undefined> = [];
  private messages: Array<string | undefined> = [];
  private data: unknown[] = [];
  private ats = new Float64Array(MIN_CAPACITY);
  private seqs = new Float64Array(MIN_CAPACITY);
  private hashes = new Int32Array(MIN_CAPACITY);
  /** 1 for a deleted event whose slot `head` has not passed yet. */
  private gone = new Uint8Array(MIN_CAPACITY);
  private runOf: PositionIndex[] = [];
  private workflowOf: PositionIndex[] = [];
  /** First position that may be live. */
  private head = 0;
  /** Next position to write. */
  private tail = 0;
  /** Live events. */
  private live = 0;
  private readonly idTable = new IdTable();
  private runs = new Map<string, PositionIndex>();
  private workflows = new Map<string, PositionIndex>();
  /** Index of every event; built on the first query or delete that needs it, then kept. */
  private all: PositionIndex | undefined;
  private closed = false;
  private readonly comparePositions = (a: number, b: number): number => this.compare(a, b);

  constructor(private readonly maxEvents: number) {}

  get size(): number {
    return this.live;
  }

  async append(events: readonly TimelineEvent[]): Promise<void> {
    this.ensureOpen("append");
    validateTimelineEvents(events);
    const count = events.length;
    if (count === 0) return;
    if (this.tail - this.head + count > this.mask + 1 || this.tail + count > MAX_POSITION) {
      this.rebuild(count);
    }
    if ((this.idTable.size + count) * 2 > this.idTable.capacity) this.growIdTable(count);
    const { ids, hashes, idTable, mask, all } = this;
    let runId: string | undefined;
    let run: PositionIndex | undefined;
    let workflowId: string | undefined;
    let workflow: PositionIndex | undefined;
    for (let i = 0; i < count; i++) {
      const e = events[i]!;
      const id = e.id;
      const hash = hashId(id);
      if (idTable.find(id, hash, ids, hashes, mask) !== -1) continue;
      // batches usually hold one run's events: skip the map lookups while the run repeats
      if (e.runId !== runId || run === undefined) {
        runId = e.runId;
        run = indexFor(this.runs, runId);
      }
      if (e.workflowId !== workflowId || workflow === undefined) {
        workflowId = e.workflowId;
        workflow = indexFor(this.workflows, workflowId);
      }
      const position = this.tail++;
      const slot = position & mask;
      ids[slot] = id;
      hashes[slot] = hash;
      // the index keys, not the event's strings: equal, and already retained by the maps
      this.runIds[slot] = run.key;
      this.workflowIds[slot] = workflow.key;
      this.sources[slot] = e.source;
      this.types[slot] = e.type;
      this.stages[slot] = e.stage;
      this.steps[slot] = e.step;
      this.levels[slot] = e.level;
      this.messages[slot] = e.message;
      const data = e.data;
      // strings and other primitives are immutable: only objects need a copy
      this.data[slot] = typeof data === "object" && data !== null ? copyJson(data) : data;
      this.ats[slot] = e.at;
      this.seqs[slot] = e.seq;
      this.gone[slot] = 0;
      this.runOf[slot] = run;
      this.workflowOf[slot] = workflow;
      idTable.insert(hash, position);
      this.live++;
      this.add(run, position);
      this.add(workflow, position);
      if (all !== undefined) this.add(all, position);
    }
    if (this.live > this.maxEvents) this.evict();
  }

  async query(filter?: TimelineQuery): Promise<TimelinePage> {
    this.ensureOpen("query");
    const q = resolveQuery(filter);
    const index =
      q.runId !== undefined
        ? this.runs.get(q.runId)
        : q.workflowId !== undefined
          ? this.workflows.get(q.workflowId)
          : this.allIndex();
    if (index === undefined) return { events: [] };
    this.prepare(index);
    const positions = index.positions;
    const n = positions.length;
    let i = q.from === undefined ? 0 : this.firstAtOrAfter(positions, q.from);
    if (q.after !== undefined) i = Math.max(i, this.firstAfter(positions, q.after));
    const checkWorkflow = q.runId !== undefined && q.workflowId !== undefined;
    const to = q.to;
    const rows: TimelineEvent[] = [];
    for (; i < n && rows.length <= q.limit; i++) {
      const slot = positions[i]! & this.mask;
      if (to !== undefined && this.ats[slot]! >= to) break;
      if (checkWorkflow && this.workflowIds[slot] !== q.workflowId) continue;
      rows.push(this.toEvent(slot));
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
          : this.allIndex();
    if (index === undefined) return 0;
    this.prepare(index);
    // `kill` may compact this index into a new array; this loop keeps reading the old one
    const positions = index.positions;
    const mask = this.mask;
    let count = 0;
    for (let i = 0; i < positions.length; i++) {
      const position = positions[i]!;
      const slot = position & mask;
      if (filter.before !== undefined && !(this.ats[slot]! < filter.before)) break;
      if (filter.runId !== undefined && this.runIds[slot] !== filter.runId) continue;
      if (filter.workflowId !== undefined && this.workflowIds[slot] !== filter.workflowId) continue;
      this.gone[slot] = 1;
      this.data[slot] = undefined;
      this.kill(slot, position);
      count++;
    }
    // Deleted slots stay in the log until `head` passes them; rewrite it once they dominate.
    if (this.tail - this.head > 2 * this.live + MIN_CAPACITY) this.rebuild(0);
    return count;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reset(MIN_CAPACITY);
    this.idTable.reset(2 * MIN_CAPACITY);
    this.runs = new Map();
    this.workflows = new Map();
    this.all = undefined;
  }

  /** Evicts the oldest events by insertion until at most `maxEvents` remain. */
  private evict(): void {
    const { gone, mask } = this;
    while (this.live > this.maxEvents) {
      const position = this.head++;
      const slot = position & mask;
      if (gone[slot] === 0) this.kill(slot, position);
    }
  }

  /** Forgets a live event whose slot is already out of `head`..`tail` or marked gone. */
  private kill(slot: number, position: number): void {
    this.live--;
    this.idTable.remove(this.hashes[slot]!, position, this.hashes, this.mask);
    const run = this.runOf[slot]!;
    if (--run.live === 0) {
      if (this.runs.get(run.key) === run) this.runs.delete(run.key);
    } else this.maybeCompact(run);
    const workflow = this.workflowOf[slot]!;
    if (--workflow.live === 0) {
      if (this.workflows.get(workflow.key) === workflow) this.workflows.delete(workflow.key);
    } else this.maybeCompact(workflow);
    const all = this.all;
    if (all !== undefined) {
      all.live--;
      this.maybeCompact(all);
    }
  }

  private isLive(position: number): boolean {
    return position >= this.head && position < this.tail && this.gone[position & this.mask] === 0;
  }

  private add(index: PositionIndex, position: number): void {
    const positions = index.positions;
    const n = positions.length;
    if (index.sorted && n > index.start) {
      const last = positions[n - 1]!;
      // a dead last position's slot may hold a newer event: sort on the next read to be safe
      if (!this.isLive(last) || this.compare(last, position) > 0) index.sorted = false;
    }
    positions.push(position);
    index.live++;
  }

  private maybeCompact(index: PositionIndex): void {
    const positions = index.positions;
    let start = index.start;
    // eviction kills the oldest first, which usually sit at the front
    while (start < positions.length && !this.isLive(positions[start]!)) start++;
    index.start = start;
    const dead = positions.length - start - index.live;
    if (start >= MIN_INDEX_COMPACT && start * 2 > positions.length) {
      index.positions = positions.slice(start);
      index.start = 0;
    } else if (dead >= MIN_INDEX_COMPACT && dead > index.live) {
      this.dropDead(index);
    }
  }

  private dropDead(index: PositionIndex): void {
    const positions = index.positions;
    const out: number[] = [];
    for (let i = index.start; i < positions.length; i++) {
      const position = positions[i]!;
      if (this.isLive(position)) out.push(position);
    }
    index.positions = out;
    index.start = 0;
  }

  /** Leaves only live positions, from index 0, in (`at`, `seq`, `id`) order. */
  private prepare(index: PositionIndex): void {
    if (index.positions.length !== index.live) {
      if (index.positions.length - index.start === index.live) {
        index.positions = index.positions.slice(index.start);
        index.start = 0;
      } else this.dropDead(index);
    }
    if (!index.sorted) {
      index.positions.sort(this.comparePositions);
      index.sorted = true;
    }
  }

  private allIndex(): PositionIndex {
    let all = this.all;
    if (all === undefined) {
      all = new PositionIndex("");
      for (let position = this.head; position < this.tail; position++) {
        if (this.gone[position & this.mask] === 0) this.add(all, position);
      }
      this.all = all;
    }
    return all;
  }

  private compare(a: number, b: number): number {
    const sa = a & this.mask;
    const sb = b & this.mask;
    const ats = this.ats;
    if (ats[sa] !== ats[sb]) return ats[sa]! < ats[sb]! ? -1 : 1;
    const seqs = this.seqs;
    if (seqs[sa] !== seqs[sb]) return seqs[sa]! < seqs[sb]! ? -1 : 1;
    const ia = this.ids[sa]!;
    const ib = this.ids[sb]!;
    if (ia === ib) return 0;
    return ia < ib ? -1 : 1;
  }

  /** First index in `positions` (prepared) whose event has `at >= from`. */
  private firstAtOrAfter(positions: number[], from: number): number {
    let lo = 0;
    let hi = positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ats[positions[mid]! & this.mask]! < from) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index in `positions` (prepared) strictly after `after` in (`at`, `seq`, `id`) order. */
  private firstAfter(positions: number[], after: TimelinePosition): number {
    let lo = 0;
    let hi = positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const slot = positions[mid]! & this.mask;
      const at = this.ats[slot]!;
      const seq = this.seqs[slot]!;
      const id = this.ids[slot]!;
      const beforeOrSame =
        at !== after.at ? at < after.at : seq !== after.seq ? seq < after.seq : id <= after.id;
      if (beforeOrSame) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** A fresh, caller-owned copy of the event in `slot`; absent fields stay absent. */
  private toEvent(slot: number): TimelineEvent {
    const out: TimelineEvent = {
      id: this.ids[slot]!,
      runId: this.runIds[slot]!,
      workflowId: this.workflowIds[slot]!,
      seq: this.seqs[slot]!,
      at: this.ats[slot]!,
      source: this.sources[slot]!,
      type: this.types[slot]!,
    };
    const stage = this.stages[slot];
    if (stage !== undefined) out.stage = stage;
    const step = this.steps[slot];
    if (step !== undefined) out.step = step;
    const level = this.levels[slot];
    if (level !== undefined) out.level = level;
    const message = this.messages[slot];
    if (message !== undefined) out.message = message;
    const data = this.data[slot];
    if (data !== undefined) out.data = copyJson(data);
    return out;
  }

  /**
   * Rewrites the log with only live events, renumbered from 0, in a ring with room for them plus
   * `extra` more (and a quarter to spare, so steady appends do not rebuild again), then rebuilds
   * the id table and indexes. Used to grow, to drop deleted slots, and to keep positions small.
   */
  private rebuild(extra: number): void {
    const need = Math.ceil((this.live + extra) * 1.25);
    let capacity = MIN_CAPACITY;
    while (capacity < need) capacity *= 2;
    const old = {
      mask: this.mask,
      ids: this.ids,
      runIds: this.runIds,
      workflowIds: this.workflowIds,
      sources: this.sources,
      types: this.types,
      stages: this.stages,
      steps: this.steps,
      levels: this.levels,
      messages: this.messages,
      data: this.data,
      ats: this.ats,
      seqs: this.seqs,
      hashes: this.hashes,
      gone: this.gone,
      runOf: this.runOf,
      workflowOf: this.workflowOf,
    };
    const from = this.head;
    const to = this.tail;
    this.idTable.reset(tableCapacity(this.live + extra));
    this.reset(capacity);
    const hadAll = this.all !== undefined;
    this.all = undefined;
    for (const index of this.runs.values()) clearIndex(index);
    for (const index of this.workflows.values()) clearIndex(index);
    let position = 0;
    for (let p = from; p < to; p++) {
      const o = p & old.mask;
      if (old.gone[o] === 1) continue;
      const s = position;
      this.ids[s] = old.ids[o]!;
      this.hashes[s] = old.hashes[o]!;
      this.runIds[s] = old.runIds[o]!;
      this.workflowIds[s] = old.workflowIds[o]!;
      this.sources[s] = old.sources[o]!;
      this.types[s] = old.types[o]!;
      this.stages[s] = old.stages[o];
      this.steps[s] = old.steps[o];
      this.levels[s] = old.levels[o];
      this.messages[s] = old.messages[o];
      this.data[s] = old.data[o];
      this.ats[s] = old.ats[o]!;
      this.seqs[s] = old.seqs[o]!;
      const run = old.runOf[o]!;
      const workflow = old.workflowOf[o]!;
      this.runOf[s] = run;
      this.workflowOf[s] = workflow;
      this.idTable.insert(old.hashes[o]!, position);
      this.tail = ++position;
      this.add(run, s);
      this.add(workflow, s);
    }
    // indexes counted their events again through add()
    this.live = position;
    if (hadAll) this.allIndex();
  }

  private growIdTable(extra: number): void {
    const table = this.idTable;
    table.reset(tableCapacity(this.live + extra));
    for (let position = this.head; position < this.tail; position++) {
      const slot = position & this.mask;
      if (this.gone[slot] === 0) table.insert(this.hashes[slot]!, position);
    }
  }

  /** Fresh, empty columns for a ring of `capacity` slots (a power of two). */
  private reset(capacity: number): void {
    this.mask = capacity - 1;
    this.ids = new Array(capacity);
    this.runIds = new Array(capacity);
    this.workflowIds = new Array(capacity);
    this.sources = new Array(capacity);
    this.types = new Array(capacity);
    this.stages = new Array(capacity);
    this.steps = new Array(capacity);
    this.levels = new Array(capacity);
    this.messages = new Array(capacity);
    this.data = new Array(capacity);
    this.ats = new Float64Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.gone = new Uint8Array(capacity);
    this.runOf = new Array(capacity);
    this.workflowOf = new Array(capacity);
    this.head = 0;
    this.tail = 0;
    this.live = 0;
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

function indexFor(map: Map<string, PositionIndex>, key: string): PositionIndex {
  let index = map.get(key);
  if (index === undefined) {
    index = new PositionIndex(key);
    map.set(key, index);
  }
  return index;
}

function clearIndex(index: PositionIndex): void {
  index.positions = [];
  index.start = 0;
  index.live = 0;
  index.sorted = true;
}

/** Id-table slots for `count` ids at a load of at most 1/2. */
function tableCapacity(count: number): number {
  let capacity = 2 * MIN_CAPACITY;
  while (capacity < count * 2) capacity *= 2;
  return capacity;
}
