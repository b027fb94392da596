import { RunColumns } from "./run-columns.js";
import { RunIdIndex } from "./run-id-index.js";
import type { RunInfo } from "./run-info.js";

const MIN_CAPACITY = 16;

/**
 * @internal The finished runs a registry keeps, in the order they finished, as the slots of a ring
 * buffer of {@link RunColumns} rather than one object per run. A registry keeps up to a thousand
 * finished runs by default, each for as long as the next thousand take to finish: long enough to
 * outlive a young-generation GC or two, and copying a thousand small objects on each one was a
 * fifth of a short run's cost. Finding a run by id uses a {@link RunIdIndex}, built on the first
 * lookup (hosts that never look a finished run up never pay for hashing its id).
 *
 * A run is addressed by its position, an ever-increasing number (its slot is `position %
 * capacity`); positions stay valid until `compactIfSparse()` packs the ring.
 *
 * Runs arrive (finish, or change again: see `PipelineRegistry`) with their `updatedAt`, in that
 * order as long as the clocks stamping them agree, so dropping expired runs can stop at the first
 * young one. A run that arrives stamped earlier than the one before it is noted
 * (`unsortedUntil`), and the runs up to it are all looked at until they are gone.
 */
export class FinishedRuns {
  /** The ring's slots; `columns.capacity` is a power of two. */
  private columns = new RunColumns(0);
  /** `capacity - 1`: capacities are powers of two, so a slot is `position & mask` (no division). */
  private mask = 0;
  private head = 0;
  private tail = 0;
  private live = 0;
  private index: RunIdIndex | undefined;
  /** `updatedAt` of the run that arrived last. */
  private lastUpdatedAt = Number.NEGATIVE_INFINITY;
  /**
   * The runs at positions up to this one may be out of `updatedAt` order; those after it arrived
   * in order. Below `head` (-1 at first): every run is in order.
   */
  private unsortedUntil = -1;

  /** How many finished runs are held. */
  get size(): number {
    return this.live;
  }

  /** Appends a finished run that was first added to the registry as its `added`-th run. */
  push(info: RunInfo, added: number): void {
    this.pushRun(
      info.runId,
      info.workflowId,
      info.pipelineId,
      info.triggerId,
      info.status,
      info.stage,
      info.error,
      info.startedAt,
      info.updatedAt,
      added,
    );
  }

  /** {@link push} with the run's fields given one by one (no info object). */
  pushRun(
    runId: string,
    workflowId: string,
    pipelineId: string,
    triggerId: string,
    status: RunInfo["status"],
    stage: string | undefined,
    error: { code: string; message: string } | undefined,
    startedAt: number,
    updatedAt: number,
    added: number,
  ): void {
    const slot = this.append(updatedAt);
    this.columns.set(
      slot,
      runId,
      workflowId,
      pipelineId,
      triggerId,
      status,
      stage,
      error,
      startedAt,
      updatedAt,
      added,
    );
    this.indexed(slot, runId);
  }

  /**
   * Appends the run in `slot` of `from` (see {@link RunColumns.moveTo}), finished now as `status`
   * at `updatedAt`, with `error` and `stage` when given.
   */
  pushFrom(
    from: RunColumns,
    slot: number,
    status: RunInfo["status"],
    updatedAt: number,
    error: { code: string; message: string } | undefined,
    stage: string | undefined,
  ): void {
    const target = this.append(updatedAt);
    from.moveTo(slot, this.columns, target, status, updatedAt, error, stage);
    this.indexed(target, this.columns.runIds[target]!);
  }

  /** Position of the run `runId`, or -1. */
  find(runId: string): number {
    if (this.live === 0) return -1;
    if (this.index === undefined) this.buildIndex();
    const slot = this.index!.find(runId, this.columns.runIds);
    if (slot === -1) return -1;
    return this.head + ((slot - this.head) & this.mask);
  }

  /** When the run at `position` was first added to the registry (see `push`). */
  added(position: number): number {
    return this.columns.added(position & this.mask);
  }

  /** Overwrites the run at `position`, keeping its place: `info.updatedAt` must be the run's own. */
  write(position: number, info: RunInfo): void {
    this.columns.write(position & this.mask, info);
  }

  /** A new `RunInfo` object for the run at `position`. */
  read(position: number): RunInfo {
    return this.columns.read(position & this.mask);
  }

  /** `updatedAt` of the run at `position`. */
  updatedAt(position: number): number {
    return this.columns.updatedAt(position & this.mask);
  }

  /** Forgets the run at `position` (its slot is reused once the oldest runs pass it). */
  remove(position: number): void {
    const slot = position & this.mask;
    if (this.columns.runIds[slot] === undefined) return;
    this.columns.clear(slot);
    this.live--;
  }

  /**
   * Takes the run that finished longest ago out of the order and returns its id, or `undefined`
   * when none is left.
   */
  shift(): string | undefined {
    const runIds = this.columns.runIds;
    while (this.head < this.tail) {
      const slot = this.head++ & this.mask;
      const runId = runIds[slot];
      if (runId === undefined) continue;
      this.columns.clear(slot);
      this.live--;
      return runId;
    }
    return undefined;
  }

  /**
   * Drops every run whose `updatedAt` is before `cutoff`; returns how many went. Walks from the
   * oldest run, and stops at the first young-enough one past `unsortedUntil`: the runs after it
   * arrived in `updatedAt` order, so a walk costs the runs it drops (plus any out of order).
   */
  dropOlderThan(cutoff: number): number {
    let dropped = 0;
    for (let p = this.oldest(); p !== -1; p = this.next(p)) {
      if (this.columns.updatedAt(p & this.mask) >= cutoff) {
        if (p > this.unsortedUntil) break;
        continue;
      }
      this.remove(p);
      dropped++;
    }
    if (dropped > 0) this.compactIfSparse();
    return dropped;
  }

  /** Position of the next run held after `position` in the finishing order, or -1. */
  next(position: number): number {
    const runIds = this.columns.runIds;
    for (let p = position + 1; p < this.tail; p++) if (runIds[p & this.mask] !== undefined) return p;
    return -1;
  }

  /** Position of the run that finished longest ago, or -1. */
  oldest(): number {
    const runIds = this.columns.runIds;
    while (this.head < this.tail && runIds[this.head & this.mask] === undefined) this.head++;
    return this.head < this.tail ? this.head : -1;
  }

  /**
   * Packs the held runs to the front once removed ones dominate (runs deleted out of order do not
   * advance `head`).
   */
  compactIfSparse(): void {
    const spread = this.tail - this.head;
    if (spread < 64 || spread <= 2 * this.live) return;
    this.relayout(Math.max(MIN_CAPACITY, nextPowerOfTwo(this.live)), true);
  }

  /**
   * The slot of a new last position, for a run stamped `updatedAt`, growing the ring when it is
   * full.
   */
  private append(updatedAt: number): number {
    if (this.tail - this.head === this.columns.capacity) {
      this.relayout(Math.max(MIN_CAPACITY, this.columns.capacity * 2), false);
    }
    if (updatedAt < this.lastUpdatedAt) this.unsortedUntil = this.tail;
    this.lastUpdatedAt = updatedAt;
    this.live++;
    return this.tail++ & this.mask;
  }

  private indexed(slot: number, runId: string): void {
    const index = this.index;
    if (index === undefined) return;
    // Entries of runs that left pile up: past a point, rebuilding on the next lookup is cheaper.
    if (index.crowded) this.index = undefined;
    else index.add(slot, runId);
  }

  private buildIndex(): void {
    const index = new RunIdIndex(this.columns.capacity);
    const runIds = this.columns.runIds;
    for (let p = this.head; p < this.tail; p++) {
      const slot = p & this.mask;
      const runId = runIds[slot];
      if (runId !== undefined) index.add(slot, runId);
    }
    this.index = index;
  }

  /**
   * Moves the runs into columns of `capacity` slots: keeping their positions (and the removed
   * ones' holes), or, with `pack`, renumbered from 0 without the holes.
   */
  private relayout(capacity: number, pack: boolean): void {
    const old = this.columns;
    const oldMask = this.mask;
    const columns = new RunColumns(capacity);
    const mask = capacity - 1;
    let to = 0;
    let unsortedUntil = -1;
    for (let p = this.head; p < this.tail; p++) {
      const from = p & oldMask;
      if (pack) {
        if (old.runIds[from] === undefined) continue;
        if (p <= this.unsortedUntil) unsortedUntil = to;
        old.copyTo(from, columns, to++);
      } else old.copyTo(from, columns, p & mask);
    }
    this.columns = columns;
    this.mask = mask;
    if (pack) {
      this.head = 0;
      this.tail = to;
      this.unsortedUntil = unsortedUntil;
    }
    // Slots change: rebuilt on the next lookup.
    this.index = undefined;
  }
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
