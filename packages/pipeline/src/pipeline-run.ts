import {
  describeKind,
  describeThrown,
  err,
  isPlainObject,
  isThenable,
  ok,
  SystemError,
} from "@sluice/errors";
import { type AbortSource, LinkedAbort, MAX_TIMER_MS, sleep, withTimeout } from "./abort-timing.js";
import { createCheckpoint } from "./checkpoint.js";
import type { CompiledPipeline, CompiledStage, CompiledStep, FlatStep } from "./compiled-pipeline.js";
import { NO_TIME, RunScope } from "./run-scope.js";
import { RunStepContext } from "./step-context.js";
import type {
  DependencyScope,
  PauseRequest,
  PipelineCheckpoint,
  PipelineEventType,
  PipelineLifecycleEvent,
  PipelineObserver,
  PipelineResult,
  PipelineResultMetadata,
  PipelineStatus,
  ResumeCause,
  StateAccess,
} from "./types.js";

/** @internal Where a run begins: from scratch (`start` 0, no patch) or from a checkpoint. */
export interface RunResume<S extends object> {
  readonly startStage: number;
  readonly seq: number;
  readonly patch: Partial<S> | undefined;
  /** What resumed the run, for its `run.resumed` event (read once and copied by `restore`). */
  readonly resumedBy: ResumeCause;
}

// The outcome promise's executor is shared by every run: it hands the resolver over through this
// slot (executors run synchronously), so making the promise allocates no closure.
let capturedResolve: ((result: any) => void) | undefined;
function captureResolve(resolve: (result: any) => void): void {
  capturedResolve = resolve;
}

function notAPatch(step: CompiledStep<any>, out: unknown): SystemError {
  return new SystemError(
    "INVALID_INPUT",
    `${step.path}: "action" must return a plain object (a state patch) or nothing, but returned ${describeKind(out)}`,
  );
}

// Used with Promise.all in concurrent stages: a failing step rejects so the stage fails at once.
function rejectOnFailure(failure: SystemError | undefined): void {
  if (failure !== undefined) throw failure;
}

/**
 * A fault outside any step as a `SystemError` (`INVALID_STATE`, the thrown value as `cause`). Its
 * message comes from `describeThrown`, which never throws, whatever was thrown.
 */
function internalFault(thrown: unknown, context: string): SystemError {
  return SystemError.is(thrown)
    ? thrown
    : new SystemError("INVALID_STATE", `${context}: ${describeThrown(thrown)}`, { cause: thrown });
}

/**
 * A request the checkpoint can keep as it is meant: a plain object (the checkpoint copies its own
 * fields and goes through JSON, so another object's data would be lost there). One whose prototype
 * cannot be read (a hostile Proxy) is not.
 */
function isPauseRequest(request: unknown): request is PauseRequest {
  try {
    return isPlainObject(request);
  } catch {
    return false;
  }
}

/** What `readEndState` gives for a state store whose `get()` threw. */
const UNREADABLE: unique symbol = Symbol("sluice.pipeline.unreadableState");

function abortError(source: AbortSource): SystemError {
  return SystemError.is(source.reason)
    ? source.reason
    : new SystemError("ABORTED", "step aborted", { cause: source.reason });
}

/**
 * One execution of a pipeline: from its first stage (`Pipeline.start`) or from a checkpoint
 * (`Pipeline.restore`) until it completes, pauses at a stage boundary, fails or is aborted.
 * Made by `Pipeline`; call `execute()` once.
 *
 * @example
 * ```ts
 * const run = pipeline.start({ runId: "r1", state });
 * const result = await run.execute();
 * if (result.ok && result.value.status === "paused") save(result.value.checkpoint);
 * ```
 */
export class PipelineRun<S extends object> extends RunScope<S> {
  private runStatus: PipelineStatus = "idle";
  private stageIndex = -1;
  private stepId: string | undefined;
  private settled = false;
  /** True while `executeThen` runs the synchronous start of the run. */
  private starting = false;
  // How the run ended, kept as fields: the result object is only built when someone asks for it
  // (an engine reading them through executeThen never does).
  private delivered = false;
  private builtResult: PipelineResult<S> | undefined = undefined;
  private endState: S | undefined = undefined;
  private endError: SystemError | undefined = undefined;
  private endCheckpoint: PipelineCheckpoint<S> | undefined = undefined;
  private endStage: string | undefined = undefined;
  private endStep: string | undefined = undefined;
  private endAttempts: number | undefined = undefined;
  // NO_TIME until the run ends (0 is a time: a fake clock set to the epoch)
  private endedAt = NO_TIME;
  /** When the current stage and step started (read only while observed, for their durations). */
  private stageStartedAt = 0;
  private stepStartedAt = 0;
  private startedAt = 0;
  private pauseRequests: PauseRequest[] | undefined;
  /** Attempts that a dependency asked to be told the end of (`onEnd`), until they are told. */
  private endWatched: RunStepContext<S>[] | undefined = undefined;
  private outcome: Promise<PipelineResult<S>> | undefined;
  private resolveOutcome: ((result: PipelineResult<S>) => void) | undefined;
  /** Set by `executeThen`: told the run has ended instead of resolving a promise. */
  private onSettled: ((run: PipelineRun<S>, context: any) => void) | undefined;
  /** The second argument `onSettled` is called with. */
  private settledContext: unknown = undefined;
  private readonly requestedStart: number | undefined;
  private readonly pipeline: CompiledPipeline<S>;
  private readonly resume: RunResume<S> | undefined;
  // Only set while listening to RunOptions.signal.
  private externalAbort: { signal: AbortSignal; listener: () => void } | undefined;

  /** @internal Use `Pipeline.start` or `Pipeline.restore`. */
  constructor(
    pipeline: CompiledPipeline<S>,
    runId: string,
    state: StateAccess<S>,
    event: unknown,
    dependencies: DependencyScope<S> | undefined,
    observer: PipelineObserver | undefined,
    onObserverError: ((error: unknown, event: PipelineLifecycleEvent) => void) | undefined,
    signal: AbortSignal | undefined,
    startedAt: number | undefined,
    resume: RunResume<S> | undefined,
  ) {
    super(
      runId,
      pipeline.id,
      state,
      event,
      dependencies,
      observer,
      onObserverError,
      resume === undefined ? 0 : resume.seq,
    );
    this.requestedStart = startedAt;
    this.pipeline = pipeline;
    this.resume = resume;
    this.externalAbort = undefined;
    if (signal === undefined) {
      // nothing to listen to
    } else if (signal.aborted) {
      this.abort(signal.reason);
    } else {
      const listener = (): void => this.abort(signal.reason);
      this.externalAbort = { signal, listener };
      signal.addEventListener("abort", listener, { once: true });
    }
  }

  /** Where the run is: `idle` until `execute()`, then `running`, then how it ended. */
  get status(): PipelineStatus {
    return this.runStatus;
  }

  /** The id of the stage being run, while the run is running; otherwise `undefined`. */
  get currentStage(): string | undefined {
    return this.runStatus === "running" && this.stageIndex >= 0
      ? this.pipeline.stages[this.stageIndex]?.id
      : undefined;
  }

  /**
   * Asks the run to pause once the current stage has finished: the next stage does not start and
   * the result is `paused` with a checkpoint whose `pause` lists every request made meanwhile. A
   * request in the last stage still pauses (the checkpoint then has no stage left to run). If the
   * stage fails or the run is aborted, the requests are dropped. The checkpoint keeps a shallow copy
   * of `request`, made when the run pauses (or `request` itself when it is frozen): edits to its
   * fields after that do not reach the checkpoint.
   *
   * @throws SystemError `INVALID_STATE` when the run is not running; `INVALID_INPUT` when `request`
   * is not a plain object (a `Map`, a `Date` or a class instance would reach the checkpoint as `{}`
   * or as a string, its data lost).
   */
  requestPause(request: PauseRequest): void {
    if (this.runStatus !== "running") {
      throw new SystemError(
        "INVALID_STATE",
        `run "${this.runId}" is ${this.runStatus}: a pause can only be requested while the run is running`,
      );
    }
    if (!isPauseRequest(request)) {
      throw new SystemError(
        "INVALID_INPUT",
        `run "${this.runId}": a pause request must be a plain object (got ${describeKind(request)})`,
      );
    }
    if (this.pauseRequests === undefined) this.pauseRequests = [request];
    else this.pauseRequests.push(request);
  }

  /**
   * @internal Whether the run is running and at step `stepId` of a sequential stage: what tells
   * the context of an inline step, which is not told when it ends, whether its attempt still runs.
   */
  isRunningStep(stepId: string): boolean {
    return this.runStatus === "running" && this.stepId === stepId;
  }

  /**
   * @internal `attempt` is to be told its end (`StepAttempt.onEnd`): the engine tells it when it
   * ends it, and the run tells those still waiting when it stops (the engine may never get back to
   * an attempt whose action ignores its signal) or when an inline step ends.
   */
  watchEnd(attempt: RunStepContext<S>): void {
    const watched = this.endWatched;
    if (watched === undefined) this.endWatched = [attempt];
    else watched.push(attempt);
  }

  /** @internal `attempt` has been told its end. */
  unwatchEnd(attempt: RunStepContext<S>): void {
    const watched = this.endWatched;
    if (watched === undefined) return;
    const at = watched.indexOf(attempt);
    if (at !== -1) watched.splice(at, 1);
    if (watched.length === 0) this.endWatched = undefined;
  }

  /**
   * An inline step's attempt has `completed` or `failed`: tells it, if it was to be told. (Only
   * that attempt can be waiting: an earlier step's has ended, and nothing runs beside an inline
   * step.) Call it only when `endWatched` is set: the common case pays one field check.
   */
  private endInlineAttempt(outcome: "completed" | "failed"): void {
    const watched = this.endWatched!;
    this.endWatched = undefined;
    let fault: { thrown: unknown } | undefined;
    for (let i = 0; i < watched.length; i++) {
      try {
        watched[i]!.end(outcome);
      } catch (thrown) {
        fault ??= { thrown };
      }
    }
    if (fault !== undefined) throw fault.thrown;
  }

  /** Withdraws the pause requests that `predicate` matches and that have not taken effect yet. */
  withdrawPause(predicate: (request: PauseRequest) => boolean): void {
    const requests = this.pauseRequests;
    if (requests === undefined) return;
    // decided for every request before any is dropped: a predicate that throws changes nothing
    const kept: PauseRequest[] = [];
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i]!;
      if (!predicate(request)) kept.push(request);
    }
    this.pauseRequests = kept;
  }

  /**
   * Aborts the run: every step's `ctx.signal` fires, no further step, retry or stage starts (an
   * observer calling it on `stage.started` or `step.started` keeps that stage's steps, or that step,
   * from running), and `execute()` resolves `aborted` at once, without waiting for a step that
   * ignores its signal (or a `when` guard that never settles).
   * Before `execute()` it makes the run end `aborted` without running anything. After the run has
   * ended it does nothing.
   * @param reason why: the `cause` of the `ABORTED` error, and quoted in its message (`run "r1" of
   * pipeline "p" was aborted: replaced by a newer run`), which `run.aborted` records.
   */
  abort(reason?: unknown): void {
    const status = this.runStatus;
    if (status !== "idle" && status !== "running") return;
    // A step has failed for good (set before its step.failed): the run fails whatever comes next,
    // and an observer aborting on step.failed or stage.failed must not turn that into "aborted".
    if (this.endError !== undefined) return;
    // the reason is in the message too, so the run.aborted event and the steps' ctx.signal say why
    const error =
      reason === undefined
        ? new SystemError("ABORTED", `run "${this.runId}" of pipeline "${this.pipeline.id}" was aborted`)
        : new SystemError(
            "ABORTED",
            `run "${this.runId}" of pipeline "${this.pipeline.id}" was aborted: ${describeThrown(reason)}`,
            { cause: reason },
          );
    this.runStatus = "aborted";
    this.fireAbort(error);
    if (status === "running") this.finishAborted();
  }

  /**
   * Fails the run from outside with `error`, as {@link PipelineRun.abort} ends it aborted: every
   * step's `ctx.signal` fires with `error` itself as its reason, no further step, retry or stage
   * starts, and `execute()` resolves `{ ok: false, error }` at once, without waiting for a step that
   * ignores its signal (whatever such a step returns later is dropped). The run's last event is
   * `run.failed` with `error`; the step and stage it was in get no end event of their own, as with
   * an abort. For a limit the engine does not know of, such as a deadline a host keeps for the whole
   * run. Before `execute()` it makes the run end `failed` without running anything (`run.failed`
   * its only event). After the run has ended, once it has been aborted, or once a step has failed
   * for good, it does nothing: the run ends as it would have.
   *
   * @throws SystemError `INVALID_INPUT` when `error` is not a `SystemError` (the run is unchanged).
   */
  fail(error: SystemError): void {
    if (!SystemError.is(error)) {
      throw new SystemError(
        "INVALID_INPUT",
        `run "${this.runId}": fail(error) takes a SystemError, the error the run fails with (got ${describeKind(error)})`,
      );
    }
    const status = this.runStatus;
    if (status !== "idle" && status !== "running") return;
    if (this.endError !== undefined) return;
    this.runStatus = "failed";
    this.endError = error;
    this.fireAbort(error);
    if (status === "running") this.finishFailedFromOutside();
  }

  /**
   * Runs the pipeline and resolves with what happened; never rejects. A failing step gives
   * `{ ok: false, error }` with code `STEP_FAILED` (the thrown value as `cause`, whatever it is, even
   * one `String()` cannot convert) or `TIMEOUT`.
   * Calling it again returns the same promise.
   */
  execute(): Promise<PipelineResult<S>> {
    if (this.outcome !== undefined) return this.outcome;
    if (this.delivered) {
      this.outcome = Promise.resolve(this.result!);
      return this.outcome;
    }
    if (this.onSettled !== undefined) {
      this.outcome = new Promise<PipelineResult<S>>(captureResolve);
      const resolve = capturedResolve!;
      capturedResolve = undefined;
      const notify = this.onSettled;
      this.onSettled = (run, context) => {
        resolve(run.result!);
        notify(run, context);
      };
      return this.outcome;
    }
    if (this.begin(false)) {
      this.outcome = new Promise<PipelineResult<S>>(captureResolve);
      this.resolveOutcome = capturedResolve;
      capturedResolve = undefined;
      // drive() never rejects: it catches everything itself, so no handler is attached here.
      void (this.pipeline.plain ? this.drivePlain() : this.drive());
    } else {
      this.abortedBeforeStart();
      this.delivered = true;
      this.outcome = Promise.resolve(this.result!);
    }
    return this.outcome;
  }

  /**
   * @internal Runs like `execute()` but calls `onSettled(run, context)` when the run has ended,
   * instead of resolving a promise, for an engine that has its own promise to resolve: one promise
   * and one tick fewer per run, with `context` one callback serves every run (no closure per run),
   * and the engine reads how the run ended from `status`, `finalState`, `failure`, `checkpoint`,
   * `finishedAt` and `durationMs` (no result object is built unless `result` is read). It is
   * called synchronously when the run's last stage ends after the run has waited on something,
   * and in a later microtask when the run ends within `executeThen` itself (every step was
   * synchronous) or from outside (`abort`): never inside its caller. Call at most once, instead of
   * `execute()`; a later `execute()` returns a promise of the same result.
   */
  executeThen<C>(onSettled: (run: PipelineRun<S>, context: C) => void, context: C): void {
    if (this.outcome !== undefined || this.onSettled !== undefined || this.delivered) {
      throw new SystemError("INVALID_STATE", `run "${this.runId}" has already been executed`);
    }
    this.onSettled = onSettled;
    this.settledContext = context;
    if (this.begin(true)) {
      this.starting = true;
      void (this.pipeline.plain ? this.drivePlain() : this.drive());
      this.starting = false;
    } else {
      this.abortedBeforeStart();
      queueMicrotask(() => this.deliver());
    }
  }

  /** @internal The run's result once it has ended, else `undefined` (built on first read). */
  get result(): PipelineResult<S> | undefined {
    if (this.builtResult !== undefined || this.endedAt === NO_TIME) return this.builtResult;
    const metadata: PipelineResultMetadata = {
      runId: this.runId,
      pipelineId: this.pipeline.id,
      durationMs: this.endedAt - this.startedAt,
      finishedAt: this.endedAt,
    };
    if (this.endStage !== undefined) metadata.stage = this.endStage;
    if (this.endStep !== undefined) metadata.step = this.endStep;
    if (this.observerFailures > 0) metadata.observerFailures = this.observerFailures;
    if (this.endAttempts !== undefined) metadata.attempts = this.endAttempts;
    const status = this.runStatus;
    this.builtResult =
      status === "failed"
        ? err(this.endError!, metadata)
        : status === "paused"
          ? ok({ status, state: this.endState!, checkpoint: this.endCheckpoint! }, metadata)
          : ok({ status: status as "completed" | "aborted", state: this.endState! }, metadata);
    return this.builtResult;
  }

  /** @internal Once ended (not failed): the state it ended with. */
  get finalState(): S | undefined {
    return this.endState;
  }

  /** @internal Once failed: why. */
  get failure(): SystemError | undefined {
    return this.endError;
  }

  /** @internal Once paused: where to continue from. */
  get checkpoint(): PipelineCheckpoint<S> | undefined {
    return this.endCheckpoint;
  }

  /** @internal Once ended: epoch ms when this execution ended. */
  get finishedAt(): number {
    return this.endedAt;
  }

  /** @internal Once ended: how long this execution took, ms. */
  get durationMs(): number {
    return this.endedAt - this.startedAt;
  }

  /**
   * Stamps the start; false when the run was aborted before it began (nothing runs then). With
   * `sameStretch`, a requested start was read from the clock in this same synchronous stretch, so
   * the run's first events share it (one clock read fewer, and `run.started` is the run's start).
   */
  private begin(sameStretch: boolean): boolean {
    this.tick();
    const requested = this.requestedStart;
    if (requested === undefined) this.startedAt = this.time();
    else {
      // the run's durations count from it: none of its events is stamped before it
      if (sameStretch) this.seedClock(requested);
      else this.stampNoEarlierThan(requested);
      this.startedAt = requested;
    }
    // aborted or failed from outside before it began
    if (this.runStatus !== "idle") return false;
    this.runStatus = "running";
    return true;
  }

  /** Ends a run aborted, or failed from outside (`fail`), before it began: nothing runs. */
  private abortedBeforeStart(): void {
    this.settled = true;
    if (this.runStatus === "failed") {
      this.emit("run.failed", undefined, undefined, undefined, this.endError);
      this.closed = true;
      this.detachExternal();
      this.end(undefined, undefined, undefined, undefined, undefined);
      return;
    }
    const state = this.readEndState();
    if (state === UNREADABLE) {
      this.emit("run.failed", undefined, undefined, undefined, this.endError);
    } else {
      this.emit("run.aborted", undefined, undefined, undefined, this.reason as SystemError);
    }
    this.closed = true;
    this.detachExternal();
    this.end(state === UNREADABLE ? undefined : state, undefined, undefined, undefined, undefined);
  }

  /**
   * The state an aborted run ends with, read before its terminal event so that event tells how it
   * really ended: a store whose `get()` throws (outside any step, where nothing else catches it)
   * makes the run end `failed` with `INVALID_STATE` instead (what it threw as `cause`), and this
   * returns `UNREADABLE` with `runStatus` and `endError` set accordingly.
   */
  private readEndState(): S | typeof UNREADABLE {
    try {
      return this.state.get() as S;
    } catch (thrown) {
      this.runStatus = "failed";
      this.endError = internalFault(thrown, `pipeline "${this.pipeline.id}" run "${this.runId}"`);
      return UNREADABLE;
    }
  }

  /**
   * The run loop of a plain pipeline (every stage sequential, every step simple): one flat list of
   * steps, and everything that does not wait done in small synchronous methods, so the async
   * frame V8 saves and restores at each await stays small. Does exactly what `drive` does.
   */
  private async drivePlain(): Promise<void> {
    try {
      const flat = this.pipeline.flat;
      for (let k = this.pipeline.flatStart[this.enter()]!; k < flat.length; k++) {
        const entry = flat[k]!;
        if (entry.first && !this.startPlainStage(entry.stage)) return;
        let out: unknown;
        try {
          out = this.startPlainStep(entry);
          if (isThenable(out)) out = await out;
        } catch (thrown) {
          this.failPlainStep(entry, thrown);
          return;
        }
        if (!this.finishPlainStep(entry, out)) return;
      }
      this.finishCompleted();
    } catch (thrown) {
      this.crash(thrown);
    }
  }

  /** Starts or resumes the run (its first event, a resume patch); returns the stage to run from. */
  private enter(): number {
    const resume = this.resume;
    if (resume === undefined) {
      this.emit("run.started");
      return 0;
    }
    if (resume.patch !== undefined) this.state.set(resume.patch);
    const first = resume.startStage;
    this.emit(
      "run.resumed",
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      this.observer === undefined ? undefined : this.resumedData(first, resume.resumedBy),
    );
    return first;
  }

  /** `run.resumed`'s data: the next stage's id and what resumed the run (only the fields it has). */
  private resumedData(first: number, cause: ResumeCause): Record<string, unknown> {
    const data: Record<string, unknown> = {
      nextStage: this.pipeline.stages[first]?.id ?? null,
      by: cause.by,
    };
    if (cause.event !== undefined) data.event = cause.event;
    if (cause.wait !== undefined) data.wait = cause.wait;
    return data;
  }

  /** Starts a stage of a plain pipeline; false when the run has ended (say, an observer aborted it). */
  private startPlainStage(stage: CompiledStage<S>): boolean {
    if (this.settled) return false;
    this.stageIndex = stage.index;
    if (this.observer !== undefined) this.stageStartedAt = this.time();
    this.emit("stage.started", stage.id);
    return !this.settled;
  }

  /**
   * Starts a plain step; returns what its action returned (nothing when an observer aborted the run
   * on `step.started`: the action does not run, and `finishPlainStep` sees the run has ended).
   */
  private startPlainStep(entry: FlatStep<S>): unknown {
    const stage = entry.stage;
    const step = entry.step;
    this.stepId = step.id;
    if (this.observer !== undefined) this.stepStartedAt = this.time();
    this.emit("step.started", stage.id, step.id, 1);
    if (this.settled) return undefined;
    return step.action(new RunStepContext(this, step, 1, this));
  }

  /**
   * Finishes a plain step that returned `out` (and its stage, for its last step). False when the
   * run has ended: aborted meanwhile, its patch failed, or it pauses here.
   */
  private finishPlainStep(entry: FlatStep<S>, out: unknown): boolean {
    this.tick();
    if (this.settled) return false;
    const stage = entry.stage;
    const step = entry.step;
    if (out !== undefined && out !== null) {
      try {
        this.applyPatch(out, step);
      } catch (thrown) {
        this.failPlainStep(entry, thrown);
        return false;
      }
    }
    if (this.endWatched !== undefined) this.endInlineAttempt("completed");
    const observed = this.observer !== undefined;
    this.emit(
      "step.completed",
      stage.id,
      step.id,
      1,
      undefined,
      observed ? this.time() - this.stepStartedAt : undefined,
    );
    // an observer may have aborted the run from any event
    if (!entry.last || this.settled) return !this.settled;
    return this.completeStage(stage);
  }

  /** A plain step threw (or its patch failed): the step, its stage and the run fail. */
  private failPlainStep(entry: FlatStep<S>, thrown: unknown): void {
    this.tick();
    if (this.settled) return;
    const stage = entry.stage;
    const step = entry.step;
    if (this.endWatched !== undefined) this.endInlineAttempt("failed");
    const observed = this.observer !== undefined;
    const failure = this.stepError(stage, step, 1, thrown);
    this.endError = failure;
    this.emit(
      "step.failed",
      stage.id,
      step.id,
      1,
      failure,
      observed ? this.time() - this.stepStartedAt : undefined,
    );
    this.failStage(stage, step.id, failure, 1);
  }

  /**
   * Ends a stage whose steps all succeeded (both loops): `stage.completed`, then the pause asked
   * for during it. False when the run ends here (it pauses, or an observer aborted it).
   */
  private completeStage(stage: CompiledStage<S>): boolean {
    this.stepId = undefined;
    this.emit(
      "stage.completed",
      stage.id,
      undefined,
      undefined,
      undefined,
      this.observer === undefined ? undefined : this.time() - this.stageStartedAt,
    );
    if (this.settled) return false;
    if (this.pauseRequests !== undefined && this.pauseRequests.length > 0) {
      this.finishPaused(stage);
      return false;
    }
    return true;
  }

  /** Ends a stage whose step `step` failed with `failure` (both loops): `stage.failed`, then the run fails. */
  private failStage(
    stage: CompiledStage<S>,
    step: string | undefined,
    failure: SystemError,
    attempts: unknown,
  ): void {
    this.emit(
      "stage.failed",
      stage.id,
      undefined,
      undefined,
      failure,
      this.observer === undefined ? undefined : this.time() - this.stageStartedAt,
    );
    this.finishFailed(stage, step, failure, attempts);
  }

  private async drive(): Promise<void> {
    try {
      const stages = this.pipeline.stages;
      const observed = this.observer !== undefined;
      for (let i = this.enter(); i < stages.length; i++) {
        if (this.settled) return;
        const stage = stages[i]!;
        this.stageIndex = i;
        if (observed) this.stageStartedAt = this.time();
        this.emit("stage.started", stage.id);
        // an observer may have aborted the run on stage.started: no step of it must start
        if (this.settled) return;
        let failure: SystemError | undefined;
        if (stage.concurrent) {
          failure = await this.runConcurrent(stage);
        } else {
          const steps = stage.steps;
          for (let j = 0; j < steps.length; j++) {
            if (this.settled) return;
            const step = steps[j]!;
            this.stepId = step.id;
            if (!step.simple) {
              failure = await this.runStep(stage, step, this);
              if (failure !== undefined) break;
              continue;
            }
            // The common case, inline: no per-step promise of our own, no closure.
            const stepStart = observed ? this.time() : 0;
            this.emit("step.started", stage.id, step.id, 1);
            // an observer may have aborted the run on step.started: the action must not start
            if (this.settled) return;
            try {
              let out = step.action(new RunStepContext(this, step, 1, this));
              if (isThenable(out)) out = await out;
              this.tick();
              if (this.settled) return;
              if (out !== undefined && out !== null) this.applyPatch(out, step);
            } catch (thrown) {
              this.tick();
              if (this.settled) return;
              if (this.endWatched !== undefined) this.endInlineAttempt("failed");
              failure = this.stepError(stage, step, 1, thrown);
              this.endError = failure;
              this.emit(
                "step.failed",
                stage.id,
                step.id,
                1,
                failure,
                observed ? this.time() - stepStart : undefined,
              );
              break;
            }
            if (this.endWatched !== undefined) this.endInlineAttempt("completed");
            this.emit(
              "step.completed",
              stage.id,
              step.id,
              1,
              undefined,
              observed ? this.time() - stepStart : undefined,
            );
          }
        }
        if (this.settled) return;
        if (failure !== undefined) {
          const details = failure.details;
          this.failStage(stage, this.stepId, failure, details === undefined ? undefined : details.attempts);
          return;
        }
        if (!this.completeStage(stage)) return;
      }
      this.finishCompleted();
    } catch (thrown) {
      this.crash(thrown);
    }
  }

  /** Only a fault outside any step gets here (a throwing state store, for one). */
  private crash(thrown: unknown): void {
    if (this.delivered) return;
    const stage = this.pipeline.stages[this.stageIndex];
    const error = internalFault(thrown, `pipeline "${this.pipeline.id}" run "${this.runId}"`);
    if (!this.settled) {
      this.finishFailed(stage, this.stepId, error, undefined);
      return;
    }
    this.runStatus = "failed";
    this.endError = error;
    this.end(undefined, undefined, stage?.id, this.stepId, undefined);
    this.deliver();
  }

  /**
   * Guard, attempts with backoff, timeout: every step that is not `simple`, and all concurrent ones.
   * `source` is the run itself in a sequential stage, the stage's own abort in a concurrent one.
   */
  private async runStep(
    stage: CompiledStage<S>,
    step: CompiledStep<S>,
    source: RunScope<S> | LinkedAbort,
  ): Promise<SystemError | undefined> {
    const observed = this.observer !== undefined;
    if (step.when !== undefined) {
      let pass: boolean;
      const guard = new RunStepContext(this, step, 1, source);
      try {
        pass = await step.when(guard);
        this.tick();
      } catch (thrown) {
        this.tick();
        if (this.settled || source.aborted) return abortError(source);
        const error = this.stepError(stage, step, 1, thrown, 'its "when" guard threw');
        guard.end("failed");
        this.failStep(stage, step, 1, error, undefined, source);
        return error;
      }
      guard.end("completed");
      if (this.settled || source.aborted) return abortError(source);
      if (!pass) {
        this.emit("step.skipped", stage.id, step.id);
        return undefined;
      }
    }
    const timeoutMs = step.timeoutMs;
    // the failed attempt this one retries: told of it, if a dependency asked (onRetry)
    let previous: RunStepContext<S> | undefined;
    for (let attempt = 1; ; attempt++) {
      const attemptStart = observed ? this.time() : 0;
      this.emit("step.started", stage.id, step.id, attempt);
      // an observer may have aborted the run on step.started: the attempt must not start
      if (this.settled || source.aborted) return abortError(source);
      const link = timeoutMs === undefined ? undefined : new LinkedAbort(source);
      let error: SystemError;
      const ctx = new RunStepContext(this, step, attempt, link ?? source);
      if (previous !== undefined) {
        try {
          previous.retriedBy(ctx);
        } catch (thrown) {
          // a fault of the dependency scope's: the run fails (the attempt does not run)
          link?.dispose();
          throw thrown;
        }
        // a retry callback may have aborted the run (or stopped the stage): the action must not run
        if (this.settled || source.aborted) {
          link?.dispose();
          return abortError(source);
        }
      }
      let completed = false;
      try {
        let out = step.action(ctx);
        if (isThenable(out)) {
          out =
            link === undefined || timeoutMs === undefined
              ? await out
              : await withTimeout(out, timeoutMs, link.controller, () =>
                  this.timeoutError(stage, step, attempt),
                );
        }
        this.tick();
        if (this.settled || source.aborted) return abortError(source);
        if (out !== undefined && out !== null) this.applyPatch(out, step);
        completed = true;
        ctx.end("completed");
        this.emit(
          "step.completed",
          stage.id,
          step.id,
          attempt,
          undefined,
          observed ? this.time() - attemptStart : undefined,
        );
        return undefined;
      } catch (thrown) {
        // what a completed attempt's end callbacks threw: a fault of the dependency scope's, which
        // fails the run, not a failure of the attempt to retry
        if (completed) throw thrown;
        this.tick();
        if (this.settled || source.aborted) return abortError(source);
        if (link?.signal.aborted && thrown === link.signal.reason && SystemError.is(thrown, "TIMEOUT")) {
          // timed out: the attempt may still run, but nothing it does later is the run's any more
          error = thrown;
          ctx.end("timed-out");
        } else {
          error = this.stepError(stage, step, attempt, thrown);
          // what the attempt did for the run (its waits) is undone before it is retried or fails
          ctx.end("failed");
        }
      } finally {
        link?.dispose();
      }
      if (attempt >= step.attempts) {
        this.failStep(stage, step, attempt, error, observed ? this.time() - attemptStart : undefined, source);
        return error;
      }
      previous = ctx;
      // Clamped to the longest timer: without maxBackoffMs the growing delay would pass it, and
      // setTimeout would then fire after 1 ms instead of waiting.
      // (a backoff of 0 stays 0: 0 × a factor that has grown to Infinity would be NaN)
      const delayMs =
        step.backoffMs === 0
          ? 0
          : Math.min(step.backoffMs * step.factor ** (attempt - 1), step.maxBackoffMs, MAX_TIMER_MS);
      this.emit(
        "step.retried",
        stage.id,
        step.id,
        attempt,
        error,
        observed ? this.time() - attemptStart : undefined,
        observed ? { delayMs, nextAttempt: attempt + 1 } : undefined,
      );
      // Even with no delay, wait one macrotask: a step that fails synchronously would otherwise
      // retry without ever yielding, and an abort from a timer or I/O could never land.
      // Waits on a link of its own in a concurrent stage: steps that all wait on the stage's signal
      // would put one listener each on it, and Node warns past ten (MaxListenersExceededWarning).
      if (source instanceof LinkedAbort) {
        const wait = new LinkedAbort(source);
        await sleep(delayMs, wait.signal);
        wait.dispose();
      } else await sleep(delayMs, source.signal);
      this.tick();
      if (this.settled || source.aborted) return abortError(source);
    }
  }

  /**
   * A step failed for good: `step.failed`, and in a concurrent stage its siblings stop at once,
   * before any of them resumes, so their later results are dropped (they see the stage aborted).
   */
  private failStep(
    stage: CompiledStage<S>,
    step: CompiledStep<S>,
    attempt: number,
    error: SystemError,
    durationMs: number | undefined,
    source: RunScope<S> | LinkedAbort,
  ): void {
    this.endError = error;
    this.emit("step.failed", stage.id, step.id, attempt, error, durationMs);
    if (source instanceof LinkedAbort) this.stopStage(stage, source, error, `step "${step.id}" failed`);
  }

  /** Fires a concurrent stage's abort (every sibling's `ctx.signal`) because of `failure`; once. */
  private stopStage(stage: CompiledStage<S>, link: LinkedAbort, failure: SystemError, why: string): void {
    if (link.aborted) return;
    link.abort(
      new SystemError("ABORTED", `${this.pipeline.path}.stages[${stage.index}]: stopped because ${why}`, {
        cause: failure,
      }),
    );
  }

  private async runConcurrent(stage: CompiledStage<S>): Promise<SystemError | undefined> {
    const link = new LinkedAbort(this);
    const steps = stage.steps;
    const runners: Promise<void>[] = [];
    // No step starts once the stage has stopped: an earlier step failed synchronously, or an
    // observer aborted the run.
    for (let j = 0; j < steps.length && !link.aborted; j++) {
      runners.push(this.runStep(stage, steps[j]!, link).then(rejectOnFailure));
    }
    try {
      await Promise.all(runners);
      return undefined;
    } catch (thrown) {
      // A failed step has stopped its siblings itself (failStep). Anything else rejecting is a
      // fault of the engine's own: the stage still stops, and fails with a SystemError.
      const failure = internalFault(thrown, `${this.pipeline.path}.stages[${stage.index}]`);
      const failed = failure.details?.step;
      if (typeof failed === "string") this.stepId = failed;
      this.stopStage(
        stage,
        link,
        failure,
        typeof failed === "string" ? `step "${failed}" failed` : "of a fault",
      );
      return failure;
    } finally {
      link.dispose();
    }
  }

  private applyPatch(out: unknown, step: CompiledStep<S>): void {
    const state = this.state;
    // (`set` takes a function as an updater, so only objects are left to a store that validates)
    if (typeof out !== "object" || (state.validatesPatches !== true && !isPlainObject(out)))
      throw notAPatch(step, out);
    try {
      state.set(out as Partial<S>);
    } catch (thrown) {
      // a store that checks patches itself: its refusal gets the step's own message
      if (!isPlainObject(out)) throw notAPatch(step, out);
      throw thrown;
    }
  }

  private stepError(
    stage: CompiledStage<S>,
    step: CompiledStep<S>,
    attempt: number,
    thrown: unknown,
    what = "failed",
  ): SystemError {
    return new SystemError(
      "STEP_FAILED",
      `${step.path} (stage "${stage.id}", step "${step.id}") ${what} on attempt ${attempt} of ${step.attempts}: ${describeThrown(thrown)}`,
      { cause: thrown, details: { stage: stage.id, step: step.id, attempts: attempt } },
    );
  }

  private timeoutError(stage: CompiledStage<S>, step: CompiledStep<S>, attempt: number): SystemError {
    return new SystemError(
      "TIMEOUT",
      `${step.path} (stage "${stage.id}", step "${step.id}") did not finish within ${step.timeoutMs} ms on attempt ${attempt} of ${step.attempts}; raise "timeoutMs" or make the step faster`,
      { details: { stage: stage.id, step: step.id, attempts: attempt, timeoutMs: step.timeoutMs } },
    );
  }

  /** Records how the run ended (its status is already set); `result` is built from this on demand. */
  private end(
    state: S | undefined,
    checkpoint: PipelineCheckpoint<S> | undefined,
    stage: string | undefined,
    step: string | undefined,
    attempts: number | undefined,
  ): void {
    this.endState = state;
    this.endCheckpoint = checkpoint;
    this.endStage = stage;
    this.endStep = step;
    this.endAttempts = attempts;
    this.builtResult = undefined;
    this.endedAt = this.time();
  }

  private close(type: PipelineEventType, stage?: string, error?: SystemError, data?: unknown): void {
    this.settled = true;
    if (this.endWatched !== undefined) this.stopAttempts();
    this.emit(
      type,
      stage,
      undefined,
      undefined,
      error,
      this.observer === undefined ? undefined : this.time() - this.startedAt,
      data,
    );
    this.closed = true;
    this.pauseRequests = undefined;
    this.detachExternal();
  }

  /** The run stops without the attempts still waiting to be told their end: tells them `stopped`. */
  private stopAttempts(): void {
    const watched = this.endWatched!;
    this.endWatched = undefined;
    for (let i = 0; i < watched.length; i++) watched[i]!.stop();
  }

  private detachExternal(): void {
    const external = this.externalAbort;
    if (external !== undefined) {
      this.externalAbort = undefined;
      external.signal.removeEventListener("abort", external.listener);
    }
  }

  private deliver(): void {
    if (this.delivered) return;
    this.delivered = true;
    const resolve = this.resolveOutcome;
    if (resolve !== undefined) {
      this.resolveOutcome = undefined;
      resolve(this.result!);
      return;
    }
    const onSettled = this.onSettled;
    if (onSettled === undefined) return;
    this.onSettled = undefined;
    if (this.starting) {
      // finished without ever waiting: still inside executeThen, whose caller must not be re-entered
      queueMicrotask(() => this.notify(onSettled));
      return;
    }
    this.notify(onSettled);
  }

  private notify(onSettled: (run: PipelineRun<S>, context: any) => void): void {
    try {
      onSettled(this, this.settledContext);
    } catch (error) {
      // The engine's callback failing is its bug, not the run's: surface it, never swallow it.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  private finishCompleted(): void {
    if (this.settled) return;
    // Read before run.completed: a store that throws here fails the run (crash) instead, so the
    // terminal event and the result agree.
    const state = this.state.get() as S;
    this.runStatus = "completed";
    this.close("run.completed");
    this.end(state, undefined, undefined, undefined, undefined);
    this.deliver();
  }

  /** Ends the run paused at the end of `stage`, before the stage after it. */
  private finishPaused(stage: CompiledStage<S>): void {
    if (this.settled) return;
    const requests = this.pauseRequests!;
    // Built before run.paused: a store that throws here fails the run (crash) instead, so the
    // terminal event and the result agree. run.paused, emitted next, takes the next seq.
    const state = this.state.get();
    const checkpoint = createCheckpoint(
      this.runId,
      this.pipeline,
      stage,
      state,
      this.event,
      requests,
      this.seq + 1,
    );
    this.runStatus = "paused";
    this.close(
      "run.paused",
      stage.id,
      undefined,
      this.observer === undefined
        ? undefined
        : { nextStage: checkpoint.nextStageId, pause: requests.slice() },
    );
    this.end(state as S, checkpoint, stage.id, undefined, undefined);
    this.deliver();
  }

  private finishFailed(
    stage: CompiledStage<S> | undefined,
    step: string | undefined,
    error: SystemError,
    attempts: unknown,
  ): void {
    if (this.settled) return;
    this.runStatus = "failed";
    this.close("run.failed", stage?.id, error);
    this.endError = error;
    this.end(undefined, undefined, stage?.id, step, typeof attempts === "number" ? attempts : undefined);
    this.deliver();
  }

  /** Ends, as `failed` with `endError`, a running run that `fail()` failed from outside. */
  private finishFailedFromOutside(): void {
    if (this.settled) return;
    // as finishAborted: from outside the run's synchronous stretch
    this.tick();
    const stage = this.pipeline.stages[this.stageIndex];
    this.close("run.failed", stage?.id, this.endError);
    this.end(undefined, undefined, stage?.id, this.stepId, undefined);
    if (this.onSettled !== undefined) queueMicrotask(() => this.deliver());
    else this.deliver();
  }

  private finishAborted(): void {
    if (this.settled) return;
    // abort() comes from outside the run's synchronous stretch (a timer, an event, a host call
    // while a step awaits): the shared timestamp is the one the run took before it last waited.
    this.tick();
    const stage = this.pipeline.stages[this.stageIndex];
    const state = this.readEndState();
    if (state === UNREADABLE) this.close("run.failed", stage?.id, this.endError);
    else this.close("run.aborted", stage?.id, this.reason as SystemError);
    this.end(state === UNREADABLE ? undefined : state, undefined, stage?.id, this.stepId, undefined);
    // abort() comes from outside the run: an executeThen callback must not run inside its caller.
    if (this.onSettled !== undefined) queueMicrotask(() => this.deliver());
    else this.deliver();
  }
}
