import { IdMap } from "@sluice/id-map";
import type { FinishedRuns } from "./finished-runs.js";
import { RunColumns } from "./run-columns.js";
import type { RunError, RunInfo } from "./run-info.js";

type Status = RunInfo["status"];
const MIN_CAPACITY = 16;

/**
 * @internal The queued, running and paused runs a registry holds, by id: {@link RunColumns} whose
 * slot for a run is its entry's {@link IdMap} handle. A run that waits in a queue or parks lives
 * through several young-generation GCs, and everything it holds is copied and promoted: a burst of
 * 100k queued runs promoted an info object, a wrapper and boxed timestamps each.
 */
export class ActiveRuns {
  private readonly ids = new IdMap<true>();
  private columns = new RunColumns(0);

  /** How many runs are held. */
  get size(): number {
    return this.ids.size;
  }

  /**
   * Adds a run the caller guarantees is not held, as the registry's `added`-th run; returns its
   * handle (see {@link IdMap.insert}: no lookup by id).
   */
  add(
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
  ): number {
    const handle = this.ids.insert(runId, true);
    if (handle >= this.columns.capacity) this.grow(handle + 1);
    this.columns.set(
      handle,
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
    return handle;
  }

  /** Gives the run its idempotency key (see {@link RunColumns.setKey}). */
  setKey(handle: number, key: string | undefined): void {
    this.columns.setKey(handle, key);
  }

  /** The handle of `runId`, or -1 when it is not held. */
  handleOf(runId: string): number {
    return this.ids.handleOf(runId);
  }

  /** True when `handle` names the run `runId` (a stale handle may name another run, or none). */
  holds(handle: number, runId: string): boolean {
    return handle >= 0 && this.ids.idAt(handle) === runId;
  }

  /** The run's number among those added to the registry. */
  added(handle: number): number {
    return this.columns.added(handle);
  }

  /** Moves the run to `status` at `updatedAt`, with `error` and `stage` when given. */
  setStatus(
    handle: number,
    status: Status,
    updatedAt: number,
    error: RunError | undefined,
    stage: string | undefined,
  ): void {
    this.columns.setStatus(handle, status, updatedAt, error, stage);
  }

  /** Overwrites every field of the run with `info`'s (its id stays). */
  write(handle: number, info: RunInfo): void {
    this.columns.write(handle, info);
  }

  /** A new `RunInfo` object for the run. */
  read(handle: number): RunInfo {
    return this.columns.read(handle);
  }

  /**
   * Moves the run, now `status` at `updatedAt` (with `error` and `stage` when given), to the end of
   * `finished`, and forgets it here.
   */
  finish(
    handle: number,
    finished: FinishedRuns,
    status: Status,
    updatedAt: number,
    error: RunError | undefined,
    stage: string | undefined,
  ): void {
    finished.pushFrom(this.columns, handle, status, updatedAt, error, stage);
    this.remove(handle);
  }

  /** Forgets the run (its handle may then name another). */
  remove(handle: number): void {
    this.ids.removeAt(handle);
    this.columns.clear(handle);
  }

  /** The handles of every run held, in no particular order. */
  handles(): number[] {
    const ids = this.ids.ids();
    const handles = new Array<number>(ids.length);
    for (let i = 0; i < ids.length; i++) handles[i] = this.ids.handleOf(ids[i]!);
    return handles;
  }

  private grow(needed: number): void {
    const old = this.columns;
    let capacity = Math.max(MIN_CAPACITY, old.capacity * 2);
    while (capacity < needed) capacity *= 2;
    const columns = new RunColumns(capacity);
    for (let slot = 0; slot < old.capacity; slot++) old.copyTo(slot, columns, slot);
    this.columns = columns;
  }
}
