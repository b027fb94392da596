import { SystemError } from "@sluice/errors";

const MIN_CAPACITY = 16;
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
/** Slots kept when the map empties; a map that grew larger than this (a burst) shrinks back. */
const KEEP_WHEN_EMPTY = 4096;
/** An index nobody has looked anything up in for this many inserts (beyond 4× the size) is dropped. */
const IDLE_INDEX_INSERTS = 1024;

/**
 * How many trailing characters the index hashes at first. Ids that differ somewhere (run ids, a
 * counter after a fixed prefix, random ids) almost always differ in their last characters, and
 * hashing all of a 30-character id on every add and remove was most of the cost.
 */
const TAIL = 8;
/** A probe this long means the ids share their tails: the index switches to hashing whole ids. */
const LONG_PROBE = 32;

/** FNV-1a over the length and the last `chars` UTF-16 code units of the id. */
function hashId(id: string, chars: number): number {
  const length = id.length;
  let h = Math.imul(FNV_OFFSET ^ length, FNV_PRIME);
  for (let i = length > chars ? length - chars : 0; i < length; i++) {
    h = Math.imul(h ^ id.charCodeAt(i), FNV_PRIME);
  }
  return h;
}

function notAString(id: unknown): SystemError {
  return new SystemError("INVALID_INPUT", `IdMap: the id must be a string (got ${typeof id})`);
}

/**
 * A map from string ids to values, for ids that come and go all the time: one per run, added when
 * the run starts and removed when it ends.
 *
 * Why not a `Map`: V8 rebuilds a `Map`'s table when deletes empty it (and when deleted entries
 * fill it), and links the old table to the new one. Once the `Map` lives in the old generation (as
 * a long-lived registry's does after the first full GC), that link makes every young-generation GC
 * keep the new tables, and the values they held, alive: a `Map` holding one run at a time, with an
 * insert and a delete per run, cost about 0.8 µs per run after a full GC. `IdMap` keeps entries in
 * slots that are reused, so adding and removing allocate nothing.
 *
 * Two ways in:
 * - by id, like a `Map` (`get`, `has`, `set`, `add`, `delete`, `take`): these use a hash index
 *   of the ids (open addressing, linear probing), built on the first such call. It hashes the
 *   length and the last eight characters of each id, and switches to whole ids for good once ids
 *   turn out to share their tails (a probe runs long);
 * - by handle, for owners that keep what `insert` returned (`insert`, `at`, `removeAt`): no
 *   hashing at all while nobody looks anything up by id. An index that has gone unused for a while
 *   is dropped, and rebuilt on the next lookup.
 *
 * Iteration order is not insertion order. `values()` and `ids()` return a new array, so the map may
 * change while you walk them. Memory grows with the most ids held at once, and comes back when the
 * map is empty (or cleared).
 *
 * @example
 * ```ts
 * const runs = new IdMap<{ status: string }>();
 * runs.set("run-1", { status: "running" });
 * runs.get("run-1"); // { status: "running" }
 * const handle = runs.insert("run-2", { status: "queued" }); // caller guarantees "run-2" is new
 * runs.removeAt(handle); // no hashing
 * runs.take("run-1"); // removes and returns it
 * runs.size; // 0
 * ```
 */
export class IdMap<V> {
  private ids_: Array<string | undefined> = [];
  private values_: Array<V | undefined> = [];
  /** Free slots, last freed first: a stack of `freeCount` slots. */
  private free: number[] = [];
  private freeCount = 0;
  private count = 0;
  /** Slots ever handed out (slots ≥ this were never used). */
  private used = 0;

  /** Open-addressing table of `slot + 1` (0: empty); `undefined` while there is no index. */
  private table: Int32Array | undefined = undefined;
  private mask = 0;
  /** By slot, while indexed: the id's hash and where the slot sits in `table`. */
  private hashes = new Int32Array(0);
  private positions = new Int32Array(0);
  private insertsSinceLookup = 0;
  /** Trailing characters of each id the index hashes (every character, once tails collide). */
  private hashedChars = TAIL;

  /** The number of ids held. */
  get size(): number {
    return this.count;
  }

  /** The value held for `id`, or `undefined`. */
  get(id: string): V | undefined {
    const slot = this.find(id);
    return slot === -1 ? undefined : this.values_[slot];
  }

  /** True when `id` is held. */
  has(id: string): boolean {
    return this.find(id) !== -1;
  }

  /**
   * Holds `value` under `id`, replacing what was there.
   *
   * @throws SystemError `INVALID_INPUT` when `id` is not a string.
   */
  set(id: string, value: V): this {
    if (typeof id !== "string") throw notAString(id);
    const slot = this.find(id);
    if (slot === -1) this.insert(id, value);
    else this.values_[slot] = value;
    return this;
  }

  /**
   * Holds `value` under `id` unless `id` is held already (one lookup where `has` then `set` would
   * make two). Returns the new entry's handle (see `insert`), or -1 when `id` was held.
   *
   * @throws SystemError `INVALID_INPUT` when `id` is not a string.
   */
  add(id: string, value: V): number {
    if (typeof id !== "string") throw notAString(id);
    if (this.find(id) !== -1) return -1;
    return this.insert(id, value);
  }

  /**
   * Holds `value` under `id`, which the caller guarantees is not held (ids it made itself, say),
   * and returns the entry's handle for `at` and `removeAt`. Without an index it does no hashing.
   * A handle stays valid until its entry is removed; after that it may name another entry.
   *
   * @throws SystemError `INVALID_INPUT` when `id` is not a string.
   */
  insert(id: string, value: V): number {
    if (typeof id !== "string") throw notAString(id);
    let slot: number;
    if (this.freeCount > 0) slot = this.free[--this.freeCount]!;
    else {
      if (this.used === this.ids_.length) this.grow();
      slot = this.used++;
    }
    this.ids_[slot] = id;
    this.values_[slot] = value;
    this.count++;
    if (this.table !== undefined) {
      if (++this.insertsSinceLookup > IDLE_INDEX_INSERTS + 4 * this.count) this.table = undefined;
      else if (!this.place(slot, hashId(id, this.hashedChars))) this.hashWholeIds();
    }
    return slot;
  }

  /**
   * The handle of `id`'s entry (what `insert` returned for it), or -1 when `id` is not held: for an
   * owner that keeps more about each entry in arrays of its own, by handle.
   */
  handleOf(id: string): number {
    return this.find(id);
  }

  /** The id of the entry `handle` names, or `undefined` when it names none (see `insert`). */
  idAt(handle: number): string | undefined {
    return this.ids_[handle];
  }

  /**
   * One past the highest handle in use: `idAt(h)` / `at(h)` for every `h` below it visit every
   * entry (a handle whose `idAt` is `undefined` holds none), without the array `values()` makes.
   */
  get handleEnd(): number {
    return this.used;
  }

  /** The value of the entry `handle` names (see `insert`). */
  at(handle: number): V | undefined {
    return this.values_[handle];
  }

  /** Removes the entry `handle` names (see `insert`); false when it holds nothing. */
  removeAt(handle: number): boolean {
    if (this.ids_[handle] === undefined) return false;
    this.release(handle);
    return true;
  }

  /** Removes `id`; true when it was held. */
  delete(id: string): boolean {
    const slot = this.find(id);
    if (slot === -1) return false;
    this.release(slot);
    return true;
  }

  /** Removes `id` and returns the value it held, or `undefined` when it was not held. */
  take(id: string): V | undefined {
    const slot = this.find(id);
    if (slot === -1) return undefined;
    const value = this.values_[slot];
    this.release(slot);
    return value;
  }

  /** Removes every id (handles given out before no longer name anything). */
  clear(): void {
    this.ids_ = [];
    this.values_ = [];
    this.free = [];
    this.freeCount = 0;
    this.count = 0;
    this.used = 0;
    this.table = undefined;
    // the index's per-slot arrays too (8 bytes a slot: 8 MB after a million ids), else a cleared
    // map, or one emptied after a burst, would keep them for good
    this.hashes = new Int32Array(0);
    this.positions = new Int32Array(0);
    this.hashedChars = TAIL;
  }

  /** The values held, in a new array (in no particular order). */
  values(): V[] {
    const out: V[] = [];
    for (let slot = 0; slot < this.used; slot++) {
      if (this.ids_[slot] !== undefined) out.push(this.values_[slot] as V);
    }
    return out;
  }

  /** The ids held, in a new array (in no particular order). */
  ids(): string[] {
    const out: string[] = [];
    for (let slot = 0; slot < this.used; slot++) {
      const id = this.ids_[slot];
      if (id !== undefined) out.push(id);
    }
    return out;
  }

  /** The slot holding `id`, or -1; builds the index when there is none. */
  private find(id: string): number {
    if (typeof id !== "string" || this.count === 0) return -1;
    if (this.table === undefined) this.buildIndex();
    this.insertsSinceLookup = 0;
    const table = this.table!;
    const mask = this.mask;
    const hash = hashId(id, this.hashedChars);
    let position = hash & mask;
    let probes = 0;
    for (let entry = table[position]!; entry !== 0; entry = table[position]!) {
      const slot = entry - 1;
      if (this.hashes[slot] === hash && this.ids_[slot] === id) return slot;
      position = (position + 1) & mask;
      if (++probes === LONG_PROBE && this.hashedChars !== Infinity) {
        this.hashWholeIds();
        return this.find(id);
      }
    }
    return -1;
  }

  private release(slot: number): void {
    if (this.table !== undefined) this.unindex(slot);
    this.ids_[slot] = undefined;
    this.values_[slot] = undefined;
    if (--this.count === 0) {
      // Nothing is held, so no handle names anything: the slots start over. They keep their
      // arrays (and the index, empty now) unless a burst left them large: a map that empties now
      // and then, as a run table does between runs, must not regrow and reindex every time.
      if (this.ids_.length > KEEP_WHEN_EMPTY) this.clear();
      else {
        this.used = 0;
        this.freeCount = 0;
      }
      return;
    }
    this.free[this.freeCount++] = slot;
  }

  private grow(): void {
    const capacity = Math.max(MIN_CAPACITY, this.ids_.length * 2);
    this.ids_.length = capacity;
    this.values_.length = capacity;
    if (this.table !== undefined) this.buildIndex();
  }

  /** (Re)builds the index of every held id, in a table at most half full. */
  private buildIndex(): void {
    const capacity = Math.max(MIN_CAPACITY, this.ids_.length);
    let size = MIN_CAPACITY * 2;
    while (size < capacity * 2) size *= 2;
    this.table = new Int32Array(size);
    this.mask = size - 1;
    if (this.hashes.length < capacity) {
      this.hashes = new Int32Array(capacity);
      this.positions = new Int32Array(capacity);
    }
    this.insertsSinceLookup = 0;
    for (let slot = 0; slot < this.used; slot++) {
      const id = this.ids_[slot];
      if (id !== undefined && !this.place(slot, hashId(id, this.hashedChars))) {
        this.hashWholeIds();
        return;
      }
    }
  }

  /** The ids share their tails (long probes): from now on the index hashes every character. */
  private hashWholeIds(): void {
    this.hashedChars = Infinity;
    this.buildIndex();
  }

  /**
   * Puts `slot` into the index. False, placing nothing, when the probe ran long while hashing only
   * tails: the caller then rebuilds the index hashing whole ids (which places every held id).
   */
  private place(slot: number, hash: number): boolean {
    const table = this.table!;
    const mask = this.mask;
    let position = hash & mask;
    let probes = 0;
    while (table[position] !== 0) {
      position = (position + 1) & mask;
      if (++probes === LONG_PROBE && this.hashedChars !== Infinity) return false;
    }
    table[position] = slot + 1;
    this.hashes[slot] = hash;
    this.positions[slot] = position;
    return true;
  }

  /**
   * Takes `slot` out of the index, then moves each later entry of its probe run back into the hole
   * when the hole lies between that entry's home and where it sits, so every entry stays reachable
   * from its home without tombstones.
   */
  private unindex(slot: number): void {
    const table = this.table!;
    const mask = this.mask;
    let hole = this.positions[slot]!;
    let next = (hole + 1) & mask;
    for (let entry = table[next]!; entry !== 0; entry = table[next]!) {
      const moved = entry - 1;
      const home = this.hashes[moved]! & mask;
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        table[hole] = entry;
        this.positions[moved] = hole;
        hole = next;
      }
      next = (next + 1) & mask;
    }
    table[hole] = 0;
  }
}
