import type { ArtifactContainer, UseDependencyContext } from "@sluice/artifacts";
import { SystemError } from "@sluice/errors";
import type { PauseRequestData, PauseService } from "@sluice/pause";
import type { Pipeline, PipelineCheckpoint, PipelineRun, RunInfo, StepAttempt } from "@sluice/pipeline";
import { type StateStore, safeAssign } from "@sluice/store";
import { ReleasedCheckpoint } from "./released-checkpoint.js";
import type { RunCheckpoint } from "./run-checkpoint.js";
import type { RunDeadline, WaitDeadline } from "./run-deadlines.js";
import type { RunResult, RunState } from "./types.js";
import type { WorkflowRecord } from "./workflow-record.js";

/** A bus event kept for a run that was not parked when it arrived. */
export interface BufferedEvent {
  readonly event: string;
  readonly payload: unknown;
  /** Epoch ms it arrived: it cannot meet a wait whose deadline had passed by then. */
  readonly at: number;
  /**
   * Kept only for held waits (see `HeldWaits`): dropped with them, unless a retry's registration
   * takes one over and the event meets it.
   */
  heldOnly: boolean;
}

/** Builds a run's service access on first use. */
export interface RunContainerFactory {
  /**
   * A full per-run container (needed when the workflow declares run or transient services); only
   * for a run that has its state store.
   */
  containerFor(record: RunRecord): ArtifactContainer<RunState>;
  /** Container-free access: the run's pause service, then the workflow's scope. */
  directDependencies(record: RunRecord): UseDependencyContext<RunState>;
  /** A step's view of `deps`: the same, but its `__pause_service__` acts for its `attempt`. */
  attemptDependencies(
    record: RunRecord,
    deps: UseDependencyContext<RunState>,
    attempt: StepAttempt,
  ): UseDependencyContext<RunState>;
}

/**
 * Everything the runtime holds for one run that has not finished. All fields are declared up
 * front so every record has one hidden class; the live context (store, container, pipeline run)
 * is dropped when a parked run's pause window ends, leaving its released checkpoint.
 */
export class RunRecord {
  status: RunInfo["status"] = "queued";
  /** Started through the workflow's execution mode (a bus event), not `invoke`: the mode tracks it. */
  managed = false;
  /** Its idempotency key (`TriggerDefinition.key`), which it holds in its workflow's keys until it leaves the unfinished runs. */
  key: string | undefined = undefined;
  /**
   * Its concurrency key (the mode's `key`), for a run its mode started with one: the key whose slot
   * it takes again when it resumes. `undefined` otherwise, and for a run adopted from a checkpoint
   * that had none.
   */
  concurrencyKey: string | undefined = undefined;
  /**
   * While its workflow's `CancelIndex` holds it: what its trigger's `cancelOn` rules compare, read
   * from its payload when it was made (`undefined` for a rule without `match`, or no value to match).
   */
  cancelValues: unknown[] | undefined = undefined;
  /** Where the runtime's table of unfinished runs holds this run (see IdMap.insert). */
  slot = -1;
  /** Where the runtime's table of runs past bookkeeping (in their last cleanups) holds it. */
  endingSlot = -1;
  /** What the workflow's PipelineRegistry.adopt returned for this run. */
  registryHandle = -1;
  /** Initial state, kept only while queued. */
  initialState: RunState | undefined;
  /** The trigger payload, kept while the live context exists (the checkpoint has its own copy). */
  payload: unknown;

  store: StateStore<RunState> | undefined = undefined;
  container: ArtifactContainer | undefined = undefined;
  pipelineRun: PipelineRun<RunState> | undefined = undefined;
  controller: AbortController | undefined = undefined;
  pauseService: PauseService | undefined = undefined;

  /** Set while paused with a live context. */
  checkpoint: PipelineCheckpoint<RunState> | undefined = undefined;
  /** Set while paused after the pause window released the live context. */
  released: ReleasedCheckpoint | undefined = undefined;
  /**
   * Set once the run has ended or left (`letGo`): what held its state last, its disposed store
   * (whose `get()` still returns the last snapshot) or its released checkpoint, so that an
   * `onPause` hook reading `ctx.state()` later gets the state the run ended or left with. Nothing
   * is copied: a parked run holds nothing more, and an ended one holds it only while something
   * (such a hook) still holds the record.
   */
  private lastState: StateStore<RunState> | ReleasedCheckpoint | undefined = undefined;
  /** While its `onPause` runs: the run's next stage and its end wait for it. */
  pausing: Promise<void> | undefined = undefined;
  /** While the services a pause window released are being disposed: the run's end waits for it. */
  releasing: Promise<void> | undefined = undefined;
  /** The waits the run is parked on. */
  waits: readonly PauseRequestData[] = NO_WAITS;
  /** Patch mappers of the current waits, by wait id (functions cannot go into the checkpoint). */
  mappers: Map<string, (payload: any) => object> | undefined = undefined;
  /** Event names this run has waited on (each holds one shared bus subscription until the run ends). */
  watched: string[] | undefined = undefined;
  /**
   * While running: the waits whose matching events are buffered — those registered in the current
   * stage (pre-pause window) and, after a resume, the ones it was parked on (inter-resume buffer).
   */
  bufferWaits: readonly PauseRequestData[] = NO_WAITS;
  buffer: BufferedEvent[] | undefined = undefined;
  /** The last bus delivery buffered for this run (the runtime's count), so it is buffered once. */
  bufferedDelivery = 0;
  bufferOverflowReported = false;

  /** Its earliest wait deadline, in the runtime's `RunDeadlines`, while parked on a wait with a timeout. */
  waitDeadline: WaitDeadline | undefined = undefined;
  /** Its own deadline (`RegisterOptions.runTimeoutMs`, or its checkpoint's `runDeadline`), if it has one. */
  runDeadline: RunDeadline | undefined = undefined;
  /**
   * An end from outside was requested: an abort (`abortReason` says why) or, once its deadline
   * passed, a failure (`deadlineFailure`). Either ends it wherever it is, without waiting for a hook.
   */
  abortRequested = false;
  /** Why its abort was requested ("aborted by the host", …): every place the abort is recorded says so. */
  abortReason: string | undefined = undefined;
  /** The stage the run was running when its abort was requested (its `RunInfo.stage` once aborted). */
  abortedInStage: string | undefined = undefined;
  finished = false;
  /** The result it ended with, from when its `onComplete` starts (its bookkeeping, without one): what `result()` answers during its last hooks. */
  finalResult: RunResult | undefined = undefined;
  finishWaiters: Array<(result: RunResult) => void> | undefined = undefined;
  /** Told once the run's result is decided (see `markDecided`). */
  decidedWaiters: Array<() => void> | undefined = undefined;
  /** Told once an abort is requested (see `markAbortRequested`). */
  abortWaiters: Array<() => void> | undefined = undefined;
  /** Resolves the promise of the `invoke` / `resume` that is executing the run's pipeline. */
  resolveRun: ((result: RunResult | Promise<RunResult>) => void) | undefined = undefined;
  /** Container-free dependency access, built on the first `ctx.use` of a run without run services. */
  directDeps: UseDependencyContext<RunState> | undefined = undefined;
  /**
   * The latest time the runtime stamped for this run while no pipeline run held its clock: its
   * start, its pause (`run.paused`), or an event or status change the runtime stamped since. See
   * `stamp`.
   */
  stampedAt: number;

  constructor(
    private readonly containers: RunContainerFactory,
    readonly runId: string,
    readonly workflow: WorkflowRecord,
    readonly triggerId: string,
    readonly pipeline: Pipeline<RunState>,
    readonly startedAt: number,
    initialState: RunState | undefined,
    payload: unknown,
  ) {
    this.initialState = initialState;
    this.payload = payload;
    this.stampedAt = startedAt;
  }

  /**
   * Now, by the wall clock, but never earlier than what the run's timeline already has (the time
   * its pipeline run last stamped, its pause, its start): the time the runtime stamps the run's own
   * events and its ends with. A wall clock set back mid-run (an NTP step) would otherwise list the
   * run's later events before its earlier ones, which stores order by time first, and make its
   * durations negative.
   */
  stamp(): number {
    let floor = this.stampedAt;
    const run = this.pipelineRun;
    if (run !== undefined && run.lastAt > floor) floor = run.lastAt;
    this.stampedAt = Math.max(Date.now(), floor);
    return this.stampedAt;
  }

  /**
   * The run's dependency scope (what `ctx.use` calls). The container is built on the first call,
   * so runs whose steps never resolve a service never pay for one. A step passes its `attempt`:
   * the `__pause_service__` it resolves then acts for that attempt (see `AttemptPauseService`);
   * hooks pass none and get the run's own.
   */
  use<R>(fn: (deps: UseDependencyContext<RunState>) => R | Promise<R>, attempt?: StepAttempt): Promise<R> {
    // (not a function: passed on as it is, to be refused as it always was)
    if (attempt === undefined || typeof fn !== "function") return this.lend(fn);
    return this.lend((deps) => fn(this.containers.attemptDependencies(this, deps, attempt)));
  }

  /** Runs `fn` with the run's dependencies, building its service access on the first call. */
  private lend<R>(fn: (deps: UseDependencyContext<RunState>) => R | Promise<R>): Promise<R> {
    if (this.container !== undefined) return this.container.use(fn);
    try {
      // A run that has ended, or waits released from memory, has no services to lend (with or
      // without run services alike): that rejects, as every `use` failure does.
      if (this.store === undefined) {
        throw new SystemError(
          "INVALID_STATE",
          `run ${this.runId} is ${this.status}: its services are not available`,
        );
      }
      if (this.workflow.runTemplates.length > 0) return this.containers.containerFor(this).use(fn);
      // No run-scoped services: nothing needs a per-run container, so none is built.
      const deps = (this.directDeps ??= this.containers.directDependencies(this));
      return Promise.resolve(fn(deps));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The run's state now, wherever it lives: its store, its released checkpoint, or (queued) its
   * initial state; once the run has ended or left, the state it ended or left with.
   */
  currentState(): RunState {
    if (this.store !== undefined) return this.store.get() as RunState;
    if (this.released !== undefined) return this.released.state();
    if (this.initialState !== undefined) return this.initialState;
    const last = this.lastState;
    if (last === undefined) return {};
    return last instanceof ReleasedCheckpoint ? last.state() : (last.get() as RunState);
  }

  /**
   * Merges a signal's `patch` (a copy the run may keep) into the run's state, wherever it lives.
   * Throws `INVALID_INPUT` when the run waits as a JSON checkpoint and the patch is not JSON.
   */
  mergeSignal(patch: Record<string, unknown>): void {
    if (this.store !== undefined) {
      this.store.set(patch);
    } else if (this.released !== undefined) {
      try {
        this.released.patchState((state) => safeAssign(state, patch));
      } catch (cause) {
        // the released state is kept as JSON: what JSON cannot hold is refused, the state unchanged
        throw new SystemError(
          "INVALID_INPUT",
          `signal(${this.runId}, patch): the run waits as a JSON checkpoint past its pause window, so the patch must be JSON-serialisable (no BigInt, no cycles)`,
          { cause, details: { runId: this.runId } },
        );
      }
    } else if (this.initialState !== undefined) {
      safeAssign(this.initialState, patch);
    }
  }

  /**
   * A paused run's checkpoint as a JSON copy the caller owns, with its state as it is now (later
   * signals included) and where the run belongs. Throws `INVALID_STATE` when the state or event is
   * not JSON-serialisable.
   */
  exportCheckpoint(): RunCheckpoint | undefined {
    const released = this.released;
    const checkpoint = this.checkpoint;
    if (released === undefined && checkpoint === undefined) return undefined;
    try {
      // A released run's text is JSON already: parsed once (restore), state and event are copies
      // nobody else holds (no second round trip); only the small waits, which the record keeps and
      // shares, go through JSON here.
      if (released !== undefined) {
        const copy = released.restore(
          this.runId,
          this.pipeline.id,
          JSON.parse(JSON.stringify(this.waits)) as PipelineCheckpoint["pause"],
        );
        return this.placed(copy, copy.state);
      }
      return JSON.parse(JSON.stringify(this.placed(checkpoint!, this.store?.get() ?? checkpoint!.state)));
    } catch (cause) {
      throw new SystemError(
        "INVALID_STATE",
        `checkpoint(${this.runId}): the run's state or event is not JSON-serialisable (cyclic, BigInt or too deep)`,
        { cause, details: { runId: this.runId } },
      );
    }
  }

  /**
   * `checkpoint` with `state`, and where the run belongs: the fields of a {@link RunCheckpoint} in
   * their order (no `event` key when there is no event, as JSON would give it back).
   */
  private placed(checkpoint: PipelineCheckpoint<RunState>, state: RunState): RunCheckpoint {
    const data: Partial<RunCheckpoint> = {
      version: 1,
      runId: this.runId,
      workflowId: this.workflow.id,
      triggerId: this.triggerId,
    };
    // (a run without a key has no `key` field, as JSON would give it back)
    if (this.key !== undefined) data.key = this.key;
    data.pipelineId = checkpoint.pipelineId;
    data.nextStage = checkpoint.nextStage;
    data.nextStageId = checkpoint.nextStageId;
    // absent from a checkpoint made before the field existed: it stays absent, as it came
    if (checkpoint.pausedAfterStageId !== undefined) data.pausedAfterStageId = checkpoint.pausedAfterStageId;
    data.state = state;
    if (checkpoint.event !== undefined) data.event = checkpoint.event;
    data.pause = checkpoint.pause;
    data.seq = checkpoint.seq;
    data.startedAt = this.startedAt;
    data.dispatched = this.managed;
    if (this.concurrencyKey !== undefined) data.concurrencyKey = this.concurrencyKey;
    // absent for a run without one, as in a checkpoint made before the field existed
    if (this.runDeadline !== undefined) data.runDeadline = this.runDeadline.at;
    return data as RunCheckpoint;
  }

  /**
   * Forgets the live context (state store, services, pipeline objects, live checkpoint) and returns
   * the service container, if one was built, for the caller to dispose.
   */
  dropLiveContext(): ArtifactContainer | undefined {
    const container = this.container;
    this.container = undefined;
    this.store = undefined;
    this.checkpoint = undefined;
    this.controller = undefined;
    this.pauseService = undefined;
    this.directDeps = undefined;
    return container;
  }

  /**
   * Lets go of what the run holds in this runtime, as it ends or leaves: its live context and its
   * released checkpoint are dropped and its state store is disposed (which takes it out of the
   * host's StoreRegistry); whichever of the two held the state is kept for `currentState()`.
   * Returns the service container, if one was built, for the caller to dispose.
   */
  letGo(): ArtifactContainer | undefined {
    const store = this.store;
    const released = this.released;
    const container = this.dropLiveContext();
    this.released = undefined;
    this.lastState = store ?? released;
    store?.dispose();
    return container;
  }

  /**
   * Its result is decided, or its pipeline run has ended and the runtime decides it a microtask
   * later (a run whose last steps ran synchronously, inside the `emit` of the event that resumed
   * it): either way the result holds the state the pipeline ended with, so a patch merged into the
   * state now (a `signal`) would be lost.
   */
  get resultDecided(): boolean {
    if (this.finished) return true;
    const status = this.pipelineRun?.status;
    return status === "completed" || status === "failed" || status === "aborted";
  }

  /** Its result is decided (it goes on to `onComplete`, bookkeeping, `onCleanup`): `finished` from now on. */
  markDecided(): void {
    this.finished = true;
    const waiters = this.decidedWaiters;
    if (waiters === undefined) return;
    this.decidedWaiters = undefined;
    for (const resolve of waiters) resolve();
  }

  /** The `TIMEOUT` it fails with once its deadline has passed (its end then requested), else `undefined`. */
  get deadlineFailure(): SystemError | undefined {
    return this.runDeadline?.passed;
  }

  /**
   * The error its hooks' `ctx.signal` fires with, once its end was requested: `ABORTED`, or the
   * `TIMEOUT` of its deadline.
   */
  hookAbortError(): SystemError {
    return (
      this.deadlineFailure ?? new SystemError("ABORTED", `run ${this.runId} was aborted: ${this.abortReason}`)
    );
  }

  /** Ends `run` (its pipeline run, not executed yet or running) as was requested: aborted, or failed at its deadline. */
  endAsRequested(run: PipelineRun<RunState>): void {
    const failure = this.deadlineFailure;
    if (failure !== undefined) run.fail(failure);
    else run.abort(this.abortReason);
  }

  /** An abort was requested, for `reason`: `abortRequested` from now on. */
  markAbortRequested(reason: string): void {
    this.abortReason = reason;
    this.requestEnd();
  }

  /** Its deadline passed, and it fails with `failure` (a `TIMEOUT`): `abortRequested` from now on. */
  markDeadlinePassed(deadline: RunDeadline, failure: SystemError): void {
    deadline.passed = failure;
    this.requestEnd();
  }

  private requestEnd(): void {
    this.abortRequested = true;
    const waiters = this.abortWaiters;
    if (waiters === undefined) return;
    this.abortWaiters = undefined;
    for (const resolve of waiters) resolve();
  }

  /**
   * Calls `waiter` once an abort is requested (at once if one was), unless it is forgotten first
   * (`forgetAbortWaiter`): for a wait that may end otherwise, and must not leave a waiter behind
   * each time it does (a run that pauses often).
   */
  onAbortRequested(waiter: () => void): void {
    if (this.abortRequested) waiter();
    else (this.abortWaiters ??= []).push(waiter);
  }

  /** Forgets a waiter given to `onAbortRequested` that has not been called. */
  forgetAbortWaiter(waiter: () => void): void {
    const waiters = this.abortWaiters;
    const at = waiters === undefined ? -1 : waiters.indexOf(waiter);
    if (at !== -1) waiters!.splice(at, 1);
  }

  /**
   * `work`'s outcome, or `undefined` as soon as an abort (or the run's deadline) is requested,
   * whichever comes first (at once when one was requested already). Unlike a race with a promise
   * of the abort, it leaves no waiter behind once `work` settles: a run that pauses and resumes
   * many times, each time waiting for a hook, holds nothing more for it.
   */
  raceAbort<T>(work: Promise<T>): Promise<T | undefined> {
    if (this.abortRequested) return Promise.resolve(undefined);
    return new Promise<T | undefined>((resolve, reject) => {
      const aborted = () => resolve(undefined);
      this.onAbortRequested(aborted);
      work.then(
        (value) => {
          this.forgetAbortWaiter(aborted);
          resolve(value);
        },
        (error: unknown) => {
          this.forgetAbortWaiter(aborted);
          reject(error);
        },
      );
    });
  }

  /** Resolves once the run's result is decided (at once if it is), before its last hooks run. */
  whenDecided(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return new Promise((resolve) => {
      (this.decidedWaiters ??= []).push(resolve);
    });
  }

  /** Resolves with the run's final result once it has finished. */
  whenFinished(): Promise<RunResult> {
    return new Promise((resolve) => {
      (this.finishWaiters ??= []).push(resolve);
    });
  }
}

const NO_WAITS: readonly PauseRequestData[] = Object.freeze([]);

export { NO_WAITS };
