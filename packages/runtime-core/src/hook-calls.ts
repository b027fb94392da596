import { isThenable, SystemError } from "@sluice/errors";
import { runPrepareHook } from "./hook-context.js";
import { hookTimedOut, lateHookFailure, type TimedHook, timeHook } from "./hook-time-limit.js";
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
    const threw = (error: unknown) =>
      this.report(SystemError.from(error, "HOOK_FAILED", `workflow "${wf.id}": ${name} threw`));
    let returned: unknown;
    try {
      returned = call();
      if (!isThenable(returned)) return SETTLED;
    } catch (error) {
      threw(error);
      return SETTLED;
    }
    return new Promise<void>((resolve) => {
      try {
        timeHook(
          returned as PromiseLike<unknown>,
          wf.hookTimeoutMs,
          this.watchdog,
          () => {
            this.report(hookTimedOut(wf.id, record.runId, name, wf.hookTimeoutMs));
            resolve();
          },
          () => resolve(),
          (error, late) => {
            if (late) this.report(lateHookFailure(wf.id, name, error));
            else {
              threw(error);
              resolve();
            }
          },
        );
      } catch (error) {
        threw(error);
        resolve();
      }
    });
  }

  /** `onPrepare` of `record`'s workflow: resolves the error that fails the run (see `runPrepareHook`). */
  prepare(record: RunRecord): Promise<SystemError | undefined> {
    return runPrepareHook(record, this.watchdog, this.report);
  }

  /**
   * Disposes services, waiting for their cleanups at most `timeoutMs`: one that never settles must
   * not hold a run's end, `deregister()` or `stop()`. A failure is reported `FACTORY_FAILED` with
   * the message `failed` (also after the limit), running out of time as `timedOut()`.
   */
  dispose(
    services: { dispose(): Promise<void> },
    timeoutMs: number,
    failed: string,
    timedOut: () => SystemError,
  ): Promise<void> {
    return new Promise<void>((resolve) => {
      const fail = (error: unknown) => this.report(SystemError.from(error, "FACTORY_FAILED", failed));
      try {
        timeHook(
          services.dispose(),
          timeoutMs,
          this.watchdog,
          () => {
            this.report(timedOut());
            resolve();
          },
          () => resolve(),
          (error, late) => {
            fail(error);
            if (!late) resolve();
          },
        );
      } catch (error) {
        fail(error);
        resolve();
      }
    });
  }

  /** Every run has ended (the runtime stops): the watchdog's timer goes too. */
  idle(): void {
    this.watchdog.idle();
  }
}
