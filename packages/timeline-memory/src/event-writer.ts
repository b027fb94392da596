import { describeFault, SystemError } from "@sluice/errors";
import {
  isTimelineEventField,
  type TimelineBatch,
  type TimelineEvent,
  type TimelineLevel,
} from "@sluice/timeline";
import { copyCommonJson, copyJson, NOT_COMMON } from "./copy-json.js";
import { TOO_BIG, UNCOMMON } from "./data-codec.js";
import type { EventLog } from "./event-log.js";
import { copyUnits, MAX_DERIVED_SEQ, runSeqHash } from "./id-hash.js";
import { idTableFault } from "./id-table-fault.js";
import { IdUnits } from "./id-units.js";
import { levelIndex } from "./levels.js";

// Id tables from this many slots (4 MiB, beyond a core's cache; 256k ids at a load of 1/4) are read
// ahead of a batch's writes (see `IdTable.warm`).
const WARM_CAPACITY = 1 << 20;
// What `writeEvent` did with an event.
const WRITTEN = 0;
const REPEATED = 1;
const GAVE_UP = 2;

/**
 * Writes appended events (an array of objects, or a {@link TimelineBatch}'s columns) at the tail of
 * an {@link EventLog} that has room for them, skipping ids it holds already. Either all of a batch
 * is written or none of it: a write that gives up or throws undoes what it wrote.
 *
 * With `strict`, it also checks that each event is in the common form, and gives up (returning
 * false) at the first that is not; whatever it accepts, `validateTimelineEvent` accepts too (the
 * same rules, applied more narrowly). The store then runs the shared validator, which throws the
 * contract's error, and writes a batch it finds valid again without `strict`.
 */
export class EventWriter {
  private readonly idUnits = new IdUnits();

  /**
   * Writes `events` at `log`'s tail; false when `strict` gave up (nothing written). Without
   * `strict`, the batch must already be validated.
   *
   * Two passes, each field read once: the first collects the ids, whose code units {@link IdUnits}
   * then reads for the whole batch at once; the second checks and writes everything else. (Checking
   * first, then writing, read every property twice, walked `data` twice, and allocated a key array
   * per `data` object.)
   */
  writeEvents(log: EventLog, events: readonly TimelineEvent[], strict: boolean): boolean {
    const count = events.length;
    const first = log.tail;
    log.undoCharTail = log.charTail;
    // the event being read, for the error when reading it throws
    let i = 0;
    try {
      const ids: string[] = new Array(count);
      let total = 0;
      for (i = 0; i < count; i++) {
        const e = events[i]!;
        if (strict && (typeof e !== "object" || e === null)) return false;
        const id = e.id;
        if (strict && (typeof id !== "string" || id.length === 0)) return false;
        ids[i] = id;
        total += id.length;
      }
      const idUnits = this.idUnits.read(ids, total);
      const hashes = this.idUnits.hashes;
      if (log.idTable.capacity >= WARM_CAPACITY) log.idTable.warm(hashes, count);
      let at = 0;
      for (i = 0; i < count; i++) {
        const e = events[i]!;
        const length = ids[i]!.length;
        if (strict) {
          if (Array.isArray(e)) return undo(log, first);
          // inherited keys too: the validator ignores those that are not own, this path gives up
          for (const key in e) if (!isTimelineEventField(key)) return undo(log, first);
        }
        const written = writeEvent(
          log,
          strict,
          idUnits,
          at,
          length,
          hashes[i]!,
          e.runId,
          e.workflowId,
          e.seq,
          e.at,
          e.source,
          e.type,
          e.stage,
          e.step,
          e.level,
          e.message,
          e.data,
        );
        if (written === GAVE_UP) return undo(log, first);
        at += length;
      }
    } catch (thrown) {
      return undoThrow(log, first, strict, i, thrown);
    }
    log.live += log.tail - first;
    return true;
  }

  /**
   * {@link writeEvents} for a batch in columns: the same checks and writes, with each derived id's
   * code units made from its run id's and its seq's digits (no id string), and no object per event.
   */
  writeBatch(log: EventLog, batch: TimelineBatch, strict: boolean): boolean {
    if (strict && log.idTable.capacity < WARM_CAPACITY) {
      const written = this.writeDerivedBatch(log, batch);
      if (written !== undefined) return written;
    }
    const count = batch.length;
    const first = log.tail;
    log.undoCharTail = log.charTail;
    // the row being read, for the error when reading it throws
    let i = 0;
    try {
      const idUnits = this.idUnits.readBatch(batch);
      if (idUnits === undefined) return false;
      const { lengths, hashes } = this.idUnits;
      if (log.idTable.capacity >= WARM_CAPACITY) log.idTable.warm(hashes, count);
      const { runIds, workflowIds, seqs, ats, sources, types, stages, steps, levels, messages, data } = batch;
      let at = 0;
      for (i = 0; i < count; i++) {
        const length = lengths[i]!;
        const written = writeEvent(
          log,
          strict,
          idUnits,
          at,
          length,
          hashes[i]!,
          runIds[i]!,
          workflowIds[i]!,
          seqs[i]!,
          ats[i]!,
          sources[i]!,
          types[i]!,
          stages[i],
          steps[i],
          levels[i],
          messages[i],
          data[i],
        );
        if (written === GAVE_UP) return undo(log, first);
        at += length;
      }
    } catch (thrown) {
      return undoThrow(log, first, strict, i, thrown);
    }
    log.live += log.tail - first;
    return true;
  }

  /**
   * {@link writeBatch} with `strict`, in one pass, for a batch whose ids are all derived
   * (`runId:seq`, the runtime's batches), into a log whose id table needs no warming; `undefined`
   * (nothing written) for any other batch, which the general path then takes.
   *
   * Why a pass of its own: an event with a derived id and no `data` has no record in the code-unit
   * ring, so its hash (from its run's, made once a run) and its checks and writes are done here
   * inline, with no `IdUnits` pass over the batch first and no call of `writeEvent` with seventeen
   * arguments (a boxed `at` among them) that reloads the log's fields for every event: the store's
   * share of the runtime's invoke loop with the memory timeline, 14 events a run, went from ~23k to
   * ~17k instructions a run.
   */
  private writeDerivedBatch(log: EventLog, batch: TimelineBatch): boolean | undefined {
    const count = batch.length;
    const first = log.tail;
    log.undoCharTail = log.charTail;
    const { ids, runIds, workflowIds, seqs, ats, sources, types, stages, steps, levels, messages, data } =
      batch;
    const idUnits = this.idUnits;
    // Read once a batch: an append replaces none of them (`writeEvent` may replace `log.chars`,
    // which the rows written here do not touch).
    const { idTable, mask, hashes, idStarts, idLengths, dataLengths, rows, ats: logAts, seqs: logSeqs } = log;
    const logLevels = log.levels;
    // a string from the start (no valid run id is empty): see `IdUnits.readBatch`
    let lastRun = "";
    let lastRunHash = 0;
    // the row being read, for the error when reading it throws
    let i = 0;
    try {
      for (i = 0; i < count; i++) if (ids[i] !== undefined) return undefined;
      for (i = 0; i < count; i++) {
        const runId = runIds[i]!;
        const seq = seqs[i]!;
        const workflowId = workflowIds[i]!;
        const time = ats[i]!;
        const source = sources[i]!;
        const type = types[i]!;
        const stage = stages[i];
        const step = steps[i];
        const level = levels[i];
        const message = messages[i];
        const value = data[i];
        if (!commonFields(runId, workflowId, seq, time, source, type, stage, step, level, message)) {
          return undo(log, first);
        }
        if (seq >= MAX_DERIVED_SEQ) {
          // an id too long to keep as its run and seq: written out, by the general path
          undo(log, first);
          return undefined;
        }
        if (runId !== lastRun) {
          lastRunHash = idUnits.runHash(runId);
          lastRun = runId;
        }
        const hash = runSeqHash(lastRunHash, seq);
        if (value !== undefined) {
          if (
            writeEvent(
              log,
              true,
              idUnits.units,
              0,
              0,
              hash,
              runId,
              workflowId,
              seq,
              time,
              source,
              type,
              stage,
              step,
              level,
              message,
              value,
            ) === GAVE_UP
          ) {
            return undo(log, first);
          }
          continue;
        }
        const tail = log.tail;
        if (idTable.findOrInsertDerived(hash, runId, seq, tail, log) !== -1) continue;
        const slot = tail & mask;
        hashes[slot] = hash;
        idStarts[slot] = log.charTail;
        idLengths[slot] = 0;
        dataLengths[slot] = 0;
        log.tail = tail + 1;
        rows.write(tail, runId, workflowId, source, type, stage, step, message);
        logLevels[slot] = level === undefined ? 0 : levelIndex(level);
        logAts[slot] = time;
        logSeqs[slot] = seq;
      }
    } catch (thrown) {
      return undoThrow(log, first, true, i, thrown);
    }
    log.live += log.tail - first;
    return true;
  }
}

/**
 * Writes one event at `log`'s tail: its id's `length` code units are at `from` in `idUnits`,
 * and its hash is `hash` (see `idHash`).
 * Returns WRITTEN, REPEATED (its id is stored already: nothing written) or, with `strict`, GAVE_UP
 * when the event is not in the common form (nothing written for it; the caller undoes the rest).
 */
function writeEvent(
  log: EventLog,
  strict: boolean,
  idUnits: Uint16Array,
  from: number,
  length: number,
  hash: number,
  runId: string,
  workflowId: string,
  seq: number,
  time: number,
  source: string,
  type: string,
  stage: string | undefined,
  step: string | undefined,
  level: TimelineLevel | undefined,
  message: string | undefined,
  value: unknown,
): number {
  const codec = log.codec;
  // code units of `value` encoded in `codec.units`, after which `value` is what `data` keeps
  let units = 0;
  if (strict) {
    if (!commonFields(runId, workflowId, seq, time, source, type, stage, step, level, message))
      return GAVE_UP;
    if (typeof value === "object") {
      if (value !== null) {
        units = codec.encode(value);
        if (units === UNCOMMON) return GAVE_UP;
        if (units === TOO_BIG) {
          units = 0;
          value = copyCommonJson(value, 1);
          if (value === NOT_COMMON) return GAVE_UP;
        } else value = undefined;
      }
    } else if (
      value !== undefined &&
      typeof value !== "string" &&
      typeof value !== "boolean" &&
      !(typeof value === "number" && Number.isFinite(value))
    ) {
      return GAVE_UP;
    }
  } else if (typeof value === "object" && value !== null) {
    units = codec.encode(value);
    if (units < 0) {
      units = 0;
      value = copyJson(value);
    } else value = undefined;
  }
  const record = length + units;
  let tail = log.tail;
  let charTail = log.charTail;
  if (
    charTail - log.firstChar(tail, charTail) + record > log.chars.length ||
    charTail + record > log.maxPosition
  ) {
    log.makeRoomForChars(record, tail);
    charTail = log.charTail;
  }
  const chars = log.chars;
  const charMask = chars.length - 1;
  // Copy the id's code units after `charTail` (none for a derived id), then the data's; they
  // count only if the id is new.
  const unit = charTail & charMask;
  // -1 (no mask) in the usual case, a record that does not wrap around the end of the ring
  const wrap = unit + record <= chars.length ? -1 : charMask;
  if (length !== 0) copyUnits(idUnits, from, length, chars, unit, wrap);
  const encoded = codec.units;
  for (let k = 0; k < units; k++) chars[(unit + length + k) & wrap] = encoded[k]!;
  const found =
    length !== 0
      ? log.idTable.findOrInsert(hash, charTail, length, tail, log)
      : log.idTable.findOrInsertDerived(hash, runId, seq, tail, log);
  if (found !== -1) return REPEATED;
  const position = tail++;
  const slot = position & log.mask;
  if (value !== undefined) log.kept.set(position, value);
  log.hashes[slot] = hash;
  log.idStarts[slot] = charTail;
  log.idLengths[slot] = length;
  log.dataLengths[slot] = units;
  log.charTail = charTail + record;
  log.tail = tail;
  log.rows.write(position, runId, workflowId, source, type, stage, step, message);
  log.levels[slot] = level === undefined ? 0 : levelIndex(level);
  log.ats[slot] = time;
  log.seqs[slot] = seq;
  return WRITTEN;
}

/** True when an event's fields but its id and `data` are in the common form: the strict checks of both paths. */
function commonFields(
  runId: string,
  workflowId: string,
  seq: number,
  time: number,
  source: string,
  type: string,
  stage: string | undefined,
  step: string | undefined,
  level: TimelineLevel | undefined,
  message: string | undefined,
): boolean {
  return (
    typeof runId === "string" &&
    runId.length !== 0 &&
    typeof workflowId === "string" &&
    workflowId.length !== 0 &&
    typeof seq === "number" &&
    Number.isSafeInteger(seq) &&
    seq >= 0 &&
    typeof time === "number" &&
    // finite (NaN and ±Infinity give NaN), without boxing the float `Number.isFinite` takes here
    time - time === 0 &&
    typeof source === "string" &&
    source.length !== 0 &&
    typeof type === "string" &&
    type.length !== 0 &&
    (stage === undefined || typeof stage === "string") &&
    (step === undefined || typeof step === "string") &&
    (message === undefined || typeof message === "string") &&
    (level === undefined || level === "info" || level === "debug" || level === "warn" || level === "error")
  );
}

/**
 * Forgets what a write that gave up wrote since `log`'s tail was `first` (and its character tail
 * `undoCharTail`); returns false.
 */
function undo(log: EventLog, first: number): false {
  for (let position = first; position < log.tail; position++) {
    const slot = position & log.mask;
    if (!log.idTable.remove(log.hashes[slot]!, position, log)) throw idTableFault(position);
    log.kept.delete(position);
  }
  log.tail = first;
  log.charTail = log.undoCharTail;
  return false;
}

/**
 * Undoes a write that threw while reading event `index` (a getter that throws, a Proxy), so that
 * the rejected batch stores nothing. With `strict`, returns false: the shared validator then
 * reports the fault, naming the field or the path in `data` that threw. Without, the batch passed
 * the validator and threw only now: throws INVALID_INPUT itself.
 */
function undoThrow(log: EventLog, first: number, strict: boolean, index: number, thrown: unknown): false {
  undo(log, first);
  if (strict) return false;
  throw unreadableEvent(index, thrown);
}

/**
 * The `INVALID_INPUT` error for event `index` of a batch, whose reading threw `thrown` (its
 * `cause`) after the shared validator had read it without a fault (a getter that throws only
 * sometimes, say).
 */
function unreadableEvent(index: number, thrown: unknown): SystemError {
  const path = `events[${index}]`;
  return new SystemError(
    "INVALID_INPUT",
    `timeline-memory: ${path} threw when the store read it (${describeFault(thrown)}); an event must be a plain object whose fields can be read, and its data plain JSON whose properties can be read (no getters that throw, no Proxy objects)`,
    { cause: thrown, details: { path } },
  );
}
