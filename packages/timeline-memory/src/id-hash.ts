/**
 * Hashes of ids, over their UTF-16 code units, for the id table.
 *
 * An id of the runtime's form, `<run>:<seq>` (a decimal seq without leading zeros, up to 15 digits),
 * gets a hash whose home slot in the table is in a block of 16 shared by the seqs `16k` to
 * `16k + 15` of its run: a run's events, appended one after another and evicted one after another,
 * then fill and empty one cache line of the table instead of touching a random one each. The table
 * is larger than a core's caches for a store of 100k events, and those two misses an event (insert,
 * evict) were a third of an append's cost. Any other id hashes all over the table. The hash is a
 * function of the code units alone, so an id given as a string and the same id derived by a batch
 * (`runId:seq`) hash the same.
 *
 * The string hash is FNV-1a over pairs of code units, finished by a murmur3 mix. Pairs, because each
 * step waits for the last multiply: a step per code unit took twice as long for a 16-character id.
 */

/** FNV-1a's offset basis. */
const FNV_OFFSET = 0x811c9dc5 | 0;
/** FNV-1a's prime. */
const FNV_PRIME = 16777619;
/** ":" */
export const COLON = 58;
/** "0" */
export const ZERO = 48;
/** Most seq digits read as a run's seq (15: always a safe integer). */
const MAX_SEQ_DIGITS = 15;
/** Seqs below this have at most {@link MAX_SEQ_DIGITS} digits. */
export const MAX_DERIVED_SEQ = 1e15;
/** Slots of a run's block in the id table (a power of two: 16 four-byte slots, one cache line). */
const BLOCK = 16;
/** log2 of {@link BLOCK}. */
const BLOCK_SHIFT = 4;

/** The hash of the `length` code units at `from` in `units`, as the id table uses it. */
export function idHash(units: Uint16Array, from: number, length: number): number {
  const end = from + length;
  let k = end - 1;
  while (k >= from && end - 1 - k < MAX_SEQ_DIGITS && isDigit(units[k]!)) k--;
  const digits = end - 1 - k;
  // `<run>:<seq>` with a non-empty run and a canonical seq (no leading zero unless it is "0")
  if (digits > 0 && k > from && units[k] === COLON && (digits === 1 || units[k + 1] !== ZERO)) {
    let seq = 0;
    for (let d = k + 1; d < end; d++) seq = seq * 10 + (units[d]! - ZERO);
    return runSeqHash(stringHash(units, from, k - from), seq);
  }
  return stringHash(units, from, length);
}

/**
 * The hash of an id `<run>:<seq>` whose `<run>` part has {@link stringHash} `runHash`: the same as
 * {@link idHash} of its code units (when `seq` has at most 15 digits), without reading them.
 */
export function runSeqHash(runHash: number, seq: number): number {
  if (seq <= 0x7fff_ffff) {
    // the same figures in integer operations (a run's seqs nearly always fit): the general case's
    // divisions by powers of two are floating-point ones, a third of the hash's instructions
    return (
      (finish(Math.imul(runHash ^ (seq >>> BLOCK_SHIFT), FNV_PRIME)) & ~(BLOCK - 1)) | (seq & (BLOCK - 1))
    );
  }
  const group = Math.floor(seq / BLOCK);
  const high = Math.floor(group / 0x1_0000_0000);
  const block = finish(Math.imul(runHash ^ (group | 0), FNV_PRIME) ^ high);
  return (block & ~(BLOCK - 1)) | (seq - group * BLOCK);
}

/** FNV-1a of the `length` code units at `from` in `units`, mixed. */
export function stringHash(units: Uint16Array, from: number, length: number): number {
  let h = FNV_OFFSET;
  const end = from + length;
  let k = from;
  for (; k + 1 < end; k += 2) h = Math.imul(h ^ (units[k]! | (units[k + 1]! << 16)), FNV_PRIME);
  if (k < end) h = Math.imul(h ^ units[k]!, FNV_PRIME);
  return finish(h);
}

/** Copies the `length` code units at `from` in `units` into the ring `chars` from offset `unit` (each at `(unit + k) & wrap`). */
export function copyUnits(
  units: Uint16Array,
  from: number,
  length: number,
  chars: Uint16Array,
  unit: number,
  wrap: number,
): void {
  if (wrap === -1) {
    // the usual case, a record that does not reach the ring's end: no masking per unit
    for (let k = 0; k < length; k++) chars[unit + k] = units[from + k]!;
    return;
  }
  for (let k = 0; k < length; k++) chars[(unit + k) & wrap] = units[from + k]!;
}

/** How many decimal digits `seq` (a non-negative integer) has. */
export function decimalDigits(seq: number): number {
  let digits = 1;
  for (let rest = seq; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

function isDigit(unit: number): boolean {
  return unit >= ZERO && unit <= ZERO + 9;
}

/** The murmur3 finalizer. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
