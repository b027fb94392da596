import { catchRejection } from "@sluice/errors";

/** @internal Where a step's `ctx.signal` comes from; `aborted` / `reason` are read without it. */
export interface AbortSource {
  readonly signal: AbortSignal;
  readonly aborted: boolean;
  readonly reason: unknown;
}

/**
 * @internal An AbortController that also fires when its parent fires. Linked to a signal, it
 * listens with itself (`handleEvent`) so linking costs no closure; linked to another LinkedAbort
 * (a concurrent stage's, which each of its steps links to), it joins that one's children, which
 * fan out from one listener: one listener per child on one signal passes Node's limit of ten
 * (a MaxListenersExceededWarning per run of a stage of eleven steps with timeouts). `dispose`
 * unhooks it so a long-lived parent does not collect dead children.
 */
export class LinkedAbort implements AbortSource {
  readonly controller = new AbortController();
  private readonly parent: AbortSignal | undefined;
  private readonly parentLink: LinkedAbort | undefined;
  private children: Set<LinkedAbort> | undefined;

  constructor(parent: AbortSource) {
    if (parent instanceof LinkedAbort) {
      this.parent = undefined;
      this.parentLink = parent;
      parent.adopt(this);
      return;
    }
    this.parent = parent.signal;
    this.parentLink = undefined;
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
    this.controller.abort(this.parent!.reason);
  }

  abort(reason: unknown): void {
    this.controller.abort(reason);
  }

  dispose(): void {
    if (this.parentLink !== undefined) this.parentLink.children?.delete(this);
    else this.parent!.removeEventListener("abort", this);
  }

  /** Makes `child` fire when this fires (at once if it has). */
  private adopt(child: LinkedAbort): void {
    const signal = this.controller.signal;
    if (signal.aborted) {
      child.controller.abort(signal.reason);
      return;
    }
    let children = this.children;
    if (children === undefined) {
      children = this.children = new Set();
      signal.addEventListener(
        "abort",
        () => {
          for (const each of children!) each.controller.abort(signal.reason);
        },
        { once: true },
      );
    }
    children.add(child);
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

/** What a late settlement of an attempt given up on gets: nothing, it is not the run's any more. */
function ignoreLateSettlement(): void {}

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
      // (the step aborted its run before returning): what `pending` does later is not the run's,
      // but a rejection of it must still be handled, or it is the host's unhandled rejection
      catchRejection(pending, ignoreLateSettlement);
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
    const settle = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    try {
      pending.then(
        (value) => {
          settle();
          resolve(value);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
    } catch (error) {
      // a thenable whose then() throws: the attempt fails now, and its timer must not fire later
      // (keeping the process alive, and aborting the finished attempt's signal with TIMEOUT)
      settle();
      reject(error);
    }
  });
}
