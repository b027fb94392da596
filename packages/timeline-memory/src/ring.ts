/** A typed array the store uses as a ring (its length a power of two). */
export type TypedRing = Int32Array | Uint8Array | Uint16Array | Float64Array;

/**
 * Copies the entries of positions `from` to `to` (at most `src.length` of them) from the ring `src`
 * into the ring `dst`, each at `position & (length - 1)` in both, and returns `dst`. `dst.length` is
 * a multiple of `src.length`. Used to grow a ring without renumbering positions: the id table and
 * the indexes, which hold positions, stay valid, and the copy is at most two `set` calls (memory
 * copies) instead of a loop over every entry.
 */
export function copyRing<T extends TypedRing>(src: T, dst: T, from: number, to: number): T {
  const srcLength = src.length;
  const dstMask = dst.length - 1;
  for (let position = from; position < to; ) {
    const start = position & (srcLength - 1);
    // up to where `src` wraps; `dst` wraps only where `src` does, its length being a multiple
    const count = Math.min(to - position, srcLength - start);
    dst.set(src.subarray(start, start + count) as never, position & dstMask);
    position += count;
  }
  return dst;
}
