import { SystemError } from "@sluice/errors";
import type { TimelinePosition } from "./order.js";
import type { TimelineQuery } from "./types.js";

const VERSION = 1;

/** The parts of a query a cursor is bound to (paging options are not). */
type FilterFields = Pick<TimelineQuery, "runId" | "workflowId" | "from" | "to">;

/**
 * Makes the opaque `next` cursor of a page: the position of the last event returned plus a
 * fingerprint of the filter (`runId`, `workflowId`, `from`, `to`), so that
 * {@link decodeCursor} can refuse it for another filter. `limit` may change between pages.
 *
 * @param last - the last event of the page
 * @param filter - the query that produced the page
 */
export function encodeCursor(last: TimelinePosition, filter: FilterFields | undefined): string {
  const body = JSON.stringify([VERSION, last.at, last.seq, last.id, fingerprint(filter)]);
  return toBase64Url(new TextEncoder().encode(body));
}

/**
 * Reads a cursor made by {@link encodeCursor} for the same filter; the next page holds the events
 * that come strictly after the returned position in the (`at`, `seq`, `id`) order. Throws a
 * `SystemError` coded `INVALID_INPUT` for anything that is not such a cursor, or for a cursor
 * issued for a different filter.
 */
export function decodeCursor(cursor: unknown, filter: FilterFields | undefined): TimelinePosition {
  if (typeof cursor !== "string" || cursor.length === 0) {
    throw invalid("filter.next must be the non-empty string a previous page returned as `next`");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fromBase64Url(cursor)));
  } catch {
    throw invalid("filter.next is not a cursor this store issued; pass a previous page's `next` unchanged");
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 5 ||
    parsed[0] !== VERSION ||
    typeof parsed[1] !== "number" ||
    !Number.isFinite(parsed[1]) ||
    !Number.isSafeInteger(parsed[2]) ||
    parsed[2] < 0 ||
    typeof parsed[3] !== "string" ||
    typeof parsed[4] !== "string"
  ) {
    throw invalid("filter.next is not a cursor this store issued; pass a previous page's `next` unchanged");
  }
  if (parsed[4] !== fingerprint(filter)) {
    throw invalid(
      "filter.next was issued for a different filter; page with the same runId, workflowId, from and to as the first page",
    );
  }
  return { at: parsed[1], seq: parsed[2], id: parsed[3] };
}

function fingerprint(filter: FilterFields | undefined): string {
  const f = filter ?? {};
  return hash(JSON.stringify([f.runId ?? null, f.workflowId ?? null, bound(f.from), bound(f.to)]));
}

/**
 * A `from` / `to` as the fingerprint writes it: JSON writes ±Infinity as `null`, the same as no
 * bound, so a cursor for `{}` passed for `{ from: Infinity }` was taken; those are written as
 * text. Finite bounds stay numbers, so cursors issued before keep working.
 */
function bound(value: number | undefined): number | string | null {
  if (value === undefined) return null;
  return Number.isFinite(value) ? value : String(value);
}

// cyrb53: a fast 53-bit string hash; ample to tell filters apart (this is not a security boundary).
function hash(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function invalid(message: string): SystemError {
  return new SystemError("INVALID_INPUT", message, { details: { path: "filter.next" } });
}
