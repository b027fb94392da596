import type { RunError, RunInfo } from "./run-info.js";

type Status = RunInfo["status"];
const STATUSES: readonly Status[] = ["queued", "running", "paused", "completed", "failed", "aborted"];

// A branch, not a keyed load from a table: a lookup by a string key that varies misses V8's inline
// caches and goes through a generic builtin on every run.
function statusCode(status: Status): number {
  if (status === "running") return 1;
  if (status === "completed") return 3;
  if (status === "queued") return 0;
  if (status === "paused") return 2;
  return status === "failed" ? 4 : 5;
}

/**
 * @internal The fields of `capacity` runs as columns, a slot per run, rather than an object per
 * run: a run a registry holds lives through young-generation GCs (queued, parked, or among the
 * finished ones kept), and every object it held was copied and promoted with it. Columns hold
 * numbers and strings the run already had. {@link ActiveRuns} and {@link FinishedRuns} say which
 * run is in which slot.
 */
export class RunColumns {
  readonly runIds: Array<string | undefined>;
  private readonly workflowIds: string[];
  private readonly pipelineIds: string[];
  private readonly triggerIds: string[];
  private readonly stages: Array<string | undefined>;
  private readonly errors: Array<RunError | undefined>;
  private readonly statuses: Uint8Array;
  private readonly startedAts: Float64Array;
  private readonly updatedAts: Float64Array;
  /** By slot: the registry's count of runs added when this one was first added (its list order). */
  private readonly addeds: Float64Array;
  /**
   * By slot: the run's idempotency key (`RunInfo.key`). Made with the first key set (most
   * workflows have none, and their runs never touch it); a slot's key goes with the slot (`clear`).
   */
  private keys: Array<string | undefined> | undefined = undefined;

  constructor(readonly capacity: number) {
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
  }

  /** Fills `slot` with a run, the registry's `added`-th. */
  set(
    slot: number,
    runId: string,
    workflowId: string,
    pipelineId: string,
    triggerId: string,
    status: Status,
    stage: string | undefined,
    error: RunError | undefined,
    startedAt: number,
    updatedAt: number,
    added: number,
  ): void {
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
  }

  /**
   * Gives the run in `slot` its idempotency key (`undefined`: none). A run `set` in a slot has none
   * until given one: a slot's key is emptied with the slot.
   */
  setKey(slot: number, key: string | undefined): void {
    if (this.keys === undefined) {
      if (key === undefined) return;
      this.keys = new Array(this.capacity).fill(undefined);
    }
    this.keys[slot] = key;
  }

  /** Overwrites the fields of the run in `slot` with `info`'s (its `added` stays). */
  write(slot: number, info: RunInfo): void {
    this.set(
      slot,
      info.runId,
      info.workflowId,
      info.pipelineId,
      info.triggerId,
      info.status,
      info.stage,
      info.error,
      info.startedAt,
      info.updatedAt,
      this.addeds[slot]!,
    );
    this.setKey(slot, info.key);
  }

  /** Moves the run in `slot` to `status` at `updatedAt`, with `error` and `stage` when given. */
  setStatus(
    slot: number,
    status: Status,
    updatedAt: number,
    error: RunError | undefined,
    stage: string | undefined,
  ): void {
    this.statuses[slot] = statusCode(status);
    this.updatedAts[slot] = updatedAt;
    if (error !== undefined) this.errors[slot] = error;
    if (stage !== undefined) this.stages[slot] = stage;
  }

  /** A new `RunInfo` object for the run in `slot`. */
  read(slot: number): RunInfo {
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
    const key = this.keys?.[slot];
    if (key !== undefined) info.key = key;
    return info;
  }

  /** The registry's count of runs added when the run in `slot` was first added. */
  added(slot: number): number {
    return this.addeds[slot]!;
  }

  /** `updatedAt` of the run in `slot`. */
  updatedAt(slot: number): number {
    return this.updatedAts[slot]!;
  }

  /** Copies the run in `slot` of `from` into `to`'s `target` slot (both at `status`, `updatedAt`). */
  moveTo(
    slot: number,
    to: RunColumns,
    target: number,
    status: Status,
    updatedAt: number,
    error: RunError | undefined,
    stage: string | undefined,
  ): void {
    to.set(
      target,
      this.runIds[slot]!,
      this.workflowIds[slot]!,
      this.pipelineIds[slot]!,
      this.triggerIds[slot]!,
      status,
      stage ?? this.stages[slot],
      error ?? this.errors[slot],
      this.startedAts[slot]!,
      updatedAt,
      this.addeds[slot]!,
    );
    // (`target` is empty: it has no key of its own to overwrite)
    const keys = this.keys;
    if (keys !== undefined) to.setKey(target, keys[slot]);
  }

  /** Copies the run in `slot` into `to`'s `target` slot as it is. */
  copyTo(slot: number, to: RunColumns, target: number): void {
    this.moveTo(
      slot,
      to,
      target,
      STATUSES[this.statuses[slot]!]!,
      this.updatedAts[slot]!,
      undefined,
      undefined,
    );
  }

  /** Empties `slot`, letting go of what its strings and error held. */
  clear(slot: number): void {
    this.runIds[slot] = undefined;
    this.stages[slot] = undefined;
    this.errors[slot] = undefined;
    if (this.keys !== undefined) this.keys[slot] = undefined;
  }
}
