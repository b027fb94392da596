import type { TimelineEvent, TimelineLevel } from "@sluice/timeline";

// The fields no query filters on travel as one JSON array, `[source, type, stage, step, level,
// message]` plus `data` as a seventh element when the event has it (so `data: null` stays apart
// from no data; the others are never null when present). One bound value instead of seven: binding
// is a fixed cost per value in better-sqlite3, and it was a quarter of an append's time. JSON also
// keeps every JavaScript string intact: JSON.stringify escapes a lone surrogate, which SQLite's
// UTF-8 text would have replaced. This is schema version 2's format, which schema step 1 -> 2 also
// writes: a different format needs a schema step of its own, and that step must keep this one.

// What JSON.stringify escapes in a string, and then some: quote, backslash, control characters and
// lone surrogates (`u` makes a well-formed pair one code point, which \p{Cs} does not match).
const NEEDS_ESCAPE = /["\\\p{Cc}\p{Cs}]/u;

// JSON.stringify for one string, without its cost for the usual string with nothing to escape.
function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

const optional = (text: string | undefined): string => (text === undefined ? "null" : quote(text));

/** The fields of an event its body holds, besides `data`. */
export interface BodyFields {
  source: string;
  type: string;
  stage?: string | undefined;
  step?: string | undefined;
  level?: TimelineLevel | undefined;
  message?: string | undefined;
}

/**
 * The stored body of an event whose `data` is `dataJson` (its JSON text, or `undefined` when the
 * event has no data).
 */
export function encodeBody(e: BodyFields, dataJson: string | undefined): string {
  return (
    `[${quote(e.source)},${quote(e.type)},${optional(e.stage)},${optional(e.step)},` +
    `${optional(e.level)},${optional(e.message)}${dataJson === undefined ? "]" : `,${dataJson}]`}`
  );
}

/**
 * The stored body of `e`: the same text as {@link encodeBody} with `data` stringified, made by one
 * `JSON.stringify` of the array. V8 writes that into one flat string, where the concatenation in
 * encodeBody leaves a rope that binding then has to flatten (about 10% less time per event encoded).
 */
export function encodeEventBody(e: TimelineEvent): string {
  const stage = e.stage ?? null;
  const step = e.step ?? null;
  const level = e.level ?? null;
  const message = e.message ?? null;
  return JSON.stringify(
    e.data === undefined
      ? [e.source, e.type, stage, step, level, message]
      : [e.source, e.type, stage, step, level, message, e.data],
  );
}

type Body = [
  source: string,
  type: string,
  stage: string | null,
  step: string | null,
  level: TimelineLevel | null,
  message: string | null,
  data?: unknown,
];

/** The fields of an event its own columns hold. */
export type EventKey = Pick<TimelineEvent, "id" | "runId" | "workflowId" | "seq" | "at">;

/** The event whose columns hold `key` and whose body is `body` (made by {@link encodeBody}). */
export function decodeBody(key: EventKey, body: string): TimelineEvent {
  const b = JSON.parse(body) as Body;
  const event: TimelineEvent = {
    id: key.id,
    runId: key.runId,
    workflowId: key.workflowId,
    seq: key.seq,
    at: key.at,
    source: b[0],
    type: b[1],
  };
  if (b[2] !== null) event.stage = b[2];
  if (b[3] !== null) event.step = b[3];
  if (b[4] !== null) event.level = b[4];
  if (b[5] !== null) event.message = b[5];
  if (b.length > 6) event.data = b[6];
  return event;
}
