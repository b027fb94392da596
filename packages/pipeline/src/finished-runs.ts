import { RunColumns } from "./run-columns.js";
import { RunIdIndex } from "./run-id-index.js";
import type { RunError, RunInfo } from "./run-info.js";

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
 * young one. A run may arrive late, stamped earlier than a run before it (a longer `onComplete`
 * between its end and its bookkeeping, a clock step): the ring keeps the largest such lateness,
 * and a walk goes on past young runs until one is that much younger than the cutoff, which no
 * expired run can follow. So a walk costs the runs it drops plus those finishing within the
 * lateness of the cutoff (milliseconds, usually), not the whole ring.
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
  /** The largest `updatedAt` that has arrived (since the ring was last empty). */
  private latestStamp = Number.NEGATIVE_INFINITY;
  /** How much earlier than `latestStamp` a run has arrived stamped, at most (0: all in order). */
  private lateness = 0;

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
    // (the slot pushRun filled: the last position)
    if (info.key !== undefined) this.columns.setKey((this.tail - 1) & this.mask, info.key);
  }

  /** {@link push} with the run's fields given one by one (no info object). */
  pushRun(
    runId: string,
    workflowId: string,
    pipelineId: string,
    triggerId: string,
    status: RunInfo["status"],
    stage: string | undefined,
    error: RunError | undefined,
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
    error: RunError | undefined,
    stage: string | undefined,
  ): void {
    const target = this.append(updatedAt);
    from.moveTo(slot, this.columns, target, status, updatedAt, error, stage);
    this.indexed(target, this.columns.runIds[target]!);
  }

  /** Position of the run `runId`, or -1 (also for a `runId` that is not a string: hosts pass anything). */
  find(runId: string): number {
    if (this.live === 0 || typeof runId !== "string") return -1;
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
   * oldest run and stops at the first one younger than `cutoff` by more than the largest lateness
   * seen (see the class comment).
   */
  dropOlderThan(cutoff: number): number {
    // A run stamped at or after `horizon` arrived after every expired run (see the class comment).
    const horizon = cutoff + this.lateness;
    let dropped = 0;
    for (let p = this.oldest(); p !== -1; p = this.next(p)) {
      const updatedAt = this.columns.updatedAt(p & this.mask);
      if (updatedAt >= cutoff) {
        if (updatedAt >= horizon) break;
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
    if (this.live === 0) {
      // nothing held can be out of order with what comes next
      this.latestStamp = Number.NEGATIVE_INFINITY;
      this.lateness = 0;
    }
    if (updatedAt >= this.latestStamp) this.latestStamp = updatedAt;
    else if (this.latestStamp - updatedAt > this.lateness) this.lateness = this.latestStamp - updatedAt;
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
    for (let p = this.head; p < this.tail; p++) {
      const from = p & oldMask;
      if (pack) {
        if (old.runIds[from] === undefined) continue;
        old.copyTo(from, columns, to++);
      } else old.copyTo(from, columns, p & mask);
    }
    this.columns = columns;
    this.mask = mask;
    if (pack) {
      this.head = 0;
      this.tail = to;
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
