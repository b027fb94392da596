import { err, ok, SystemError } from "@sluice/errors";
import { type AbortSource, isThenable, LinkedAbort, sleep, withTimeout } from "./abort-timing.js";
import { createCheckpoint } from "./checkpoint.js";
import type { CompiledPipeline, CompiledStage, CompiledStep } from "./compiled-pipeline.js";
import { RunScope } from "./run-scope.js";
import { RunStepContext } from "./step-context.js";
import type {
  PauseRequest,
  PipelineEventType,
  PipelineResult,
  PipelineResultMetadata,
  PipelineStatus,
  RunOptions,
} from "./types.js";

/** @internal Where a run begins: from scratch (`start` 0, no patch) or from a checkpoint. */
export interface RunResume<S extends object> {
  readonly startStage: number;
  readonly seq: number;
  readonly patch: Partial<S> | undefined;
}

// The outcome promise's executor is shared by every run: it hands the resolver over through this
// slot (executors run synchronously), so making the promise allocates no closure.
let capturedResolve: ((result: any) => void) | undefined;
function captureResolve(resolve: (result: any) => void): void {
  capturedResolve = resolve;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return `an instance of ${value.constructor?.name ?? "a class"}`;
  return typeof value;
}

const OBJECT_PROTOTYPE = Object.prototype;

function isPlainObject(value: unknown): value is object {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === OBJECT_PROTOTYPE) return true;
  // Object.prototype of any realm (its own prototype is null), or a null-prototype object.
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function reasonOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}

// Used with Promise.all in concurrent stages: a failing step rejects so the stage fails at once.
function rejectOnFailure(failure: SystemError | undefined): void {
  if (failure !== undefined) throw failure;
}

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
export class PipelineRun<S extends object> {
  /** The run's id, as given in the options. */
  readonly runId: string;
  private runStatus: PipelineStatus = "idle";
  private stageIndex = -1;
  private stepId: string | undefined;
  private settled = false;
  /** True while `executeThen` runs the synchronous start of the run. */
  private starting = false;
  /** The result, once delivered. */
  private finalResult: PipelineResult<S> | undefined;
  private startedAt = 0;
  private pauseRequests: PauseRequest[] | undefined;
  private outcome: Promise<PipelineResult<S>> | undefined;
  private resolveOutcome: ((result: PipelineResult<S>) => void) | undefined;
  /** Set by `executeThen`: told the result instead of a promise. */
  private onSettled: ((result: PipelineResult<S>, context: any) => void) | undefined;
  /** The second argument `onSettled` is called with. */
  private settledContext: unknown = undefined;
  private readonly requestedStart: number | undefined;
  private readonly pipeline: CompiledPipeline<S>;
  private readonly scope: RunScope<S>;
  private readonly resume: RunResume<S> | undefined;
  // Only set while listening to RunOptions.signal.
  private externalAbort: { signal: AbortSignal; listener: () => void } | undefined;

  /** @internal Use `Pipeline.start` or `Pipeline.restore`. */
  constructor(
    pipeline: CompiledPipeline<S>,
    options: RunOptions<S>,
    event: unknown,
    resume: RunResume<S> | undefined,
  ) {
    this.runId = options.runId;
    this.requestedStart = options.startedAt;
    this.pipeline = pipeline;
    this.resume = resume;
    this.scope = new RunScope(
      options.runId,
      pipeline.id,
      options.state,
      event,
      options.dependencies,
      options.observer,
      options.onObserverError,
      resume === undefined ? 0 : resume.seq,
    );
    const external = options.signal;
    this.externalAbort = undefined;
    if (external === undefined) {
      // nothing to listen to
    } else if (external.aborted) {
      this.abort(external.reason);
    } else {
      const listener = (): void => this.abort(external.reason);
      this.externalAbort = { signal: external, listener };
      external.addEventListener("abort", listener, { once: true });
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
   * stage fails or the run is aborted, the requests are dropped.
   *
   * @throws SystemError `INVALID_STATE` when the run is not running; `INVALID_INPUT` when `request`
   * is not an object.
   */
  requestPause(request: PauseRequest): void {
    if (this.runStatus !== "running") {
      throw new SystemError(
        "INVALID_STATE",
        `run "${this.runId}" is ${this.runStatus}: a pause can only be requested while the run is running`,
      );
    }
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      throw new SystemError("INVALID_INPUT", `run "${this.runId}": a pause request must be a plain object`);
    }
    if (this.pauseRequests === undefined) this.pauseRequests = [request];
    else this.pauseRequests.push(request);
  }

  /** Withdraws the pause requests that `predicate` matches and that have not taken effect yet. */
  withdrawPause(predicate: (request: PauseRequest) => boolean): void {
    const requests = this.pauseRequests;
    if (requests === undefined) return;
    let kept = 0;
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i]!;
      if (!predicate(request)) requests[kept++] = request;
    }
    requests.length = kept;
  }

  /**
   * Aborts the run: every step's `ctx.signal` fires, no further step or stage starts, and
   * `execute()` resolves `aborted` at once, without waiting for a step that ignores its signal.
   * Before `execute()` it makes the run end `aborted` without running anything. After the run has
   * ended it does nothing.
   */
  abort(reason?: unknown): void {
    const status = this.runStatus;
    if (status !== "idle" && status !== "running") return;
    const error = new SystemError(
      "ABORTED",
      `run "${this.runId}" of pipeline "${this.pipeline.id}" was aborted`,
      reason === undefined ? {} : { cause: reason },
    );
    this.runStatus = "aborted";
    this.scope.abort(error);
    if (status === "running") this.finishAborted();
  }

  /**
   * Runs the pipeline and resolves with what happened; never rejects. A failing step gives
   * `{ ok: false, error }` with code `STEP_FAILED` (the thrown value as `cause`) or `TIMEOUT`.
   * Calling it again returns the same promise.
   */
  execute(): Promise<PipelineResult<S>> {
    if (this.outcome !== undefined) return this.outcome;
    if (this.finalResult !== undefined) {
      this.outcome = Promise.resolve(this.finalResult);
      return this.outcome;
    }
    if (this.onSettled !== undefined) {
      this.outcome = new Promise<PipelineResult<S>>(captureResolve);
      const resolve = capturedResolve!;
      capturedResolve = undefined;
      const notify = this.onSettled;
      this.onSettled = (result, context) => {
        resolve(result);
        notify(result, context);
      };
      return this.outcome;
    }
    if (this.begin()) {
      this.outcome = new Promise<PipelineResult<S>>(captureResolve);
      this.resolveOutcome = capturedResolve;
      capturedResolve = undefined;
      // drive() never rejects: it catches everything itself, so no handler is attached here.
      void this.drive();
    } else {
      this.outcome = Promise.resolve(this.abortedBeforeStart());
    }
    return this.outcome;
  }

  /**
   * @internal Runs like `execute()` but hands the result to `onSettled(result, context)` instead of
   * a promise, for an engine that has its own promise to resolve: one promise and one tick fewer
   * per run, and with `context` one callback can serve every run (no closure per run). It is
   * called synchronously when the run's last stage ends after the run has waited on something,
   * and in a later microtask when the run ends within `executeThen` itself (every step was
   * synchronous) or from outside (`abort`): never inside its caller. Call at most once, instead of
   * `execute()`; a later `execute()` returns a promise of the same result.
   */
  executeThen<C>(onSettled: (result: PipelineResult<S>, context: C) => void, context: C): void {
    if (this.outcome !== undefined || this.onSettled !== undefined || this.finalResult !== undefined) {
      throw new SystemError("INVALID_STATE", `run "${this.runId}" has already been executed`);
    }
    this.onSettled = onSettled;
    this.settledContext = context;
    if (this.begin()) {
      this.starting = true;
      void this.drive();
      this.starting = false;
    } else {
      const result = this.abortedBeforeStart();
      queueMicrotask(() => this.deliver(result));
    }
  }

  /** Stamps the start; false when the run was aborted before it began (nothing runs then). */
  private begin(): boolean {
    this.scope.tick();
    this.startedAt = this.requestedStart ?? this.scope.time();
    if (this.runStatus === "aborted") return false;
    this.runStatus = "running";
    return true;
  }

  private abortedBeforeStart(): PipelineResult<S> {
    this.settled = true;
    this.scope.emit("run.aborted", undefined, undefined, undefined, this.scope.reason as SystemError);
    this.scope.closed = true;
    this.detachExternal();
    return ok(
      { status: "aborted" as const, state: this.scope.state.get() as S },
      this.metadata(undefined, undefined),
    );
  }

  private async drive(): Promise<void> {
    try {
      const scope = this.scope;
      const stages = this.pipeline.stages;
      const observed = scope.observer !== undefined;
      const resume = this.resume;
      let first = 0;
      if (resume !== undefined) {
        first = resume.startStage;
        if (resume.patch !== undefined) scope.state.set(resume.patch);
        scope.emit(
          "run.resumed",
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          observed ? { nextStage: stages[first]?.id ?? null } : undefined,
        );
      } else {
        scope.emit("run.started");
      }
      const source = this.scope;
      for (let i = first; i < stages.length; i++) {
        if (this.settled) return;
        const stage = stages[i]!;
        this.stageIndex = i;
        const stageStart = observed ? scope.time() : 0;
        scope.emit("stage.started", stage.id);
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
              failure = await this.runStep(stage, step, source);
              if (failure !== undefined) break;
              continue;
            }
            // The common case, inline: no per-step promise of our own, no closure.
            const stepStart = observed ? scope.time() : 0;
            scope.emit("step.started", stage.id, step.id, 1);
            try {
              let out = step.action(new RunStepContext(scope, stage, step, 1, source));
              if (isThenable(out)) out = await out;
              scope.tick();
              if (this.settled) return;
              if (out !== undefined && out !== null) this.applyPatch(out, step);
            } catch (thrown) {
              scope.tick();
              if (this.settled) return;
              failure = this.stepError(stage, step, 1, thrown);
              scope.emit(
                "step.failed",
                stage.id,
                step.id,
                1,
                failure,
                observed ? scope.time() - stepStart : undefined,
              );
              break;
            }
            scope.emit(
              "step.completed",
              stage.id,
              step.id,
              1,
              undefined,
              observed ? scope.time() - stepStart : undefined,
            );
          }
        }
        if (this.settled) return;
        if (failure !== undefined) {
          scope.emit(
            "stage.failed",
            stage.id,
            undefined,
            undefined,
            failure,
            observed ? scope.time() - stageStart : undefined,
          );
          const details = failure.details;
          this.finishFailed(
            stage,
            this.stepId,
            failure,
            details === undefined ? undefined : details.attempts,
          );
          return;
        }
        this.stepId = undefined;
        scope.emit(
          "stage.completed",
          stage.id,
          undefined,
          undefined,
          undefined,
          observed ? scope.time() - stageStart : undefined,
        );
        if (this.pauseRequests !== undefined && this.pauseRequests.length > 0) {
          this.finishPaused(stage, i + 1);
          return;
        }
      }
      this.finishCompleted();
    } catch (thrown) {
      this.crash(thrown);
    }
  }

  /** Only a fault outside any step gets here (a throwing state store, for one). */
  private crash(thrown: unknown): void {
    if (this.finalResult !== undefined) return;
    const stage = this.pipeline.stages[this.stageIndex];
    const error = SystemError.from(
      thrown,
      "INVALID_STATE",
      `pipeline "${this.pipeline.id}" run "${this.runId}"`,
    );
    if (!this.settled) {
      this.finishFailed(stage, this.stepId, error, undefined);
      return;
    }
    this.runStatus = "failed";
    this.deliver(err(error, this.metadata(stage?.id, this.stepId)));
  }

  /** Guard, attempts with backoff, timeout: every step that is not `simple`, and all concurrent ones. */
  private async runStep(
    stage: CompiledStage<S>,
    step: CompiledStep<S>,
    source: AbortSource,
  ): Promise<SystemError | undefined> {
    const scope = this.scope;
    const observed = scope.observer !== undefined;
    if (step.when !== undefined) {
      let pass: boolean;
      try {
        pass = await step.when(new RunStepContext(scope, stage, step, 1, source));
        scope.tick();
      } catch (thrown) {
        scope.tick();
        if (this.settled || source.aborted) return abortError(source);
        const error = this.stepError(stage, step, 1, thrown, 'its "when" guard threw');
        scope.emit("step.failed", stage.id, step.id, 1, error);
        return error;
      }
      if (this.settled || source.aborted) return abortError(source);
      if (!pass) {
        scope.emit("step.skipped", stage.id, step.id);
        return undefined;
      }
    }
    const timeoutMs = step.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const attemptStart = observed ? scope.time() : 0;
      const link = timeoutMs === undefined ? undefined : new LinkedAbort(source);
      scope.emit("step.started", stage.id, step.id, attempt);
      let error: SystemError;
      try {
        let out = step.action(new RunStepContext(scope, stage, step, attempt, link ?? source));
        if (isThenable(out)) {
          out =
            link === undefined || timeoutMs === undefined
              ? await out
              : await withTimeout(out, timeoutMs, link.controller, () =>
                  this.timeoutError(stage, step, attempt),
                );
        }
        scope.tick();
        if (this.settled || source.aborted) return abortError(source);
        if (out !== undefined && out !== null) this.applyPatch(out, step);
        scope.emit(
          "step.completed",
          stage.id,
          step.id,
          attempt,
          undefined,
          observed ? scope.time() - attemptStart : undefined,
        );
        return undefined;
      } catch (thrown) {
        scope.tick();
        if (this.settled || source.aborted) return abortError(source);
        error =
          link?.signal.aborted && thrown === link.signal.reason && SystemError.is(thrown, "TIMEOUT")
            ? thrown
            : this.stepError(stage, step, attempt, thrown);
      } finally {
        link?.dispose();
      }
      if (attempt >= step.attempts) {
        scope.emit(
          "step.failed",
          stage.id,
          step.id,
          attempt,
          error,
          observed ? scope.time() - attemptStart : undefined,
        );
        return error;
      }
      const delayMs = Math.min(step.backoffMs * step.factor ** (attempt - 1), step.maxBackoffMs);
      scope.emit(
        "step.retried",
        stage.id,
        step.id,
        attempt,
        error,
        observed ? scope.time() - attemptStart : undefined,
        observed ? { delayMs, nextAttempt: attempt + 1 } : undefined,
      );
      if (delayMs > 0) await sleep(delayMs, source.signal);
      scope.tick();
      if (this.settled || source.aborted) return abortError(source);
    }
  }

  private async runConcurrent(stage: CompiledStage<S>): Promise<SystemError | undefined> {
    const link = new LinkedAbort(this.scope);
    const steps = stage.steps;
    const runners: Promise<void>[] = new Array(steps.length);
    for (let j = 0; j < steps.length; j++) {
      runners[j] = this.runStep(stage, steps[j]!, link).then(rejectOnFailure);
    }
    try {
      await Promise.all(runners);
      return undefined;
    } catch (thrown) {
      const failure = thrown as SystemError;
      const failed = failure.details?.step;
      if (typeof failed === "string") this.stepId = failed;
      link.abort(
        new SystemError(
          "ABORTED",
          `${this.pipeline.path}.stages[${stage.index}]: stopped because step "${String(failed)}" failed`,
          { cause: failure },
        ),
      );
      return failure;
    } finally {
      link.dispose();
    }
  }

  private applyPatch(out: unknown, step: CompiledStep<S>): void {
    if (!isPlainObject(out)) {
      throw new SystemError(
        "INVALID_INPUT",
        `${step.path}: "action" must return a plain object (a state patch) or nothing, but returned ${describe(out)}`,
      );
    }
    this.scope.state.set(out as Partial<S>);
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
      `${step.path} (stage "${stage.id}", step "${step.id}") ${what} on attempt ${attempt} of ${step.attempts}: ${reasonOf(thrown)}`,
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

  private metadata(stage: string | undefined, step: string | undefined): PipelineResultMetadata {
    const finishedAt = this.scope.time();
    const metadata: PipelineResultMetadata = {
      runId: this.runId,
      pipelineId: this.pipeline.id,
      durationMs: finishedAt - this.startedAt,
      finishedAt,
    };
    if (stage !== undefined) metadata.stage = stage;
    if (step !== undefined) metadata.step = step;
    if (this.scope.observerFailures > 0) metadata.observerFailures = this.scope.observerFailures;
    return metadata;
  }

  private close(type: PipelineEventType, stage?: string, error?: SystemError, data?: unknown): void {
    this.settled = true;
    const scope = this.scope;
    scope.emit(
      type,
      stage,
      undefined,
      undefined,
      error,
      scope.observer === undefined ? undefined : scope.time() - this.startedAt,
      data,
    );
    scope.closed = true;
    this.pauseRequests = undefined;
    this.detachExternal();
  }

  private detachExternal(): void {
    const external = this.externalAbort;
    if (external !== undefined) {
      this.externalAbort = undefined;
      external.signal.removeEventListener("abort", external.listener);
    }
  }

  private deliver(result: PipelineResult<S>): void {
    if (this.finalResult !== undefined) return;
    this.finalResult = result;
    const resolve = this.resolveOutcome;
    if (resolve !== undefined) {
      this.resolveOutcome = undefined;
      resolve(result);
      return;
    }
    const onSettled = this.onSettled;
    if (onSettled === undefined) return;
    this.onSettled = undefined;
    if (this.starting) {
      // finished without ever waiting: still inside executeThen, whose caller must not be re-entered
      queueMicrotask(() => this.notify(onSettled, result));
      return;
    }
    this.notify(onSettled, result);
  }

  private notify(
    onSettled: (result: PipelineResult<S>, context: any) => void,
    result: PipelineResult<S>,
  ): void {
    try {
      onSettled(result, this.settledContext);
    } catch (error) {
      // The engine's callback failing is its bug, not the run's: surface it, never swallow it.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  private finishCompleted(): void {
    if (this.settled) return;
    this.runStatus = "completed";
    this.close("run.completed");
    this.deliver(
      ok({ status: "completed", state: this.scope.state.get() as S }, this.metadata(undefined, undefined)),
    );
  }

  private finishPaused(stage: CompiledStage<S>, nextStage: number): void {
    if (this.settled) return;
    const requests = this.pauseRequests!;
    const nextStageId = this.pipeline.stages[nextStage]?.id ?? null;
    this.runStatus = "paused";
    const scope = this.scope;
    this.close(
      "run.paused",
      stage.id,
      undefined,
      scope.observer === undefined ? undefined : { nextStage: nextStageId, pause: requests.slice() },
    );
    const state = scope.state.get();
    const checkpoint = createCheckpoint(
      this.runId,
      this.pipeline,
      nextStage,
      state,
      scope.event,
      requests,
      scope.seq,
    );
    this.deliver(ok({ status: "paused", state: state as S, checkpoint }, this.metadata(stage.id, undefined)));
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
    const metadata = this.metadata(stage?.id, step);
    if (typeof attempts === "number") metadata.attempts = attempts;
    this.deliver(err(error, metadata));
  }

  private finishAborted(): void {
    if (this.settled) return;
    const stage = this.pipeline.stages[this.stageIndex];
    this.close("run.aborted", stage?.id, this.scope.reason as SystemError);
    const result: PipelineResult<S> = ok(
      { status: "aborted", state: this.scope.state.get() as S },
      this.metadata(stage?.id, this.stepId),
    );
    // abort() comes from outside the run: an executeThen callback must not run inside its caller.
    if (this.onSettled !== undefined) queueMicrotask(() => this.deliver(result));
    else this.deliver(result);
  }
}
