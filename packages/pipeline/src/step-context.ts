import { SystemError } from "@sluice/errors";
import type { AbortSource } from "./abort-timing.js";
import type { CompiledStep } from "./compiled-pipeline.js";
import type { PipelineRun } from "./pipeline-run.js";
import type { AttemptStatus, StepAttempt, StepContext, StepLogger, UseDependencyContext } from "./types.js";

/**
 * @internal The context of one step attempt. One object per attempt: ids are read through the
 * shared run scope and compiled step instead of being copied, and the context is its own logger,
 * so logging allocates nothing either. It is also the attempt a dependency scope is handed
 * ({@link StepAttempt}), so that costs nothing until a dependency asks.
 */
export class RunStepContext<S extends object> implements StepContext<S>, StepLogger, StepAttempt {
  /**
   * `"running"` until the engine ends the attempt (`end`). A timed-out attempt may go on running,
   * but whatever it logs later would land among the events of the next attempt or stage, so it is
   * dropped, like its late result.
   */
  private phase: AttemptStatus = "running";
  /** What to undo if the attempt fails (`onFailure`), made on the first. */
  private undos: (() => void)[] | undefined = undefined;

  constructor(
    private readonly scope: PipelineRun<S>,
    private readonly stepDef: CompiledStep<S>,
    readonly attempt: number,
    private readonly abortSource: AbortSource,
  ) {}

  /**
   * Whether the attempt may still act for its run. The engine ends the attempts it runs through
   * its retry loop (`end`); the context of an inline step (simple, in a sequential stage) is never
   * told (that would cost every step of the common case), so its attempt is over once the run is
   * no longer running that step. An attempt whose run was aborted, or whose concurrent stage was
   * stopped, is over when its signal fires.
   */
  get status(): AttemptStatus {
    const phase = this.phase;
    if (phase !== "running") return phase;
    if (this.stepDef.inline) return this.scope.isRunningStep(this.stepDef.id) ? "running" : "ended";
    const source = this.abortSource;
    if (!source.aborted) return "running";
    // its timeout fires its signal a moment before the engine ends it (its signal listeners run first)
    return SystemError.is(source.reason, "TIMEOUT") ? "timed-out" : "ended";
  }

  /** Has `undo` called if this attempt fails (see {@link StepAttempt.onFailure}). */
  onFailure(undo: () => void): void {
    if (this.status !== "running") return;
    const undos = this.undos;
    if (undos === undefined) this.undos = [undo];
    else undos.push(undo);
  }

  /**
   * @internal The engine is done with the attempt: it `completed`, `failed` or `timed-out`. A
   * failed or timed-out attempt's undos run now, each even if one before it throws (the first
   * throw is rethrown after them: a fault of the dependency scope's, which fails the run).
   */
  end(outcome: "completed" | "failed" | "timed-out"): void {
    this.phase = outcome === "timed-out" ? "timed-out" : "ended";
    const undos = this.undos;
    if (undos === undefined) return;
    this.undos = undefined;
    if (outcome === "completed") return;
    let fault: { thrown: unknown } | undefined;
    for (let i = 0; i < undos.length; i++) {
      try {
        undos[i]!();
      } catch (thrown) {
        fault ??= { thrown };
      }
    }
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
