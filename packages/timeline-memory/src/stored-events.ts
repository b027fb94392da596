import type { TimelineEvent } from "@sluice/timeline";
import { copyJson } from "./copy-json.js";
import { decodeUnits } from "./data-codec.js";
import type { EventLog } from "./event-log.js";
import { COLON, decimalDigits, ZERO } from "./id-hash.js";
import { LEVELS } from "./levels.js";
import {
  CHUNK_SHIFT,
  FIELDS,
  ID,
  MESSAGE,
  ROW_MASK,
  RUN_ID,
  SOURCE,
  STAGE,
  STEP,
  TYPE,
  WORKFLOW_ID,
} from "./text-rows.js";

// What the log holds for a position, read back: its event, its id, how two ids compare. An id is
// its code units in the log's `chars` ring, or (length 0) derived from its event's run id and seq;
// both forms of one id are equal here, as they hash the same in the id table.

/** A fresh, caller-owned copy of the event at `position` of `log`; absent fields stay absent. */
export function storedEvent(log: EventLog, position: number): TimelineEvent {
  const slot = position & log.mask;
  const rows = log.rows;
  const chunk = rows.chunks[(position >>> CHUNK_SHIFT) & rows.mask]!;
  const row = (position & ROW_MASK) * FIELDS;
  const out: TimelineEvent = {
    id: storedId(log, position),
    runId: chunk[row + RUN_ID]!,
    workflowId: chunk[row + WORKFLOW_ID]!,
    seq: log.seqs[slot]!,
    at: log.ats[slot]!,
    source: chunk[row + SOURCE]!,
    type: chunk[row + TYPE]!,
  };
  const stage = chunk[row + STAGE];
  if (stage !== undefined) out.stage = stage;
  const step = chunk[row + STEP];
  if (step !== undefined) out.step = step;
  const level = log.levels[slot]!;
  if (level !== 0) out.level = LEVELS[level]!;
  const message = chunk[row + MESSAGE];
  if (message !== undefined) out.message = message;
  if (log.dataLengths[slot] !== 0) {
    out.data = log.codec.decode(log.chars, log.idStarts[slot]! + log.idLengths[slot]!);
  } else if (log.kept.size !== 0) {
    const data = log.kept.get(position);
    if (data !== undefined) out.data = copyJson(data);
  }
  return out;
}

/** The id of the event at `position` of `log`, decoded from `chars` once and then kept in its row. */
export function storedId(log: EventLog, position: number): string {
  const rows = log.rows;
  const chunk = rows.chunks[(position >>> CHUNK_SHIFT) & rows.mask]!;
  const row = (position & ROW_MASK) * FIELDS;
  let id = chunk[row + ID];
  if (id === undefined) {
    const slot = position & log.mask;
    const length = log.idLengths[slot]!;
    id =
      length === 0
        ? `${chunk[row + RUN_ID]}:${log.seqs[slot]}`
        : decodeUnits(log.chars, log.idStarts[slot]!, length);
    chunk[row + ID] = id;
  }
  return id;
}

/** Order of two live positions of `log` in (`at`, `seq`, `id`). */
export function compareStored(log: EventLog, a: number, b: number): number {
  const sa = a & log.mask;
  const sb = b & log.mask;
  const ats = log.ats;
  if (ats[sa] !== ats[sb]) return ats[sa]! < ats[sb]! ? -1 : 1;
  const seqs = log.seqs;
  if (seqs[sa] !== seqs[sb]) return seqs[sa]! < seqs[sb]! ? -1 : 1;
  // ids compare by UTF-16 code units, as JavaScript strings do
  const lengthA = log.idLengths[sa]!;
  const lengthB = log.idLengths[sb]!;
  if (lengthA === 0 || lengthB === 0) {
    // a derived id, as its string (made once, then kept in its row)
    const idA = storedId(log, a);
    const idB = storedId(log, b);
    return idA === idB ? 0 : idA < idB ? -1 : 1;
  }
  const chars = log.chars;
  const charMask = chars.length - 1;
  const startA = log.idStarts[sa]!;
  const startB = log.idStarts[sb]!;
  const n = Math.min(lengthA, lengthB);
  for (let k = 0; k < n; k++) {
    const ca = chars[(startA + k) & charMask]!;
    const cb = chars[(startB + k) & charMask]!;
    if (ca !== cb) return ca < cb ? -1 : 1;
  }
  return lengthA === lengthB ? 0 : lengthA < lengthB ? -1 : 1;
}

/**
 * True when the event at `position` of `log` (at or after `head`) has the id whose `length` code
 * units (at least one) are at offset `start` of `chars`. What the id table asks the log (see
 * `IdLog.sameId`).
 */
export function sameStoredId(log: EventLog, position: number, start: number, length: number): boolean {
  const slot = position & log.mask;
  const storedLength = log.idLengths[slot]!;
  if (storedLength === 0) {
    return unitsSpell(log.chars, start, length, log.rows.get(position, RUN_ID)!, log.seqs[slot]!);
  }
  if (storedLength !== length) return false;
  const chars = log.chars;
  const charMask = chars.length - 1;
  const at = log.idStarts[slot]!;
  for (let k = 0; k < length; k++) {
    if (chars[(at + k) & charMask] !== chars[(start + k) & charMask]) return false;
  }
  return true;
}

/**
 * True when the event at `position` of `log` (at or after `head`) has the derived id `runId:seq`,
 * stored as such or written out. What the id table asks the log (see `IdLog.sameDerivedId`).
 */
export function sameDerivedId(log: EventLog, position: number, runId: string, seq: number): boolean {
  const slot = position & log.mask;
  const storedLength = log.idLengths[slot]!;
  if (storedLength === 0) return log.seqs[slot] === seq && log.rows.get(position, RUN_ID) === runId;
  return unitsSpell(log.chars, log.idStarts[slot]!, storedLength, runId, seq);
}

/** True when the `length` code units at `start` of the ring `chars` spell `runId:seq`. */
function unitsSpell(chars: Uint16Array, start: number, length: number, runId: string, seq: number): boolean {
  const runLength = runId.length;
  if (length !== runLength + 1 + decimalDigits(seq)) return false;
  const charMask = chars.length - 1;
  for (let k = 0; k < runLength; k++) {
    if (chars[(start + k) & charMask] !== runId.charCodeAt(k)) return false;
  }
  if (chars[(start + runLength) & charMask] !== COLON) return false;
  let rest = seq;
  for (let k = length - 1; k > runLength; k--) {
    const next = Math.floor(rest / 10);
    if (chars[(start + k) & charMask] !== ZERO + (rest - next * 10)) return false;
    rest = next;
  }
  return true;
}
