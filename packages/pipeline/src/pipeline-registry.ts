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
  // The held info objects of finished runs, in the order they finished (the oldest is dropped
  // first), read from `head`. A queue of objects instead of a Set of ids: the hot path (a run
  // finishing, the oldest being dropped) pushes and pops without hashing. An entry is current
  // while `runs` still holds that very object; deletes and replacements leave stale entries that
  // are skipped when reached.
  private finished: Array<RunInfo | undefined> = [];
  private head = 0;
  private finishedCount = 0;
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
    const wasFinished = isFinished(current.status);
    // In place: nobody outside holds the stored object (everything hands out copies), and the
    // finishing-order queue refers to it.
    for (const key of Object.keys(patch)) {
      if (key !== "runId" && key !== "__proto__" && key !== "constructor" && key !== "prototype") {
        (current as unknown as Record<string, unknown>)[key] = (patch as Record<string, unknown>)[key];
      }
    }
    if (patch.updatedAt === undefined) current.updatedAt = Date.now();
    this.track(current, wasFinished);
    return { ...current };
  }

  /**
   * @internal Moves a known run to `status` (and `stage`, when given) in place, without the copies
   * `update` makes, and applies retention. Returns the held info itself (copy it before handing it anywhere), or
   * `undefined` for an unknown run.
   */
  setStatus(
    runId: string,
    status: RunInfo["status"],
    updatedAt: number,
    error?: { code: string; message: string },
    stage?: string,
  ): Readonly<RunInfo> | undefined {
    const info = this.runs.get(runId);
    if (info === undefined) return undefined;
    const wasFinished = isFinished(info.status);
    info.status = status;
    info.updatedAt = updatedAt;
    if (error !== undefined) info.error = error;
    if (stage !== undefined) info.stage = stage;
    this.track(info, wasFinished);
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
    const info = this.runs.get(runId);
    if (info === undefined) return false;
    this.runs.delete(runId);
    if (isFinished(info.status)) {
      // its queue entry is stale now
      this.finishedCount--;
      this.dropStaleEntries();
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
      // The queue is in the order runs finished, so the expired ones lead: stop at the first run
      // still young enough instead of walking all of them on every prune.
      const queue = this.finished;
      while (this.head < queue.length) {
        const info = queue[this.head];
        if (info !== undefined && this.runs.get(info.runId) === info) {
          if (info.updatedAt >= cutoff) break;
          this.runs.delete(info.runId);
          this.finishedCount--;
          dropped++;
        }
        queue[this.head++] = undefined;
      }
      this.compact();
    }
    return dropped;
  }

  private store(info: RunInfo): void {
    const previous = this.runs.get(info.runId);
    this.runs.set(info.runId, info);
    if (previous === undefined) {
      this.track(info, false);
    } else if (isFinished(previous.status) && isFinished(info.status)) {
      // a finished run replaced by another finished info keeps its place in the finishing order
      const at = this.finished.indexOf(previous, this.head);
      if (at !== -1) this.finished[at] = info;
    } else {
      this.track(info, isFinished(previous.status));
    }
  }

  /** Keeps the finishing order and count right after `info`'s status changed from `wasFinished`. */
  private track(info: RunInfo, wasFinished: boolean): void {
    const finished = isFinished(info.status);
    if (finished === wasFinished) return;
    if (finished) {
      this.finished.push(info);
      this.finishedCount++;
      if (this.finishedCount > this.maxFinished) this.trim();
      return;
    }
    // Back from finished (rare: a host re-using a run id): drop its queue entry now, or it would
    // be counted twice once the run finishes again.
    this.finishedCount--;
    const at = this.finished.indexOf(info, this.head);
    if (at !== -1) this.finished[at] = undefined;
    this.dropStaleEntries();
  }

  private trim(): number {
    let dropped = 0;
    const queue = this.finished;
    while (this.finishedCount > this.maxFinished && this.head < queue.length) {
      const info = queue[this.head];
      queue[this.head++] = undefined;
      if (info !== undefined && this.runs.get(info.runId) === info) {
        this.runs.delete(info.runId);
        this.finishedCount--;
        dropped++;
      }
    }
    this.compact();
    return dropped;
  }

  /**
   * Rewrites the queue without stale entries once they outnumber the current ones: deletes of
   * finished runs do not advance `head`, and must not grow the queue without bound.
   */
  private dropStaleEntries(): void {
    const queue = this.finished;
    const entries = queue.length - this.head;
    if (entries < 64 || entries < 2 * this.finishedCount) return;
    const kept: RunInfo[] = [];
    for (let i = this.head; i < queue.length; i++) {
      const info = queue[i];
      if (info !== undefined && this.runs.get(info.runId) === info) kept.push(info);
    }
    this.finished = kept;
    this.head = 0;
  }

  /** Drops the consumed front of the queue once it is most of it, so the array stays bounded. */
  private compact(): void {
    const head = this.head;
    if (head > 64 && head * 2 > this.finished.length) {
      this.finished = this.finished.slice(head);
      this.head = 0;
    }
  }
}
