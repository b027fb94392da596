import { describeKind, describeValue, refuseUnknownKeys, SystemError } from "@sluice/errors";
import { ActiveRuns } from "./active-runs.js";
import { FinishedRuns } from "./finished-runs.js";
import type { RetentionPolicy, RunError, RunInfo } from "./run-info.js";
import { isUnsafeKey } from "./unsafe-keys.js";

export type { RetentionPolicy, RunInfo } from "./run-info.js";

const DEFAULT_MAX_FINISHED = 1000;
const OPTIONS = ["workflowId", "retention"] as const;
const RETENTION_OPTIONS = ["maxFinished", "maxAgeMs"] as const;

/** Where a run the registry holds among its active ones can be. */
type ActiveStatus = "queued" | "running" | "paused";

function isFinished(status: RunInfo["status"]): boolean {
  return status === "completed" || status === "failed" || status === "aborted";
}

const STATUSES: readonly RunInfo["status"][] = [
  "queued",
  "running",
  "paused",
  "completed",
  "failed",
  "aborted",
];

/**
 * The runs one workflow knows, by id, with bounded memory: the number of finished runs kept never
 * exceeds `maxFinished` (enforced on every `set` / `update`), and `prune()` also drops finished
 * runs older than `maxAgeMs`. Active runs are never dropped.
 *
 * @example
 * ```ts
 * const registry = new PipelineRegistry({ workflowId: "orders", retention: { maxFinished: 100 } });
 * registry.set({ runId: "r1", workflowId: "orders", pipelineId: "fulfil", triggerId: "placed",
 *   status: "running", startedAt: Date.now(), updatedAt: Date.now() });
 * registry.update("r1", { status: "completed" });
 * ```
 */
export class PipelineRegistry {
  /** The workflow whose runs this registry holds. */
  readonly workflowId: string;
  /** Queued, running and paused runs, by id, in columns (see ActiveRuns). */
  private readonly active = new ActiveRuns();
  /** Finished runs, in the order they finished (a `Map` of them cost a quarter of a short run). */
  private readonly finished = new FinishedRuns();
  /** Runs added so far: each run's number in it orders `list()`. */
  private added = 0;
  private readonly maxFinished: number;
  private readonly maxAgeMs: number | undefined;

  /**
   * @throws SystemError `INVALID_INPUT` for a bad `workflowId` or retention value, or a key the
   * options or the retention policy do not have
   * (`PipelineRegistry "wf": options.retention.maxFinishd is not an option (options: maxFinished, maxAgeMs)`).
   */
  constructor(options: { workflowId: string; retention?: RetentionPolicy }) {
    if (typeof options === "object" && options !== null) {
      refuseUnknownKeys(options, OPTIONS, "options", { caller: "PipelineRegistry" });
    }
    if (typeof options?.workflowId !== "string" || options.workflowId.length === 0) {
      throw new SystemError("INVALID_INPUT", 'PipelineRegistry: "workflowId" must be a non-empty string');
    }
    const retention: unknown = options.retention;
    if (retention !== undefined) {
      if (typeof retention !== "object" || retention === null) {
        throw new SystemError(
          "INVALID_INPUT",
          `PipelineRegistry "${options.workflowId}": "retention" must be an object { maxFinished?, maxAgeMs? } (got ${describeKind(retention)})`,
        );
      }
      refuseUnknownKeys(retention, RETENTION_OPTIONS, "options.retention", {
        caller: `PipelineRegistry "${options.workflowId}"`,
      });
    }
    const maxFinished = options.retention?.maxFinished ?? DEFAULT_MAX_FINISHED;
    if (!Number.isInteger(maxFinished) || maxFinished < 0) {
      throw new SystemError(
        "INVALID_INPUT",
        `PipelineRegistry "${options.workflowId}": "retention.maxFinished" must be an integer ≥ 0 (got ${describeKind(maxFinished)})`,
      );
    }
    const maxAgeMs = options.retention?.maxAgeMs;
    if (maxAgeMs !== undefined && !(typeof maxAgeMs === "number" && maxAgeMs >= 0)) {
      throw new SystemError(
        "INVALID_INPUT",
        `PipelineRegistry "${options.workflowId}": "retention.maxAgeMs" must be a number ≥ 0 (got ${describeKind(maxAgeMs)})`,
      );
    }
    this.workflowId = options.workflowId;
    this.maxFinished = maxFinished;
    this.maxAgeMs = maxAgeMs;
  }

  /** How many runs are held. */
  get size(): number {
    return this.active.size + this.finished.size;
  }

  /**
   * Adds or replaces a run (a copy is stored, its `error` copied too).
   *
   * @throws SystemError `INVALID_INPUT` for a missing `runId`, a `status` that is not one of
   * `queued`, `running`, `paused`, `completed`, `failed`, `aborted`, an `error` that is not an
   * object, or a `key` that is not a non-empty string.
   */
  set(info: RunInfo): void {
    if (typeof info?.runId !== "string" || info.runId.length === 0) {
      throw new SystemError(
        "INVALID_INPUT",
        `PipelineRegistry "${this.workflowId}": "runId" must be a non-empty string`,
      );
    }
    this.store({ ...info });
  }

  /**
   * @internal Adds a run the registry does not hold yet (the runtime's hot path: its run ids are
   * new by construction, so the id is not looked up). The info is copied. Returns a handle to give
   * `setStatus`, which then finds the run without hashing its id (-1 for a run added finished).
   */
  adopt(info: RunInfo): number {
    if (isFinished(info.status)) {
      this.finished.push(info, this.added++);
      this.trim();
      return -1;
    }
    return this.adoptRun(
      info.runId,
      info.workflowId,
      info.pipelineId,
      info.triggerId,
      info.status as ActiveStatus,
      info.startedAt,
      info.updatedAt,
      info.stage,
      info.error,
      info.key,
    );
  }

  /** @internal {@link adopt} of an unfinished run, its fields given one by one (no info object). */
  adoptRun(
    runId: string,
    workflowId: string,
    pipelineId: string,
    triggerId: string,
    status: ActiveStatus,
    startedAt: number,
    updatedAt: number,
    stage?: string,
    error?: RunError,
    key?: string,
  ): number {
    const handle = this.active.add(
      runId,
      workflowId,
      pipelineId,
      triggerId,
      status,
      stage,
      error,
      startedAt,
      updatedAt,
      this.added++,
    );
    if (key !== undefined) this.active.setKey(handle, key);
    return handle;
  }

  /**
   * Merges `patch` into a known run and returns the updated copy, or `undefined` for an unknown
   * run. `runId` cannot change; `updatedAt` is set to now unless the patch gives one.
   *
   * @throws SystemError `INVALID_INPUT` as `set` does, for the merged run (which is then unchanged).
   */
  update(runId: string, patch: Partial<RunInfo>): RunInfo | undefined {
    const next = this.get(runId);
    if (next === undefined) return undefined;
    for (const key of Object.keys(patch)) {
      if (key !== "runId" && !isUnsafeKey(key)) {
        (next as unknown as Record<string, unknown>)[key] = (patch as Record<string, unknown>)[key];
      }
    }
    if (patch.updatedAt === undefined) next.updatedAt = Date.now();
    this.store(next);
    return { ...next };
  }

  /**
   * @internal Moves a known run to `status` (and `stage`, when given) without the copies `update`
   * makes, and applies retention. `handle` is what `adopt` returned for the run, if the caller
   * kept it (checked against the id, so a stale one is harmless). Returns false for an unknown run.
   */
  setStatus(
    runId: string,
    status: RunInfo["status"],
    updatedAt: number,
    error?: RunError,
    stage?: string,
    handle = -1,
  ): boolean {
    const active = this.active;
    const at = active.holds(handle, runId) ? handle : active.handleOf(runId);
    if (at === -1) {
      // a finished run changing again (rare): through the general path
      const position = this.finished.find(runId);
      if (position === -1) return false;
      const info = this.finished.read(position);
      info.status = status;
      info.updatedAt = updatedAt;
      if (error !== undefined) info.error = error;
      if (stage !== undefined) info.stage = stage;
      this.store(info);
      return true;
    }
    if (isFinished(status)) {
      active.finish(at, this.finished, status, updatedAt, error, stage);
      this.trim();
    } else active.setStatus(at, status, updatedAt, error, stage);
    return true;
  }

  /** A copy of a run's info, or `undefined`. */
  get(runId: string): RunInfo | undefined {
    const handle = this.active.handleOf(runId);
    if (handle !== -1) return this.active.read(handle);
    const position = this.finished.find(runId);
    return position === -1 ? undefined : this.finished.read(position);
  }

  /** True when the run is held. */
  has(runId: string): boolean {
    return this.active.handleOf(runId) !== -1 || this.finished.find(runId) !== -1;
  }

  /** Copies of every run held, in the order they were first added. */
  list(): RunInfo[] {
    const runs: Array<{ added: number; info: RunInfo }> = [];
    for (const handle of this.active.handles()) {
      runs.push({ added: this.active.added(handle), info: this.active.read(handle) });
    }
    for (let p = this.finished.oldest(); p !== -1; p = this.finished.next(p)) {
      runs.push({ added: this.finished.added(p), info: this.finished.read(p) });
    }
    runs.sort((a, b) => a.added - b.added);
    return runs.map((run) => run.info);
  }

  /** Forgets a run; true when it was held. */
  delete(runId: string): boolean {
    const handle = this.active.handleOf(runId);
    if (handle !== -1) {
      this.active.remove(handle);
      return true;
    }
    const position = this.finished.find(runId);
    if (position === -1) return false;
    this.finished.remove(position);
    this.finished.compactIfSparse();
    return true;
  }

  /**
   * Drops the finished runs beyond `maxFinished` that finished (or last changed) earliest, and
   * every finished run whose `updatedAt` is older than `now - maxAgeMs`. Never drops queued,
   * running or paused runs. Costs the runs it drops: finished runs are held in the order they
   * arrived, which is `updatedAt` order while the clocks stamping them agree (see FinishedRuns).
   *
   * @returns how many runs were dropped.
   * @throws SystemError `INVALID_INPUT` when `now` is not a finite number.
   */
  prune(now: number = Date.now()): number {
    // NaN (or Infinity) as the cutoff would make every finished run look expired
    if (typeof now !== "number" || !Number.isFinite(now)) {
      throw new SystemError(
        "INVALID_INPUT",
        `PipelineRegistry "${this.workflowId}": prune(now): "now" must be a finite number of epoch ms, or left out for Date.now() (got ${describeValue(now)})`,
      );
    }
    const dropped = this.trim();
    const maxAgeMs = this.maxAgeMs;
    return maxAgeMs === undefined ? dropped : dropped + this.finished.dropOlderThan(now - maxAgeMs);
  }

  /** Holds `info`'s fields under its run id (`info` is the registry's own copy). */
  private store(info: RunInfo): void {
    this.checkInfo(info);
    const runId = info.runId;
    const active = this.active;
    const handle = active.handleOf(runId);
    if (handle !== -1) {
      if (isFinished(info.status)) {
        const added = active.added(handle);
        active.remove(handle);
        this.finished.push(info, added);
        this.trim();
      } else {
        active.write(handle, info);
      }
      return;
    }
    const position = this.finished.find(runId);
    if (position === -1) {
      this.adopt(info);
      return;
    }
    if (isFinished(info.status)) {
      // A finished run changing again keeps its place, unless its updatedAt changes: then it moves
      // to the newest end, so the runs stay in updatedAt order for prune's walk by age.
      if (this.finished.updatedAt(position) === info.updatedAt) {
        this.finished.write(position, info);
        return;
      }
      const added = this.finished.added(position);
      this.finished.remove(position);
      this.finished.push(info, added);
      this.finished.compactIfSparse();
      return;
    }
    const added = this.finished.added(position);
    this.finished.remove(position);
    this.finished.compactIfSparse();
    const moved = active.add(
      runId,
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
    if (info.key !== undefined) active.setKey(moved, info.key);
  }

  /**
   * Refuses a status the registry does not know (it would be held as active, never pruned, and read
   * back as another), and copies `error`, which is the caller's object.
   */
  private checkInfo(info: RunInfo): void {
    if (!STATUSES.includes(info.status)) {
      throw new SystemError(
        "INVALID_INPUT",
        `PipelineRegistry "${this.workflowId}" run "${info.runId}": "status" must be one of ${STATUSES.map((s) => `"${s}"`).join(", ")} (got ${describeValue(info.status)})`,
      );
    }
    for (const field of ["startedAt", "updatedAt"] as const) {
      // a NaN stamp compares false both ways: retention by age could never order it
      if (typeof info[field] !== "number" || !Number.isFinite(info[field])) {
        throw new SystemError(
          "INVALID_INPUT",
          `PipelineRegistry "${this.workflowId}" run "${info.runId}": "${field}" must be a finite number of epoch ms (got ${describeValue(info[field])})`,
        );
      }
    }
    const key: unknown = info.key;
    if (key !== undefined && (typeof key !== "string" || key.length === 0)) {
      throw new SystemError(
        "INVALID_INPUT",
        `PipelineRegistry "${this.workflowId}" run "${info.runId}": "key" must be a non-empty string or left out (got ${describeValue(key)})`,
      );
    }
    const error: unknown = info.error;
    if (error === undefined) return;
    if (typeof error !== "object" || error === null) {
      throw new SystemError(
        "INVALID_INPUT",
        `PipelineRegistry "${this.workflowId}" run "${info.runId}": "error" must be an object like { code, message } or left out (got ${describeValue(error)})`,
      );
    }
    const { code, message } = error as RunError;
    info.error = { code, message };
  }

  private trim(): number {
    let dropped = 0;
    while (this.finished.size > this.maxFinished) {
      if (this.finished.shift() === undefined) break;
      dropped++;
    }
    return dropped;
  }
}
