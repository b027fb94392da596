import { EventLog, MIN_CAPACITY, MIN_CHAR_CAPACITY } from "./event-log.js";
import { tableCapacity } from "./id-table.js";
import { CHUNK_SHIFT, FIELDS, ROW_MASK } from "./text-rows.js";

/**
 * A new log holding only the live events of `old`, renumbered from 0, in a ring with room for
 * them plus `extra` more (and a quarter to spare, so steady appends do not compact again), their
 * records' code units from offset 0; `old`'s id table is rebuilt for it and its codec kept. The
 * caller replaces `old` with it, and its indexes with new ones. Used to drop deleted slots, and to
 * keep positions and offsets small (growing in place is `EventLog.reserve`'s).
 */
export function compactLog(old: EventLog, extra: number): EventLog {
  const live = old.live;
  const need = Math.ceil((live + extra) * 1.25);
  let capacity = MIN_CAPACITY;
  while (capacity < need) capacity *= 2;
  const from = old.head;
  const to = old.tail;
  const oldMask = old.mask;
  let liveChars = 0;
  for (let p = from; p < to; p++) {
    const o = p & oldMask;
    if (old.gone[o] === 0) liveChars += old.idLengths[o]! + old.dataLengths[o]!;
  }
  let charCapacity = MIN_CHAR_CAPACITY;
  while (charCapacity < 1.5 * liveChars) charCapacity *= 2;
  const oldChars = old.chars;
  const oldCharMask = oldChars.length - 1;
  const idTable = old.idTable;
  idTable.reset(tableCapacity(live + extra));
  const log = new EventLog(capacity, charCapacity, old.maxEvents, old.maxPosition, old.codec, idTable);
  const chars = log.chars;
  const rows = log.rows;
  rows.reserve(0, live);
  let s = 0;
  let charTail = 0;
  for (let p = from; p < to; p++) {
    const o = p & oldMask;
    if (old.gone[o] === 1) continue;
    const start = old.idStarts[o]!;
    const length = old.idLengths[o]! + old.dataLengths[o]!;
    for (let k = 0; k < length; k++) chars[charTail + k] = oldChars[(start + k) & oldCharMask]!;
    log.idStarts[s] = charTail;
    log.idLengths[s] = old.idLengths[o]!;
    log.dataLengths[s] = old.dataLengths[o]!;
    charTail += length;
    log.hashes[s] = old.hashes[o]!;
    const source = old.rows.chunks[(p >>> CHUNK_SHIFT) & old.rows.mask]!;
    const sourceRow = (p & ROW_MASK) * FIELDS;
    const target = rows.chunks[(s >>> CHUNK_SHIFT) & rows.mask]!;
    const targetRow = (s & ROW_MASK) * FIELDS;
    for (let f = 0; f < FIELDS; f++) target[targetRow + f] = source[sourceRow + f];
    log.levels[s] = old.levels[o]!;
    const value = old.kept.size === 0 ? undefined : old.kept.get(p);
    if (value !== undefined) log.kept.set(s, value);
    log.ats[s] = old.ats[o]!;
    log.seqs[s] = old.seqs[o]!;
    idTable.insert(old.hashes[o]!, s);
    s++;
  }
  log.charTail = charTail;
  log.tail = s;
  log.live = s;
  return log;
}
