import type { RunState, Workflow } from "./types.js";

/**
 * Returns the workflow unchanged; exists so a definition written in its own module is
 * type-checked (and its state type inferred) where it is written.
 *
 * @example
 * ```ts
 * export const orders = defineWorkflow<{ orderId: string }>({ id: "orders", triggers: {...}, pipelines: {...} });
 * ```
 */
export function defineWorkflow<S extends object = RunState>(workflow: Workflow<S>): Workflow<S> {
  return workflow;
}
