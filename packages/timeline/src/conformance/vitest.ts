import { describe, it } from "vitest";
import { timelineConformanceCases } from "./cases.js";
import type { ConformanceFactory } from "./factory.js";

/** Options of {@link describeTimelineConformance}. */
export interface DescribeConformanceOptions {
  /** Timeout of each case in milliseconds (default 60 000; slow backends may need more). */
  timeoutMs?: number;
}

/**
 * Registers the whole `TimelineStore` conformance suite as a vitest `describe` block: one `it` per
 * case. This is the one line an adapter's test needs.
 *
 * @example
 * ```ts
 * import { describeTimelineConformance } from "@sluice/timeline/conformance/vitest";
 * import { createMemoryTimelineStore } from "@sluice/timeline-memory";
 *
 * describeTimelineConformance("timeline-memory", { create: () => createMemoryTimelineStore() });
 * ```
 */
export function describeTimelineConformance(
  name: string,
  factory: ConformanceFactory,
  options: DescribeConformanceOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;
  describe(`${name}: TimelineStore conformance`, () => {
    for (const c of timelineConformanceCases(factory)) it(c.name, () => c.run(), timeout);
  });
}

export type { ConformanceFactory } from "./factory.js";
