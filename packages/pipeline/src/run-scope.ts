import { describeThrown, type SystemError } from "@sluice/errors";
import type { AbortSource } from "./abort-timing.js";
import { textOf } from "./safe-text.js";
import type {
  DependencyScope,
  LogLevel,
  PipelineEventType,
  PipelineLifecycleEvent,
  PipelineObserver,
  StateAccess,
} from "./types.js";

/** "No time read yet": a clock never gives it (0 it gives, under a fake clock set to the epoch). */
export const NO_TIME = Number.NEGATIVE_INFINITY;

/**
 * @internal What every step context of one run shares: ids, state, dependencies, the run's abort
 * switch and its lifecycle emitter. Emission takes positional arguments so that, with no observer,
 * a call builds nothing. `PipelineRun` extends it, so a run is one object, not two.
 */
export class RunScope<S extends object> implements AbortSource {
  aborted = false;
  reason: unknown = undefined;
  // Node makes an AbortSignal expensively (an EventTarget) and most trivial steps never look at
  // it: the controller is only made when a step first reads `ctx.signal`.
  private controller: AbortController | undefined;
  /** Last sequence number used. */
  seq: number;
  /** Set once the terminal event went out: later events (a late log, an abandoned step) are dropped. */
  closed = false;
  observerFailures = 0;
  readonly observer: PipelineObserver | undefined;
  // no shared timestamp yet: not 0, which a fake clock set to the epoch returns (so would a clock
  // stepped back); Date.now() never returns -Infinity
  private clock = NO_TIME;
  /**
   * @internal The latest time this run has stamped (`NO_TIME` before the first), or the floor it
   * was given: `time()` and `log` never stamp below it.
   */
  lastAt = NO_TIME;

  constructor(
    readonly runId: string,
    readonly pipelineId: string,
    readonly state: StateAccess<S>,
    readonly event: unknown,
    readonly dependencies: DependencyScope<S> | undefined,
    observer: PipelineObserver | undefined,
    private readonly onObserverError: ((error: unknown, event: PipelineLifecycleEvent) => void) | undefined,
    seq: number,
  ) {
    this.observer = observer;
    this.seq = seq;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Fires the run's abort switch: every step's `ctx.signal` aborts with `reason`. */
  fireAbort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  /**
   * A timestamp shared by every event of one synchronous burst: `Date.now()` is costly next to a
   * trivial step, and events emitted without an await between them happen in the same ms anyway.
   * The run calls `tick()` whenever it resumes after waiting. Never earlier than a time the run
   * stamped before: stores order a run's events by time first, and a wall clock set back mid-run
   * (an NTP step) would otherwise list its later events before its earlier ones, and make its
   * durations negative.
   */
  time(): number {
    let at = this.clock;
    if (at === NO_TIME) {
      at = Date.now();
      if (at < this.lastAt) at = this.lastAt;
      this.clock = this.lastAt = at;
    }
    return at;
  }

  /** Invalidates the shared timestamp: the next `time()` reads the clock. */
  tick(): void {
    this.clock = NO_TIME;
  }

  /**
   * Makes `at`, a clock read made in this synchronous burst, the burst's shared timestamp (the
   * run's floor instead, when that is later).
   */
  seedClock(at: number): void {
    if (at < this.lastAt) at = this.lastAt;
    this.clock = this.lastAt = at;
  }

  /**
   * @internal Makes the run stamp nothing earlier than `at`: a time its events already reached
   * before this `PipelineRun` (a resumed run's pause), or its start, read by its host.
   */
  stampNoEarlierThan(at: number): void {
    if (at > this.lastAt) this.lastAt = at;
  }

  emit(
    type: PipelineEventType,
    stage?: string,
    step?: string,
    attempt?: number,
    error?: SystemError,
    durationMs?: number,
    data?: unknown,
  ): void {
    if (this.closed) return;
    const seq = ++this.seq;
    if (this.observer === undefined) return;
    this.tellObserver(
      type,
      seq,
      this.time(),
      stage,
      step,
      attempt,
      undefined,
      undefined,
      data,
      error,
      durationMs,
    );
  }

  log(level: LogLevel, message: string, data: unknown, stage: string, step: string, attempt: number): void {
    if (this.closed) return;
    const seq = ++this.seq;
    if (this.observer === undefined) return;
    // untyped callers pass anything as the message
    const given: unknown = message;
    let text: string;
    if (typeof given === "string") text = given;
    else if (
      typeof given === "object" &&
      given !== null &&
      (data === undefined || typeof data === "string")
    ) {
      // pino's and bunyan's order, from untyped code: logger.info({ orderId }, "placed"), or
      // logger.error(err). Made a string, the object would be "[object Object]" and its fields lost.
      text = data ?? errorText(given);
      data = given;
    } else {
      // (a message that cannot be made a string must not throw into the step that logs it)
      text = textOf(given);
    }
    // read now, not the burst's shared time: a step may log long after its burst began. The events
    // that follow in this burst share it, so none is stamped before the log.
    let at = Date.now();
    if (at < this.lastAt) at = this.lastAt;
    this.clock = this.lastAt = at;
    this.tellObserver("log", seq, at, stage, step, attempt, level, text, data, undefined, undefined);
  }

  private tellObserver(
    type: PipelineEventType,
    seq: number,
    at: number,
    stage: string | undefined,
    step: string | undefined,
    attempt: number | undefined,
    level: LogLevel | undefined,
    message: string | undefined,
    data: unknown,
    error: SystemError | undefined,
    durationMs: number | undefined,
  ): void {
    const observer = this.observer!;
    try {
      if (observer.onFields !== undefined) {
        observer.onFields(
          type,
          this.runId,
          this.pipelineId,
          seq,
          at,
          stage,
          step,
          attempt,
          level,
          message,
          data,
          error,
          durationMs,
        );
      } else {
        observer.onEvent(
          lifecycleEvent(
            type,
            this.runId,
            this.pipelineId,
            seq,
            at,
            stage,
            step,
            attempt,
            level,
            message,
            data,
            error,
            durationMs,
          ),
        );
      }
    } catch (fault) {
      // An observer is a reporter, not a participant: its fault must not change the run.
      this.observerFailures++;
      if (this.onObserverError !== undefined) {
        const event = lifecycleEvent(
          type,
          this.runId,
          this.pipelineId,
          seq,
          at,
          stage,
          step,
          attempt,
          level,
          message,
          data,
          error,
          durationMs,
        );
        try {
          this.onObserverError(fault, event);
        } catch {
          // the error reporter failing leaves nothing else to tell
        }
      }
    }
  }
}

/** One event as an object, every field present (absent ones `undefined`): one shape for all. */
function lifecycleEvent(
  type: PipelineEventType,
  runId: string,
  pipelineId: string,
  seq: number,
  at: number,
  stage: string | undefined,
  step: string | undefined,
  attempt: number | undefined,
  level: LogLevel | undefined,
  message: string | undefined,
  data: unknown,
  error: SystemError | undefined,
  durationMs: number | undefined,
): PipelineLifecycleEvent {
  return { seq, at, type, runId, pipelineId, stage, step, attempt, level, message, data, error, durationMs };
}

/**
 * What an object logged alone says as a message: an `Error`'s message, or `""`. Never throws (a
 * revoked Proxy throws on `instanceof`): a logger call must not throw into the step that makes it.
 */
function errorText(value: object): string {
  try {
    return value instanceof Error ? describeThrown(value) : "";
  } catch {
    return "";
  }
}
