import type { PipelineDefinition, StepContext } from "./types.js";

/** @internal A step with its defaults filled in, so the hot path reads fields instead of options. */
export interface CompiledStep<S extends object> {
  readonly id: string;
  readonly index: number;
  /** Its stage's id (what its contexts and log events name). */
  readonly stageId: string;
  readonly path: string;
  readonly action: (ctx: StepContext<S>) => unknown;
  readonly when: ((ctx: StepContext<S>) => boolean | Promise<boolean>) | undefined;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly factor: number;
  readonly maxBackoffMs: number;
  readonly timeoutMs: number | undefined;
  /** No guard, no retry, no timeout: the run loop calls it inline (in a sequential stage). */
  readonly simple: boolean;
  /**
   * Simple, in a sequential stage: run by the run loop itself, whose attempt contexts are not told
   * when they end (see `RunStepContext.status`).
   */
  readonly inline: boolean;
}

/** @internal */
export interface CompiledStage<S extends object> {
  readonly id: string;
  readonly index: number;
  readonly concurrent: boolean;
  readonly steps: readonly CompiledStep<S>[];
}

/** @internal One step of a plain pipeline's flat step list, with its place in its stage. */
export interface FlatStep<S extends object> {
  readonly stage: CompiledStage<S>;
  readonly step: CompiledStep<S>;
  /** The first step of its stage: the stage starts with it. */
  readonly first: boolean;
  /** The last step of its stage: the stage ends with it. */
  readonly last: boolean;
}

/** @internal A validated definition, copied so later edits to the definition cannot change it. */
export interface CompiledPipeline<S extends object> {
  readonly id: string;
  readonly path: string;
  readonly stages: readonly CompiledStage<S>[];
  /**
   * Every stage sequential and every step simple: such a pipeline runs from `flat`, one list of
   * its steps, in a loop with less to do per step.
   */
  readonly plain: boolean;
  /** Every step, in order (filled in for plain pipelines only). */
  readonly flat: readonly FlatStep<S>[];
  /** By stage index (and one past the last): where that stage's first step sits in `flat`. */
  readonly flatStart: readonly number[];
}

/**
 * @internal Expects the copy `readPipeline` made (checked, frozen, never the host's objects): it
 * reads it again freely.
 */
export function compilePipeline<S extends object>(
  id: string,
  path: string,
  definition: PipelineDefinition<S>,
): CompiledPipeline<S> {
  const stages = definition.stages.map((stage, i): CompiledStage<S> => {
    const steps = stage.steps.map((step, j): CompiledStep<S> => {
      const retry = step.retry;
      const attempts = retry?.attempts ?? 1;
      const when = step.when;
      const timeoutMs = step.timeoutMs;
      const simple = when === undefined && attempts === 1 && timeoutMs === undefined;
      return Object.freeze({
        id: step.id,
        index: j,
        stageId: stage.id,
        path: `${path}.stages[${i}].steps[${j}]`,
        action: step.action as (ctx: StepContext<S>) => unknown,
        when,
        attempts,
        backoffMs: retry?.backoffMs ?? 0,
        factor: retry?.factor ?? 2,
        maxBackoffMs: retry?.maxBackoffMs ?? Number.POSITIVE_INFINITY,
        timeoutMs,
        simple,
        inline: simple && stage.concurrent !== true,
      });
    });
    return Object.freeze({
      id: stage.id,
      index: i,
      concurrent: stage.concurrent === true,
      steps: Object.freeze(steps),
    });
  });
  const plain = stages.every((stage) => !stage.concurrent && stage.steps.every((step) => step.simple));
  const flat: FlatStep<S>[] = [];
  const flatStart: number[] = [];
  for (const stage of stages) {
    flatStart.push(flat.length);
    if (!plain) continue;
    const steps = stage.steps;
    for (let j = 0; j < steps.length; j++) {
      flat.push(Object.freeze({ stage, step: steps[j]!, first: j === 0, last: j === steps.length - 1 }));
    }
  }
  flatStart.push(flat.length);
  return Object.freeze({
    id,
    path,
    stages: Object.freeze(stages),
    plain,
    flat: Object.freeze(flat),
    flatStart: Object.freeze(flatStart),
  });
}
