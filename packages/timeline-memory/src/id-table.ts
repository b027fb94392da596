/** Where the ids of the positions in an {@link IdTable} are: the store's log. */
export interface IdLog {
  /** Each position's id hash, at `position & mask`. */
  readonly hashes: Int32Array;
  readonly mask: number;
  /**
   * True when the event at `position` has the id whose `length` code units are at offset `start` of
   * the log's code-unit ring (where an append has just copied a new id).
   */
  sameId(position: number, start: number, length: number): boolean;
  /** True when the event at `position` has the derived id `runId:seq`. */
  sameDerivedId(position: number, runId: string, seq: number): boolean;
}

/** Slots of the smallest table: 4 per slot of the smallest log (1024). */
const MIN_TABLE_CAPACITY = 4096;

// (Declared before the class: esbuild writes constants of a module without imports into the code
// that uses them after them, instead of a load from the module's context at each use.)
/** A free slot. */
const EMPTY = -1;

/**
 * Slots from one probe to the next: into the next block of 16 (see `idHash`), one slot further on.
 * A run's ids fill consecutive slots of their block (1 to 14 for a 3-step run). With a step of 1,
 * each id of a second run homed in the same block (or spilled into it) probed past the whole first
 * run, and removing a run's ids oldest first shifted through the rest of the run every time: 5.2
 * probes an insert and 10 slots a removal in the runtime's invoke loop, against 1.3 and 1.6 with
 * this step (ids hashed all over the table probe as often either way). Odd, so that the probes of
 * a table whose size is a power of two visit every slot.
 */
const PROBE_STEP = 17;
/** {@link PROBE_STEP}'s inverse modulo 2^32, so modulo any table size: slots apart to probes apart. */
const PROBE_STEP_INVERSE = 0xf0f0f0f1 | 0;

/**
 * The set of stored ids, as an open-addressing hash table of log positions (linear probing by
 * {@link PROBE_STEP} slots, backward-shift deletion; the store keeps the load at most 1/4). The log
 * keeps each event's id and hash, so the table itself is one `Int32Array`, a lookup usually touches
 * one slot, and ids are compared only when hashes are equal. Measured about 3× cheaper than a `Map`
 * or `Set` of the id strings under constant insert and evict (50k–100k ids), and it allocates
 * nothing per id (a `Map` would also keep every id string alive, which the store avoids).
 */
export class IdTable {
  /** Log positions; `EMPTY` marks a free slot. */
  private slots: Int32Array;
  private mask: number;
  /** Ids held. */
  size = 0;

  constructor(capacity = MIN_TABLE_CAPACITY) {
    this.slots = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
  }

  /** Slots the table has (a power of two). */
  get capacity(): number {
    return this.slots.length;
  }

  /**
   * The position stored for the id whose `length` code units are at `start` in the log's ring (see
   * {@link IdLog.sameId}) and whose hash is `hash`; when there is none, stores `position` for it and
   * returns -1 (one probe sequence, not a lookup then an insert). The log must hold `hash` at
   * `position` before the next call.
   */
  findOrInsert(hash: number, start: number, length: number, position: number, log: IdLog): number {
    const slots = this.slots;
    const mask = this.mask;
    const hashes = log.hashes;
    const logMask = log.mask;
    let s = hash & mask;
    for (;;) {
      const p = slots[s]!;
      if (p === EMPTY) break;
      if (hashes[p & logMask] === hash && log.sameId(p, start, length)) return p;
      s = (s + PROBE_STEP) & mask;
    }
    slots[s] = position;
    this.size++;
    return -1;
  }

  /**
   * {@link findOrInsert} for a derived id, `runId:seq` (see {@link IdLog.sameDerivedId}), whose
   * code units are not in the log's ring.
   */
  findOrInsertDerived(hash: number, runId: string, seq: number, position: number, log: IdLog): number {
    const slots = this.slots;
    const mask = this.mask;
    const hashes = log.hashes;
    const logMask = log.mask;
    let s = hash & mask;
    for (;;) {
      const p = slots[s]!;
      if (p === EMPTY) break;
      if (hashes[p & logMask] === hash && log.sameDerivedId(p, runId, seq)) return p;
      s = (s + PROBE_STEP) & mask;
    }
    slots[s] = position;
    this.size++;
    return -1;
  }

  /** What {@link warm} read, combined: kept only so that its reads are not optimized away. */
  warmed = 0;

  /**
   * Reads the first slot of each of `hashes[0..count)`, so that the probes that follow find those
   * slots in cache. Once the table is several megabytes, a probe made between an event's other
   * writes waited for its own cache miss (a third of an append growing toward a million events); in
   * a loop of independent loads, the misses overlap.
   */
  warm(hashes: Int32Array, count: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let seen = 0;
    for (let i = 0; i < count; i++) seen ^= slots[hashes[i]! & mask]!;
    this.warmed = seen;
  }

  /** Adds a position whose id is not in the table. */
  insert(hash: number, position: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let s = hash & mask;
    while (slots[s] !== EMPTY) s = (s + PROBE_STEP) & mask;
    slots[s] = position;
    this.size++;
  }

  /**
   * Removes a position that is in the table; `hash` is its id's hash. False, and nothing removed,
   * when the position is not where its hash leads: the table and the log disagree (a fault of the
   * store's), which the caller reports rather than probing the table for ever.
   */
  remove(hash: number, position: number, log: IdLog): boolean {
    const slots = this.slots;
    const mask = this.mask;
    const hashes = log.hashes;
    const logMask = log.mask;
    let hole = hash & mask;
    for (let p = slots[hole]; p !== position; p = slots[hole]) {
      if (p === EMPTY) return false;
      hole = (hole + PROBE_STEP) & mask;
    }
    // Backward shift: move later members of the probe run into the hole so lookups never need
    // tombstones. Distances are counted in probes (slots apart times the step's inverse).
    for (let j = (hole + PROBE_STEP) & mask; ; j = (j + PROBE_STEP) & mask) {
      const p = slots[j]!;
      if (p === EMPTY) break;
      const home = hashes[p & logMask]! & mask;
      if (
        (Math.imul(j - home, PROBE_STEP_INVERSE) & mask) >=
        (Math.imul(j - hole, PROBE_STEP_INVERSE) & mask)
      ) {
        slots[hole] = p;
        hole = j;
      }
    }
    slots[hole] = EMPTY;
    this.size--;
    return true;
  }

  /** Empties the table, making it `capacity` slots (a power of two). */
  reset(capacity: number): void {
    if (capacity === this.slots.length) this.slots.fill(EMPTY);
    else this.slots = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
    this.size = 0;
  }
}

/**
 * Id-table slots for `count` ids at a load of at most 1/4: a lookup then nearly always finds its
 * first slot empty, and a removal has little to shift. Measured 5–15% faster appends than a load of
 * 1/2, for 4 more bytes an event.
 */
export function tableCapacity(count: number): number {
  let capacity = MIN_TABLE_CAPACITY;
  while (capacity < count * 4) capacity *= 2;
  return capacity;
}
