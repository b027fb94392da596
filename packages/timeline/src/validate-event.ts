import { classNameOf, describeFault, describeKind, SystemError } from "@sluice/errors";
import { isTimelineEventField } from "./event-fields.js";
import { MAX_DATA_DEPTH } from "./limits.js";
import type { TimelineEvent } from "./types.js";

const TOO_DEEP = "too deep";

// Why a value inside `data` is not plain JSON. Thrown on the unhappy path only; each level of the
// walk prepends its key while the error unwinds, so the happy path builds no paths at all.
class DataFault {
  readonly path: Array<string | number> = [];
  constructor(readonly reason: string) {}
}

// Reading a value inside `data` threw (a getter that throws, a hostile Proxy): `cause` is what it threw.
class ReadFault extends DataFault {
  constructor(readonly cause: unknown) {
    super(`could not be read (reading it threw ${describeFault(cause)})`);
  }
}

/**
 * Checks that `event` is a well-formed {@link TimelineEvent}; throws a `SystemError` coded
 * `INVALID_INPUT` naming the event and the field, e.g. `events[3].seq must be a non-negative integer`.
 * Reading the event is part of checking it: an event, or `data` nested anywhere in it, that throws
 * when read (a getter that throws, a hostile `Proxy`) is `INVALID_INPUT` too, with what it threw as
 * the error's `cause`.
 *
 * Rules: `id`, `runId`, `workflowId`, `source`, `type` are non-empty strings; `seq` is a
 * non-negative safe integer; `at` is a finite number; `stage`, `step`, `message` are strings when
 * present; `level` is `debug`, `info`, `warn` or `error` when present; `data` is plain JSON (objects
 * with the `Object` or `null` prototype, arrays without `undefined` items, strings, finite numbers,
 * booleans, `null`; at most {@link MAX_DATA_DEPTH} levels deep; no cycles). Object properties whose
 * value is `undefined` are allowed and count as absent, as in JSON. No other fields are allowed:
 * put extra detail in `data`.
 *
 * @param event - the value to check
 * @param index - its position in a batch; messages then say `events[index]` instead of `event`
 */
export function validateTimelineEvent(event: unknown, index?: number): asserts event is TimelineEvent {
  let fault: SystemError | undefined;
  try {
    fault = eventFault(event, index);
  } catch (thrown) {
    // Callers split or retry a batch only on INVALID_INPUT (the runtime's writer keeps the other
    // runs' events that way): a raw error from a getter would lose the whole batch.
    throw unreadableEvent(index, thrown);
  }
  if (fault !== undefined) throw fault;
}

/**
 * {@link validateTimelineEvent}'s checks: returns the `INVALID_INPUT` error for what is wrong, or
 * `undefined`. It returns rather than throws so that the caller can tell its own errors from
 * whatever reading the event threw.
 */
function eventFault(event: unknown, index: number | undefined): SystemError | undefined {
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    const at = prefix(index);
    return invalid(`${at} must be an object (a TimelineEvent), got ${describe(event)}`, at);
  }
  const e = event as Record<string, unknown>;
  // Named reads and inline checks: this runs for every stored event, so the happy path calls
  // nothing and allocates nothing; helpers only build the message once something is wrong.
  const id = e.id;
  if (typeof id !== "string" || id.length === 0) return textFault("id", id, index);
  const runId = e.runId;
  if (typeof runId !== "string" || runId.length === 0) return textFault("runId", runId, index);
  const workflowId = e.workflowId;
  if (typeof workflowId !== "string" || workflowId.length === 0) {
    return textFault("workflowId", workflowId, index);
  }
  const seq = e.seq;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) {
    const at = prefix(index);
    return invalid(`${at}.seq must be a non-negative integer, got ${describe(seq)}`, `${at}.seq`);
  }
  const time = e.at;
  if (typeof time !== "number" || !Number.isFinite(time)) {
    const at = prefix(index);
    return invalid(
      `${at}.at must be a finite number (epoch milliseconds), got ${describe(time)}`,
      `${at}.at`,
    );
  }
  const source = e.source;
  if (typeof source !== "string" || source.length === 0) return textFault("source", source, index);
  const type = e.type;
  if (typeof type !== "string" || type.length === 0) return textFault("type", type, index);
  const stage = e.stage;
  if (stage !== undefined && typeof stage !== "string") return optionalFault("stage", stage, index);
  const step = e.step;
  if (step !== undefined && typeof step !== "string") return optionalFault("step", step, index);
  const message = e.message;
  if (message !== undefined && typeof message !== "string") return optionalFault("message", message, index);
  const level = e.level;
  if (level !== undefined && !isLevel(level)) {
    const at = prefix(index);
    return invalid(
      `${at}.level must be "debug", "info", "warn" or "error", got ${describe(level)}`,
      `${at}.level`,
    );
  }
  // for-in walks V8's enum cache without allocating a key array (Object.keys allocates one per
  // event). It also yields inherited enumerable keys, which Object.keys would not: those are
  // skipped by the own-property check, made only for a key that is not a field.
  for (const key in e) {
    if (!isTimelineEventField(key) && Object.hasOwn(e, key)) {
      const at = prefix(index);
      return invalid(
        `${at}.${key} is not a TimelineEvent field; put extra detail in ${at}.data`,
        `${at}.${key}`,
      );
    }
  }
  const data = e.data;
  if (data !== null && typeof data === "object") {
    try {
      checkJson(data, 1);
    } catch (fault) {
      return dataFault(data, readFault(fault), index);
    }
  } else if (data !== undefined) {
    return primitiveDataFault(data, index);
  }
  return undefined;
}

/** The `INVALID_INPUT` error for what {@link checkJson} found wrong in an event's `data`. */
function dataFault(data: object, fault: DataFault, index: number | undefined): SystemError {
  const at = prefix(index);
  if (fault.reason === TOO_DEEP) {
    const cycle = cyclePrefix(data, fault.path);
    if (cycle === undefined) {
      return invalid(`${at}.data nests deeper than ${MAX_DATA_DEPTH} levels`, `${at}.data`);
    }
    const path = `${at}.data${formatPath(cycle)}`;
    return invalid(`${path} refers back to an enclosing object (a cycle); data must be plain JSON`, path);
  }
  const path = `${at}.data${formatPath(fault.path)}`;
  if (fault instanceof ReadFault) {
    return invalid(
      `${path} ${fault.reason}; data must be plain JSON whose properties can be read (no getters that throw, no Proxy objects)`,
      path,
      fault.cause,
    );
  }
  return invalid(`${path} ${fault.reason}; data must be plain JSON`, path);
}

/**
 * Checks every event of a batch with {@link validateTimelineEvent}; throws on the first malformed
 * one (its message names `events[i]` and the field). Adapters call this before writing anything, so
 * a bad batch stores nothing. An adapter that then reads the caller's events again to store them
 * stores what a getter gives on that second read, unchecked: use `readTimelineEvents`, which checks
 * the copies it read once.
 *
 * @param events - the batch given to `append`
 */
export function validateTimelineEvents(events: unknown): asserts events is readonly TimelineEvent[] {
  if (!Array.isArray(events)) {
    // A plain object here is most likely one event passed without its array: say how to pass it.
    const what = describe(events);
    const hint = what === "an object" ? " (to append one event, pass [event])" : "";
    throw invalid(`events must be an array of TimelineEvent, got ${what}${hint}`, "events");
  }
  // A Proxy passes Array.isArray: reading its length or an element may throw, as a getter may.
  let length: number;
  try {
    length = events.length;
  } catch (thrown) {
    throw unreadableEvents(thrown);
  }
  for (let i = 0; i < length; i++) {
    let event: unknown;
    try {
      event = events[i];
    } catch (thrown) {
      throw unreadableEvent(i, thrown);
    }
    validateTimelineEvent(event, i);
  }
}

function prefix(index: number | undefined): string {
  return index === undefined ? "event" : `events[${index}]`;
}

function textFault(key: string, value: unknown, index: number | undefined): SystemError {
  const at = prefix(index);
  return invalid(`${at}.${key} must be a non-empty string, got ${describe(value)}`, `${at}.${key}`);
}

function optionalFault(key: string, value: unknown, index: number | undefined): SystemError {
  const at = prefix(index);
  return invalid(`${at}.${key} must be a string when present, got ${describe(value)}`, `${at}.${key}`);
}

function isLevel(level: unknown): boolean {
  switch (level) {
    case "debug":
    case "info":
    case "warn":
    case "error":
      return true;
    default:
      return false;
  }
}

function primitiveDataFault(value: unknown, index: number | undefined): SystemError | undefined {
  try {
    checkJson(value, 1);
    return undefined;
  } catch (fault) {
    if (!(fault instanceof DataFault)) throw fault;
    const path = `${prefix(index)}.data`;
    return invalid(`${path} ${fault.reason}; data must be plain JSON`, path);
  }
}

function checkJson(value: unknown, depth: number): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) throw new DataFault(`is ${value} (not representable in JSON)`);
      return;
    case "object":
      break;
    case "undefined":
      throw new DataFault("is undefined (use null, or leave the property out)");
    case "bigint":
      throw new DataFault("is a BigInt (store it as a string)");
    default:
      throw new DataFault(`is a ${typeof value}`);
  }
  if (value === null) return;
  if (depth > MAX_DATA_DEPTH) throw new DataFault(TOO_DEEP);
  if (Array.isArray(value)) {
    const length = value.length;
    // one try per walk, not per item: the index says where a fault (or a throwing read) was
    let i = 0;
    try {
      for (; i < length; i++) {
        const item = value[i];
        if (!isJsonLeaf(item)) checkJson(item, depth + 1);
      }
    } catch (fault) {
      throw faultAt(fault, i);
    }
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new DataFault(`is a ${Object.prototype.toString.call(value).slice(8, -1)}, not a plain object`);
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let i = 0;
  try {
    for (; i < keys.length; i++) {
      const item = record[keys[i]!];
      if (item !== undefined && !isJsonLeaf(item)) checkJson(item, depth + 1);
    }
  } catch (fault) {
    throw faultAt(fault, keys[i]!);
  }
}

/**
 * `fault`, thrown while reading or checking the item at `key` of the value being walked, as a
 * {@link DataFault} whose path starts with `key` (the walk prepends the keys above as it unwinds).
 */
function faultAt(fault: unknown, key: string | number): DataFault {
  const dataFault = readFault(fault);
  dataFault.path.unshift(key);
  return dataFault;
}

/** `fault` as a {@link DataFault}: anything else was thrown by reading the data (a getter, a Proxy). */
function readFault(fault: unknown): DataFault {
  return fault instanceof DataFault ? fault : new ReadFault(fault);
}

// True for the values that need no walk: strings, booleans, finite numbers, null. Checked inline
// by the walk so the common flat `data` object costs no call per property.
function isJsonLeaf(value: unknown): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    default:
      return value === null;
  }
}

// Reached only when the walk went past MAX_DATA_DEPTH: finds the first step of `path` that comes
// back to an object already on it (a cycle); undefined when the data is merely deep.
function cyclePrefix(root: unknown, path: Array<string | number>): Array<string | number> | undefined {
  const seen = new Set<unknown>([root]);
  let node: unknown = root;
  for (let i = 0; i < path.length; i++) {
    node = (node as Record<string | number, unknown>)[path[i]!];
    if (seen.has(node)) return path.slice(0, i + 1);
    seen.add(node);
  }
  return undefined;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function formatPath(path: ReadonlyArray<string | number>): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (IDENTIFIER.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/**
 * A field's value or the batch, for a message, as `describeKind` tells it; a `Date` also says how to
 * pass it where a time is wanted.
 */
function describe(value: unknown): string {
  const kind = describeKind(value);
  return typeof value === "object" && value !== null && classNameOf(value) === "Date"
    ? `${kind} (pass date.getTime())`
    : kind;
}

function invalid(message: string, path: string, cause?: unknown): SystemError {
  return new SystemError("INVALID_INPUT", message, { cause, details: { path } });
}

/** The `INVALID_INPUT` error for an events array whose length threw `thrown` when read (a Proxy). */
export function unreadableEvents(thrown: unknown): SystemError {
  return invalid(
    `events could not be read (reading its length threw ${describeFault(thrown)}); pass a plain array`,
    "events",
    thrown,
  );
}

/**
 * The `INVALID_INPUT` error for an event (`events[index]`) whose reading threw `thrown` outside its
 * `data` (a field's getter, a Proxy as the event); `thrown` is its `cause`.
 */
export function unreadableEvent(index: number | undefined, thrown: unknown): SystemError {
  const at = prefix(index);
  return invalid(
    `${at} could not be read (reading it threw ${describeFault(thrown)}); an event must be a plain object whose fields can be read (no getters that throw, no Proxy objects)`,
    at,
    thrown,
  );
}
