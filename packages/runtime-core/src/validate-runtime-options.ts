import { describeKind, describeValue, isThenable, refuseUnknownKeys, SystemError } from "@sluice/errors";
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

/** `path` names the option, in the message and in `details.path`, as `refuseUnknownKeys` does. */
function invalid(path: string, problem: string): SystemError {
  return new SystemError("INVALID_INPUT", `new WorkflowRuntime(options): ${path} ${problem}`, {
    details: { path },
  });
}

/**
 * What was given instead of an object with `methods`: the value when it is not an object (a
 * primitive reads short), else the methods it lacks; never the object itself, which may be a
 * large host object (a whole event emitter, a database handle).
 */
function describeMissingMethods(value: unknown, methods: readonly string[]): string | undefined {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) {
    return describeKind(value);
  }
  const object = value as Record<string, unknown>;
  const missing = methods.filter((method) => typeof object[method] !== "function");
  return missing.length === 0 ? undefined : `an object without ${missing.join(", ")}`;
}

function checkInteger(value: unknown, path: string, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(path, `must be an integer from ${min} to ${max} (got ${describeKind(value)})`);
  }
}

function checkTimelineOptions(timeline: unknown): void {
  if (timeline === undefined) return;
  if (!isPlainObject(timeline)) {
    throw invalid(
      "options.timeline",
      `must be an object { ${TIMELINE_OPTIONS.join("?, ")}? } (got ${describeKind(timeline)})`,
    );
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
    throw invalid("options", `must be an object with bus and storeRegistry (got ${describeKind(options)})`);
  }
  refuseUnknownKeys(options, OPTIONS, "options", INPUT);
  const bus = describeMissingMethods(options.bus, ["on", "emit"]);
  if (bus !== undefined) {
    throw invalid("options.bus", `must be an EventBus: createEventBus() from @sluice/events (got ${bus})`);
  }
  const storeRegistry = describeMissingMethods(options.storeRegistry, ["create"]);
  if (storeRegistry !== undefined) {
    throw invalid(
      "options.storeRegistry",
      `must be a StoreRegistry: new StoreRegistry() from @sluice/store (got ${storeRegistry})`,
    );
  }
  if (isThenable(options.timelineStore)) {
    // the adapters' factories are async: the likeliest mistake is a missing await
    throw new SystemError(
      "INVALID_INPUT",
      "options.timelineStore is a Promise: await the store's factory first (timelineStore: await createIndexedDBTimelineStore(…), createSqliteTimelineStore(…) or createMemoryTimelineStore(): every adapter's factory is async)",
      { details: { path: "options.timelineStore" } },
    );
  }
  const timelineStore =
    options.timelineStore === undefined
      ? undefined
      : describeMissingMethods(options.timelineStore, ["append", "query", "delete", "close"]);
  if (timelineStore !== undefined) {
    throw invalid(
      "options.timelineStore",
      `must be a TimelineStore with append, query, delete and close, or left out (got ${timelineStore})`,
    );
  }
  const appendBatch = (options.timelineStore as { appendBatch?: unknown } | undefined)?.appendBatch;
  if (appendBatch !== undefined && typeof appendBatch !== "function") {
    // the writer would call it for every batch and report each one lost
    throw invalid(
      "options.timelineStore.appendBatch",
      `must be a function (batch) => Promise<void>, or left out (got ${describeKind(appendBatch)})`,
    );
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw invalid(
      "options.onError",
      `must be a function (error) => void (got ${describeKind(options.onError)})`,
    );
  }
  checkTimelineOptions(options.timeline);
  checkInteger(options.maxBufferedEventsPerRun, "options.maxBufferedEventsPerRun", 0, 1_000_000);
  const hookTimeout = options.hookTimeoutMs;
  if (hookTimeout !== undefined && !(typeof hookTimeout === "number" && hookTimeout > 0)) {
    throw invalid(
      "options.hookTimeoutMs",
      `must be a positive number of milliseconds, or Infinity for no limit (got ${describeKind(hookTimeout)})`,
    );
  }
  checkControlEventOptions(options.controlEvents);
  validateServices(options.services, "options.services", false);
  validateEnvLayer(options.env, "options.env");
}

function checkControlEventOptions(controlEvents: unknown): void {
  if (controlEvents === undefined) return;
  if (!isPlainObject(controlEvents)) {
    throw invalid(
      "options.controlEvents",
      `must be an object { onUnknownRun?: "report" | "ignore" } (got ${describeKind(controlEvents)})`,
    );
  }
  refuseUnknownKeys(controlEvents, CONTROL_EVENT_OPTIONS, "options.controlEvents", INPUT);
  const onUnknownRun = (controlEvents as Record<string, unknown>).onUnknownRun;
  if (onUnknownRun !== undefined && onUnknownRun !== "report" && onUnknownRun !== "ignore") {
    throw invalid(
      "options.controlEvents.onUnknownRun",
      `must be "report" or "ignore" (got ${describeValue(onUnknownRun)})`,
    );
  }
}
