import { RunIdIndex } from "./run-id-index.js";
import type { RunInfo } from "./run-info.js";

type FinishedStatus = "completed" | "failed" | "aborted";
const STATUSES: readonly FinishedStatus[] = ["completed", "failed", "aborted"];

// A branch, not a keyed load from a table: a lookup by a string key that varies misses V8's inline
// caches and goes through a generic builtin on every finished run.
function statusCode(status: RunInfo["status"]): number {
  return status === "completed" ? 0 : status === "failed" ? 1 : 2;
}
const MIN_CAPACITY = 16;

/**
 * @internal The finished runs a registry keeps, in the order they finished, as columns of a ring
 * buffer rather than one object per run. A registry keeps up to a thousand finished runs by
 * default, each for as long as the next thousand take to finish: long enough to outlive a young-
 * generation GC or two, and copying a thousand small objects on each one was a fifth of a short
 * run's cost. Columns hold plain numbers and strings the run already had (ids, stage ids), so a
 * finished run costs the GC almost nothing. Finding a run by id uses a {@link RunIdIndex}, built
 * on the first lookup (hosts that never look a finished run up never pay for hashing its id).
 *
 * A run is addressed by its position, an ever-increasing number (its slot is `position %
 * capacity`); positions stay valid until `compactIfSparse()` packs the ring.
 */
export class FinishedRuns {
  private capacity = 0;
  /** `capacity - 1`: capacities are powers of two, so a slot is `position & mask` (no division). */
  private mask = 0;
  private head = 0;
  private tail = 0;
  private live = 0;
  private runIds: Array<string | undefined> = [];
  private workflowIds: string[] = [];
  private pipelineIds: string[] = [];
  private triggerIds: string[] = [];
  private stages: Array<string | undefined> = [];
  private errors: Array<{ code: string; message: string } | undefined> = [];
  private statuses = new Uint8Array(0);
  private startedAts = new Float64Array(0);
  private updatedAts = new Float64Array(0);
  /** By slot: the registry's count of runs added when this one was first added (its list order). */
  private addeds = new Float64Array(0);
  private index: RunIdIndex | undefined;

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
    if (this.tail - this.head === this.capacity) this.grow();
    const position = this.tail++;
    const slot = position & this.mask;
    this.runIds[slot] = runId;
    this.workflowIds[slot] = workflowId;
    this.pipelineIds[slot] = pipelineId;
    this.triggerIds[slot] = triggerId;
    this.stages[slot] = stage;
    this.errors[slot] = error;
    this.statuses[slot] = statusCode(status);
    this.startedAts[slot] = startedAt;
    this.updatedAts[slot] = updatedAt;
    this.addeds[slot] = added;
    this.live++;
    const index = this.index;
    if (index !== undefined) {
      // Entries of runs that left pile up: past a point, rebuilding on the next lookup is cheaper.
      if (index.crowded) this.index = undefined;
      else index.add(slot, runId);
    }
  }

  /** Position of the run `runId`, or -1. */
  find(runId: string): number {
    if (this.live === 0) return -1;
    if (this.index === undefined) this.buildIndex();
    const slot = this.index!.find(runId, this.runIds);
    if (slot === -1) return -1;
    return this.head + ((slot - this.head) & this.mask);
  }

  /** When the run at `position` was first added to the registry (see `push`). */
  added(position: number): number {
    return this.addeds[position & this.mask]!;
  }

  /** Overwrites the run at `position` (keeping its place in the finishing order). */
  write(position: number, info: RunInfo): void {
    const slot = position & this.mask;
    this.runIds[slot] = info.runId;
    this.workflowIds[slot] = info.workflowId;
    this.pipelineIds[slot] = info.pipelineId;
    this.triggerIds[slot] = info.triggerId;
    this.stages[slot] = info.stage;
    this.errors[slot] = info.error;
    this.statuses[slot] = statusCode(info.status);
    this.startedAts[slot] = info.startedAt;
    this.updatedAts[slot] = info.updatedAt;
  }

  /** A new `RunInfo` object for the run at `position`. */
  read(position: number): RunInfo {
    const slot = position & this.mask;
    const info: RunInfo = {
      runId: this.runIds[slot]!,
      workflowId: this.workflowIds[slot]!,
      pipelineId: this.pipelineIds[slot]!,
      triggerId: this.triggerIds[slot]!,
      status: STATUSES[this.statuses[slot]!]!,
      startedAt: this.startedAts[slot]!,
      updatedAt: this.updatedAts[slot]!,
    };
    const stage = this.stages[slot];
    if (stage !== undefined) info.stage = stage;
    const error = this.errors[slot];
    if (error !== undefined) info.error = { code: error.code, message: error.message };
    return info;
  }

  /** `updatedAt` of the run at `position`. */
  updatedAt(position: number): number {
    return this.updatedAts[position & this.mask]!;
  }

  /** Forgets the run at `position` (its slot is reused once the oldest runs pass it). */
  remove(position: number): void {
    const slot = position & this.mask;
    if (this.runIds[slot] === undefined) return;
    this.clear(slot);
    this.live--;
  }

  /**
   * Takes the run that finished longest ago out of the order and returns its id, or `undefined`
   * when none is left.
   */
  shift(): string | undefined {
    while (this.head < this.tail) {
      const slot = this.head++ & this.mask;
      const runId = this.runIds[slot];
      if (runId === undefined) continue;
      this.clear(slot);
      this.live--;
      return runId;
    }
    return undefined;
  }

  /** Position of the next run held after `position` in the finishing order, or -1. */
  next(position: number): number {
    for (let p = position + 1; p < this.tail; p++) if (this.runIds[p & this.mask] !== undefined) return p;
    return -1;
  }

  /** Position of the run that finished longest ago, or -1. */
  oldest(): number {
    while (this.head < this.tail && this.runIds[this.head & this.mask] === undefined) this.head++;
    return this.head < this.tail ? this.head : -1;
  }

  /**
   * Packs the held runs to the front once removed ones dominate (runs deleted out of order do not
   * advance `head`).
   */
  compactIfSparse(): void {
    const spread = this.tail - this.head;
    if (spread < 64 || spread <= 2 * this.live) return;
    const entries: Array<{ info: RunInfo; added: number }> = [];
    for (let p = this.head; p < this.tail; p++) {
      if (this.runIds[p & this.mask] !== undefined)
        entries.push({ info: this.read(p), added: this.added(p) });
    }
    this.reset(Math.max(MIN_CAPACITY, nextPowerOfTwo(entries.length)));
    for (const { info, added } of entries) this.push(info, added);
  }

  private clear(slot: number): void {
    this.runIds[slot] = undefined;
    this.stages[slot] = undefined;
    this.errors[slot] = undefined;
  }

  private buildIndex(): void {
    const index = new RunIdIndex(this.capacity);
    for (let p = this.head; p < this.tail; p++) {
      const slot = p & this.mask;
      const runId = this.runIds[slot];
      if (runId !== undefined) index.add(slot, runId);
    }
    this.index = index;
  }

  private grow(): void {
    const old = {
      capacity: this.capacity,
      runIds: this.runIds,
      workflowIds: this.workflowIds,
      pipelineIds: this.pipelineIds,
      triggerIds: this.triggerIds,
      stages: this.stages,
      errors: this.errors,
      statuses: this.statuses,
      startedAts: this.startedAts,
      updatedAts: this.updatedAts,
      addeds: this.addeds,
    };
    const { head, tail, live } = this;
    this.reset(Math.max(MIN_CAPACITY, old.capacity * 2));
    // Positions are kept; only slots move.
    this.head = head;
    this.tail = tail;
    this.live = live;
    for (let p = head; p < tail; p++) {
      const from = p & (old.capacity - 1);
      const to = p & this.mask;
      this.runIds[to] = old.runIds[from];
      this.workflowIds[to] = old.workflowIds[from]!;
      this.pipelineIds[to] = old.pipelineIds[from]!;
      this.triggerIds[to] = old.triggerIds[from]!;
      this.stages[to] = old.stages[from];
      this.errors[to] = old.errors[from];
      this.statuses[to] = old.statuses[from]!;
      this.startedAts[to] = old.startedAts[from]!;
      this.updatedAts[to] = old.updatedAts[from]!;
      this.addeds[to] = old.addeds[from]!;
    }
  }

  private reset(capacity: number): void {
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.head = 0;
    this.tail = 0;
    this.live = 0;
    this.runIds = new Array(capacity).fill(undefined);
    this.workflowIds = new Array(capacity).fill("");
    this.pipelineIds = new Array(capacity).fill("");
    this.triggerIds = new Array(capacity).fill("");
    this.stages = new Array(capacity).fill(undefined);
    this.errors = new Array(capacity).fill(undefined);
    this.statuses = new Uint8Array(capacity);
    this.startedAts = new Float64Array(capacity);
    this.updatedAts = new Float64Array(capacity);
    this.addeds = new Float64Array(capacity);
    // Slots change: rebuilt on the next lookup.
    this.index = undefined;
  }
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
