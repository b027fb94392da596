import { DataCodec } from "./data-codec.js";
import { type IdLog, IdTable, tableCapacity } from "./id-table.js";
import { idTableFault } from "./id-table-fault.js";
import { copyRing } from "./ring.js";
import { sameDerivedId, sameStoredId } from "./stored-events.js";
import { TextRows } from "./text-rows.js";

/** Slots of the smallest log (a power of two). */
export const MIN_CAPACITY = 1024;
/** Code units of the smallest `chars` ring (a power of two). */
export const MIN_CHAR_CAPACITY = 16 * 1024;

/**
 * The store's events, in an insertion-ordered ring-buffer log held as columns (a typed array per
 * numeric field, and {@link TextRows} for the string fields), so appending allocates no object per
 * event and eviction of the oldest moves `head`. An event is addressed by its log position (an
 * ever-increasing integer; its slot in the typed columns is `position & mask`); indexes hold
 * positions, and a position is live while it is at or after `head` and not deleted. The log grows
 * by doubling without renumbering positions ({@link grow}); `compactLog` renumbers them into a new
 * log, rarely (to drop deleted slots, or before positions pass `maxPosition`).
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
 * and compares equal to it (`sameStoredId`, `sameDerivedId`).
 *
 * Its fields are open to the modules that write, read, index and compact it; it keeps the
 * invariants that concern the ring itself (room, eviction, deletion marks).
 */
export class EventLog implements IdLog {
  // The columns are `declare`d and assigned in the constructor, so that each field's first value is
  // its typed array: V8 then tracks the field's class, and the hot loops that read a column need no
  // check of what it holds (a field first defined as `undefined` would lose that).
  /** `position & mask` is a position's slot in the typed columns (their length less one). */
  declare mask: number;
  /** Each event's id hash (see `idHash`), as the id table reads it. */
  declare hashes: Int32Array;
  /** Offset in `chars` of the event's record: its id's code units, then its encoded `data`'s. */
  declare idStarts: Int32Array;
  /** Code units of the event's id in `chars`; 0 for a derived id (`runId:seq`), not written. */
  declare idLengths: Int32Array;
  /** Code units of the event's encoded `data`, right after its id's; 0 when there are none. */
  declare dataLengths: Int32Array;
  /** `LEVELS` index of the event's `level` (0 when absent). */
  declare levels: Uint8Array;
  /** The string fields, in chunked rows. (`level` is a number in `levels`; `data` is encoded.) */
  declare rows: TextRows;
  /** Each event's `at`. */
  declare ats: Float64Array;
  /** Each event's `seq`. */
  declare seqs: Float64Array;
  /**
   * 1 for a deleted event whose slot `head` has not passed yet; 0 everywhere else (eviction clears
   * it as `head` passes), so appends need not write it.
   */
  declare gone: Uint8Array;
  /**
   * The ids and encoded `data` of positions `head` to `tail`, as UTF-16 code units, one record per
   * event in log order, at `offset & (chars.length - 1)`.
   */
  declare chars: Uint16Array;
  /**
   * `data` that is not encoded, by position: primitives, and copies of objects the codec does not
   * take (events with encoded or no `data` are not in it).
   */
  kept = new Map<number, unknown>();
  /** First position that may be live. */
  head = 0;
  /** Next position to write. */
  tail = 0;
  /** Live events. */
  live = 0;
  /** Offset of the next record's first code unit. */
  charTail = 0;
  /**
   * `charTail` when the append being written began, to which its undo returns it; renumbered with
   * the other offsets by {@link makeRoomForChars}, which may run in the middle of that append.
   */
  undoCharTail = 0;

  /**
   * An empty log.
   *
   * @param capacity - slots of its columns (a power of two, at least {@link MIN_CAPACITY})
   * @param charCapacity - code units of `chars` (a power of two, at least {@link MIN_CHAR_CAPACITY})
   * @param maxEvents - most live events; {@link evict} drops the oldest past it
   * @param maxPosition - positions and character offsets stay below this (renumbered by
   *   `compactLog` and {@link makeRoomForChars})
   * @param codec - encodes and decodes `data`; a log made from another keeps its codec, whose key
   *   table the copied records refer to
   * @param idTable - the set of the log's ids, by position
   */
  constructor(
    capacity: number,
    charCapacity: number,
    readonly maxEvents: number,
    readonly maxPosition: number,
    readonly codec: DataCodec = new DataCodec(),
    readonly idTable: IdTable = new IdTable(),
  ) {
    this.mask = capacity - 1;
    this.hashes = new Int32Array(capacity);
    this.idStarts = new Int32Array(capacity);
    this.idLengths = new Int32Array(capacity);
    this.dataLengths = new Int32Array(capacity);
    this.levels = new Uint8Array(capacity);
    this.rows = new TextRows(capacity);
    this.ats = new Float64Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.gone = new Uint8Array(capacity);
    this.chars = new Uint16Array(charCapacity);
  }

  /**
   * Room for `count` more events in the columns, the id table and the string rows, positions
   * unchanged. The caller first checks that `tail + count` stays within `maxPosition` (else it
   * compacts the log into a new one).
   */
  reserve(count: number): void {
    if (this.tail - this.head + count > this.mask + 1) this.grow(count);
    if ((this.idTable.size + count) * 4 > this.idTable.capacity) this.growIdTable(count);
    this.rows.reserve(this.tail, this.tail + count);
  }

  /**
   * Makes room in the log for `extra` more events: columns of the next power of two that holds them
   * all, positions unchanged (so the id table, the indexes and the string rows stay as they are).
   * A store growing toward a large `maxEvents` does this once per doubling: rewriting the whole log
   * each time instead, as `compactLog` does, and the id table with it, was a quarter of the cost
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

  /** Offset of the first code unit still needed: that of `head`'s id, or `charTail` when empty. */
  firstChar(tail: number, charTail: number): number {
    return this.head < tail ? this.idStarts[this.head & this.mask]! : charTail;
  }

  /**
   * Makes room in `chars` for `length` more code units after `charTail`, for the records of
   * positions `head` to `tail`: a ring half as large again as needed, and offsets renumbered from 0
   * when they would pass `maxPosition` (every offset the log holds: its records', `charTail` and
   * `undoCharTail`).
   */
  makeRoomForChars(length: number, tail: number): void {
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
      // the tail an undo of the append under way restores, in the same numbering: left in the old
      // one, the next append would take the gap between it and `head`'s record as used and size the
      // ring to hold it (up to `maxPosition` code units)
      this.undoCharTail -= shift;
    }
    this.chars = chars;
  }

  /** Evicts the oldest events by insertion until at most `maxEvents` remain. */
  evict(): void {
    const { gone, hashes, idTable, mask, kept } = this;
    let excess = this.live - this.maxEvents;
    this.live -= excess;
    let head = this.head;
    while (excess > 0) {
      const slot = head & mask;
      if (gone[slot] === 1) gone[slot] = 0;
      else {
        if (!idTable.remove(hashes[slot]!, head, this)) throw idTableFault(head);
        if (kept.size !== 0) kept.delete(head);
        excess--;
      }
      head++;
    }
    this.head = head;
  }

  /** Marks a live event deleted (the caller counts it, and takes it off `live`). */
  remove(slot: number, position: number): void {
    this.gone[slot] = 1;
    this.kept.delete(position);
    if (!this.idTable.remove(this.hashes[slot]!, position, this)) throw idTableFault(position);
  }

  /** True when `position` holds an event that is neither evicted nor deleted. */
  isLive(position: number): boolean {
    return position >= this.head && position < this.tail && this.gone[position & this.mask] === 0;
  }

  /**
   * True when the event at `position` has the id whose `length` code units (at least one) are at
   * offset `start` of `chars` (see `IdLog`).
   */
  sameId(position: number, start: number, length: number): boolean {
    return sameStoredId(this, position, start, length);
  }

  /** True when the event at `position` has the derived id `runId:seq` (see `IdLog`). */
  sameDerivedId(position: number, runId: string, seq: number): boolean {
    return sameDerivedId(this, position, runId, seq);
  }
}
