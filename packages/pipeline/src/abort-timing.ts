/** @internal Where a step's `ctx.signal` comes from; `aborted` / `reason` are read without it. */
export interface AbortSource {
  readonly signal: AbortSignal;
  readonly aborted: boolean;
  readonly reason: unknown;
}

/**
 * @internal An AbortController that also fires when its parent fires. It listens with itself
 * (`handleEvent`) so linking costs no closure, and `dispose` unhooks it from the parent so a
 * long-lived parent does not collect dead children.
 */
export class LinkedAbort implements AbortSource {
  readonly controller = new AbortController();
  private readonly parent: AbortSignal;

  constructor(parent: AbortSource) {
    this.parent = parent.signal;
    if (this.parent.aborted) this.controller.abort(this.parent.reason);
    else this.parent.addEventListener("abort", this, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  get reason(): unknown {
    return this.controller.signal.reason;
  }

  handleEvent(): void {
    this.controller.abort(this.parent.reason);
  }

  abort(reason: unknown): void {
    this.controller.abort(reason);
  }

  dispose(): void {
    this.parent.removeEventListener("abort", this);
  }
}

/**
 * The longest delay `setTimeout` honours (2^31 - 1 ms, about 24.8 days): Node and browsers fire a
 * longer timer almost at once instead, so step timeouts and retry waits stay within it, and longer
 * waits (the runtime's wait deadlines and pause windows) are reached in steps of it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** @internal Resolves after `ms`, or at once when `signal` fires; never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * @internal Settles like `pending`, unless `ms` pass first: then `attempt` is aborted with
 * `timeoutError()` and the result rejects with it; aborting `attempt` rejects with its reason.
 * A late settlement of `pending` is ignored.
 */
export function withTimeout<T>(
  pending: PromiseLike<T>,
  ms: number,
  attempt: AbortController,
  timeoutError: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const signal = attempt.signal;
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    // Aborting from outside (run abort, failed sibling) ends the wait too, and frees the timer.
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      const error = timeoutError();
      attempt.abort(error);
      reject(error);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (value) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
