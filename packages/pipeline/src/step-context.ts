import { SystemError } from "@sluice/errors";
import type { AbortSource } from "./abort-timing.js";
import { AttemptCallbacks, callEach } from "./attempt-callbacks.js";
import type { CompiledStep } from "./compiled-pipeline.js";
import type { PipelineRun } from "./pipeline-run.js";
import type {
  AttemptOutcome,
  AttemptStatus,
  StepAttempt,
  StepContext,
  StepLogger,
  UseDependencyContext,
} from "./types.js";

/**
 * @internal The context of one step attempt. One object per attempt: ids are read through the
 * shared run scope and compiled step instead of being copied, and the context is its own logger,
 * so logging allocates nothing either. It is also the attempt a dependency scope is handed
 * ({@link StepAttempt}), so that costs nothing until a dependency asks.
 */
export class RunStepContext<S extends object> implements StepContext<S>, StepLogger, StepAttempt {
  /**
   * `"running"` until the engine ends the attempt (`end`, `stop`), then how it ended. A timed-out
   * attempt may go on running, but whatever it logs later would land among the events of the next
   * attempt or stage, so it is dropped, like its late result.
   */
  private phase: "running" | AttemptOutcome = "running";
  /** What dependencies asked of the attempt (`onFailure`, `onEnd`, `onRetry`), made on the first. */
  private callbacks: AttemptCallbacks | undefined = undefined;

  constructor(
    private readonly scope: PipelineRun<S>,
    private readonly stepDef: CompiledStep<S>,
    readonly attempt: number,
    private readonly abortSource: AbortSource,
  ) {}

  /**
   * Whether the attempt may still act for its run. The engine ends the attempts it runs through
   * its retry loop (`end`); the context of an inline step (simple, in a sequential stage) is told
   * only if a dependency asked for its end (telling every one would cost every step of the common
   * case), so its attempt is over once the run is no longer running that step. An attempt whose
   * run was aborted, or whose concurrent stage was stopped, is over when its signal fires.
   */
  get status(): AttemptStatus {
    const phase = this.phase;
    if (phase !== "running") return phase === "timed-out" ? "timed-out" : "ended";
    if (this.stepDef.inline) return this.scope.isRunningStep(this.stepDef.id) ? "running" : "ended";
    const source = this.abortSource;
    if (!source.aborted) return "running";
    // its timeout fires its signal a moment before the engine ends it (its signal listeners run first)
    return SystemError.is(source.reason, "TIMEOUT") ? "timed-out" : "ended";
  }

  /** Has `undo` called if this attempt fails (see {@link StepAttempt.onFailure}). */
  onFailure(undo: () => void): void {
    if (this.status !== "running") return;
    const callbacks = (this.callbacks ??= new AttemptCallbacks());
    if (callbacks.undos === undefined) callbacks.undos = [undo];
    else callbacks.undos.push(undo);
  }

  /** Has `callback` called once this attempt is over (see {@link StepAttempt.onEnd}). */
  onEnd(callback: (outcome: AttemptOutcome) => void): void {
    if (this.status !== "running") return;
    const callbacks = (this.callbacks ??= new AttemptCallbacks());
    if (callbacks.ends !== undefined) {
      callbacks.ends.push(callback);
      return;
    }
    callbacks.ends = [callback];
    // the run ends it if it stops without it (the engine may never get back to it)
    this.scope.watchEnd(this);
  }

  /** Has `callback` called with the step's next attempt (see {@link StepAttempt.onRetry}). */
  onRetry(callback: (next: StepAttempt) => void): void {
    const phase = this.phase;
    // still running (a stopped attempt is never retried), or failed and its retry not started yet
    if (phase === "running" ? this.status === "ended" : phase !== "failed" && phase !== "timed-out") return;
    const callbacks = (this.callbacks ??= new AttemptCallbacks());
    const retries = callbacks.retries;
    if (retries === null) return;
    if (retries === undefined) callbacks.retries = [callback];
    else retries.push(callback);
  }

  /**
   * @internal The engine is done with the attempt: it `completed`, `failed` or `timed-out`. A
   * failed or timed-out attempt's undos run now (not an inline step's: its failure fails the run
   * at once), then its end callbacks, each even if one before it throws (the first throw is
   * rethrown after them: a fault of the dependency scope's, which fails the run).
   */
  end(outcome: "completed" | "failed" | "timed-out"): void {
    this.phase = outcome;
    const callbacks = this.callbacks;
    if (callbacks === undefined) return;
    const undos = callbacks.undos;
    callbacks.undos = undefined;
    let fault =
      outcome === "completed" || this.stepDef.inline ? undefined : callEach(undos, undefined, undefined);
    const ends = callbacks.ends;
    if (ends !== undefined) {
      callbacks.ends = undefined;
      this.scope.unwatchEnd(this);
      fault = callEach(ends, outcome, fault);
    }
    if (fault !== undefined) throw fault.thrown;
  }

  /**
   * @internal Its run has stopped without the attempt (aborted, or failed by another step): its end
   * callbacks run, told `stopped`; what they throw is dropped (the run has ended its own way).
   */
  stop(): void {
    this.phase = "stopped";
    const callbacks = this.callbacks;
    const ends = callbacks?.ends;
    if (ends === undefined) return;
    callbacks!.ends = undefined;
    callEach(ends, "stopped", undefined);
  }

  /**
   * @internal The step retries this failed attempt with `next`, which is starting: the retry
   * callbacks run, each even if one before it throws (the first throw is rethrown after them).
   */
  retriedBy(next: StepAttempt): void {
    const callbacks = this.callbacks;
    if (callbacks === undefined) return;
    const retries = callbacks.retries;
    callbacks.retries = null;
    if (retries === null || retries === undefined) return;
    const fault = callEach(retries, next, undefined);
    if (fault !== undefined) throw fault.thrown;
  }

  get signal(): AbortSignal {
    return this.abortSource.signal;
  }

  get runId(): string {
    return this.scope.runId;
  }

  get pipelineId(): string {
    return this.scope.pipelineId;
  }

  get stage(): string {
    return this.stepDef.stageId;
  }

  get step(): string {
    return this.stepDef.id;
  }

  get event(): unknown {
    return this.scope.event;
  }

  get logger(): StepLogger {
    return this;
  }

  debug(message: string, data?: unknown): void {
    if ((this as unknown) === undefined) throw detached("logger.debug");
    if (this.phase !== "timed-out")
      this.scope.log("debug", message, data, this.stepDef.stageId, this.stepDef.id, this.attempt);
  }

  info(message: string, data?: unknown): void {
    if ((this as unknown) === undefined) throw detached("logger.info");
    if (this.phase !== "timed-out")
      this.scope.log("info", message, data, this.stepDef.stageId, this.stepDef.id, this.attempt);
  }

  warn(message: string, data?: unknown): void {
    if ((this as unknown) === undefined) throw detached("logger.warn");
    if (this.phase !== "timed-out")
      this.scope.log("warn", message, data, this.stepDef.stageId, this.stepDef.id, this.attempt);
  }

  error(message: string, data?: unknown): void {
    if ((this as unknown) === undefined) throw detached("logger.error");
    if (this.phase !== "timed-out")
      this.scope.log("error", message, data, this.stepDef.stageId, this.stepDef.id, this.attempt);
  }

  state(): Readonly<S> {
    if ((this as unknown) === undefined) throw detached("state");
    return this.scope.state.get();
  }

  use<R>(fn: (deps: UseDependencyContext<S>) => R | Promise<R>): Promise<R> {
    if ((this as unknown) === undefined) throw detached("use");
    const dependencies = this.scope.dependencies;
    if (dependencies === undefined) {
      return Promise.reject(
        new SystemError(
          "INVALID_STATE",
          `${this.stepDef.path}: ctx.use() needs a dependency scope, but run "${this.scope.runId}" was started without RunOptions.dependencies`,
        ),
      );
    }
    return dependencies.use(fn, this);
  }
}

/**
 * The error for a context method called without its context (`const { state } = ctx; state()`):
 * the methods read their run through `this`, which is what keeps a context one small object per
 * step; without this check the step would fail with an unhelpful `TypeError` about `scope`.
 */
function detached(method: string): SystemError {
  const name = method.slice(method.lastIndexOf(".") + 1);
  return new SystemError(
    "INVALID_STATE",
    `ctx.${method}() was called without ctx as its \`this\` (destructured, as in \`({ ${name} }) => ${name}()\`, or passed on as a bare function): call it as ctx.${method}(…), or pass ctx.${method}.bind(ctx)`,
  );
}
