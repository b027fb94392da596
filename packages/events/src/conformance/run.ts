import type { EventBus } from "../event-bus.js";
import { eventBusConformanceCases } from "./cases.js";
import type { EventBusConformanceFactory } from "./factory.js";

/** The outcome of one case in {@link runEventBusConformance}. */
export interface EventBusConformanceResult {
  /** The case's name (the rule it checks). */
  name: string;
  /** Whether the bus kept the rule. */
  passed: boolean;
  /** What broke, when it did not. */
  error?: unknown;
  /** How long the case took, in milliseconds. */
  ms: number;
}

/**
 * Runs every conformance case one after another without any test framework (for a browser page or
 * a script) and reports each outcome; it never throws for a failing case.
 *
 * @example
 * ```ts
 * const results = await runEventBusConformance({ create: () => createMyBus() });
 * const failed = results.filter((r) => !r.passed);
 * ```
 */
export async function runEventBusConformance<B extends EventBus>(
  factory: EventBusConformanceFactory<B>,
  onResult?: (result: EventBusConformanceResult) => void,
): Promise<EventBusConformanceResult[]> {
  const results: EventBusConformanceResult[] = [];
  for (const c of eventBusConformanceCases(factory)) {
    const started = Date.now();
    let result: EventBusConformanceResult;
    try {
      await c.run();
      result = { name: c.name, passed: true, ms: Date.now() - started };
    } catch (error) {
      result = { name: c.name, passed: false, error, ms: Date.now() - started };
    }
    results.push(result);
    onResult?.(result);
  }
  return results;
}
