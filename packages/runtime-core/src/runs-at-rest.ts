import { refuseUnknownKeys, SystemError } from "@sluice/errors";
import type { IdMap } from "@sluice/id-map";
import type { RunRecord } from "./run-record.js";
import type { DrainOptions, DrainReport } from "./types.js";

/** How long `drain()` waits by default, in ms. */
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
const DRAIN_OPTION_KEYS = ["timeoutMs"] as const;

/** `drain(options)`'s time limit, checked: a non-negative number of ms, or `Infinity`. */
export function readDrainTimeout(options: DrainOptions): number {
  if (typeof options !== "object" || options === null) {
    throw new SystemError(
      "INVALID_INPUT",
      "drain(options): options must be an object, e.g. { timeoutMs: 10000 }",
    );
  }
  refuseUnknownKeys(options, DRAIN_OPTION_KEYS, "options", { caller: "drain(options)" });
  const timeoutMs = options.timeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new SystemError(
      "INVALID_INPUT",
      `drain(options): timeoutMs must be a non-negative number of ms or Infinity, got ${String(timeoutMs)}`,
      { details: { timeoutMs } },
    );
  }
  return timeoutMs;
}

/**
 * Tells a draining runtime when its runs have come to rest: each one either gone from the
 * unfinished runs (ended or detached) or parked at a pause. A run still queued, running, being
 * resumed or in its `onComplete` is busy.
 *
 * Runs tell it each time one parks or leaves ({@link notify}); a waiting drain then looks at all
 * runs again, once per macrotask however many runs came to rest in it, so that draining n runs
 * that end one by one does not scan the table n times each.
 */
export class RunsAtRest {
  /** Drains waiting for the next run to come to rest; `undefined` (the usual case) when none waits. */
  private wakers: Array<() => void> | undefined = undefined;

  constructor(private readonly runs: IdMap<RunRecord>) {}

  /** A run parked or left the unfinished runs. */
  notify(): void {
    const wakers = this.wakers;
    if (wakers === undefined) return;
    this.wakers = undefined;
    for (const wake of wakers) wake();
  }

  /**
   * Resolves once no run is busy, or after `timeoutMs` (`Infinity`: no limit), with the runs
   * still busy and those parked at that moment.
   */
  async wait(timeoutMs: number): Promise<DrainReport> {
    if (this.busyRun() === undefined) return this.report();
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopWaiting: (() => void) | undefined;
    if (timeoutMs !== Infinity) {
      timer = setTimeout(() => {
        timedOut = true;
        stopWaiting?.();
      }, timeoutMs);
    }
    try {
      while (!timedOut && this.busyRun() !== undefined) {
        await new Promise<void>((resolve) => {
          stopWaiting = resolve;
          (this.wakers ??= []).push(resolve);
        });
        // let the other runs that come to rest in this turn do so before looking again
        if (!timedOut) await new Promise<void>((resolve) => setTimeout(resolve, 0));
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (stopWaiting !== undefined) this.forget(stopWaiting);
    }
    return this.report();
  }

  private busyRun(): RunRecord | undefined {
    for (const record of this.runs.values()) if (record.status !== "paused") return record;
    return undefined;
  }

  private report(): DrainReport {
    const active: string[] = [];
    const paused: string[] = [];
    for (const record of this.runs.values()) {
      if (record.status === "paused") paused.push(record.runId);
      else active.push(record.runId);
    }
    return { drained: active.length === 0, active, paused };
  }

  private forget(waker: () => void): void {
    const wakers = this.wakers;
    if (wakers === undefined) return;
    const at = wakers.indexOf(waker);
    if (at !== -1) wakers.splice(at, 1);
    if (wakers.length === 0) this.wakers = undefined;
  }
}
