/**
 * The log positions of one run's (or workflow's, or the whole store's) events. Built lazily: the
 * store adds positions only when a query or delete needs the index, all at once for everything
 * appended since the last time, so appends never touch it. Positions are added in insertion
 * order, and sorted into (`at`, `seq`, `id`) order only when read while `sorted` is false
 * (runtimes append each run's events in order, so a run's index is nearly always sorted already).
 * Eviction and deletion do not touch it either: dead positions are dropped when it is next read.
 */
export class PositionIndex {
  /** Log positions, some maybe dead; only those from `start` on belong to the index. */
  positions: number[] = [];
  /** Positions before this one were dropped (evicted), not yet compacted away. */
  start = 0;
  /** True when `positions` from `start` are in (`at`, `seq`, `id`) order. */
  sorted = true;
  /**
   * True when `positions` from `start` are increasing (insertion order), so the evicted ones, which
   * are the oldest, form a prefix.
   */
  increasing = true;
  /** The smallest position from `start` (when there is one): none is evicted while it is at or after `head`. */
  min = 0;
  /** The store's delete count when this index last dropped deleted positions. */
  deletes = 0;
  /** The largest position ever added: once `head` passes it, the whole index is dead. */
  last = -1;

  /** @param key - the run or workflow id (the map key), or "" for the whole store */
  constructor(
    readonly key: string,
    deletes: number,
  ) {
    this.deletes = deletes;
  }
}
