import { SystemError } from "@sluice/errors";
import { FinishedRuns } from "./finished-runs.js";
import type { RetentionPolicy, RunInfo } from "./run-info.js";
import { isUnsafeKey } from "./unsafe-keys.js";

export type { RetentionPolicy, RunInfo } from "./run-info.js";

const DEFAULT_MAX_FINISHED = 1000;

function isFinished(status: RunInfo["status"]): boolean {
  return status === "completed" || status === "failed" || status === "aborted";
}

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
  // By run id, in the order runs were first added: an active run's info object, or the position
  // of a finished run in `finished` (its entry keeps its place in the map when the run finishes).
  private readonly runs = new Map<string, RunInfo | number>();
  private readonly finished = new FinishedRuns();
  private readonly maxFinished: number;
  private readonly maxAgeMs: number | undefined;
  private readonly moved = (runId: string, position: number): void => {
    this.runs.set(runId, position);
  };

  /** @throws SystemError `INVALID_INPUT` for a bad `workflowId` or retention value. */
  constructor(options: { workflowId: string; retention?: RetentionPolicy }) {
    if (typeof options?.workflowId !== "string" || options.workflowId.length === 0) {
      throw new SystemError("INVALID_INPUT", 'PipelineRegistry: "workflowId" must be a non-empty string');
    }
    const maxFinished = options.retention?.maxFinished ?? DEFAULT_MAX_FINISHED;
    if (!Number.isInteger(maxFinished) || maxFinished < 0) {
      throw new SystemError(
        "INVALID_INPUT",
        `PipelineRegistry "${options.workflowId}": "retention.maxFinished" must be an integer ≥ 0 (got ${maxFinished})`,
      );
    }
    const maxAgeMs = options.retention?.maxAgeMs;
    if (maxAgeMs !== undefined && !(typeof maxAgeMs === "number" && maxAgeMs >= 0)) {
      throw new SystemError(
        "INVALID_INPUT",
        `PipelineRegistry "${options.workflowId}": "retention.maxAgeMs" must be a number ≥ 0 (got ${String(maxAgeMs)})`,
      );
    }
    this.workflowId = options.workflowId;
    this.maxFinished = maxFinished;
    this.maxAgeMs = maxAgeMs;
  }

  /** How many runs are held. */
  get size(): number {
    return this.runs.size;
  }

  /** Adds or replaces a run (a copy is stored). */
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
   * @internal Adds a run whose info object the caller made for this registry alone: it is stored
   * as is, not copied (the runtime's hot path, one object per run instead of three).
   */
  adopt(info: RunInfo): void {
    this.store(info);
  }

  /**
   * Merges `patch` into a known run and returns the updated copy, or `undefined` for an unknown
   * run. `runId` cannot change; `updatedAt` is set to now unless the patch gives one.
   */
  update(runId: string, patch: Partial<RunInfo>): RunInfo | undefined {
    const held = this.runs.get(runId);
    if (held === undefined) return undefined;
    const next = typeof held === "number" ? this.finished.read(held) : { ...held };
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
   * makes, and applies retention. Returns false for an unknown run.
   */
  setStatus(
    runId: string,
    status: RunInfo["status"],
    updatedAt: number,
    error?: { code: string; message: string },
    stage?: string,
  ): boolean {
    const held = this.runs.get(runId);
    if (held === undefined) return false;
    if (typeof held === "number") {
      // a finished run changing again (rare): through the general path
      const info = this.finished.read(held);
      info.status = status;
      info.updatedAt = updatedAt;
      if (error !== undefined) info.error = error;
      if (stage !== undefined) info.stage = stage;
      this.store(info);
      return true;
    }
    held.status = status;
    held.updatedAt = updatedAt;
    if (error !== undefined) held.error = error;
    if (stage !== undefined) held.stage = stage;
    if (isFinished(status)) this.finish(held);
    return true;
  }

  /** A copy of a run's info, or `undefined`. */
  get(runId: string): RunInfo | undefined {
    const held = this.runs.get(runId);
    if (held === undefined) return undefined;
    return typeof held === "number" ? this.finished.read(held) : { ...held };
  }

  /** True when the run is held. */
  has(runId: string): boolean {
    return this.runs.has(runId);
  }

  /** Copies of every run held, in the order they were first added. */
  list(): RunInfo[] {
    const out: RunInfo[] = [];
    for (const held of this.runs.values()) {
      out.push(typeof held === "number" ? this.finished.read(held) : { ...held });
    }
    return out;
  }

  /** Forgets a run; true when it was held. */
  delete(runId: string): boolean {
    const held = this.runs.get(runId);
    if (held === undefined) return false;
    this.runs.delete(runId);
    if (typeof held === "number") {
      this.finished.remove(held);
      this.finished.compactIfSparse(this.moved);
    }
    return true;
  }

  /**
   * Drops the oldest finished runs beyond `maxFinished` and finished runs whose `updatedAt` is
   * older than `now - maxAgeMs`. Never drops queued, running or paused runs.
   *
   * @returns how many runs were dropped.
   */
  prune(now: number = Date.now()): number {
    let dropped = this.trim();
    const maxAgeMs = this.maxAgeMs;
    if (maxAgeMs !== undefined) {
      const cutoff = now - maxAgeMs;
      // Runs are held in the order they finished, so the expired ones lead: stop at the first run
      // still young enough instead of walking all of them on every prune.
      for (let p = this.finished.oldest(); p !== -1; p = this.finished.oldest()) {
        if (this.finished.updatedAt(p) >= cutoff) break;
        this.runs.delete(this.finished.shift()!);
        dropped++;
      }
    }
    return dropped;
  }

  /** Holds `info` (owned by the registry from now on) under its run id. */
  private store(info: RunInfo): void {
    const runId = info.runId;
    const held = this.runs.get(runId);
    if (typeof held === "number") {
      if (isFinished(info.status)) {
        // a finished run changing again keeps its place in the finishing order
        this.finished.write(held, info);
        return;
      }
      this.finished.remove(held);
      this.runs.set(runId, info);
      this.finished.compactIfSparse(this.moved);
      return;
    }
    if (isFinished(info.status)) this.finish(info);
    else this.runs.set(runId, info);
  }

  /** Moves a run that just finished into the finished columns, then applies `maxFinished`. */
  private finish(info: RunInfo): void {
    this.runs.set(info.runId, this.finished.push(info));
    if (this.finished.size > this.maxFinished) this.trim();
  }

  private trim(): number {
    let dropped = 0;
    while (this.finished.size > this.maxFinished) {
      const runId = this.finished.shift();
      if (runId === undefined) break;
      this.runs.delete(runId);
      dropped++;
    }
    return dropped;
  }
}
