import { timelineConformanceCases } from "./cases.js";
import type { ConformanceFactory } from "./factory.js";

/** The outcome of one case in {@link runTimelineConformance}. */
export interface ConformanceResult {
  /** The case's name (the rule it checks). */
  name: string;
  /** Whether the adapter kept the rule. */
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
 * const results = await runTimelineConformance({ create: () => createMyStore() });
 * const failed = results.filter((r) => !r.passed);
 * ```
 */
export async function runTimelineConformance(
  factory: ConformanceFactory,
  onResult?: (result: ConformanceResult) => void,
): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = [];
  for (const c of timelineConformanceCases(factory)) {
    const started = Date.now();
    let result: ConformanceResult;
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
