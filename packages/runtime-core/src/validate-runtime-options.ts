import { describeValue, isThenable, refuseUnknownKeys, SystemError } from "@sluice/errors";
import { MAX_TIMER_MS } from "@sluice/pipeline";
import { isPlainObject } from "@sluice/store";
import type { WorkflowRuntimeOptions } from "./types.js";
import { validateEnvLayer, validateServices } from "./validate-workflow.js";

const TIMELINE_OPTIONS = ["maxBatch", "flushIntervalMs", "maxBuffered", "closeTimeoutMs"] as const;
const OPTIONS = [
  "bus",
  "storeRegistry",
  "timelineStore",
  "services",
  "env",
  "onError",
  "timeline",
  "maxBufferedEventsPerRun",
  "hookTimeoutMs",
  "controlEvents",
] as const;
const CONTROL_EVENT_OPTIONS = ["onUnknownRun"] as const;

const INPUT = { caller: "new WorkflowRuntime(options)" } as const;

function invalid(problem: string): SystemError {
  return new SystemError("INVALID_INPUT", `new WorkflowRuntime(options): ${problem}`);
}

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  if (value === null || typeof value !== "object") return false;
  const object = value as Record<string, unknown>;
  return methods.every((method) => typeof object[method] === "function");
}

function checkInteger(value: unknown, path: string, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${path} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
}

function checkTimelineOptions(timeline: unknown): void {
  if (timeline === undefined) return;
  if (!isPlainObject(timeline)) {
    throw invalid(`options.timeline must be an object { ${TIMELINE_OPTIONS.join("?, ")}? }`);
  }
  refuseUnknownKeys(timeline, TIMELINE_OPTIONS, "options.timeline", INPUT);
  const options = timeline as Record<string, unknown>;
  checkInteger(options.maxBatch, "options.timeline.maxBatch", 1, 1_000_000);
  checkInteger(options.maxBuffered, "options.timeline.maxBuffered", 1, 100_000_000);
  checkInteger(options.flushIntervalMs, "options.timeline.flushIntervalMs", 0, MAX_TIMER_MS);
  checkInteger(options.closeTimeoutMs, "options.timeline.closeTimeoutMs", 0, MAX_TIMER_MS);
}

/**
 * Checks `new WorkflowRuntime(options)` before anything is built: junk options throw a coded
 * `SystemError` naming the option, instead of failing later inside a timer or a run.
 */
export function validateRuntimeOptions(options: WorkflowRuntimeOptions): void {
  if (!isPlainObject(options)) {
    throw new SystemError(
      "INVALID_INPUT",
      "new WorkflowRuntime(options): options must be an object with bus and storeRegistry",
    );
  }
  refuseUnknownKeys(options, OPTIONS, "options", INPUT);
  if (!hasMethods(options.bus, ["on", "emit"])) {
    throw new SystemError(
      "INVALID_INPUT",
      "options.bus must be an EventBus (createEventBus() from @sluice/events)",
    );
  }
  if (!hasMethods(options.storeRegistry, ["create"])) {
    throw new SystemError(
      "INVALID_INPUT",
      "options.storeRegistry must be a StoreRegistry (new StoreRegistry() from @sluice/store)",
    );
  }
  if (isThenable(options.timelineStore)) {
    // the adapters' factories are async: the likeliest mistake is a missing await
    throw new SystemError(
      "INVALID_INPUT",
      "options.timelineStore is a Promise: await the store's factory first (timelineStore: await createIndexedDBTimelineStore(…), createSqliteTimelineStore(…) or createMemoryTimelineStore(): every adapter's factory is async)",
    );
  }
  if (
    options.timelineStore !== undefined &&
    !hasMethods(options.timelineStore, ["append", "query", "delete", "close"])
  ) {
    throw new SystemError(
      "INVALID_INPUT",
      "options.timelineStore must be a TimelineStore (append, query, delete, close)",
    );
  }
  const appendBatch = (options.timelineStore as { appendBatch?: unknown } | undefined)?.appendBatch;
  if (appendBatch !== undefined && typeof appendBatch !== "function") {
    // the writer would call it for every batch and report each one lost
    throw new SystemError(
      "INVALID_INPUT",
      "options.timelineStore.appendBatch must be a function (batch) => Promise<void>, or left out",
    );
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw invalid("options.onError must be a function (error) => void");
  }
  checkTimelineOptions(options.timeline);
  checkInteger(options.maxBufferedEventsPerRun, "options.maxBufferedEventsPerRun", 0, 1_000_000);
  const hookTimeout = options.hookTimeoutMs;
  if (hookTimeout !== undefined && !(typeof hookTimeout === "number" && hookTimeout > 0)) {
    throw invalid(
      "options.hookTimeoutMs must be a positive number of milliseconds (or Infinity for no limit)",
    );
  }
  checkControlEventOptions(options.controlEvents);
  validateServices(options.services, "options.services", false);
  validateEnvLayer(options.env, "options.env");
}

function checkControlEventOptions(controlEvents: unknown): void {
  if (controlEvents === undefined) return;
  if (!isPlainObject(controlEvents)) {
    throw invalid('options.controlEvents must be an object { onUnknownRun?: "report" | "ignore" }');
  }
  refuseUnknownKeys(controlEvents, CONTROL_EVENT_OPTIONS, "options.controlEvents", INPUT);
  const onUnknownRun = (controlEvents as Record<string, unknown>).onUnknownRun;
  if (onUnknownRun !== undefined && onUnknownRun !== "report" && onUnknownRun !== "ignore") {
    throw invalid(
      `options.controlEvents.onUnknownRun must be "report" or "ignore" (got ${describeValue(onUnknownRun)})`,
    );
  }
}
