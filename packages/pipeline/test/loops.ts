import type { PipelineDefinition, PipelineState, StepDefinition } from "../src/index.js";
import { Pipeline as EnginePipeline } from "../src/index.js";

/**
 * A plain pipeline (every stage sequential, every step without guard, retry or timeout) runs in
 * its own loop; any other in the general one. The run-behaviour tests import `Pipeline` from here
 * and vitest runs them twice (vitest.config.ts): as written, and with every step given a guard
 * that always passes, which sends the same pipelines through the general loop.
 */
export const LOOP: "plain" | "general" = process.env.SLUICE_PIPELINE_LOOP === "general" ? "general" : "plain";

function guarded<S extends object>(definition: PipelineDefinition<S>): PipelineDefinition<S> {
  return {
    ...definition,
    stages: definition.stages.map((stage) => ({
      ...stage,
      steps: stage.steps.map(
        (step): StepDefinition<S> => (step.when === undefined ? { ...step, when: () => true } : step),
      ),
    })),
  };
}

/** `Pipeline`, sent through the loop this test run is for. */
export class Pipeline<S extends object = PipelineState> extends EnginePipeline<S> {
  constructor(id: string, definition: PipelineDefinition<NoInfer<S>>) {
    super(id, LOOP === "general" ? guarded(definition) : definition);
  }
}
