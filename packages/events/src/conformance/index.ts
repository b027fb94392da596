/**
 * The `EventBus` conformance suite, framework-free. Import the vitest binding from
 * `@sluice/events/conformance/vitest`; this module never imports a test framework, so the same
 * cases run in a plain browser page.
 *
 * @packageDocumentation
 */
export { eventBusConformanceCases } from "./cases.js";
export type { EventBusConformanceCase, EventBusConformanceFactory } from "./factory.js";
export { EventBusConformanceFailure } from "./failure.js";
export { type EventBusConformanceResult, runEventBusConformance } from "./run.js";
