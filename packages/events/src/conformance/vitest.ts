import { describe, it } from "vitest";
import type { EventBus } from "../event-bus.js";
import { eventBusConformanceCases } from "./cases.js";
import type { EventBusConformanceFactory } from "./factory.js";

/** Options of {@link describeEventBusConformance}. */
export interface DescribeEventBusConformanceOptions {
  /** Timeout of each case in milliseconds (default 10 000; a remote broker may need more). */
  timeoutMs?: number;
}

/**
 * Registers the whole `EventBus` conformance suite as a vitest `describe` block: one `it` per
 * case. This is the one line a bus implementation's test needs.
 *
 * @example
 * ```ts
 * import { createEventBus } from "@sluice/events";
 * import { describeEventBusConformance } from "@sluice/events/conformance/vitest";
 *
 * describeEventBusConformance("createEventBus", {
 *   create: () => createEventBus({ onError: () => {} }),
 *   synchronous: true,
 * });
 * ```
 */
export function describeEventBusConformance<B extends EventBus>(
  name: string,
  factory: EventBusConformanceFactory<B>,
  options: DescribeEventBusConformanceOptions = {},
): void {
  const timeout = options.timeoutMs ?? 10_000;
  describe(`${name}: EventBus conformance`, () => {
    for (const c of eventBusConformanceCases(factory)) it(c.name, () => c.run(), timeout);
  });
}

export type { EventBusConformanceFactory } from "./factory.js";
