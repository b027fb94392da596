import { SystemError } from "@sluice/errors";

/** What a workflow's registry knows about one run. */
export interface RunInfo {
  /** The run's id. */
  runId: string;
  /** The workflow the run belongs to. */
  workflowId: string;
  /** The pipeline it runs. */
  pipelineId: string;
  /** The trigger that started it. */
  triggerId: string;
  /** Where the run is. */
  status: "queued" | "running" | "paused" | "completed" | "failed" | "aborted";
  /** The current (or last) stage. */
  stage?: string;
  /** Epoch ms when the run was created. */
  startedAt: number;
  /** Epoch ms of the last change. */
  updatedAt: number;
  /** Why it failed, as plain data. */
  error?: { code: string; message: string };
}

/** How many finished runs a registry keeps. Queued, running and paused runs are always kept. */
export interface RetentionPolicy {
  /** Finished (completed / failed / aborted) runs kept, newest first; default 1000. */
  maxFinished?: number;
  /** Finished runs older than this (by `updatedAt`) are dropped by `prune()`; default: no age limit. */
  maxAgeMs?: number;
}

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
  private readonly runs = new Map<string, RunInfo>();
  // Finished run ids in the order they finished: the oldest is dropped first.
  private readonly finished = new Set<string>();
  private readonly maxFinished: number;
  private readonly maxAgeMs: number | undefined;

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
    const current = this.runs.get(runId);
    if (current === undefined) return undefined;
    const next: RunInfo = { ...current, ...patch, runId };
    if (patch.updatedAt === undefined) next.updatedAt = Date.now();
    this.store(next);
    return { ...next };
  }

  /**
   * @internal Moves a known run to `status` in place, without the copies `update` makes, and
   * applies retention. Returns the held info itself (copy it before handing it anywhere), or
   * `undefined` for an unknown run.
   */
  setStatus(
    runId: string,
    status: RunInfo["status"],
    updatedAt: number,
    error?: { code: string; message: string },
  ): Readonly<RunInfo> | undefined {
    const info = this.runs.get(runId);
    if (info === undefined) return undefined;
    info.status = status;
    info.updatedAt = updatedAt;
    if (error !== undefined) info.error = error;
    this.track(runId, status);
    return info;
  }

  /** A copy of a run's info, or `undefined`. */
  get(runId: string): RunInfo | undefined {
    const info = this.runs.get(runId);
    return info === undefined ? undefined : { ...info };
  }

  /** True when the run is held. */
  has(runId: string): boolean {
    return this.runs.has(runId);
  }

  /** Copies of every run held, in the order they were first added. */
  list(): RunInfo[] {
    const out: RunInfo[] = [];
    for (const info of this.runs.values()) out.push({ ...info });
    return out;
  }

  /** Forgets a run; true when it was held. */
  delete(runId: string): boolean {
    this.finished.delete(runId);
    return this.runs.delete(runId);
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
      // `finished` is in the order runs finished, so the expired ones lead: stop at the first
      // run still young enough instead of walking all of them on every prune.
      for (const runId of this.finished) {
        const info = this.runs.get(runId);
        if (info !== undefined && info.updatedAt >= cutoff) break;
        this.finished.delete(runId);
        this.runs.delete(runId);
        dropped++;
      }
    }
    return dropped;
  }

  private store(info: RunInfo): void {
    this.runs.set(info.runId, info);
    this.track(info.runId, info.status);
  }

  private track(runId: string, status: RunInfo["status"]): void {
    if (!isFinished(status)) {
      // a run that never finished is not in `finished`: skip the lookup
      if (this.finished.size > 0) this.finished.delete(runId);
    } else if (!this.finished.has(runId)) {
      // Insertion order of `finished` is the order runs finished: the first entry is the oldest.
      this.finished.add(runId);
      if (this.finished.size > this.maxFinished) this.trim();
    }
  }

  private trim(): number {
    let dropped = 0;
    while (this.finished.size > this.maxFinished) {
      const oldest = this.finished.values().next().value as string;
      this.finished.delete(oldest);
      this.runs.delete(oldest);
      dropped++;
    }
    return dropped;
  }
}
