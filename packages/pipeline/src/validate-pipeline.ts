import { describeKind, describeThrown, describeValue, refuseUnknownKeys, SystemError } from "@sluice/errors";
import { MAX_TIMER_MS } from "./abort-timing.js";
import type { PipelineDefinition, RetryPolicy, StageDefinition, StepDefinition } from "./types.js";

/**
 * Refuses the part at `path`; `field`, when the message is about one of its fields, makes
 * `details.path` that field's own path (`….steps[1].timeoutMs`), as a host pointing at the
 * offending field needs, while the message keeps naming the part and then the field.
 */
function fail(path: string, message: string, field?: string): never {
  throw new SystemError("INVALID_DEFINITION", `${path}: ${message}`, {
    details: { path: field === undefined ? path : `${path}.${field}` },
  });
}

/** A part of the definition whose reading threw (a getter, a Proxy trap), the thrown error as `cause`. */
function unreadable(path: string, thrown: unknown): SystemError {
  return new SystemError("INVALID_DEFINITION", `${path} could not be read: ${describeThrown(thrown)}`, {
    cause: thrown,
    details: { path },
  });
}

/** `Array.isArray`, which throws for a revoked Proxy: then a coded error naming `path`. */
function isArrayAt(value: unknown, path: string): boolean {
  try {
    return Array.isArray(value);
  } catch (error) {
    throw unreadable(path, error);
  }
}

function isRecordAt(value: unknown, path: string): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !isArrayAt(value, path);
}

/** The fields each part of a definition takes (`PipelineDefinition`, `StageDefinition`, ...). */
const PIPELINE_KEYS = ["stages"] as const;
const STAGE_KEYS = ["id", "steps", "concurrent"] as const;
const STEP_KEYS = ["id", "action", "retry", "timeoutMs", "when"] as const;
const RETRY_KEYS = ["attempts", "backoffMs", "factor", "maxBackoffMs"] as const;

const DEFINITION = { code: "INVALID_DEFINITION" } as const;

/**
 * A new plain object with `record`'s own fields that are in `known`, each read once (a
 * non-enumerable one too), so the checks and the compiled pipeline see the same values and the
 * host's later edits reach neither. An enumerable own field not in `known` is refused first,
 * naming it and the fields that part takes, before any field is read: a typo (`timeoutMS`,
 * `concurent`) would otherwise be ignored silently, and the step run without the limit or the
 * stage in order. Inherited fields are not read. A field whose reading throws is refused naming it.
 */
function readRecord(
  record: Record<string, unknown>,
  known: readonly string[],
  path: string,
): Record<string, unknown> {
  let keys: string[];
  try {
    keys = Object.getOwnPropertyNames(record);
  } catch (error) {
    throw unreadable(path, error);
  }
  const present: string[] = [];
  for (const key of keys) {
    let enumerable: boolean | undefined;
    try {
      enumerable = Object.getOwnPropertyDescriptor(record, key)?.enumerable;
    } catch (error) {
      throw unreadable(`${path}.${key}`, error);
    }
    // gone since it was listed (a Proxy may say so): as if it had not been there
    if (enumerable === undefined) continue;
    if (known.includes(key)) present.push(key);
    else if (enumerable) refuseUnknownKeys({ [key]: undefined }, known, path, DEFINITION);
  }
  const copy: Record<string, unknown> = {};
  for (const key of present) {
    try {
      copy[key] = record[key];
    } catch (error) {
      throw unreadable(`${path}.${key}`, error);
    }
  }
  return copy;
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
    fail(path, `"${field}" must be ${kind} ${bound} (got ${describeValue(value)})`, field);
  }
}

/** A delay the engine hands to `setTimeout`, which fires anything longer than the maximum at once. */
function checkTimerMs(path: string, field: string, value: unknown, exclusiveMin: boolean): void {
  checkNumber(path, field, value, 0, false, exclusiveMin);
  if ((value as number) > MAX_TIMER_MS) {
    fail(
      path,
      `"${field}" must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest timer setTimeout supports) (got ${describeValue(value)})`,
      field,
    );
  }
}

function readRetry(path: string, retry: unknown): RetryPolicy {
  if (!isRecordAt(retry, `${path}.retry`)) {
    fail(path, `"retry" must be an object like { attempts: 3 } (got ${describeKind(retry)})`, "retry");
  }
  const retryPath = `${path}.retry`;
  const copy = readRecord(retry, RETRY_KEYS, retryPath);
  checkNumber(retryPath, "attempts", copy.attempts, 1, true);
  const backoffMs = copy.backoffMs;
  if (backoffMs !== undefined) checkTimerMs(retryPath, "backoffMs", backoffMs, false);
  const factor = copy.factor;
  if (factor !== undefined) checkNumber(retryPath, "factor", factor, 1, false);
  const maxBackoffMs = copy.maxBackoffMs;
  if (maxBackoffMs !== undefined) checkTimerMs(retryPath, "maxBackoffMs", maxBackoffMs, false);
  return Object.freeze(copy) as unknown as RetryPolicy;
}

function readStep(path: string, step: unknown, seen: Map<string, string>): StepDefinition<any> {
  if (!isRecordAt(step, path)) {
    fail(path, `a step must be an object with "id" and "action" (got ${describeKind(step)})`);
  }
  const copy = readRecord(step, STEP_KEYS, path);
  const id = copy.id;
  if (typeof id !== "string" || id.length === 0) fail(path, `"id" must be a non-empty string`, "id");
  const earlier = seen.get(id);
  if (earlier !== undefined) {
    fail(
      path,
      `duplicate step id "${id}" (already used at ${earlier}); step ids must be unique in a pipeline`,
      "id",
    );
  }
  seen.set(id, path);
  if (typeof copy.action !== "function") {
    fail(path, `"action" must be a function (got ${describeKind(copy.action)})`, "action");
  }
  const when = copy.when;
  if (when !== undefined && typeof when !== "function") {
    fail(path, `"when" must be a function returning a boolean (got ${describeKind(when)})`, "when");
  }
  const timeoutMs = copy.timeoutMs;
  if (timeoutMs !== undefined) checkTimerMs(path, "timeoutMs", timeoutMs, true);
  if (copy.retry !== undefined) copy.retry = readRetry(path, copy.retry);
  return Object.freeze(copy) as unknown as StepDefinition<any>;
}

/**
 * The length of `value` when it is a non-empty array (read once), else `undefined`; a coded error
 * naming `path` when that reading throws.
 */
function nonEmptyLength(value: unknown, path: string): number | undefined {
  if (!isArrayAt(value, path)) return undefined;
  let length: number;
  try {
    length = (value as unknown[]).length;
  } catch (error) {
    throw unreadable(path, error);
  }
  // only a Proxy can give a length that is not a number
  return typeof length === "number" && length > 0 ? length : undefined;
}

/** `array[index]`, read once; a coded error naming `path` when that throws. */
function elementAt(array: unknown, index: number, path: string): unknown {
  try {
    return (array as unknown[])[index];
  } catch (error) {
    throw unreadable(path, error);
  }
}

function readStage(
  path: string,
  stage: unknown,
  stageIds: Map<string, string>,
  stepIds: Map<string, string>,
): StageDefinition<any> {
  if (!isRecordAt(stage, path)) {
    fail(path, `a stage must be an object with "id" and "steps" (got ${describeKind(stage)})`);
  }
  const copy = readRecord(stage, STAGE_KEYS, path);
  const id = copy.id;
  if (typeof id !== "string" || id.length === 0) fail(path, `"id" must be a non-empty string`, "id");
  const earlier = stageIds.get(id);
  if (earlier !== undefined) {
    fail(path, `duplicate stage id "${id}" (already used at ${earlier}); stage ids must be unique`, "id");
  }
  stageIds.set(id, path);
  const concurrent = copy.concurrent;
  if (concurrent !== undefined && typeof concurrent !== "boolean") {
    fail(path, `"concurrent" must be a boolean (got ${describeKind(concurrent)})`, "concurrent");
  }
  const steps = copy.steps;
  const length = nonEmptyLength(steps, `${path}.steps`);
  if (length === undefined) {
    fail(path, `"steps" must be a non-empty array of steps (got ${describeKind(steps)})`, "steps");
  }
  // read element by element as the checks go: the first bad step ends the reading, so an array
  // of 2 ** 32 - 1 holes is refused at its first
  const stepCopies: StepDefinition<any>[] = [];
  for (let j = 0; j < length; j++) {
    const stepPath = `${path}.steps[${j}]`;
    stepCopies.push(readStep(stepPath, elementAt(steps, j, stepPath), stepIds));
  }
  copy.steps = Object.freeze(stepCopies);
  return Object.freeze(copy) as unknown as StageDefinition<any>;
}

/**
 * @internal The one read of a pipeline definition: checks it as {@link validatePipeline} does and
 * returns a copy of everything the engine uses (new, frozen plain objects and arrays; `action`
 * and `when` kept as given), each property read once, as the checks go. The copy is what was
 * checked: a getter or Proxy cannot pass the checks with one value and be compiled with another,
 * and editing the definition afterwards changes nothing.
 */
export function readPipeline(definition: unknown, path: string): PipelineDefinition<any> {
  if (!isRecordAt(definition, path)) {
    fail(path, `a pipeline must be an object with a "stages" array (got ${describeKind(definition)})`);
  }
  const copy = readRecord(definition, PIPELINE_KEYS, path);
  const stages = copy.stages;
  const stagesPath = `${path}.stages`;
  const length = nonEmptyLength(stages, stagesPath);
  if (length === undefined) {
    fail(stagesPath, `must be a non-empty array of stages (got ${describeKind(stages)})`);
  }
  const stageIds = new Map<string, string>();
  const stepIds = new Map<string, string>();
  const stageCopies: StageDefinition<any>[] = [];
  for (let i = 0; i < length; i++) {
    const stagePath = `${stagesPath}[${i}]`;
    stageCopies.push(readStage(stagePath, elementAt(stages, i, stagePath), stageIds, stepIds));
  }
  copy.stages = Object.freeze(stageCopies);
  return Object.freeze(copy) as unknown as PipelineDefinition<any>;
}

/**
 * Checks a pipeline definition and throws a `SystemError` with code `INVALID_DEFINITION` at the
 * first problem, its message naming the exact place, e.g.
 * `pipelines.fulfil.stages[1].steps[0]: "action" must be a function (got undefined)`, and
 * `details.path` the offending field's path (`pipelines.fulfil.stages[1].steps[0].action`; for a
 * part that is missing or not an object, that part's).
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
 * `maxBackoffMs`. Only own properties are read, each once; a part whose reading throws (a getter,
 * a Proxy) is refused naming it (`pipelines.fulfil.stages[0].steps could not be read: …`), the
 * thrown error as `cause`.
 *
 * @param definition - the value to check (untrusted).
 * @param path - where the definition lives, used as the message prefix (e.g. `pipelines.fulfil`).
 */
export function validatePipeline(definition: unknown, path: string): void {
  readPipeline(definition, path);
}
