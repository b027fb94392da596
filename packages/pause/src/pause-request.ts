import { describeValue, refuseUnknownKeys, SystemError } from "@sluice/errors";
import { readConditions } from "./conditions.js";
import { copyJsonObject } from "./json-value.js";
import type { PauseRequestData } from "./pause-service.js";

/** The fields of a {@link PauseRequestData}, in the order messages list them. */
const REQUEST_KEYS: ReadonlySet<string> = new Set([
  "id",
  "event",
  "conditions",
  "timeoutMs",
  "deadline",
  "timeoutPatch",
  "patch",
]);

function invalid(path: string, message: string): SystemError {
  return new SystemError("INVALID_INPUT", `${path}: ${message}`, { details: { path } });
}

function isPositiveFinite(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}

/**
 * Reads a wait as plain data (from a checkpoint that went through JSON, a file or another
 * process) and returns a copy, frozen all the way down (its `conditions` and `timeoutPatch` too),
 * that a run can be parked on again: the checks `PauseService.register` makes, plus those of the
 * fields it computes (`deadline`). Each field is read once. `path` names the wait in messages
 * (`"checkpoint.pause[0]"`).
 *
 * @throws SystemError `INVALID_INPUT` naming the bad field: a key a wait does not have, an empty
 * `id` or `event`, malformed `conditions`, a `timeoutMs` that is not a positive finite number, a
 * `deadline` without `timeoutMs` (or the reverse), a `timeoutPatch` that is not plain JSON, a
 * `patch` that is not a non-empty string (whether the name is declared is the reader's to check).
 *
 * @example
 * ```ts
 * import { readPauseRequest } from "@sluice/pause";
 * const wait = readPauseRequest(
 *   { id: "approval", event: "order.approved", conditions: [{ path: "orderId", op: "==", value: "o1" }] },
 *   "saved.pause[0]",
 * );
 * console.log(Object.isFrozen(wait), wait.event); // true order.approved
 * ```
 */
export function readPauseRequest(value: unknown, path: string): PauseRequestData {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(
      path,
      `must be an object { id, event?, conditions?, timeoutMs?, deadline?, timeoutPatch?, patch? } (got ${describeValue(value)})`,
    );
  }
  refuseUnknownKeys(value, REQUEST_KEYS, path);
  const { id, event, conditions, timeoutMs, deadline, timeoutPatch, patch } = value as Record<
    string,
    unknown
  >;
  if (typeof id !== "string" || id.length === 0) throw invalid(`${path}.id`, "must be a non-empty string");
  const request: PauseRequestData = { id };
  if (event !== undefined) {
    if (typeof event !== "string" || event.length === 0 || event === "*") {
      throw invalid(
        `${path}.event`,
        `must be a non-empty event name other than "*", or absent for a direct resume`,
      );
    }
    request.event = event;
  }
  if (conditions !== undefined) {
    const copy = readConditions(conditions, `${path}.conditions`, "INVALID_INPUT");
    if (copy.length > 0) request.conditions = copy;
  }
  if ((timeoutMs === undefined) !== (deadline === undefined)) {
    throw invalid(
      `${path}.${timeoutMs === undefined ? "timeoutMs" : "deadline"}`,
      "a wait with a timeout has both timeoutMs and deadline (epoch ms), a wait without one has neither",
    );
  }
  if (timeoutMs !== undefined) {
    if (!isPositiveFinite(timeoutMs)) {
      throw invalid(`${path}.timeoutMs`, "must be a finite number of milliseconds greater than 0");
    }
    if (!isPositiveFinite(deadline))
      throw invalid(`${path}.deadline`, "must be a finite epoch time in ms, greater than 0");
    request.timeoutMs = timeoutMs;
    request.deadline = deadline;
  }
  if (timeoutPatch !== undefined) {
    if (timeoutMs === undefined) throw invalid(`${path}.timeoutPatch`, "needs timeoutMs");
    request.timeoutPatch = copyJsonObject(timeoutPatch, `${path}.timeoutPatch`, invalid);
  }
  if (patch !== undefined) {
    if (typeof patch !== "string" || patch.length === 0) {
      throw invalid(`${path}.patch`, "must be the name of a patch mapper (a non-empty string)");
    }
    request.patch = patch;
  }
  return Object.freeze(request);
}
