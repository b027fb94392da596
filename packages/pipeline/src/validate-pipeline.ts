import { describeValue, refuseUnknownKeys, SystemError } from "@sluice/errors";
import { MAX_TIMER_MS } from "./abort-timing.js";

function fail(path: string, message: string): never {
  throw new SystemError("INVALID_DEFINITION", `${path}: ${message}`, { details: { path } });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The fields each part of a definition takes (`PipelineDefinition`, `StageDefinition`, ...). */
const PIPELINE_KEYS = ["stages"] as const;
const STAGE_KEYS = ["id", "steps", "concurrent"] as const;
const STEP_KEYS = ["id", "action", "retry", "timeoutMs", "when"] as const;
const RETRY_KEYS = ["attempts", "backoffMs", "factor", "maxBackoffMs"] as const;

/**
 * Refuses a field that is not in `known`: a typo (`timeoutMS`, `concurent`) would otherwise be
 * ignored silently, and the step run without the limit or the stage in order.
 */
function onlyKnownKeys(record: Record<string, unknown>, known: readonly string[], path: string): void {
  refuseUnknownKeys(record, known, path, DEFINITION);
}

const DEFINITION = { code: "INVALID_DEFINITION" } as const;

function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function checkNumber(
  path: string,
  field: string,
  value: unknown,
  min: number,
  integer: boolean,
  exclusiveMin = false,
): void {
  const bad =
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value)) ||
    (exclusiveMin ? value <= min : value < min);
  if (bad) {
    const kind = integer ? "an integer" : "a finite number";
    const bound = exclusiveMin ? `> ${min}` : `≥ ${min}`;
    fail(path, `"${field}" must be ${kind} ${bound} (got ${describeValue(value)})`);
  }
}

/** A delay the engine hands to `setTimeout`, which fires anything longer than the maximum at once. */
function checkTimerMs(path: string, field: string, value: unknown, exclusiveMin: boolean): void {
  checkNumber(path, field, value, 0, false, exclusiveMin);
  if ((value as number) > MAX_TIMER_MS) {
    fail(
      path,
      `"${field}" must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest timer setTimeout supports) (got ${describeValue(value)})`,
    );
  }
}

function validateRetry(path: string, retry: unknown): void {
  if (!isRecord(retry)) fail(path, `"retry" must be an object like { attempts: 3 } (got ${describe(retry)})`);
  const retryPath = `${path}.retry`;
  onlyKnownKeys(retry, RETRY_KEYS, retryPath);
  checkNumber(retryPath, "attempts", own(retry, "attempts"), 1, true);
  const backoffMs = own(retry, "backoffMs");
  if (backoffMs !== undefined) checkTimerMs(retryPath, "backoffMs", backoffMs, false);
  const factor = own(retry, "factor");
  if (factor !== undefined) checkNumber(retryPath, "factor", factor, 1, false);
  const maxBackoffMs = own(retry, "maxBackoffMs");
  if (maxBackoffMs !== undefined) checkTimerMs(retryPath, "maxBackoffMs", maxBackoffMs, false);
}

function validateStep(path: string, step: unknown, seen: Map<string, string>): void {
  if (!isRecord(step)) fail(path, `a step must be an object with "id" and "action" (got ${describe(step)})`);
  onlyKnownKeys(step, STEP_KEYS, path);
  const id = own(step, "id");
  if (typeof id !== "string" || id.length === 0) fail(path, `"id" must be a non-empty string`);
  const earlier = seen.get(id);
  if (earlier !== undefined) {
    fail(
      path,
      `duplicate step id "${id}" (already used at ${earlier}); step ids must be unique in a pipeline`,
    );
  }
  seen.set(id, path);
  if (typeof own(step, "action") !== "function") {
    fail(path, `"action" must be a function (got ${describe(own(step, "action"))})`);
  }
  const when = own(step, "when");
  if (when !== undefined && typeof when !== "function") {
    fail(path, `"when" must be a function returning a boolean (got ${describe(when)})`);
  }
  const timeoutMs = own(step, "timeoutMs");
  if (timeoutMs !== undefined) checkTimerMs(path, "timeoutMs", timeoutMs, true);
  const retry = own(step, "retry");
  if (retry !== undefined) validateRetry(path, retry);
}

/**
 * Checks a pipeline definition and throws a `SystemError` with code `INVALID_DEFINITION` at the
 * first problem, its message naming the exact place, e.g.
 * `pipelines.fulfil.stages[1].steps[0]: "action" must be a function (got undefined)`.
 *
 * Rejects: a non-object definition, no stages, a stage without steps, missing or empty ids,
 * duplicate stage ids, step ids used twice anywhere in the pipeline, a non-function `action` or
 * `when`, a `timeoutMs` that is not a number > 0, and a `retry` whose `attempts` is not an integer
 * ≥ 1 or whose `backoffMs` / `maxBackoffMs` are negative or whose `factor` is below 1. `timeoutMs`,
 * `backoffMs` and `maxBackoffMs` must be at most 2147483647 ms (about 24.8 days): `setTimeout`
 * fires a longer timer at once.
 * A field the definition does not take is refused too, naming it and the fields that part takes
 * (`pipelines.fulfil.stages[0].steps[1].timeoutMS: is not an option here (options: id, action,
 * retry, timeoutMs, when)`): a pipeline takes `stages`; a stage `id`, `steps`, `concurrent`; a step
 * `id`, `action`, `retry`, `timeoutMs`, `when`; a `retry` `attempts`, `backoffMs`, `factor`,
 * `maxBackoffMs`.
 *
 * @param definition - the value to check (untrusted).
 * @param path - where the definition lives, used as the message prefix (e.g. `pipelines.fulfil`).
 */
export function validatePipeline(definition: unknown, path: string): void {
  if (!isRecord(definition)) {
    fail(path, `a pipeline must be an object with a "stages" array (got ${describe(definition)})`);
  }
  onlyKnownKeys(definition, PIPELINE_KEYS, path);
  const stages = own(definition, "stages");
  if (!Array.isArray(stages) || stages.length === 0) {
    fail(`${path}.stages`, `must be a non-empty array of stages (got ${describe(stages)})`);
  }
  const stageIds = new Map<string, string>();
  const stepIds = new Map<string, string>();
  for (let i = 0; i < stages.length; i++) {
    const stagePath = `${path}.stages[${i}]`;
    const stage: unknown = stages[i];
    if (!isRecord(stage))
      fail(stagePath, `a stage must be an object with "id" and "steps" (got ${describe(stage)})`);
    onlyKnownKeys(stage, STAGE_KEYS, stagePath);
    const id = own(stage, "id");
    if (typeof id !== "string" || id.length === 0) fail(stagePath, `"id" must be a non-empty string`);
    const earlier = stageIds.get(id);
    if (earlier !== undefined) {
      fail(stagePath, `duplicate stage id "${id}" (already used at ${earlier}); stage ids must be unique`);
    }
    stageIds.set(id, stagePath);
    const concurrent = own(stage, "concurrent");
    if (concurrent !== undefined && typeof concurrent !== "boolean") {
      fail(stagePath, `"concurrent" must be a boolean (got ${describe(concurrent)})`);
    }
    const steps = own(stage, "steps");
    if (!Array.isArray(steps) || steps.length === 0) {
      fail(stagePath, `"steps" must be a non-empty array of steps (got ${describe(steps)})`);
    }
    for (let j = 0; j < steps.length; j++) validateStep(`${stagePath}.steps[${j}]`, steps[j], stepIds);
  }
}
