import { SystemError } from "@sluice/errors";
import type { HookWatchdog } from "./hook-watchdog.js";

/** `hookTimeoutMs` when `register()` options give none. */
export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;

/** The longest delay `setTimeout` keeps (a longer one fires at once): a limit past it is no limit. */
const MAX_TIMER_MS = 2_147_483_647;

/** What {@link settleWithin} resolves to when the time limit passed first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/** The hooks a time limit applies to (`onDispatch` is synchronous). */
export type TimedHook = "onPrepare" | "onComplete" | "onResume" | "onCleanup";

/** True for a value `await` would wait on. Reading `then` may throw (a hostile object): the caller catches it. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/**
 * Waits for `work` at most `timeoutMs` (timed by `watchdog`): resolves its value, rejects with its
 * rejection, or resolves {@link TIMED_OUT} once the limit passes first. A rejection that comes after
 * the limit has no caller left to reject: it goes to `onLateFailure` instead of vanishing.
 */
export function settleWithin<T>(
  work: PromiseLike<T>,
  timeoutMs: number,
  watchdog: HookWatchdog,
  onLateFailure: (error: unknown) => void,
): Promise<T | typeof TIMED_OUT> {
  if (!(timeoutMs <= MAX_TIMER_MS)) return Promise.resolve(work);
  return new Promise<T | typeof TIMED_OUT>((resolve, reject) => {
    const pending = watchdog.start(timeoutMs, () => resolve(TIMED_OUT));
    work.then(
      (value) => {
        watchdog.settle(pending);
        resolve(value);
      },
      (error: unknown) => {
        if (watchdog.settle(pending)) reject(error);
        else onLateFailure(error);
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

/** The `HOOK_FAILED` report for hook `hook` that failed with `error` after its time limit had passed. */
export function lateHookFailure(workflowId: string, hook: TimedHook, error: unknown): SystemError {
  return SystemError.from(
    error,
    "HOOK_FAILED",
    `workflow "${workflowId}": ${hook} threw after its time limit`,
  );
}
