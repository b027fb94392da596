import { MAX_DATA_DEPTH } from "@sluice/timeline";

/** {@link DataCodec.encode}: the data is not in the common form (valid or not); nothing to store. */
export const UNCOMMON = -1;
/** {@link DataCodec.encode}: the data is larger than the codec keeps in the log; store a copy instead. */
export const TOO_BIG = -2;

// Token tags. Counts, lengths and 32-bit integers follow as two units, low half first.
const NULL = 0;
const FALSE = 1;
const TRUE = 2;
const INT = 3;
const NUMBER = 4;
const STRING = 5;
const ARRAY = 6;
const OBJECT = 7;
// An object key is one unit: an index in the key table, or this, followed by the key as a string.
const INLINE_KEY = 0xffff;

/** Most distinct object keys given a one-unit index; later ones are written out in full. */
const MAX_KEYS = 4096;
/** Most units one event's data may take in the log; larger data is kept as an object copy. */
const MAX_UNITS = 4096;
// Strings are decoded this many code units at a time (String.fromCharCode takes them as arguments).
const DECODE_CHUNK = 4096;

const hasOwn = Object.prototype.hasOwnProperty;
const NO_RING = new Uint16Array(0);
// Scratch for a number's IEEE-754 bits, as four code units.
const float = new Float64Array(1);
const floatUnits = new Uint16Array(float.buffer);

/**
 * Turns the common form of `data` into UTF-16 code units the store keeps in its log, and back.
 *
 * Why: a copy of each event's `data` object was half the cost of a batched append. It is a young
 * object the store keeps, so the garbage collector copies it, promotes it and marks it again; code
 * units written into a typed array cost it nothing. Reading decodes a fresh object, which callers
 * get anyway (events are copied out).
 *
 * The common form is what {@link copyCommonJson} accepts: `encode` checks it while writing, and
 * gives up on anything else, valid or not (the caller then runs the shared validator).
 */
export class DataCodec {
  /** The units of the last {@link encode}, from 0. */
  units = new Uint16Array(256);
  private n = 0;
  private failure = 0;
  private readonly keyIds = new Map<string, number>();
  private readonly keyNames: string[] = [];
  // decode state: the ring being read and the offset of the next unit
  private ring: Uint16Array = NO_RING;
  private ringMask = 0;
  private at = 0;

  /**
   * Writes `data` (an object or array, not `null`) into {@link units}; returns how many units, or
   * {@link UNCOMMON} or {@link TOO_BIG}. Whatever it encodes, `validateTimelineEvent` accepts as
   * `data` (the same rules, applied more narrowly), and decoding gives what `copyJson` would.
   */
  encode(data: object): number {
    this.n = 0;
    return this.writeObject(data, 1) ? this.n : this.failure;
  }

  /** The value whose `encode`d units start at `start` in the ring `ring` (a power-of-two length). */
  decode(ring: Uint16Array, start: number): unknown {
    this.ring = ring;
    this.ringMask = ring.length - 1;
    this.at = start;
    const value = this.read();
    // not to keep a ring the store has since replaced
    this.ring = NO_RING;
    return value;
  }

  private writeObject(value: object, depth: number): boolean {
    if (depth > MAX_DATA_DEPTH) return this.fail(UNCOMMON);
    if (Array.isArray(value)) {
      const length = value.length;
      if (!this.room(3)) return false;
      this.writeHeader(ARRAY, length);
      for (let i = 0; i < length; i++) {
        if (!this.writeValue(value[i], depth)) return false;
      }
      return true;
    }
    if (Object.getPrototypeOf(value) !== Object.prototype) return this.fail(UNCOMMON);
    if (!this.room(3)) return false;
    const header = this.n;
    this.n += 3;
    let count = 0;
    const source = value as Record<string, unknown>;
    // for-in reads V8's enum cache without allocating a key array; an inherited key fails the
    // hasOwnProperty check (which V8 folds to a map check inside for-in) and is left to the validator
    for (const key in source) {
      if (!hasOwn.call(source, key) || key === "__proto__") return this.fail(UNCOMMON);
      const item = source[key];
      // allowed, and absent as in JSON
      if (item === undefined) continue;
      if (!this.writeKey(key) || !this.writeValue(item, depth)) return false;
      count++;
    }
    const units = this.units;
    units[header] = OBJECT;
    units[header + 1] = count & 0xffff;
    units[header + 2] = count >>> 16;
    return true;
  }

  /** Writes an array item or property value of an object at `depth`. */
  private writeValue(item: unknown, depth: number): boolean {
    switch (typeof item) {
      case "string":
        return this.writeString(STRING, item);
      case "boolean":
        if (!this.room(1)) return false;
        this.units[this.n++] = item ? TRUE : FALSE;
        return true;
      case "number": {
        if (!this.room(5)) return false;
        const units = this.units;
        // -0 is not an int32 here: it keeps its sign as a double
        if ((item | 0) === item && (item !== 0 || 1 / item > 0)) {
          units[this.n++] = INT;
          units[this.n++] = item & 0xffff;
          units[this.n++] = item >>> 16;
          return true;
        }
        if (!Number.isFinite(item)) return this.fail(UNCOMMON);
        float[0] = item;
        units[this.n++] = NUMBER;
        units[this.n++] = floatUnits[0]!;
        units[this.n++] = floatUnits[1]!;
        units[this.n++] = floatUnits[2]!;
        units[this.n++] = floatUnits[3]!;
        return true;
      }
      case "object":
        if (item === null) {
          if (!this.room(1)) return false;
          this.units[this.n++] = NULL;
          return true;
        }
        return this.writeObject(item, depth + 1);
      default:
        // undefined in an array, a BigInt, a symbol, a function
        return this.fail(UNCOMMON);
    }
  }

  private writeKey(key: string): boolean {
    let id = this.keyIds.get(key);
    if (id === undefined && this.keyNames.length < MAX_KEYS) {
      id = this.keyNames.length;
      this.keyNames.push(key);
      this.keyIds.set(key, id);
    }
    if (id === undefined) return this.writeString(INLINE_KEY, key);
    if (!this.room(1)) return false;
    this.units[this.n++] = id;
    return true;
  }

  private writeString(tag: number, text: string): boolean {
    const length = text.length;
    if (!this.room(3 + length)) return false;
    this.writeHeader(tag, length);
    const units = this.units;
    let n = this.n;
    for (let k = 0; k < length; k++) units[n++] = text.charCodeAt(k);
    this.n = n;
    return true;
  }

  private writeHeader(tag: number, count: number): void {
    const units = this.units;
    units[this.n++] = tag;
    units[this.n++] = count & 0xffff;
    units[this.n++] = count >>> 16;
  }

  /** Makes room for `count` more units, or fails with TOO_BIG past {@link MAX_UNITS}. */
  private room(count: number): boolean {
    const need = this.n + count;
    if (need <= this.units.length) return true;
    if (need > MAX_UNITS) return this.fail(TOO_BIG);
    let capacity = this.units.length * 2;
    while (capacity < need) capacity *= 2;
    const units = new Uint16Array(capacity);
    units.set(this.units.subarray(0, this.n));
    this.units = units;
    return true;
  }

  private fail(reason: number): false {
    this.failure = reason;
    return false;
  }

  private read(): unknown {
    const ring = this.ring;
    const mask = this.ringMask;
    const tag = ring[this.at++ & mask]!;
    switch (tag) {
      case NULL:
        return null;
      case FALSE:
        return false;
      case TRUE:
        return true;
      case INT:
        return this.readCount() | 0;
      case NUMBER:
        floatUnits[0] = ring[this.at++ & mask]!;
        floatUnits[1] = ring[this.at++ & mask]!;
        floatUnits[2] = ring[this.at++ & mask]!;
        floatUnits[3] = ring[this.at++ & mask]!;
        return float[0];
      case STRING:
        return this.readString();
      case ARRAY: {
        const length = this.readCount();
        const out = new Array(length);
        for (let i = 0; i < length; i++) out[i] = this.read();
        return out;
      }
      default: {
        // OBJECT: "__proto__" is never encoded, so plain assignment always makes an own property
        const count = this.readCount();
        const out: Record<string, unknown> = {};
        for (let i = 0; i < count; i++) {
          const id = ring[this.at++ & mask]!;
          const key = id === INLINE_KEY ? this.readString() : this.keyNames[id]!;
          out[key] = this.read();
        }
        return out;
      }
    }
  }

  private readCount(): number {
    const ring = this.ring;
    const mask = this.ringMask;
    const low = ring[this.at++ & mask]!;
    return (low | (ring[this.at++ & mask]! << 16)) >>> 0;
  }

  private readString(): string {
    const length = this.readCount();
    const text = decodeUnits(this.ring, this.at, length);
    this.at += length;
    return text;
  }
}

/** The string of `length` UTF-16 code units at `start` in the ring `ring` (a power-of-two length). */
export function decodeUnits(ring: Uint16Array, start: number, length: number): string {
  const mask = ring.length - 1;
  let out = "";
  for (let done = 0; done < length; done += DECODE_CHUNK) {
    const n = Math.min(DECODE_CHUNK, length - done);
    // a plain array of numbers: String.fromCharCode takes it faster than a typed-array view
    const codes: number[] = new Array(n);
    for (let k = 0; k < n; k++) codes[k] = ring[(start + done + k) & mask]!;
    out += String.fromCharCode.apply(null, codes);
  }
  return out;
}
