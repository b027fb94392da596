import { describeFault, describeKind, isThenable, quoteName, SystemError } from "@sluice/errors";
import { typeName } from "./validate-events.js";

/** Whether a process still runs run `runId`, as the host said through `liveRuns`. */
export type IsLiveRun = (runId: string) => boolean;

/**
 * Reads a `liveRuns` option: run ids are copied into a set now, once; a function is asked later,
 * one run at a time. `undefined` (and `null`) when not given.
 *
 * @throws SystemError `INVALID_INPUT` naming `path` when it is neither, or holds something other
 * than strings. The function returned throws `INVALID_INPUT` when the host's function throws (the
 * thrown value as `cause`) or answers with a promise.
 */
export function readLiveRuns(value: unknown, path: string): IsLiveRun | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "function") {
    const ask = value as (runId: string) => unknown;
    return (runId) => {
      let answer: unknown;
      try {
        answer = ask(runId);
      } catch (thrown) {
        throw new SystemError(
          "INVALID_INPUT",
          `${path} threw for run ${quoteName(runId)}: ${describeFault(thrown)}`,
          { cause: thrown, details: { path, runId } },
        );
      }
      if (isThenable(answer)) {
        throw new SystemError(
          "INVALID_INPUT",
          `${path} returned a Promise for run ${quoteName(runId)}: it must answer at once, true or false`,
          { details: { path, runId } },
        );
      }
      return Boolean(answer);
    };
  }
  const iterator =
    typeof value === "object" ? (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] : undefined;
  if (typeof iterator !== "function") {
    throw new SystemError(
      "INVALID_INPUT",
      `${path} must be run ids (an array or a Set of strings) or a function (runId) => boolean, not ${describeKind(value)}`,
      { details: { path, got: typeName(value) } },
    );
  }
  const ids = new Set<string>();
  let i = 0;
  for (const id of value as Iterable<unknown>) {
    if (typeof id !== "string") {
      throw new SystemError(
        "INVALID_INPUT",
        `${path}[${i}] must be a run id (a string), not ${describeKind(id)}`,
        {
          details: { path: `${path}[${i}]`, got: typeName(id) },
        },
      );
    }
    ids.add(id);
    i++;
  }
  return (runId) => ids.has(runId);
}
