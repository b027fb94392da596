/**
 * A `ctx.logger` call's data as plain JSON, taken when the call is made: the timeline shows the
 * value as it was then (a later mutation by the step must not rewrite it), and what JSON cannot
 * hold is converted instead of losing the whole entry at the store. An `Error` (the usual
 * `logger.error("failed", err)`) keeps its name, message, code and stack; a BigInt becomes its
 * decimal string; data that cannot be read or has a cycle becomes `{ unserializable: reason }`.
 */
export function logData(data: unknown): unknown {
  if (data === null || typeof data !== "object") {
    return typeof data === "bigint" ? data.toString() : data;
  }
  try {
    const text = JSON.stringify(data, jsonSafe);
    return text === undefined ? undefined : JSON.parse(text);
  } catch (fault) {
    return { unserializable: fault instanceof Error ? fault.message : String(fault) };
  }
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: value.message,
      ...(code !== undefined && { code }),
      ...(value.stack !== undefined && { stack: value.stack }),
    };
  }
  return value;
}
