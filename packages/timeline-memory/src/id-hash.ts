/**
 * Hashes of ids, over their UTF-16 code units: FNV-1a over pairs of code units, finished by a
 * murmur3 mix. Pairs, because each step waits for the last multiply: a step per code unit took
 * twice as long for a 16-character id. The mix spreads the low bits, which the id table's linear
 * probing uses.
 */

/** FNV-1a's offset basis. */
const FNV_OFFSET = 0x811c9dc5 | 0;
/** FNV-1a's prime. */
const FNV_PRIME = 16777619;

/** The hash of the `length` code units at `from` in `units`. */
export function hashUnits(units: Uint16Array, from: number, length: number): number {
  let h = FNV_OFFSET;
  const end = from + length;
  let k = from;
  for (; k + 1 < end; k += 2) h = Math.imul(h ^ (units[k]! | (units[k + 1]! << 16)), FNV_PRIME);
  if (k < end) h = Math.imul(h ^ units[k]!, FNV_PRIME);
  return finish(h);
}

/**
 * Copies the `length` code units at `from` in `units` into the ring `chars` from offset `unit`
 * (each at `(unit + k) & wrap`), and returns their {@link hashUnits}. One loop: hashing in a loop of
 * its own, after or before the copy, made an append about 15 ns slower an event.
 */
export function copyAndHashUnits(
  units: Uint16Array,
  from: number,
  length: number,
  chars: Uint16Array,
  unit: number,
  wrap: number,
): number {
  let h = FNV_OFFSET;
  let k = 0;
  for (; k + 1 < length; k += 2) {
    const c = units[from + k]!;
    const d = units[from + k + 1]!;
    h = Math.imul(h ^ (c | (d << 16)), FNV_PRIME);
    chars[(unit + k) & wrap] = c;
    chars[(unit + k + 1) & wrap] = d;
  }
  if (k < length) {
    const c = units[from + k]!;
    h = Math.imul(h ^ c, FNV_PRIME);
    chars[(unit + k) & wrap] = c;
  }
  return finish(h);
}

/** The murmur3 finalizer. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
