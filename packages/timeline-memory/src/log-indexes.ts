import type { EventLog } from "./event-log.js";
import { PositionIndex } from "./position-index.js";
import { compareStored } from "./stored-events.js";
import { RUN_ID, WORKFLOW_ID } from "./text-rows.js";

// An index is compacted once this many dropped positions lead it and they are most of the array.
const MIN_INDEX_COMPACT = 64;
// Run and workflow indexes are swept of fully evicted ones once there are this many (or twice as
// many as after the last sweep).
const MIN_SWEEP = 1024;

/**
 * The per-run or per-workflow position indexes, built from one column of the log as queries and
 * deletes need them.
 */
export class IndexMap {
  /** The indexes by run id (or workflow id). */
  readonly byKey = new Map<string, PositionIndex>();
  /** Positions before this one are in the indexes (those that were live when added). */
  indexed = 0;
  /** `byKey.size` at which the indexes whose every event was evicted are swept out. */
  sweepAt = MIN_SWEEP;

  /** @param field - the row field the indexes are keyed by (`RUN_ID` or `WORKFLOW_ID`) */
  constructor(readonly field: number) {}
}

/**
 * The position indexes of one {@link EventLog}: by run, by workflow, and of every event. A log
 * whose positions are renumbered (`compactLog`) is a new log, with new indexes.
 *
 * Appends do not touch them: a query or delete that needs the run (or workflow) indexes first adds
 * to them every position appended since they were last read, and an index drops the positions that
 * died meanwhile when it is read, so eviction only moves the log's `head` and forgets ids.
 */
export class LogIndexes {
  /** The indexes by run id. */
  readonly runs = new IndexMap(RUN_ID);
  /** The indexes by workflow id. */
  readonly workflows = new IndexMap(WORKFLOW_ID);
  /** Deletes that removed something, so far: an index that saw fewer may hold deleted positions. */
  deletes = 0;
  /** Index of every event; built on the first query that needs it, then kept. */
  private all: PositionIndex | undefined;
  /** Positions before this one are in `all` (those that were live when added). */
  private allIndexed = 0;
  private readonly comparePositions = (a: number, b: number): number => compareStored(this.log, a, b);

  /** @param log - the log whose positions the indexes hold */
  constructor(private readonly log: EventLog) {}

  /**
   * The index of `key` in `indexes` (`runs` or `workflows`), after adding to them every live
   * position appended since they were last read.
   */
  find(indexes: IndexMap, key: string): PositionIndex | undefined {
    const log = this.log;
    const tail = log.tail;
    const { gone, mask } = log;
    const map = indexes.byKey;
    const field = indexes.field;
    let current: string | undefined;
    let index: PositionIndex | undefined;
    for (let position = Math.max(indexes.indexed, log.head); position < tail; position++) {
      const slot = position & mask;
      if (gone[slot] === 1) continue;
      // runs usually append their events together: skip the map lookups while the key repeats
      const k = log.rows.get(position, field)!;
      if (k !== current || index === undefined) {
        current = k;
        index = map.get(k);
        if (index === undefined) {
          index = new PositionIndex(k, this.deletes);
          map.set(k, index);
        }
      }
      this.add(index, position);
    }
    indexes.indexed = tail;
    if (map.size > indexes.sweepAt) {
      // forget the indexes whose every event was evicted
      for (const [k, old] of map) if (old.last < log.head) map.delete(k);
      indexes.sweepAt = Math.max(MIN_SWEEP, 2 * map.size);
    }
    return map.get(key);
  }

  /** The index of every event, after adding to it every live position appended since last read. */
  everything(): PositionIndex {
    const log = this.log;
    let all = this.all;
    if (all === undefined) {
      all = this.all = new PositionIndex("", this.deletes);
      this.allIndexed = log.head;
    }
    const tail = log.tail;
    for (let position = Math.max(this.allIndexed, log.head); position < tail; position++) {
      if (log.gone[position & log.mask] === 0) this.add(all, position);
    }
    this.allIndexed = tail;
    return all;
  }

  /** Leaves only live positions from `index.start` on, in (`at`, `seq`, `id`) order. */
  prepare(index: PositionIndex): void {
    if (index.deletes !== this.deletes) this.dropDead(index);
    else if (index.min < this.log.head) {
      if (index.increasing) this.dropEvicted(index);
      else this.dropDead(index);
    }
    if (!index.sorted) {
      let positions = index.positions;
      if (index.start > 0) positions = index.positions = positions.slice(index.start);
      index.start = 0;
      positions.sort(this.comparePositions);
      index.sorted = true;
      let increasing = true;
      let min = positions[0] ?? 0;
      for (let i = 1; i < positions.length; i++) {
        const position = positions[i]!;
        if (position < positions[i - 1]!) increasing = false;
        if (position < min) min = position;
      }
      index.increasing = increasing;
      index.min = min;
    }
  }

  /** Appends `position`, newer than every position in `index`. */
  private add(index: PositionIndex, position: number): void {
    const log = this.log;
    const positions = index.positions;
    const n = positions.length;
    if (n === index.start || index.last < log.head) {
      // nothing in it is live (every position was dropped, or is evicted): start afresh
      if (n > 0) clearIndex(index, this.deletes);
      index.min = position;
    } else if (index.sorted) {
      // a deleted last position tells nothing about the live ones before it: sort when read
      const last = positions[n - 1]!;
      if (log.gone[last & log.mask] === 1 || compareStored(log, last, position) > 0) index.sorted = false;
    }
    index.positions.push(position);
    index.last = position;
  }

  /** Skips the evicted prefix of an increasing index (binary search), compacting now and then. */
  private dropEvicted(index: PositionIndex): void {
    const positions = index.positions;
    const head = this.log.head;
    let lo = index.start;
    let hi = positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (positions[mid]! < head) lo = mid + 1;
      else hi = mid;
    }
    index.min = lo < positions.length ? positions[lo]! : head;
    if (lo >= MIN_INDEX_COMPACT && lo * 2 > positions.length) {
      index.positions = positions.slice(lo);
      index.start = 0;
    } else index.start = lo;
  }

  /** Keeps only the live positions of `index` (from `start`), in their order. */
  private dropDead(index: PositionIndex): void {
    const log = this.log;
    const positions = index.positions;
    const out: number[] = [];
    let min = log.tail;
    for (let i = index.start; i < positions.length; i++) {
      const position = positions[i]!;
      if (log.isLive(position)) {
        out.push(position);
        if (position < min) min = position;
      }
    }
    index.positions = out;
    index.start = 0;
    index.min = min;
    index.deletes = this.deletes;
  }
}

function clearIndex(index: PositionIndex, deletes: number): void {
  index.positions = [];
  index.start = 0;
  index.sorted = true;
  index.increasing = true;
  index.deletes = deletes;
}
