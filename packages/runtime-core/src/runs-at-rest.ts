import { describeKind, describeValue, refuseUnknownKeys, SystemError } from "@sluice/errors";
import type { IdMap } from "@sluice/id-map";
import { MAX_TIMER_MS } from "@sluice/pipeline";
import type { RunRecord } from "./run-record.js";
import type { DrainOptions, DrainReport } from "./types.js";

/** How long `drain()` waits by default, in ms. */
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
const DRAIN_OPTION_KEYS = ["timeoutMs", "triggers"] as const;

/**
 * `drain(options)`, checked: its time limit (a non-negative number of ms, or `Infinity`) and what
 * bus events reaching a trigger do meanwhile.
 */
export function readDrainOptions(options: DrainOptions): { timeoutMs: number; triggers: "drop" | "start" } {
  if (typeof options !== "object" || options === null) {
    throw new SystemError(
      "INVALID_INPUT",
      `drain(options): options must be an object, e.g. { timeoutMs: 10000 }, or left out (got ${describeKind(options)})`,
    );
  }
  refuseUnknownKeys(options, DRAIN_OPTION_KEYS, "options", { caller: "drain(options)" });
  const timeoutMs = options.timeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new SystemError(
      "INVALID_INPUT",
      `drain(options): timeoutMs must be a non-negative number of ms or Infinity, got ${describeKind(timeoutMs)}`,
      { details: { timeoutMs } },
    );
  }
  const triggers = options.triggers ?? "drop";
  if (triggers !== "drop" && triggers !== "start") {
    throw new SystemError(
      "INVALID_INPUT",
      `drain(options): triggers must be "drop" or "start", got ${describeValue(triggers)}`,
      { details: { triggers } },
    );
  }
  return { timeoutMs, triggers };
}

/** Parked at a pause, its `onPause` over: at rest, for a drain. */
function isParked(record: RunRecord): boolean {
  return record.status === "paused" && record.pausing === undefined;
}

/**
 * Busy: running, being resumed, in its `onComplete`, or parked with its `onPause` still running.
 * A queued run is not: it starts only when a slot frees, which a busy run or an event does.
 */
function isBusy(record: RunRecord): boolean {
  return !isParked(record) && record.status !== "queued";
}

/**
 * Tells a draining runtime when its runs have come to rest: each one gone from the unfinished runs
 * (ended or detached) or parked at a pause (its `onPause` over). A run still queued when all the
 * others are at rest waits for a slot a parked run holds (`exclusive`, `singleton_loop`): it could
 * start only when that run's event comes, and the slot would start it when the parked run is
 * detached, only for `stop()` to abort it; it is dropped instead, as `stop()` would drop it.
 *
 * Runs tell it each time one parks or leaves ({@link notify}); a waiting drain then looks again,
 * once per macrotask however many runs came to rest in it, from the run it last found busy.
 */
export class RunsAtRest {
  /** Drains waiting for the next run to come to rest; `undefined` (the usual case) when none waits. */
  private wakers: Array<() => void> | undefined = undefined;
  /** Where the last busy run was found: the next look starts there (it is likely still busy). */
  private cursor = 0;

  constructor(
    private readonly runs: IdMap<RunRecord>,
    /** Drops a run queued behind a parked one (see the class comment), telling `onDispatch`. */
    private readonly dropQueued: (record: RunRecord, reason: string) => void,
  ) {}

  /** A run parked, finished its `onPause` or left the unfinished runs. */
  notify(): void {
    const wakers = this.wakers;
    if (wakers === undefined) return;
    this.wakers = undefined;
    for (const wake of wakers) wake();
  }

  /**
   * Resolves once no run is busy, or after `timeoutMs` (`Infinity`, or past the longest timer
   * delay: no limit), with the runs still busy, those parked and those dropped at that moment.
   */
  async wait(timeoutMs: number): Promise<DrainReport> {
    const dropped: string[] = [];
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopWaiting: (() => void) | undefined;
    // a limit past the longest delay setTimeout keeps (~24.8 days; it would fire at once) is no
    // limit, as for hookTimeoutMs
    if (timeoutMs <= MAX_TIMER_MS) {
      timer = setTimeout(() => {
        timedOut = true;
        stopWaiting?.();
      }, timeoutMs);
    }
    try {
      while (!timedOut) {
        if (this.firstBusy() !== undefined) {
          await new Promise<void>((resolve) => {
            stopWaiting = resolve;
            (this.wakers ??= []).push(resolve);
          });
        }
        // Look a macrotask later, never at once: the other runs that come to rest in this turn do
        // so first, and so does what the caller's own code and microtasks do after the call (an
        // event resuming a parked run), which a report made at the call would not show. Also, a
        // run is queued for a moment while onDispatch hears of it and, through the modes, while
        // the slot it takes is handed on: only one still queued a turn later is held back. From
        // the look to the caller's code there are only microtasks: no timer or I/O callback
        // (a deadline, a bus event from outside) can change what the report says in between.
        if (!timedOut) await new Promise<void>((resolve) => setTimeout(resolve, 0));
        if (!timedOut && this.atRest(dropped)) break;
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (stopWaiting !== undefined) this.forget(stopWaiting);
    }
    return this.report(dropped);
  }

  /** True when no run is busy, after dropping the runs queued behind parked ones (into `dropped`). */
  private atRest(dropped: string[]): boolean {
    if (this.firstBusy() !== undefined) return false;
    for (const record of this.runs.values()) {
      // (dropping one tells onDispatch, host code that may have started or ended runs since)
      if (record.status === "queued" && this.runs.get(record.runId) === record) {
        dropped.push(record.runId);
        this.dropQueued(
          record,
          "the runtime drained while it was queued behind a parked run holding its workflow's slot",
        );
      }
    }
    return this.firstBusy() === undefined;
  }

  private firstBusy(): RunRecord | undefined {
    const runs = this.runs;
    const end = runs.handleEnd;
    let handle = this.cursor < end ? this.cursor : 0;
    for (let seen = 0; seen < end; seen++) {
      if (runs.idAt(handle) !== undefined) {
        const record = runs.at(handle)!;
        if (isBusy(record)) {
          this.cursor = handle;
          return record;
        }
      }
      if (++handle === end) handle = 0;
    }
    return undefined;
  }

  private report(dropped: string[]): DrainReport {
    const active: string[] = [];
    const paused: string[] = [];
    for (const record of this.runs.values()) {
      if (isParked(record)) paused.push(record.runId);
      else active.push(record.runId);
    }
    return { drained: active.length === 0, active, paused, dropped };
  }

  private forget(waker: () => void): void {
    const wakers = this.wakers;
    if (wakers === undefined) return;
    const at = wakers.indexOf(waker);
    if (at !== -1) wakers.splice(at, 1);
    if (wakers.length === 0) this.wakers = undefined;
  }
}
