import { isThenable, type SystemError } from "@sluice/errors";
import { runPrepareHook } from "./hook-context.js";
import {
  hookFailed,
  hookTimedOut,
  settleWithin,
  type TIMED_OUT,
  type TimedHook,
  timeHook,
} from "./hook-time-limit.js";
import { HookWatchdog } from "./hook-watchdog.js";
import type { RunRecord } from "./run-record.js";

/** What a call that needs no waiting returns. */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * The runtime's calls into host code that it must wait for: the lifecycle hooks and the disposal
 * of services (whose cleanups are host code too). Each is waited for at most its workflow's
 * `hookTimeoutMs`, on one {@link HookWatchdog}, and never rejects: faults go to `report`.
 */
export class HookCalls {
  private readonly watchdog = new HookWatchdog();

  constructor(private readonly report: (error: SystemError) => void) {}

  /**
   * Calls hook `name` of `record`'s workflow and waits for it: a throw is reported `HOOK_FAILED`, a
   * promise that outlasts the limit `TIMEOUT` (and a failure after that `HOOK_FAILED`); the run
   * goes on either way.
   */
  hook(record: RunRecord, name: Exclude<TimedHook, "onPrepare">, call: () => unknown): Promise<void> {
    const wf = record.workflow;
    return this.waitFor(
      call,
      wf.hookTimeoutMs,
      () => hookTimedOut(wf.id, record.runId, name, wf.hookTimeoutMs),
      (error, late) => hookFailed(wf.id, record.runId, name, error, late),
    );
  }

  /** `onPrepare` of `record`'s workflow: resolves the error that fails the run (see `runPrepareHook`). */
  prepare(record: RunRecord): Promise<SystemError | undefined> {
    return runPrepareHook(record, this.watchdog, this.report);
  }

  /**
   * Disposes services, waiting for their cleanups at most `timeoutMs`: one that never settles must
   * not hold a run's end, `deregister()` or `stop()`, nor the cleanups after it. At the limit the
   * timeout is reported (`timedOut()`) and the disposal's signal aborted: the container leaves the
   * stuck cleanup behind, starts the ones not yet run (dependents first, not awaited) and settles,
   * and only then does this resolve, so what `stop()` disposes has at least begun its cleanup when
   * `stop()` resolves. A failure is reported as `failed(error)` (also after the limit).
   */
  dispose(
    services: { dispose(options: { signal: AbortSignal }): Promise<void> },
    timeoutMs: number,
    failed: (error: unknown) => SystemError,
    timedOut: () => SystemError,
  ): Promise<void> {
    const stopWaiting = new AbortController();
    let disposal: Promise<void>;
    try {
      disposal = services.dispose({ signal: stopWaiting.signal });
    } catch (error) {
      this.report(failed(error));
      return SETTLED;
    }
    return new Promise<void>((resolve) => {
      timeHook(
        disposal,
        timeoutMs,
        this.watchdog,
        () => {
          const error = timedOut();
          this.report(error);
          // the container settles once told: it awaits nothing after its signal aborted
          stopWaiting.abort(error);
          disposal.then(
            () => resolve(),
            () => resolve(),
          );
        },
        () => resolve(),
        (error, late) => {
          this.report(failed(error));
          if (!late) resolve();
        },
      );
    });
  }

  /**
   * Calls `start` (host code) and waits for what it returns, at most `timeoutMs`. Never rejects: a
   * throw or rejection is reported as `failed(error, late)` (`late` after the limit), running out
   * of time as `timedOut()`; the messages are only built then.
   */
  private waitFor(
    start: () => unknown,
    timeoutMs: number,
    timedOut: () => SystemError,
    failed: (error: unknown, late: boolean) => SystemError,
  ): Promise<void> {
    let work: unknown;
    try {
      work = start();
      if (!isThenable(work)) return SETTLED;
    } catch (error) {
      this.report(failed(error, false));
      return SETTLED;
    }
    return new Promise<void>((resolve) => {
      try {
        timeHook(
          work as PromiseLike<unknown>,
          timeoutMs,
          this.watchdog,
          () => {
            this.report(timedOut());
            resolve();
          },
          () => resolve(),
          (error, late) => {
            this.report(failed(error, late));
            if (!late) resolve();
          },
        );
      } catch (error) {
        this.report(failed(error, false));
        resolve();
      }
    });
  }

  /**
   * Waits for `work` (the runtime's own, not host code: nothing is reported) at most `timeoutMs` on
   * the same watchdog: its value, its rejection, or {@link TIMED_OUT} once the limit passes first.
   * A limit past the longest timer is no limit.
   */
  within<T>(work: PromiseLike<T>, timeoutMs: number): Promise<T | typeof TIMED_OUT> {
    return settleWithin(work, timeoutMs, this.watchdog, () => {});
  }

  /** Every run has ended (the runtime stops): the watchdog's timer goes too. */
  idle(): void {
    this.watchdog.idle();
  }
}
