import type { DispatchResult, DispatchResultBase, ExecutionMode } from "../types.js";

/** A bus event that matched a trigger, on its way to becoming a run. */
export interface DispatchRequest {
  readonly triggerId: string;
  readonly event: string;
  readonly payload: unknown;
  readonly initialState: Record<string, unknown>;
  /** Its idempotency key (the trigger's `key`), which the run made of it holds; none checked it here. */
  readonly key: string | undefined;
  /** Its concurrency key (the mode's `key`), when the mode has one. */
  readonly concurrencyKey: string | undefined;
  /** Its place among queued runs (the mode's `priority`; 0 when the mode has none): higher starts first. */
  readonly priority: number;
}

/** What a policy decided for one request: a {@link DispatchResult} but for the event's own fields. */
export type PolicyDecision = DispatchResult extends infer R
  ? R extends DispatchResultBase
    ? Omit<R, keyof DispatchResultBase>
    : never
  : never;

/** The runtime operations a policy drives. Policies hold run ids, never run objects. */
export interface PolicyHost {
  /** Creates a run record (status `queued`) without starting it. */
  createRun(request: DispatchRequest): string;
  /** Starts a created run (once `onDispatch`, if any, has been told of the decision). */
  launchRun(runId: string): void;
  /** Cancels a created run that never started (reported through `onDispatch` as dropped). */
  cancelQueuedRun(runId: string, reason: string): void;
  /** Merges the request's initial state into an active run's state; returns why it could not, if it could not. */
  signalRun(runId: string, request: DispatchRequest): string | undefined;
  /**
   * Aborts an active run a newer one replaces. Like `launchRun`, done once `onDispatch` has been
   * told of the decision, when there is one to tell.
   */
  abortRun(runId: string): void;
  /** True when an active run's result is decided: its pipeline has ended, it is in its `onComplete` or about to be (it holds its slot until bookkeeping). */
  isDecided(runId: string): boolean;
}

/**
 * Decides, per workflow, what happens to each bus-triggered run request. The runtime tells it
 * when runs pause, resume and end; `invoke()` bypasses it.
 */
export interface ExecutionPolicy {
  accept(request: DispatchRequest): PolicyDecision;
  /**
   * A paused run that a bus event started through this mode elsewhere (another runtime, before a
   * restart) joins this workflow (`adopt()`): it takes the slot a paused run holds in this mode,
   * if any. Returns why it cannot (the slot is taken), or `undefined` when it has joined.
   */
  adoptPaused(runId: string): string | undefined;
  /** A run of this workflow paused (parked): a slot it holds goes back. */
  runPaused(runId: string): void;
  /**
   * A paused run that this mode started (or adopted, as dispatched) goes on: a resume, a timeout,
   * an event buffered for it. True when it may go on now: it holds its slot (a mode whose paused
   * runs keep theirs, or a run resumed before it gave its slot back), or it took a free one.
   * Otherwise it waits for one, ahead of runs that have not started, and `granted` is called once
   * it holds it; a waiting run that ends (`runEnded`: aborted, failed at its deadline) stops waiting.
   * `concurrencyKey` is the run's (the mode's `key`), `undefined` when it has none or it is not known.
   */
  runResuming(runId: string, concurrencyKey: string | undefined, granted: () => void): boolean;
  /**
   * A run of this workflow ended (completed, failed or aborted), or left it (`detach()`): its slot
   * goes back, or it stops waiting for one.
   */
  runEnded(runId: string): void;
  /** A queued run was aborted by the host before it started. */
  forget(runId: string): void;
  /** Stops accepting; returns the ids of runs still queued, for the runtime to cancel. */
  close(): string[];
}

export type { ExecutionMode };
