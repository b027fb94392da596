import type { AttemptOutcome, StepAttempt } from "./types.js";

/**
 * @internal What a dependency scope asked of one step attempt ({@link StepAttempt}): undos for its
 * failure, callbacks for its end and for its retry. Made on the first request, so an attempt that
 * nothing asks of costs the engine one empty field.
 */
export class AttemptCallbacks {
  undos: (() => void)[] | undefined = undefined;
  ends: ((outcome: AttemptOutcome) => void)[] | undefined = undefined;
  /** `null` once the next attempt has started: callbacks given later are never called. */
  retries: ((next: StepAttempt) => void)[] | null | undefined = undefined;
}

/** The first value a callback threw, boxed (a callback may throw `undefined`). */
export interface CallbackFault {
  readonly thrown: unknown;
}

/**
 * Calls each of `callbacks` with `arg`, each even if one before it throws; returns `fault`, or if
 * there was none, what the first of them threw.
 */
export function callEach<A>(
  callbacks: readonly ((arg: A) => void)[] | undefined,
  arg: A,
  fault: CallbackFault | undefined,
): CallbackFault | undefined {
  if (callbacks === undefined) return fault;
  for (let i = 0; i < callbacks.length; i++) {
    try {
      callbacks[i]!(arg);
    } catch (thrown) {
      fault ??= { thrown };
    }
  }
  return fault;
}
