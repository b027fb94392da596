import { describeThrown, SystemError } from "@sluice/errors";
import { MAX_TIMER_MS } from "@sluice/pipeline";
import type { HookWatchdog } from "./hook-watchdog.js";

/** `hookTimeoutMs` when `register()` options give none. */
export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;

/** What {@link settleWithin} resolves to when the time limit passed first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/** The hooks a time limit applies to (`onDispatch` is synchronous). */
export type TimedHook = "onPrepare" | "onComplete" | "onPause" | "onResume" | "onCleanup";

/**
 * Waits for `work` at most `timeoutMs` (timed by `watchdog`), through callbacks rather than a
 * promise of its own (a hook call then costs its caller's one promise, no more): exactly one of
 * `onTimeout`, `onValue` or `onError(error, false)` is called; a rejection after the limit still
 * goes to `onError(error, true)`. Throws what `work.then` throws (a hostile thenable).
 */
export function timeHook<T>(
  work: PromiseLike<T>,
  timeoutMs: number,
  watchdog: HookWatchdog,
  onTimeout: () => void,
  onValue: (value: T) => void,
  onError: (error: unknown, late: boolean) => void,
): void {
  // a limit past the longest delay setTimeout keeps (a longer one fires at once) is no limit
  if (!(timeoutMs <= MAX_TIMER_MS)) {
    work.then(onValue, (error: unknown) => onError(error, false));
    return;
  }
  const pending = watchdog.start(timeoutMs, onTimeout);
  try {
    work.then(
      (value) => {
        if (watchdog.settle(pending)) onValue(value);
      },
      (error: unknown) => onError(error, !watchdog.settle(pending)),
    );
  } catch (error) {
    watchdog.settle(pending);
    throw error;
  }
}

/**
 * {@link timeHook} as a promise: resolves `work`'s value, rejects with its rejection, or resolves
 * {@link TIMED_OUT} once the limit passes first. A rejection that comes after the limit has no
 * caller left to reject: it goes to `onLateFailure` instead of vanishing.
 */
export function settleWithin<T>(
  work: PromiseLike<T>,
  timeoutMs: number,
  watchdog: HookWatchdog,
  onLateFailure: (error: unknown) => void,
): Promise<T | typeof TIMED_OUT> {
  return new Promise<T | typeof TIMED_OUT>((resolve, reject) => {
    timeHook(
      work,
      timeoutMs,
      watchdog,
      () => resolve(TIMED_OUT),
      resolve,
      (error, late) => {
        if (late) onLateFailure(error);
        else reject(error);
      },
    );
  });
}

/** The `TIMEOUT` error for hook `hook` of run `runId` that did not settle within `timeoutMs`. */
export function hookTimedOut(
  workflowId: string,
  runId: string,
  hook: TimedHook,
  timeoutMs: number,
): SystemError {
  const went = hook === "onPrepare" ? "the run failed" : "the run went on without waiting for it";
  return new SystemError(
    "TIMEOUT",
    `workflow "${workflowId}": ${hook} of run ${runId} did not settle within ${timeoutMs} ms (hookTimeoutMs), so ${went}; make the hook settle sooner, watch its ctx.signal where it has one, or raise hookTimeoutMs`,
    { details: { workflowId, runId, hook, timeoutMs } },
  );
}

/**
 * The `HOOK_FAILED` report for hook `hook` of run `runId` that threw or rejected with `error`;
 * `late` when that came after its time limit had passed (and `TIMEOUT` had been reported). Always
 * `HOOK_FAILED`, with what the hook threw as `cause`, also when that is a `SystemError` of its own
 * (a runtime call the hook made, say): passed on as it was, it would read as the runtime's own
 * fault and not name the hook or the run.
 */
export function hookFailed(
  workflowId: string,
  runId: string,
  hook: TimedHook,
  error: unknown,
  late: boolean,
): SystemError {
  return new SystemError(
    "HOOK_FAILED",
    `workflow "${workflowId}": ${hook} of run ${runId} threw${late ? " after its time limit" : ""}: ${describeThrown(error)}`,
    { cause: error, details: { workflowId, runId, hook } },
  );
}

/**
 * The `TIMEOUT` error for the services of run `runId` (or, without one, of the workflow, at
 * `deregister()`) whose cleanups did not finish within `timeoutMs`; see also
 * {@link globalCleanupsTimedOut}.
 */
export function cleanupsTimedOut(workflowId: string, timeoutMs: number, runId?: string): SystemError {
  const owner = runId === undefined ? `workflow "${workflowId}"` : `run ${runId}`;
  const went = runId === undefined ? "deregister() went on" : "the run went on";
  return new SystemError(
    "TIMEOUT",
    `workflow "${workflowId}": the services of ${owner} did not finish their cleanups within ${timeoutMs} ms (hookTimeoutMs), so ${went} without waiting for them; make the cleanups settle sooner or raise hookTimeoutMs`,
    { details: runId === undefined ? { workflowId, timeoutMs } : { workflowId, runId, timeoutMs } },
  );
}

/** The `TIMEOUT` error for the global services, whose cleanups did not finish within `timeoutMs` of `stop()`. */
export function globalCleanupsTimedOut(timeoutMs: number): SystemError {
  return new SystemError(
    "TIMEOUT",
    `stop(): the global services did not finish their cleanups within ${timeoutMs} ms (the runtime's hookTimeoutMs), so stop() went on without waiting for them; make the cleanups settle sooner or raise hookTimeoutMs`,
    { details: { timeoutMs } },
  );
}
