import type { RunInfo } from "./run-info.js";

type FinishedStatus = "completed" | "failed" | "aborted";
const STATUSES: readonly FinishedStatus[] = ["completed", "failed", "aborted"];
const STATUS_CODE: Readonly<Record<FinishedStatus, number>> = { completed: 0, failed: 1, aborted: 2 };
const MIN_CAPACITY = 16;

/**
 * @internal The finished runs a registry keeps, in the order they finished, as columns of a ring
 * buffer rather than one object per run. A registry keeps up to a thousand finished runs by
 * default, each for as long as the next thousand take to finish: long enough to outlive a young-
 * generation GC or two, and copying a thousand small objects on each one was a fifth of a short
 * run's cost. Columns hold plain numbers and strings the run already had (ids, stage ids), so a
 * finished run costs the GC almost nothing.
 *
 * A run is addressed by its position, an ever-increasing number (its slot is `position %
 * capacity`); positions stay valid until `compact()` renumbers them (and says so).
 */
export class FinishedRuns {
  private capacity = 0;
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

  /** How many finished runs are held. */
  get size(): number {
    return this.live;
  }

  /** Appends a finished run; returns its position. */
  push(info: RunInfo): number {
    if (this.tail - this.head === this.capacity) this.grow();
    const position = this.tail++;
    this.write(position, info);
    this.live++;
    return position;
  }

  /** Overwrites the run at `position` (keeping its place in the finishing order). */
  write(position: number, info: RunInfo): void {
    const slot = position % this.capacity;
    this.runIds[slot] = info.runId;
    this.workflowIds[slot] = info.workflowId;
    this.pipelineIds[slot] = info.pipelineId;
    this.triggerIds[slot] = info.triggerId;
    this.stages[slot] = info.stage;
    this.errors[slot] = info.error;
    this.statuses[slot] = STATUS_CODE[info.status as FinishedStatus];
    this.startedAts[slot] = info.startedAt;
    this.updatedAts[slot] = info.updatedAt;
  }

  /** A new `RunInfo` object for the run at `position`. */
  read(position: number): RunInfo {
    const slot = position % this.capacity;
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
    return this.updatedAts[position % this.capacity]!;
  }

  /** Forgets the run at `position` (its slot is reused once the oldest runs pass it). */
  remove(position: number): void {
    const slot = position % this.capacity;
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
      const slot = this.head++ % this.capacity;
      const runId = this.runIds[slot];
      if (runId === undefined) continue;
      this.clear(slot);
      this.live--;
      return runId;
    }
    return undefined;
  }

  /** Position of the run that finished longest ago, or -1. */
  oldest(): number {
    while (this.head < this.tail && this.runIds[this.head % this.capacity] === undefined) this.head++;
    return this.head < this.tail ? this.head : -1;
  }

  /**
   * Packs the held runs to the front once removed ones dominate (runs deleted out of order do not
   * advance `head`), calling `moved(runId, position)` for each run whose position changed.
   */
  compactIfSparse(moved: (runId: string, position: number) => void): void {
    const spread = this.tail - this.head;
    if (spread < 64 || spread <= 2 * this.live) return;
    const entries: Array<{ position: number; info: RunInfo }> = [];
    for (let p = this.head; p < this.tail; p++) {
      if (this.runIds[p % this.capacity] !== undefined) entries.push({ position: p, info: this.read(p) });
    }
    this.reset(Math.max(MIN_CAPACITY, nextPowerOfTwo(entries.length)));
    for (const { info } of entries) moved(info.runId, this.push(info));
  }

  private clear(slot: number): void {
    this.runIds[slot] = undefined;
    this.stages[slot] = undefined;
    this.errors[slot] = undefined;
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
    };
    const { head, tail, live } = this;
    this.reset(Math.max(MIN_CAPACITY, old.capacity * 2));
    // Positions are kept, so the registry's references stay valid; only slots move.
    this.head = head;
    this.tail = tail;
    this.live = live;
    for (let p = head; p < tail; p++) {
      const from = p % old.capacity;
      const to = p % this.capacity;
      this.runIds[to] = old.runIds[from];
      this.workflowIds[to] = old.workflowIds[from]!;
      this.pipelineIds[to] = old.pipelineIds[from]!;
      this.triggerIds[to] = old.triggerIds[from]!;
      this.stages[to] = old.stages[from];
      this.errors[to] = old.errors[from];
      this.statuses[to] = old.statuses[from]!;
      this.startedAts[to] = old.startedAts[from]!;
      this.updatedAts[to] = old.updatedAts[from]!;
    }
  }

  private reset(capacity: number): void {
    this.capacity = capacity;
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
  }
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
