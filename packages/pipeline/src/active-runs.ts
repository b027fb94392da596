import { IdMap } from "@sluice/id-map";
import type { FinishedRuns } from "./finished-runs.js";
import type { RunInfo } from "./run-info.js";

type Status = RunInfo["status"];
type RunError = { code: string; message: string };
const STATUSES: readonly Status[] = ["queued", "running", "paused", "completed", "failed", "aborted"];
const MIN_CAPACITY = 16;

// A branch, not a keyed load from a table (see FinishedRuns).
function statusCode(status: Status): number {
  if (status === "running") return 1;
  if (status === "queued") return 0;
  if (status === "paused") return 2;
  return status === "completed" ? 3 : status === "failed" ? 4 : 5;
}

/**
 * @internal The queued, running and paused runs a registry holds, by id, as columns indexed by
 * the entry's {@link IdMap} handle rather than an info object (and a wrapper) per run. A run that
 * waits in a queue lives through several young-generation GCs, and everything it holds is copied
 * and promoted: a burst of 100k queued runs promoted their info objects, wrappers and boxed
 * timestamps with them. The id map's value is the run's number among those added to the registry
 * (its `list()` order).
 */
export class ActiveRuns {
  private readonly ids = new IdMap<number>();
  private workflowIds: string[] = [];
  private pipelineIds: string[] = [];
  private triggerIds: string[] = [];
  private stages: Array<string | undefined> = [];
  private errors: Array<RunError | undefined> = [];
  private statuses = new Uint8Array(0);
  private startedAts = new Float64Array(0);
  private updatedAts = new Float64Array(0);

  /** How many runs are held. */
  get size(): number {
    return this.ids.size;
  }

  /**
   * Adds a run the caller guarantees is not held, as its `added`-th run; returns its handle (see
   * {@link IdMap.insert}: no lookup by id).
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
    const handle = this.ids.insert(runId, added);
    if (handle >= this.statuses.length) this.grow(handle + 1);
    this.workflowIds[handle] = workflowId;
    this.pipelineIds[handle] = pipelineId;
    this.triggerIds[handle] = triggerId;
    this.stages[handle] = stage;
    this.errors[handle] = error;
    this.statuses[handle] = statusCode(status);
    this.startedAts[handle] = startedAt;
    this.updatedAts[handle] = updatedAt;
    return handle;
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
    return this.ids.at(handle)!;
  }

  /** Moves the run to `status` at `updatedAt`, with `error` and `stage` when given. */
  setStatus(
    handle: number,
    status: Status,
    updatedAt: number,
    error: RunError | undefined,
    stage: string | undefined,
  ): void {
    this.statuses[handle] = statusCode(status);
    this.updatedAts[handle] = updatedAt;
    if (error !== undefined) this.errors[handle] = error;
    if (stage !== undefined) this.stages[handle] = stage;
  }

  /** Overwrites every field of the run with `info`'s (its id stays). */
  write(handle: number, info: RunInfo): void {
    this.workflowIds[handle] = info.workflowId;
    this.pipelineIds[handle] = info.pipelineId;
    this.triggerIds[handle] = info.triggerId;
    this.stages[handle] = info.stage;
    this.errors[handle] = info.error;
    this.statuses[handle] = statusCode(info.status);
    this.startedAts[handle] = info.startedAt;
    this.updatedAts[handle] = info.updatedAt;
  }

  /** A new `RunInfo` object for the run. */
  read(handle: number): RunInfo {
    const info: RunInfo = {
      runId: this.ids.idAt(handle)!,
      workflowId: this.workflowIds[handle]!,
      pipelineId: this.pipelineIds[handle]!,
      triggerId: this.triggerIds[handle]!,
      status: STATUSES[this.statuses[handle]!]!,
      startedAt: this.startedAts[handle]!,
      updatedAt: this.updatedAts[handle]!,
    };
    const stage = this.stages[handle];
    if (stage !== undefined) info.stage = stage;
    const error = this.errors[handle];
    if (error !== undefined) info.error = { code: error.code, message: error.message };
    return info;
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
    finished.pushRun(
      this.ids.idAt(handle)!,
      this.workflowIds[handle]!,
      this.pipelineIds[handle]!,
      this.triggerIds[handle]!,
      status,
      stage ?? this.stages[handle],
      error ?? this.errors[handle],
      this.startedAts[handle]!,
      updatedAt,
      this.ids.at(handle)!,
    );
    this.remove(handle);
  }

  /** Forgets the run (its handle may then name another). */
  remove(handle: number): void {
    this.ids.removeAt(handle);
    // what a caller gave is not kept alive by an empty slot
    this.stages[handle] = undefined;
    this.errors[handle] = undefined;
  }

  /** The handles of every run held, in no particular order. */
  handles(): number[] {
    const ids = this.ids.ids();
    const handles = new Array<number>(ids.length);
    for (let i = 0; i < ids.length; i++) handles[i] = this.ids.handleOf(ids[i]!);
    return handles;
  }

  private grow(needed: number): void {
    let capacity = Math.max(MIN_CAPACITY, this.statuses.length * 2);
    while (capacity < needed) capacity *= 2;
    const statuses = new Uint8Array(capacity);
    statuses.set(this.statuses);
    this.statuses = statuses;
    const startedAts = new Float64Array(capacity);
    startedAts.set(this.startedAts);
    this.startedAts = startedAts;
    const updatedAts = new Float64Array(capacity);
    updatedAts.set(this.updatedAts);
    this.updatedAts = updatedAts;
    this.workflowIds.length = capacity;
    this.pipelineIds.length = capacity;
    this.triggerIds.length = capacity;
    this.stages.length = capacity;
    this.errors.length = capacity;
  }
}
