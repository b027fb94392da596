import { describeKind, refuseUnknownKeys, SystemError } from "@sluice/errors";
import type { ArtifactTemplate } from "./types.js";

/** Whether `value` can be an artifact key: a non-empty string. */
export function isKey(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

/** Whether `value` can be a param value: a string or a finite number. */
export function isParam(value: unknown): value is string | number {
  return typeof value === "string" || (typeof value === "number" && Number.isFinite(value));
}

/** Throws `INVALID_INPUT` unless `key` is a non-empty string. */
export function assertKey(key: unknown, operation: string): asserts key is string {
  if (!isKey(key)) {
    throw new SystemError(
      "INVALID_INPUT",
      `${operation}: key must be a non-empty string, got ${describeKind(key)}`,
      { details: { operation } },
    );
  }
}

/** Throws `INVALID_INPUT` unless `param` is `undefined`, a string or a finite number. */
export function assertParam(param: unknown, key: string, operation: string): void {
  if (param === undefined || isParam(param)) return;
  throw new SystemError(
    "INVALID_INPUT",
    `${operation}("${key}"): param must be a string or a finite number, got ${describeKind(param)}`,
    { details: { key, operation } },
  );
}

/**
 * `INVALID_INPUT` for a `use` callback that is not a function, or `undefined` when it is one.
 * Returned rather than thrown: `use` reports every failure as a rejected promise.
 */
export function useCallbackError(fn: unknown, operation: string): SystemError | undefined {
  if (typeof fn === "function") return undefined;
  return new SystemError(
    "INVALID_INPUT",
    `${operation}: takes a function (deps) => ..., such as use((deps) => deps.require("db")); got ${describeKind(fn)}`,
    { details: { operation } },
  );
}

const SCOPES = new Set(["singleton", "transient"]);
/** The fields of `ArtifactTemplate` (keep in step with `hasUnknownTemplateField`) and `RetryPolicy`. */
const TEMPLATE_KEYS: ReadonlySet<string> = new Set([
  "key",
  "factory",
  "scope",
  "lazy",
  "timeoutMs",
  "retries",
  "param",
  "serialize",
]);
const RETRY_KEYS: ReadonlySet<string> = new Set(["attempts", "backoffMs", "factor", "maxBackoffMs"]);

/**
 * Throws `INVALID_INPUT` when `options` (of the call `operation`) is neither `undefined` nor an
 * object, or has a key that is not in `known`: `register: options.overide is not an option
 * (options: override)`.
 */
export function assertOptions(options: unknown, known: ReadonlySet<string>, operation: string): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) {
    throw new SystemError(
      "INVALID_INPUT",
      `${operation}: options must be an object, got ${describeKind(options)}`,
      {
        details: { operation },
      },
    );
  }
  refuseUnknownKeys(options, known, "options", { caller: operation, details: { operation } });
}

/**
 * Whether `template` has an own key that is not a template field (or cannot be enumerated): checked
 * on every registration (a run's container registers its templates per run), so a switch in a loop
 * of its own, allocating nothing; `refuseUnknownField` then words the error.
 */
function hasUnknownTemplateField(template: object): boolean {
  try {
    for (const key in template) {
      switch (key) {
        case "key":
        case "factory":
        case "scope":
        case "lazy":
        case "timeoutMs":
        case "retries":
        case "param":
        case "serialize":
          continue;
      }
      if (Object.hasOwn(template, key)) return true;
    }
    return false;
  } catch {
    return true;
  }
}

/** `INVALID_DEFINITION` for a field of `record` (the template, or its `retries` at `prefix`) not in `known`. */
function refuseUnknownField(
  record: object,
  known: ReadonlySet<string>,
  at: string,
  key: string,
  prefix: string,
) {
  refuseUnknownKeys(record, known, prefix === "" ? "template" : `template.${prefix.slice(0, -1)}`, {
    code: "INVALID_DEFINITION",
    message: (field, options) => `${at}: "${prefix}${field}" is not an option (options: ${options})`,
    details: { key },
  });
}

/** Checks every field of a template; the message names the field that is wrong. */
export function validateTemplate(template: unknown): asserts template is ArtifactTemplate<unknown> {
  if (typeof template !== "object" || template === null) {
    throw invalid(`template must be an object, got ${describeKind(template)}`);
  }
  const t = template as Record<string, unknown>;
  const key = t["key"];
  if (!isKey(key)) {
    throw invalid(`template.key must be a non-empty string, got ${describeKind(key)}`);
  }
  const at = `template "${key}"`;
  if (hasUnknownTemplateField(t)) refuseUnknownField(t, TEMPLATE_KEYS, at, key, "");
  if (typeof t["factory"] !== "function") {
    throw invalid(`${at}: "factory" must be a function, got ${describeKind(t["factory"])}`, key);
  }
  const scope = t["scope"];
  if (scope !== undefined && !SCOPES.has(scope as string)) {
    throw invalid(`${at}: "scope" must be "singleton" or "transient", got ${describeKind(scope)}`, key);
  }
  const lazy = t["lazy"];
  if (lazy !== undefined && typeof lazy !== "boolean") {
    throw invalid(`${at}: "lazy" must be a boolean, got ${describeKind(lazy)}`, key);
  }
  const timeoutMs = t["timeoutMs"];
  if (
    timeoutMs !== undefined &&
    !(typeof timeoutMs === "number" && timeoutMs > 0 && timeoutMs <= 2 ** 31 - 1)
  ) {
    throw invalid(
      `${at}: "timeoutMs" must be a number of ms between 1 and 2147483647, got ${describeKind(timeoutMs)}`,
      key,
    );
  }
  validateRetries(t["retries"], at, key);
  const param = t["param"];
  if (param !== undefined && param !== true) {
    throw invalid(`${at}: "param" must be true or absent, got ${describeKind(param)}`, key);
  }
  if (lazy === false && param === true) {
    throw invalid(
      `${at}: "lazy: false" cannot be combined with "param" (there is no param value to build with)`,
      key,
    );
  }
  if (lazy === false && scope === "transient") {
    throw invalid(
      `${at}: "lazy: false" cannot be combined with scope "transient" (nothing would be kept)`,
      key,
    );
  }
  const serialize = t["serialize"];
  if (serialize !== undefined && typeof serialize !== "boolean") {
    const s = serialize as Record<string, unknown> | null;
    if (
      typeof s !== "object" ||
      s === null ||
      typeof s["serialize"] !== "function" ||
      typeof s["deserialize"] !== "function"
    ) {
      throw invalid(`${at}: "serialize" must be a boolean or { serialize(value), deserialize(data) }`, key);
    }
  }
  if (serialize !== undefined && serialize !== false && scope === "transient") {
    throw invalid(`${at}: "serialize" applies to singletons only; remove it or use scope "singleton"`, key);
  }
}

function validateRetries(retries: unknown, at: string, key: string): void {
  if (retries === undefined) return;
  if (typeof retries === "number") {
    if (!isCount(retries))
      throw invalid(`${at}: "retries" must be a non-negative integer, got ${describeKind(retries)}`, key);
    return;
  }
  if (typeof retries !== "object" || retries === null) {
    throw invalid(
      `${at}: "retries" must be a number or { attempts, backoffMs?, factor?, maxBackoffMs? }`,
      key,
    );
  }
  const r = retries as Record<string, unknown>;
  // rarer than templates (only those with retries), so the shared lookup rather than a switch
  refuseUnknownField(r, RETRY_KEYS, at, key, "retries.");
  if (!isCount(r["attempts"])) {
    throw invalid(
      `${at}: "retries.attempts" must be a non-negative integer, got ${describeKind(r["attempts"])}`,
      key,
    );
  }
  for (const field of ["backoffMs", "maxBackoffMs"] as const) {
    const v = r[field];
    if (v !== undefined && !(typeof v === "number" && v >= 0 && Number.isFinite(v))) {
      throw invalid(`${at}: "retries.${field}" must be a non-negative number, got ${describeKind(v)}`, key);
    }
  }
  const factor = r["factor"];
  if (factor !== undefined && !(typeof factor === "number" && factor >= 1 && Number.isFinite(factor))) {
    throw invalid(`${at}: "retries.factor" must be a number >= 1, got ${describeKind(factor)}`, key);
  }
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

function invalid(message: string, key?: string): SystemError {
  return new SystemError("INVALID_DEFINITION", message, key === undefined ? {} : { details: { key } });
}

const DISPOSE_OPTIONS: ReadonlySet<string> = new Set(["signal"]);

/**
 * `INVALID_INPUT` for `dispose()` options it cannot use, or `undefined`. Returned rather than
 * thrown: `dispose` reports every failure as a rejected promise.
 */
export function disposeOptionsError(options: unknown): SystemError | undefined {
  try {
    assertOptions(options, DISPOSE_OPTIONS, "dispose");
  } catch (error) {
    return error as SystemError;
  }
  const signal = (options as { signal?: unknown } | undefined)?.signal;
  if (signal === undefined || isAbortSignal(signal)) return undefined;
  return new SystemError(
    "INVALID_INPUT",
    `dispose: options.signal must be an AbortSignal, such as AbortSignal.timeout(5000); got ${describeKind(signal)}`,
    { details: { operation: "dispose" } },
  );
}

/** An `AbortSignal`, recognised by shape, so one from another realm (an iframe, a vm) is accepted too. */
function isAbortSignal(value: unknown): value is AbortSignal {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<AbortSignal>;
  return (
    typeof candidate.aborted === "boolean" &&
    typeof candidate.addEventListener === "function" &&
    typeof candidate.removeEventListener === "function"
  );
}
