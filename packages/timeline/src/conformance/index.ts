/**
 * The `TimelineStore` conformance suite, framework-free. Import the vitest binding from
 * `@sluice/timeline/conformance/vitest`; this module never imports a test framework, so the same
 * cases run in a plain browser page.
 *
 * @packageDocumentation
 */
export { ConformanceFailure } from "./assert.js";
export { timelineConformanceCases } from "./cases.js";
export type { ConformanceCase, ConformanceFactory } from "./factory.js";
export { type ConformanceResult, runTimelineConformance } from "./run.js";
