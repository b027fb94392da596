// A tiny assertion kit with no test-framework dependency, so the cases run under vitest and in a
// plain browser page alike. Failures throw ConformanceFailure with a message that says what broke.

import type { ErrorCode } from "@sluice/errors";
import { SystemError } from "@sluice/errors";

/** A broken contract: thrown by the conformance cases when an adapter misbehaves. */
export class ConformanceFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConformanceFailure";
  }
}

export function ok(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceFailure(message);
}

export function equal<T>(actual: T, expected: T, message: string): void {
  if (actual !== expected && !(Number.isNaN(actual) && Number.isNaN(expected))) {
    throw new ConformanceFailure(`${message}: expected ${preview(expected)}, got ${preview(actual)}`);
  }
}

/**
 * Deep equality of JSON-like values. Object properties whose value is `undefined` count as absent
 * (as in JSON), so an adapter may return `stage: undefined` for an absent stage, but not `null`.
 * `subject` names `actual` in the failure (`query({"from":60}) returned ids: expected …`, and
 * `…returned ids[2]: …` for a difference inside it); without it the root is called `value`.
 */
export function deepEqual(actual: unknown, expected: unknown, message: string, subject?: string): void {
  const difference = findDifference(actual, expected, "", subject);
  if (difference !== undefined) throw new ConformanceFailure(`${message}: ${difference}`);
}

function findDifference(a: unknown, e: unknown, path: string, subject?: string): string | undefined {
  if (a === e) return undefined;
  const where = subject === undefined ? (path === "" ? "value" : path) : `${subject}${path}`;
  if (typeof a !== "object" || typeof e !== "object" || a === null || e === null) {
    return `${where}: expected ${preview(e)}, got ${preview(a)}`;
  }
  if (Array.isArray(a) !== Array.isArray(e)) {
    return `${where}: expected ${Array.isArray(e) ? "an array" : "an object"}, got ${preview(a)}`;
  }
  if (Array.isArray(a) && Array.isArray(e)) {
    if (a.length !== e.length) {
      return `${where}: expected ${e.length} items (${preview(e)}), got ${a.length} (${preview(a)})`;
    }
    for (let i = 0; i < e.length; i++) {
      const d = findDifference(a[i], e[i], `${path}[${i}]`, subject);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  const ar = a as Record<string, unknown>;
  const er = e as Record<string, unknown>;
  const aKeys = definedKeys(ar);
  const eKeys = definedKeys(er);
  const at = subject ?? "";
  for (const key of eKeys) {
    if (!aKeys.includes(key)) return `${at}${path}${keyPath(key)}: missing (expected ${preview(er[key])})`;
  }
  for (const key of aKeys) {
    if (!eKeys.includes(key)) return `${at}${path}${keyPath(key)}: unexpected ${preview(ar[key])}`;
  }
  for (const key of eKeys) {
    const d = findDifference(ar[key], er[key], `${path}${keyPath(key)}`, subject);
    if (d !== undefined) return d;
  }
  return undefined;
}

function definedKeys(record: Record<string, unknown>): string[] {
  return Object.keys(record).filter((key) => record[key] !== undefined);
}

function keyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Asserts `run()` returns a promise that rejects with a SystemError of `code` whose message includes every `fragments` item. */
export async function rejectsWith(
  run: () => Promise<unknown>,
  code: ErrorCode,
  fragments: readonly string[],
  message: string,
): Promise<SystemError> {
  let pending: Promise<unknown>;
  try {
    pending = run();
  } catch (error) {
    throw new ConformanceFailure(
      `${message}: threw synchronously (${describeError(error)}); it must return a rejected promise`,
    );
  }
  if (pending === null || typeof (pending as { then?: unknown })?.then !== "function") {
    throw new ConformanceFailure(`${message}: did not return a promise`);
  }
  try {
    await pending;
  } catch (error) {
    if (!SystemError.is(error, code)) {
      throw new ConformanceFailure(
        `${message}: expected a SystemError coded ${code}, got ${describeError(error)}`,
      );
    }
    for (const fragment of fragments) {
      if (!error.message.includes(fragment)) {
        throw new ConformanceFailure(
          `${message}: the ${code} message should name ${JSON.stringify(fragment)}, got ${JSON.stringify(error.message)}`,
        );
      }
    }
    return error;
  }
  throw new ConformanceFailure(`${message}: resolved, expected a rejection with a SystemError coded ${code}`);
}

function describeError(error: unknown): string {
  if (SystemError.is(error)) return `SystemError ${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return preview(error);
}

export function preview(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 120)}… (${text.length} chars)` : text;
}
