import { SystemError } from "@sluice/errors";
import type { AbortSource } from "./abort-timing.js";
import type { CompiledStage, CompiledStep } from "./compiled-pipeline.js";
import type { RunScope } from "./run-scope.js";
import type { StepContext, StepLogger, UseDependencyContext } from "./types.js";

/**
 * @internal The context of one step attempt. One object per attempt: ids are read through the
 * shared run scope and compiled step instead of being copied, and the context is its own logger,
 * so logging allocates nothing either.
 */
export class RunStepContext<S extends object> implements StepContext<S>, StepLogger {
  /**
   * Set once the engine has given up on this attempt (it timed out): whatever it logs later would
   * land among the events of the next attempt or stage, so it is dropped, like its late result.
   */
  abandoned = false;

  constructor(
    private readonly scope: RunScope<S>,
    private readonly stageDef: CompiledStage<S>,
    private readonly stepDef: CompiledStep<S>,
    readonly attempt: number,
    private readonly abortSource: AbortSource,
  ) {}

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
    return this.stageDef.id;
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
    if (!this.abandoned)
      this.scope.log("debug", message, data, this.stageDef.id, this.stepDef.id, this.attempt);
  }

  info(message: string, data?: unknown): void {
    if ((this as unknown) === undefined) throw detached("logger.info");
    if (!this.abandoned)
      this.scope.log("info", message, data, this.stageDef.id, this.stepDef.id, this.attempt);
  }

  warn(message: string, data?: unknown): void {
    if ((this as unknown) === undefined) throw detached("logger.warn");
    if (!this.abandoned)
      this.scope.log("warn", message, data, this.stageDef.id, this.stepDef.id, this.attempt);
  }

  error(message: string, data?: unknown): void {
    if ((this as unknown) === undefined) throw detached("logger.error");
    if (!this.abandoned)
      this.scope.log("error", message, data, this.stageDef.id, this.stepDef.id, this.attempt);
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
    return dependencies.use(fn);
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
