import { describeValue, SystemError } from "@sluice/errors";
import {
  isTimelineEventField,
  makeTimelinePage,
  resolveQuery,
  TimelineBatch,
  type TimelineDeleteFilter,
  type TimelineEvent,
  type TimelineLevel,
  type TimelinePage,
  type TimelinePosition,
  type TimelineQuery,
  type TimelineStore,
  validateDeleteFilter,
  validateTimelineBatch,
  validateTimelineEvents,
} from "@sluice/timeline";
import { copyCommonJson, copyJson, NOT_COMMON } from "./copy-json.js";
import { DataCodec, decodeUnits, TOO_BIG, UNCOMMON } from "./data-codec.js";
import { COLON, copyUnits, decimalDigits, ZERO } from "./id-hash.js";
import { type IdLog, IdTable } from "./id-table.js";
import { IdUnits } from "./id-units.js";
import { PositionIndex } from "./position-index.js";
import { copyRing } from "./ring.js";
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
  TextRows,
  TYPE,
  WORKFLOW_ID,
} from "./text-rows.js";

/** Events kept when `maxEvents` is not given. */
export const DEFAULT_MAX_EVENTS = 100_000;

/** Options of {@link createMemoryTimelineStore}. */
export interface MemoryTimelineStoreOptions {
  /**
   * Most events kept (a positive integer; default {@link DEFAULT_MAX_EVENTS}). When an append goes
   * past it, the events appended longest ago are evicted, whatever their `at`.
   */
  maxEvents?: number;
}

/** A {@link TimelineStore} held in memory. */
export interface MemoryTimelineStore extends TimelineStore {
  /** How many events are stored now (at most `maxEvents`; 0 once closed). */
  readonly size: number;
}

/**
 * A bounded in-memory {@link TimelineStore}, for tests, development and short-lived processes.
 * Nothing persists: data lives until eviction, `delete` or `close()`.
 *
 * - Bounded: at most `maxEvents` events (default 100 000); past that, the oldest by insertion are
 *   evicted, so memory does not grow with the number of runs ever made.
 * - Fast to append: an append checks each event, writes it into the columns of a ring-buffer log
 *   (its id and `data` as code units in a typed-array ring, not as retained strings and objects)
 *   and records its id in a hash table; it allocates nothing per event. Per-run and per-workflow
 *   indexes are built only when a query or delete needs them, and eviction moves a head offset and
 *   forgets ids.
 * - Queries by run or workflow read position indexes sorted into (`at`, `seq`, `id`) order (runs
 *   append in order, so sorting is usually a no-op), and a page starts with a binary search.
 * - Isolated: events are copied in and out, so mutating an appended or returned object never
 *   changes what is stored.
 * - All or nothing: a rejected append stores none of its events. An event that throws when read
 *   (a getter in its `data` that throws, a Proxy) is rejected like any malformed one, with
 *   `INVALID_INPUT` naming it and what it threw as the `cause`.
 *
 * @example
 * ```ts
 * import { createMemoryTimelineStore } from "@sluice/timeline-memory";
 *
 * const timeline = createMemoryTimelineStore({ maxEvents: 10_000 });
 * await timeline.append([{ id: "e1", runId: "r1", workflowId: "orders", seq: 0, at: Date.now(),
 *   source: "runtime", type: "run.started" }]);
 * const { events } = await timeline.query({ runId: "r1" });
 * ```
 *
 * @param options - an object (or left out); throws `INVALID_INPUT` for anything else, or for a
 *   `maxEvents` that is not a positive integer. Keys it does not know are ignored.
 */
export function createMemoryTimelineStore(options: MemoryTimelineStoreOptions = {}): MemoryTimelineStore {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new SystemError(
      "INVALID_INPUT",
      `createMemoryTimelineStore: options must be an object such as { maxEvents: 10_000 }, or left out for the defaults; got ${describeOptions(options)}`,
      { details: { path: "options" } },
    );
  }
  const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  if (typeof maxEvents !== "number" || !Number.isSafeInteger(maxEvents) || maxEvents < 1) {
    throw new SystemError(
      "INVALID_INPUT",
      `createMemoryTimelineStore: maxEvents must be a positive integer, got ${String(maxEvents)}`,
      { details: { path: "options.maxEvents" } },
    );
  }
  return new MemoryStore(maxEvents, MAX_POSITION);
}

/**
 * A store whose positions and character offsets are renumbered once they would pass
 * `maxPosition` (normally 2^30): lets tests reach the renumbering paths. Not exported by the
 * package.
 *
 * @internal
 */
export function createMemoryTimelineStoreWithLimit(
  maxEvents: number,
  maxPosition: number,
): MemoryTimelineStore {
  return new MemoryStore(maxEvents, maxPosition);
}

// Positions and character offsets are renumbered before they reach this, so they stay small
// integers: they fit an Int32Array and `& mask` works on them.
const MAX_POSITION = 2 ** 30;
const MIN_CAPACITY = 1024;
const MIN_CHAR_CAPACITY = 16 * 1024;
// Id tables from this many slots (4 MiB, beyond a core's cache; 256k ids at a load of 1/4) are read
// ahead of a batch's writes (see `warm`).
const WARM_CAPACITY = 1 << 20;
// What `writeEvent` did with an event.
const WRITTEN = 0;
const REPEATED = 1;
const GAVE_UP = 2;
// An index is compacted once this many dropped positions lead it and they are most of the array.
const MIN_INDEX_COMPACT = 64;
// Run and workflow indexes are swept of fully evicted ones once there are this many (or twice as
// many as after the last sweep).
const MIN_SWEEP = 1024;

/**
 * The store. Events live in an insertion-ordered ring-buffer log held as columns (a typed array
 * per numeric field, and {@link TextRows} for the string fields), so appending allocates no object
 * per event and eviction of the oldest moves `head`. An event is addressed by its log position (an
 * ever-increasing integer; its slot in the typed columns is `position & mask`); indexes hold
 * positions, and a position is live while it is at or after `head` and not deleted. The log grows
 * by doubling without renumbering positions (`grow`); `rebuild` renumbers them,
 * rarely (to drop deleted slots, or before positions pass `maxPosition`).
 *
 * Ids and `data` are not kept as JavaScript values: each event's id (hashed on the way) and its
 * `data` (encoded by {@link DataCodec}) are written as UTF-16 code units into `chars`, a ring of its
 * own that fills and empties in log order. Every string or object an append keeps costs the garbage
 * collector again (copied while young, promoted, then marked), and these are the fields that are new
 * for every event: keeping them was about a third of the store's cost fed by the runtime, and half
 * of it for batches with `data`. They are decoded when a query returns them (ids then kept in their
 * row). A batch's derived id (`runId:seq`, the runtime's) is not written at all: its length is 0
 * and it is compared, ordered and returned as its event's run id and seq (writing its code units
 * was a fifth of an append); it is the same id as its string, which hashes the same (see `idHash`)
 * and compares equal to it (`sameId`).
 *
 * Appends do not touch the per-run and per-workflow indexes: a query or delete that needs the run
 * (or workflow) indexes first adds to them every position appended since they were last read, and
 * an index drops the positions that died meanwhile when it is read, so eviction only moves `head`
 * and forgets ids.
 */
class MemoryStore implements MemoryTimelineStore, IdLog {
  mask = MIN_CAPACITY - 1;
  hashes = new Int32Array(MIN_CAPACITY);
  private idStarts = new Int32Array(MIN_CAPACITY);
  private idLengths = new Int32Array(MIN_CAPACITY);
  /** Code units of the event's encoded `data`, right after its id's; 0 when there are none. */
  private dataLengths = new Int32Array(MIN_CAPACITY);
  /** {@link LEVELS} index of the event's `level` (0 when absent). */
  private levels = new Uint8Array(MIN_CAPACITY);
  /** The string fields, in chunked rows. (`level` is a number in `levels`; `data` is encoded.) */
  private rows = new TextRows(MIN_CAPACITY);
  /**
   * `data` that is not encoded, by position: primitives, and copies of objects the codec does not
   * take (events with encoded or no `data` are not in it).
   */
  private kept = new Map<number, unknown>();
  private ats = new Float64Array(MIN_CAPACITY);
  private seqs = new Float64Array(MIN_CAPACITY);
  /**
   * 1 for a deleted event whose slot `head` has not passed yet; 0 everywhere else (eviction clears
   * it as `head` passes), so appends need not write it.
   */
  private gone = new Uint8Array(MIN_CAPACITY);
  /** First position that may be live. */
  private head = 0;
  /** Next position to write. */
  private tail = 0;
  /** Live events. */
  private live = 0;
  /**
   * The ids and encoded `data` of positions `head` to `tail`, as UTF-16 code units, one record per
   * event in log order, at `offset & (chars.length - 1)`.
   */
  private chars = new Uint16Array(MIN_CHAR_CAPACITY);
  /** Offset of the next record's first code unit. */
  private charTail = 0;
  private readonly codec = new DataCodec();
  private readonly idTable = new IdTable();
  private readonly idUnits = new IdUnits();
  private runs = new IndexMap();
  private workflows = new IndexMap();
  /** Index of every event; built on the first query that needs it, then kept. */
  private all: PositionIndex | undefined;
  /** Positions before this one are in `all` (those that were live when added). */
  private allIndexed = 0;
  /** Deletes that removed something, so far: an index that saw fewer may hold deleted positions. */
  private deletes = 0;
  private closed = false;
  /** The derived id `writeEvent` is looking up (see `sameId`, length 0). */
  private incomingRun = "";
  private incomingSeq = 0;
  private readonly comparePositions = (a: number, b: number): number => this.compare(a, b);

  constructor(
    private readonly maxEvents: number,
    /** Positions and character offsets stay below this (renumbered by `rebuild`/`makeRoomForChars`). */
    private readonly maxPosition: number,
  ) {}

  get size(): number {
    return this.live;
  }

  async append(events: readonly TimelineEvent[]): Promise<void> {
    this.ensureOpen("append");
    if (!Array.isArray(events)) validateTimelineEvents(events);
    let count: number;
    try {
      count = events.length;
    } catch (thrown) {
      // a Proxy passes Array.isArray, and its length may throw
      throw new SystemError(
        "INVALID_INPUT",
        "timeline-memory: append(events): the events array could not be read; pass a plain array",
        { cause: thrown, details: { path: "events" } },
      );
    }
    if (count === 0) return;
    this.reserve(count);
    if (!this.write(events, true)) {
      // Not all in the common form: the shared validator throws the contract's INVALID_INPUT (so
      // nothing is written), or the batch is valid after all and takes the general path.
      validateTimelineEvents(events);
      this.write(events, false);
    }
    if (this.live > this.maxEvents) this.evict();
  }

  async appendBatch(batch: TimelineBatch): Promise<void> {
    this.ensureOpen("appendBatch");
    const count = batch?.length;
    if (typeof count !== "number" || !(batch instanceof TimelineBatch)) validateTimelineBatch(batch);
    if (count === 0) return;
    this.reserve(count);
    if (!this.writeBatch(batch, true)) {
      // as in append: the shared validator throws, or the batch takes the general path
      validateTimelineBatch(batch);
      this.writeBatch(batch, false);
    }
    if (this.live > this.maxEvents) this.evict();
  }

  async query(filter?: TimelineQuery): Promise<TimelinePage> {
    this.ensureOpen("query");
    const q = resolveQuery(filter);
    const index =
      q.runId !== undefined
        ? this.indexOf(this.runs, RUN_ID, q.runId)
        : q.workflowId !== undefined
          ? this.indexOf(this.workflows, WORKFLOW_ID, q.workflowId)
          : this.allIndex();
    if (index === undefined) return { events: [] };
    this.prepare(index);
    const { positions, start } = index;
    const n = positions.length;
    let i = q.from === undefined ? start : this.firstAtOrAfter(positions, start, q.from);
    if (q.after !== undefined) i = Math.max(i, this.firstAfter(positions, start, q.after));
    const checkWorkflow = q.runId !== undefined && q.workflowId !== undefined;
    const to = q.to;
    const mask = this.mask;
    const rows: TimelineEvent[] = [];
    for (; i < n && rows.length <= q.limit; i++) {
      const position = positions[i]!;
      const slot = position & mask;
      if (to !== undefined && this.ats[slot]! >= to) break;
      if (checkWorkflow && this.rows.get(position, WORKFLOW_ID) !== q.workflowId) continue;
      rows.push(this.toEvent(position));
    }
    return makeTimelinePage(rows, q);
  }

  async delete(filter: TimelineDeleteFilter): Promise<number> {
    this.ensureOpen("delete");
    validateDeleteFilter(filter);
    const { runId, workflowId, before } = filter;
    let count = 0;
    if (runId === undefined && workflowId === undefined) {
      // `before` alone: one pass over the log beats building and sorting an index of everything
      const { ats, gone, mask } = this;
      for (let position = this.head; position < this.tail; position++) {
        const slot = position & mask;
        if (gone[slot] === 0 && ats[slot]! < before!) {
          this.remove(slot, position);
          count++;
        }
      }
    } else {
      const indexes = runId !== undefined ? this.runs : this.workflows;
      const key = runId ?? workflowId!;
      const index = this.indexOf(indexes, runId !== undefined ? RUN_ID : WORKFLOW_ID, key);
      if (index === undefined) return 0;
      this.prepare(index);
      const { positions, start } = index;
      const { ats, mask } = this;
      const checkWorkflow = runId !== undefined && workflowId !== undefined;
      for (let i = start; i < positions.length; i++) {
        const position = positions[i]!;
        const slot = position & mask;
        if (before !== undefined && !(ats[slot]! < before)) break;
        if (checkWorkflow && this.rows.get(position, WORKFLOW_ID) !== workflowId) continue;
        this.remove(slot, position);
        count++;
      }
      if (count === positions.length - start) indexes.byKey.delete(key);
    }
    if (count > 0) {
      this.deletes++;
      this.live -= count;
      // Deleted slots stay in the log until `head` passes them; rewrite it once they dominate.
      if (this.tail - this.head > 2 * this.live + MIN_CAPACITY) this.rebuild(0);
    }
    return count;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reset(MIN_CAPACITY);
    this.chars = new Uint16Array(MIN_CHAR_CAPACITY);
    this.charTail = 0;
    this.idTable.reset(4 * MIN_CAPACITY);
  }

  /** Room for `count` more events in the log, the id table and the string rows. */
  private reserve(count: number): void {
    if (this.tail + count > this.maxPosition) this.rebuild(count);
    else if (this.tail - this.head + count > this.mask + 1) this.grow(count);
    if ((this.idTable.size + count) * 4 > this.idTable.capacity) this.growIdTable(count);
    this.rows.reserve(this.tail, this.tail + count);
  }

  /**
   * True when the event at `position` (at or after `head`) has the id whose `length` code units are
   * at offset `start` of `chars`, or, with `length` 0, the derived id `incomingRun:incomingSeq`.
   * A stored id is code units too, or (length 0) derived from its event's run id and seq.
   */
  sameId(position: number, start: number, length: number): boolean {
    const slot = position & this.mask;
    const storedLength = this.idLengths[slot]!;
    if (length === 0) {
      if (storedLength === 0) {
        return this.seqs[slot] === this.incomingSeq && this.rows.get(position, RUN_ID) === this.incomingRun;
      }
      return this.unitsSpell(this.idStarts[slot]!, storedLength, this.incomingRun, this.incomingSeq);
    }
    if (storedLength === 0) {
      return this.unitsSpell(start, length, this.rows.get(position, RUN_ID)!, this.seqs[slot]!);
    }
    if (storedLength !== length) return false;
    const chars = this.chars;
    const charMask = chars.length - 1;
    const at = this.idStarts[slot]!;
    for (let k = 0; k < length; k++) {
      if (chars[(at + k) & charMask] !== chars[(start + k) & charMask]) return false;
    }
    return true;
  }

  /** True when the `length` code units at `start` of `chars` spell `runId:seq`. */
  private unitsSpell(start: number, length: number, runId: string, seq: number): boolean {
    const runLength = runId.length;
    if (length !== runLength + 1 + decimalDigits(seq)) return false;
    const chars = this.chars;
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

  /**
   * Writes `events` at the log's tail, skipping ids already stored. With `strict`, it also checks
   * that each event is in the common form, and stops at the first that is not, undoing what it
   * wrote and returning false; whatever it accepts, `validateTimelineEvent` accepts too (the same
   * rules, applied more narrowly). Without `strict`, the batch must already be validated.
   *
   * Two passes, each field read once: the first collects the ids, whose code units {@link IdUnits}
   * then reads for the whole batch at once; the second checks and writes everything else. (Checking
   * first, then writing, read every property twice, walked `data` twice, and allocated a key array
   * per `data` object.)
   */
  private write(events: readonly TimelineEvent[], strict: boolean): boolean {
    const count = events.length;
    const first = this.tail;
    const firstChar = this.charTail;
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
      if (this.idTable.capacity >= WARM_CAPACITY) this.idTable.warm(hashes, count);
      let at = 0;
      for (i = 0; i < count; i++) {
        const e = events[i]!;
        const length = ids[i]!.length;
        if (strict) {
          if (Array.isArray(e)) return this.undo(first, firstChar);
          // inherited keys too: the validator ignores those that are not own, this path gives up
          for (const key in e) if (!isTimelineEventField(key)) return this.undo(first, firstChar);
        }
        const written = this.writeEvent(
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
        if (written === GAVE_UP) return this.undo(first, firstChar);
        at += length;
      }
    } catch (thrown) {
      return this.undoThrow(first, firstChar, strict, i, thrown);
    }
    this.live += this.tail - first;
    return true;
  }

  /**
   * {@link write} for a batch in columns: the same checks and writes, with each derived id's code
   * units made from its run id's and its seq's digits (no id string), and no object per event.
   */
  private writeBatch(batch: TimelineBatch, strict: boolean): boolean {
    const count = batch.length;
    const first = this.tail;
    const firstChar = this.charTail;
    // the row being read, for the error when reading it throws
    let i = 0;
    try {
      const idUnits = this.idUnits.readBatch(batch);
      if (idUnits === undefined) return false;
      const { lengths, hashes } = this.idUnits;
      if (this.idTable.capacity >= WARM_CAPACITY) this.idTable.warm(hashes, count);
      const { runIds, workflowIds, seqs, ats, sources, types, stages, steps, levels, messages, data } = batch;
      let at = 0;
      for (i = 0; i < count; i++) {
        const length = lengths[i]!;
        const written = this.writeEvent(
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
        if (written === GAVE_UP) return this.undo(first, firstChar);
        at += length;
      }
    } catch (thrown) {
      return this.undoThrow(first, firstChar, strict, i, thrown);
    }
    this.live += this.tail - first;
    return true;
  }

  /**
   * Writes one event at the log's tail: its id's `length` code units are at `from` in `idUnits`,
   * and its hash is `hash` (see `idHash`).
   * Returns WRITTEN, REPEATED (its id is stored already: nothing written) or, with `strict`, GAVE_UP
   * when the event is not in the common form (nothing written for it; the caller undoes the rest).
   */
  private writeEvent(
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
    const codec = this.codec;
    // code units of `value` encoded in `codec.units`, after which `value` is what `data` keeps
    let units = 0;
    if (strict) {
      if (
        typeof runId !== "string" ||
        runId.length === 0 ||
        typeof workflowId !== "string" ||
        workflowId.length === 0 ||
        typeof seq !== "number" ||
        !Number.isSafeInteger(seq) ||
        seq < 0 ||
        typeof time !== "number" ||
        !Number.isFinite(time) ||
        typeof source !== "string" ||
        source.length === 0 ||
        typeof type !== "string" ||
        type.length === 0 ||
        (stage !== undefined && typeof stage !== "string") ||
        (step !== undefined && typeof step !== "string") ||
        (message !== undefined && typeof message !== "string") ||
        (level !== undefined &&
          level !== "info" &&
          level !== "debug" &&
          level !== "warn" &&
          level !== "error")
      ) {
        return GAVE_UP;
      }
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
    let tail = this.tail;
    let charTail = this.charTail;
    if (
      charTail - this.firstChar(tail, charTail) + record > this.chars.length ||
      charTail + record > this.maxPosition
    ) {
      this.makeRoomForChars(record, tail);
      charTail = this.charTail;
    }
    const chars = this.chars;
    const charMask = chars.length - 1;
    // Copy the id's code units after `charTail` (none for a derived id), then the data's; they
    // count only if the id is new.
    const unit = charTail & charMask;
    // -1 (no mask) in the usual case, a record that does not wrap around the end of the ring
    const wrap = unit + record <= chars.length ? -1 : charMask;
    if (length !== 0) copyUnits(idUnits, from, length, chars, unit, wrap);
    else {
      this.incomingRun = runId;
      this.incomingSeq = seq;
    }
    const encoded = codec.units;
    for (let k = 0; k < units; k++) chars[(unit + length + k) & wrap] = encoded[k]!;
    if (this.idTable.findOrInsert(hash, charTail, length, tail, this) !== -1) return REPEATED;
    const position = tail++;
    const slot = position & this.mask;
    if (value !== undefined) this.kept.set(position, value);
    this.hashes[slot] = hash;
    this.idStarts[slot] = charTail;
    this.idLengths[slot] = length;
    this.dataLengths[slot] = units;
    this.charTail = charTail + record;
    this.tail = tail;
    const rows = this.rows;
    const chunk = rows.chunks[(position >>> CHUNK_SHIFT) & rows.mask]!;
    const row = (position & ROW_MASK) * FIELDS;
    chunk[row + RUN_ID] = runId;
    chunk[row + WORKFLOW_ID] = workflowId;
    chunk[row + SOURCE] = source;
    chunk[row + TYPE] = type;
    chunk[row + STAGE] = stage;
    chunk[row + STEP] = step;
    chunk[row + MESSAGE] = message;
    chunk[row + ID] = undefined;
    this.levels[slot] = level === undefined ? 0 : levelIndex(level);
    this.ats[slot] = time;
    this.seqs[slot] = seq;
    return WRITTEN;
  }

  /**
   * Forgets what a `write` that gave up wrote since the log's tail was `first` and its character
   * tail `firstChar`; returns false.
   */
  private undo(first: number, firstChar: number): false {
    for (let position = first; position < this.tail; position++) {
      const slot = position & this.mask;
      this.idTable.remove(this.hashes[slot]!, position, this);
      this.kept.delete(position);
    }
    this.tail = first;
    this.charTail = firstChar;
    return false;
  }

  /**
   * Undoes a `write` or `writeBatch` that threw while reading event `index` (a getter that throws, a
   * Proxy), so that the rejected batch stores nothing. With `strict`, returns false: the shared
   * validator then reports the fault, naming the field or the path in `data` that threw. Without,
   * the batch passed the validator and threw only now: throws INVALID_INPUT itself.
   */
  private undoThrow(
    first: number,
    firstChar: number,
    strict: boolean,
    index: number,
    thrown: unknown,
  ): false {
    this.undo(first, firstChar);
    if (strict) return false;
    throw unreadableEvent(index, thrown);
  }

  /** Offset of the first code unit still needed: that of `head`'s id, or `charTail` when empty. */
  private firstChar(tail: number, charTail: number): number {
    return this.head < tail ? this.idStarts[this.head & this.mask]! : charTail;
  }

  /**
   * Makes room in `chars` for `length` more code units after `charTail`, for the records of
   * positions `head` to `tail`: a ring half as large again as needed, and offsets renumbered from 0
   * when they would pass `maxPosition`.
   */
  private makeRoomForChars(length: number, tail: number): void {
    const old = this.chars;
    const oldMask = old.length - 1;
    const from = this.firstChar(tail, this.charTail);
    const used = this.charTail - from;
    let capacity = MIN_CHAR_CAPACITY;
    while (capacity < 1.5 * (used + length)) capacity *= 2;
    const chars = new Uint16Array(capacity);
    const charMask = capacity - 1;
    const shift = this.charTail + length > this.maxPosition ? from : 0;
    if (shift === 0 && capacity >= old.length) copyRing(old, chars, from, this.charTail);
    else {
      for (let offset = from; offset < this.charTail; offset++) {
        chars[(offset - shift) & charMask] = old[offset & oldMask]!;
      }
    }
    if (shift !== 0) {
      for (let position = this.head; position < tail; position++)
        this.idStarts[position & this.mask]! -= shift;
      this.charTail -= shift;
    }
    this.chars = chars;
  }

  /** Evicts the oldest events by insertion until at most `maxEvents` remain. */
  private evict(): void {
    const { gone, hashes, idTable, mask, kept } = this;
    let excess = this.live - this.maxEvents;
    this.live -= excess;
    let head = this.head;
    while (excess > 0) {
      const slot = head & mask;
      if (gone[slot] === 1) gone[slot] = 0;
      else {
        idTable.remove(hashes[slot]!, head, this);
        if (kept.size !== 0) kept.delete(head);
        excess--;
      }
      head++;
    }
    this.head = head;
  }

  /** Marks a live event deleted (the caller counts it). */
  private remove(slot: number, position: number): void {
    this.gone[slot] = 1;
    this.kept.delete(position);
    this.idTable.remove(this.hashes[slot]!, position, this);
  }

  private isLive(position: number): boolean {
    return position >= this.head && position < this.tail && this.gone[position & this.mask] === 0;
  }

  /**
   * The index of `key` in `indexes` (runs or workflows, keyed by the row field `field`), after
   * adding to them every live position appended since they were last read.
   */
  private indexOf(indexes: IndexMap, field: number, key: string): PositionIndex | undefined {
    const tail = this.tail;
    const { gone, mask } = this;
    const map = indexes.byKey;
    let current: string | undefined;
    let index: PositionIndex | undefined;
    for (let position = Math.max(indexes.indexed, this.head); position < tail; position++) {
      const slot = position & mask;
      if (gone[slot] === 1) continue;
      // runs usually append their events together: skip the map lookups while the key repeats
      const k = this.rows.get(position, field)!;
      if (k !== current || index === undefined) {
        current = k;
        index = map.get(k);
        if (index === undefined) {
          index = new PositionIndex(k, this.deletes);
          map.set(k, index);
        }
      }
      this.add(index, position);
    }
    indexes.indexed = tail;
    if (map.size > indexes.sweepAt) {
      // forget the indexes whose every event was evicted
      for (const [k, old] of map) if (old.last < this.head) map.delete(k);
      indexes.sweepAt = Math.max(MIN_SWEEP, 2 * map.size);
    }
    return map.get(key);
  }

  /** Appends `position`, newer than every position in `index`. */
  private add(index: PositionIndex, position: number): void {
    const positions = index.positions;
    const n = positions.length;
    if (n === index.start || index.last < this.head) {
      // nothing in it is live (every position was dropped, or is evicted): start afresh
      if (n > 0) clearIndex(index, this.deletes);
      index.min = position;
    } else if (index.sorted) {
      // a deleted last position tells nothing about the live ones before it: sort when read
      const last = positions[n - 1]!;
      if (this.gone[last & this.mask] === 1 || this.compare(last, position) > 0) index.sorted = false;
    }
    index.positions.push(position);
    index.last = position;
  }

  /** Leaves only live positions from `index.start` on, in (`at`, `seq`, `id`) order. */
  private prepare(index: PositionIndex): void {
    if (index.deletes !== this.deletes) this.dropDead(index);
    else if (index.min < this.head) {
      if (index.increasing) this.dropEvicted(index);
      else this.dropDead(index);
    }
    if (!index.sorted) {
      let positions = index.positions;
      if (index.start > 0) positions = index.positions = positions.slice(index.start);
      index.start = 0;
      positions.sort(this.comparePositions);
      index.sorted = true;
      let increasing = true;
      let min = positions[0] ?? 0;
      for (let i = 1; i < positions.length; i++) {
        const position = positions[i]!;
        if (position < positions[i - 1]!) increasing = false;
        if (position < min) min = position;
      }
      index.increasing = increasing;
      index.min = min;
    }
  }

  /** Skips the evicted prefix of an increasing index (binary search), compacting now and then. */
  private dropEvicted(index: PositionIndex): void {
    const positions = index.positions;
    const head = this.head;
    let lo = index.start;
    let hi = positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (positions[mid]! < head) lo = mid + 1;
      else hi = mid;
    }
    index.min = lo < positions.length ? positions[lo]! : head;
    if (lo >= MIN_INDEX_COMPACT && lo * 2 > positions.length) {
      index.positions = positions.slice(lo);
      index.start = 0;
    } else index.start = lo;
  }

  private dropDead(index: PositionIndex): void {
    const positions = index.positions;
    const out: number[] = [];
    let min = this.tail;
    for (let i = index.start; i < positions.length; i++) {
      const position = positions[i]!;
      if (this.isLive(position)) {
        out.push(position);
        if (position < min) min = position;
      }
    }
    index.positions = out;
    index.start = 0;
    index.min = min;
    index.deletes = this.deletes;
  }

  /** The index of every event, after adding to it every live position appended since last read. */
  private allIndex(): PositionIndex {
    let all = this.all;
    if (all === undefined) {
      all = this.all = new PositionIndex("", this.deletes);
      this.allIndexed = this.head;
    }
    const tail = this.tail;
    for (let position = Math.max(this.allIndexed, this.head); position < tail; position++) {
      if (this.gone[position & this.mask] === 0) this.add(all, position);
    }
    this.allIndexed = tail;
    return all;
  }

  /** Order of two live positions in (`at`, `seq`, `id`). */
  private compare(a: number, b: number): number {
    const sa = a & this.mask;
    const sb = b & this.mask;
    const ats = this.ats;
    if (ats[sa] !== ats[sb]) return ats[sa]! < ats[sb]! ? -1 : 1;
    const seqs = this.seqs;
    if (seqs[sa] !== seqs[sb]) return seqs[sa]! < seqs[sb]! ? -1 : 1;
    // ids compare by UTF-16 code units, as JavaScript strings do
    const lengthA = this.idLengths[sa]!;
    const lengthB = this.idLengths[sb]!;
    if (lengthA === 0 || lengthB === 0) {
      // a derived id, as its string (made once, then kept in its row)
      const idA = this.idOf(a);
      const idB = this.idOf(b);
      return idA === idB ? 0 : idA < idB ? -1 : 1;
    }
    const chars = this.chars;
    const charMask = chars.length - 1;
    const startA = this.idStarts[sa]!;
    const startB = this.idStarts[sb]!;
    const n = Math.min(lengthA, lengthB);
    for (let k = 0; k < n; k++) {
      const ca = chars[(startA + k) & charMask]!;
      const cb = chars[(startB + k) & charMask]!;
      if (ca !== cb) return ca < cb ? -1 : 1;
    }
    return lengthA === lengthB ? 0 : lengthA < lengthB ? -1 : 1;
  }

  /** First index in `positions` (prepared, from `start`) whose event has `at >= from`. */
  private firstAtOrAfter(positions: number[], start: number, from: number): number {
    let lo = start;
    let hi = positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ats[positions[mid]! & this.mask]! < from) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index in `positions` (prepared, from `start`) strictly after `after` in (`at`, `seq`, `id`) order. */
  private firstAfter(positions: number[], start: number, after: TimelinePosition): number {
    let lo = start;
    let hi = positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const position = positions[mid]!;
      const slot = position & this.mask;
      const at = this.ats[slot]!;
      const seq = this.seqs[slot]!;
      const beforeOrSame =
        at !== after.at
          ? at < after.at
          : seq !== after.seq
            ? seq < after.seq
            : this.idOf(position) <= after.id;
      if (beforeOrSame) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The id of the event at `position`, decoded from `chars` once and then kept in its row. */
  private idOf(position: number): string {
    const rows = this.rows;
    const chunk = rows.chunks[(position >>> CHUNK_SHIFT) & rows.mask]!;
    const row = (position & ROW_MASK) * FIELDS;
    let id = chunk[row + ID];
    if (id === undefined) {
      const slot = position & this.mask;
      const length = this.idLengths[slot]!;
      id =
        length === 0
          ? `${chunk[row + RUN_ID]}:${this.seqs[slot]}`
          : decodeUnits(this.chars, this.idStarts[slot]!, length);
      chunk[row + ID] = id;
    }
    return id;
  }

  /** A fresh, caller-owned copy of the event at `position`; absent fields stay absent. */
  private toEvent(position: number): TimelineEvent {
    const slot = position & this.mask;
    const rows = this.rows;
    const chunk = rows.chunks[(position >>> CHUNK_SHIFT) & rows.mask]!;
    const row = (position & ROW_MASK) * FIELDS;
    const out: TimelineEvent = {
      id: this.idOf(position),
      runId: chunk[row + RUN_ID]!,
      workflowId: chunk[row + WORKFLOW_ID]!,
      seq: this.seqs[slot]!,
      at: this.ats[slot]!,
      source: chunk[row + SOURCE]!,
      type: chunk[row + TYPE]!,
    };
    const stage = chunk[row + STAGE];
    if (stage !== undefined) out.stage = stage;
    const step = chunk[row + STEP];
    if (step !== undefined) out.step = step;
    const level = this.levels[slot]!;
    if (level !== 0) out.level = LEVELS[level]!;
    const message = chunk[row + MESSAGE];
    if (message !== undefined) out.message = message;
    if (this.dataLengths[slot] !== 0) {
      out.data = this.codec.decode(this.chars, this.idStarts[slot]! + this.idLengths[slot]!);
    } else if (this.kept.size !== 0) {
      const data = this.kept.get(position);
      if (data !== undefined) out.data = copyJson(data);
    }
    return out;
  }

  /**
   * Makes room in the log for `extra` more events: columns of the next power of two that holds them
   * all, positions unchanged (so the id table, the indexes and the string rows stay as they are).
   * A store growing toward a large `maxEvents` does this once per doubling: rewriting the whole log
   * each time instead, as {@link rebuild} does, and the id table with it, was a quarter of the cost
   * of appending 400k events into a store bounded at a million.
   */
  private grow(extra: number): void {
    const { head, tail } = this;
    const need = tail - head + extra;
    let capacity = 2 * (this.mask + 1);
    while (capacity < need) capacity *= 2;
    this.hashes = copyRing(this.hashes, new Int32Array(capacity), head, tail);
    this.idStarts = copyRing(this.idStarts, new Int32Array(capacity), head, tail);
    this.idLengths = copyRing(this.idLengths, new Int32Array(capacity), head, tail);
    this.dataLengths = copyRing(this.dataLengths, new Int32Array(capacity), head, tail);
    this.ats = copyRing(this.ats, new Float64Array(capacity), head, tail);
    this.seqs = copyRing(this.seqs, new Float64Array(capacity), head, tail);
    // only live slots: every other slot must read 0 (appends do not write `gone`)
    this.gone = copyRing(this.gone, new Uint8Array(capacity), head, tail);
    this.rows.grow(head, tail, capacity);
    this.levels = copyRing(this.levels, new Uint8Array(capacity), head, tail);
    this.mask = capacity - 1;
  }

  /**
   * Rewrites the log with only live events, renumbered from 0, in a ring with room for them plus
   * `extra` more (and a quarter to spare, so steady appends do not rebuild again), their ids'
   * code units from offset 0, then rebuilds the id table; the indexes are dropped, to be built
   * again by the next query that needs them. Used to drop deleted slots, and to keep positions and
   * offsets small (growing is {@link grow}'s).
   */
  private rebuild(extra: number): void {
    const need = Math.ceil((this.live + extra) * 1.25);
    let capacity = MIN_CAPACITY;
    while (capacity < need) capacity *= 2;
    const old = {
      mask: this.mask,
      hashes: this.hashes,
      idStarts: this.idStarts,
      idLengths: this.idLengths,
      dataLengths: this.dataLengths,
      chars: this.chars,
      rows: this.rows,
      levels: this.levels,
      kept: this.kept,
      ats: this.ats,
      seqs: this.seqs,
      gone: this.gone,
    };
    const from = this.head;
    const to = this.tail;
    let liveChars = 0;
    for (let p = from; p < to; p++) {
      const o = p & old.mask;
      if (old.gone[o] === 0) liveChars += old.idLengths[o]! + old.dataLengths[o]!;
    }
    let charCapacity = MIN_CHAR_CAPACITY;
    while (charCapacity < 1.5 * liveChars) charCapacity *= 2;
    const oldCharMask = old.chars.length - 1;
    const chars = new Uint16Array(charCapacity);
    this.idTable.reset(tableCapacity(this.live + extra));
    const live = this.live;
    this.reset(capacity);
    const rows = this.rows;
    rows.reserve(0, live);
    let s = 0;
    let charTail = 0;
    for (let p = from; p < to; p++) {
      const o = p & old.mask;
      if (old.gone[o] === 1) continue;
      const start = old.idStarts[o]!;
      const length = old.idLengths[o]! + old.dataLengths[o]!;
      for (let k = 0; k < length; k++) chars[charTail + k] = old.chars[(start + k) & oldCharMask]!;
      this.idStarts[s] = charTail;
      this.idLengths[s] = old.idLengths[o]!;
      this.dataLengths[s] = old.dataLengths[o]!;
      charTail += length;
      this.hashes[s] = old.hashes[o]!;
      const source = old.rows.chunks[(p >>> CHUNK_SHIFT) & old.rows.mask]!;
      const sourceRow = (p & ROW_MASK) * FIELDS;
      const target = rows.chunks[(s >>> CHUNK_SHIFT) & rows.mask]!;
      const targetRow = (s & ROW_MASK) * FIELDS;
      for (let f = 0; f < FIELDS; f++) target[targetRow + f] = source[sourceRow + f];
      this.levels[s] = old.levels[o]!;
      const value = old.kept.size === 0 ? undefined : old.kept.get(p);
      if (value !== undefined) this.kept.set(s, value);
      this.ats[s] = old.ats[o]!;
      this.seqs[s] = old.seqs[o]!;
      this.idTable.insert(old.hashes[o]!, s);
      s++;
    }
    this.chars = chars;
    this.charTail = charTail;
    this.tail = s;
    this.live = s;
  }

  /**
   * Makes the id table large enough for `extra` more ids, then puts the live ones back. It grows
   * fourfold (up to the size `maxEvents` needs), not twofold: each growth reinserts every id, at
   * random places in a table of megabytes, and a store growing toward a million events spent
   * a tenth of its appends doing so.
   */
  private growIdTable(extra: number): void {
    const table = this.idTable;
    table.reset(tableCapacity(Math.min(4 * (this.live + extra), this.maxEvents + extra)));
    for (let position = this.head; position < this.tail; position++) {
      const slot = position & this.mask;
      if (this.gone[slot] === 0) table.insert(this.hashes[slot]!, position);
    }
  }

  /** Fresh, empty columns for a ring of `capacity` slots (a power of two), and no indexes. */
  private reset(capacity: number): void {
    this.mask = capacity - 1;
    this.hashes = new Int32Array(capacity);
    this.idStarts = new Int32Array(capacity);
    this.idLengths = new Int32Array(capacity);
    this.dataLengths = new Int32Array(capacity);
    this.rows = new TextRows(capacity);
    this.levels = new Uint8Array(capacity);
    this.kept = new Map();
    this.ats = new Float64Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.gone = new Uint8Array(capacity);
    this.head = 0;
    this.tail = 0;
    this.live = 0;
    this.runs = new IndexMap();
    this.workflows = new IndexMap();
    this.all = undefined;
  }

  private ensureOpen(operation: string): void {
    if (this.closed) {
      throw new SystemError(
        "DISPOSED",
        `timeline-memory: ${operation}() called after close(); create a new store`,
      );
    }
  }
}

/**
 * The per-run or per-workflow position indexes, built from one column of the log as queries and
 * deletes need them.
 */
class IndexMap {
  readonly byKey = new Map<string, PositionIndex>();
  /** Positions before this one are in the indexes (those that were live when added). */
  indexed = 0;
  /** `byKey.size` at which the indexes whose every event was evicted are swept out. */
  sweepAt = MIN_SWEEP;
}

function clearIndex(index: PositionIndex, deletes: number): void {
  index.positions = [];
  index.start = 0;
  index.sorted = true;
  index.increasing = true;
  index.deletes = deletes;
}

/**
 * Id-table slots for `count` ids at a load of at most 1/4: a lookup then nearly always finds its
 * first slot empty, and a removal has little to shift. Measured 5–15% faster appends than a load of
 * 1/2, for 4 more bytes an event.
 */
function tableCapacity(count: number): number {
  let capacity = 4 * MIN_CAPACITY;
  while (capacity < count * 4) capacity *= 2;
  return capacity;
}

/** `options` that are not an object, as a message shows them. */
function describeOptions(options: unknown): string {
  if (options === null) return "null";
  if (Array.isArray(options)) return "an array";
  switch (typeof options) {
    case "number":
    case "string":
    case "boolean":
      return `${typeof options} ${describeValue(options)}`;
    default:
      return `a ${typeof options}`;
  }
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
    `timeline-memory: ${path} threw when the store read it (${describeThrown(thrown)}); an event must be a plain object whose fields can be read, and its data plain JSON whose properties can be read (no getters that throw, no Proxy objects)`,
    { cause: thrown, details: { path } },
  );
}

/** A short description of something thrown, for a message; never throws itself. */
function describeThrown(thrown: unknown): string {
  try {
    if (thrown instanceof Error) return `${thrown.name}: ${thrown.message}`.slice(0, 200);
  } catch {
    // a hostile error object: described like any other value
  }
  return describeValue(thrown).slice(0, 200);
}

/** The levels by their index in the `levels` column; 0 is no level. */
const LEVELS: ReadonlyArray<TimelineLevel | undefined> = [undefined, "debug", "info", "warn", "error"];

/** The index in {@link LEVELS} of a valid level. */
function levelIndex(level: TimelineLevel): number {
  return level === "debug" ? 1 : level === "info" ? 2 : level === "warn" ? 3 : 4;
}
