import type { TimelineBatch } from "@sluice/timeline";
import { COLON, decimalDigits, idHash, MAX_DERIVED_SEQ, runSeqHash, stringHash, ZERO } from "./id-hash.js";

/** Batches smaller than this read their ids one by one: joining costs more than it saves. */
const MIN_JOINED = 8;
/** Batches whose ids hold more code units than this read them one by one, so nothing huge is joined. */
const MAX_JOINED = 1 << 20;

const encoder = new TextEncoder();

/**
 * The UTF-16 code units of a batch's ids, one id after another, in a reused buffer.
 *
 * Why: the workflow runtime builds ids with a template literal (`${runId}:${seq}`), so V8 hands the
 * store concatenations (cons strings), not flat strings. Reading the first character of each flattens
 * it (a call into the runtime and a new string), and every `charCodeAt` after that goes through the
 * cons string to its flat copy: together about 90 ns for a 16-character id, a third of the store's
 * cost. Joining the batch's ids copies all of them into one flat string in one native call, and
 * `TextEncoder.encodeInto` copies that string's characters out in another (when they are all ASCII,
 * so that its UTF-8 bytes are the code units; otherwise the flat string is read character by
 * character, still cheaper than the cons strings). Measured with hashing: about 55 ns an id instead
 * of 90, batches of 256.
 */
export class IdUnits {
  /** The code units of the last {@link read} or {@link readBatch}, from 0. */
  units: Uint16Array = new Uint16Array(1024);
  /** By event, the length of each id of the last {@link read} or {@link readBatch}. */
  lengths = new Int32Array(256);
  /** By event, the {@link idHash} of each id of the last {@link read} or {@link readBatch}. */
  hashes = new Int32Array(256);
  private bytes = new Uint8Array(1024);

  /**
   * Writes the code units of a batch's explicit ids one after another into {@link units}
   * (returned), their lengths into {@link lengths} and their hashes into {@link hashes}. A derived
   * id (`runId:seq`) gets length 0 and no code units (the store keeps it as its run id and seq),
   * and the hash its string would have, from its run id's hash (reused while the run repeats) and
   * its seq; one whose seq has more than 15 digits is written out like an explicit id. `undefined`
   * when an id cannot be made as the contract says (a run id that is not a non-empty string or a
   * seq that is not a non-negative safe integer, for a derived id; an explicit id that is not a
   * non-empty string): the caller then checks the batch the slow way.
   */
  readBatch(batch: TimelineBatch): Uint16Array | undefined {
    const count = batch.length;
    const { ids, runIds, seqs } = batch;
    this.reserveLengths(count);
    const { lengths, hashes } = this;
    let units = this.units;
    let at = 0;
    // a string from the start (no valid run id is empty), so that comparing with it is a string
    // comparison: `string | undefined` compiled to a call of V8's generic equality
    let lastRun = "";
    let lastRunHash = 0;
    for (let i = 0; i < count; i++) {
      const id = ids[i];
      if (id !== undefined) {
        if (typeof id !== "string" || id.length === 0) return undefined;
        const length = id.length;
        if (at + length > units.length) units = this.grow(at, at + length);
        for (let k = 0; k < length; k++) units[at + k] = id.charCodeAt(k);
        lengths[i] = length;
        hashes[i] = idHash(units, at, length);
        at += length;
        continue;
      }
      const runId = runIds[i];
      let seq = seqs[i];
      if (typeof runId !== "string" || runId.length === 0) return undefined;
      if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) return undefined;
      const runLength = runId.length;
      if (seq < MAX_DERIVED_SEQ) {
        if (runId !== lastRun) {
          // the run's code units, at `at`, to hash (overwritten by the next id written out)
          if (at + runLength > units.length) units = this.grow(at, at + runLength);
          for (let k = 0; k < runLength; k++) units[at + k] = runId.charCodeAt(k);
          lastRun = runId;
          lastRunHash = stringHash(units, at, runLength);
        }
        lengths[i] = 0;
        hashes[i] = runSeqHash(lastRunHash, seq);
        continue;
      }
      const length = runLength + 1 + decimalDigits(seq);
      if (at + length > units.length) units = this.grow(at, at + length);
      for (let k = 0; k < runLength; k++) units[at + k] = runId.charCodeAt(k);
      lastRun = runId;
      lastRunHash = stringHash(units, at, runLength);
      // (idHash gives up on seqs of more than 15 digits: so does this, the same way)
      units[at + runLength] = COLON;
      for (let k = at + length - 1; k > at + runLength; k--) {
        const next = Math.floor(seq / 10);
        units[k] = ZERO + (seq - next * 10);
        seq = next;
      }
      lengths[i] = length;
      hashes[i] = stringHash(units, at, length);
      at += length;
    }
    return units;
  }

  /**
   * The {@link stringHash} of a run id (a non-empty string), as the hash of its derived ids starts
   * (see `runSeqHash`). Overwrites {@link units}.
   */
  runHash(runId: string): number {
    const length = runId.length;
    let units = this.units;
    if (length > units.length) units = this.grow(0, length);
    for (let k = 0; k < length; k++) units[k] = runId.charCodeAt(k);
    return stringHash(units, 0, length);
  }

  /**
   * Writes the code units of `ids` (non-empty strings) one after another into {@link units}
   * (returned), their lengths into {@link lengths} and their hashes into {@link hashes}; `total` is
   * the sum of their lengths.
   */
  read(ids: readonly string[], total: number): Uint16Array {
    if (this.units.length < total) this.grow(0, total);
    const units = this.readUnits(ids, total);
    this.reserveLengths(ids.length);
    const { lengths, hashes } = this;
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const length = ids[i]!.length;
      lengths[i] = length;
      hashes[i] = idHash(units, at, length);
      at += length;
    }
    return units;
  }

  private readUnits(ids: readonly string[], total: number): Uint16Array {
    const units = this.units;
    const count = ids.length;
    if (count >= MIN_JOINED && total <= MAX_JOINED) {
      const joined = ids.join("");
      const { read, written } = encoder.encodeInto(joined, this.bytes);
      if (read === total && written === total) {
        // ASCII: one byte a code unit, widened by a native copy
        units.set(this.bytes.subarray(0, total));
      } else {
        for (let k = 0; k < total; k++) units[k] = joined.charCodeAt(k);
      }
      return units;
    }
    let at = 0;
    for (let i = 0; i < count; i++) {
      const id = ids[i]!;
      const length = id.length;
      for (let k = 0; k < length; k++) units[at + k] = id.charCodeAt(k);
      at += length;
    }
    return units;
  }

  /** Room for `needed` code units, keeping the first `kept`; returns the (new) {@link units}. */
  private grow(kept: number, needed: number): Uint16Array {
    let capacity = this.units.length * 2;
    while (capacity < needed) capacity *= 2;
    const units = new Uint16Array(capacity);
    units.set(this.units.subarray(0, kept));
    this.units = units;
    this.bytes = new Uint8Array(capacity);
    return units;
  }

  private reserveLengths(count: number): void {
    if (this.lengths.length < count) {
      const capacity = Math.max(count, 2 * this.lengths.length);
      this.lengths = new Int32Array(capacity);
      this.hashes = new Int32Array(capacity);
    }
  }
}
