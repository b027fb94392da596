// The store hashes ids while copying them (copyAndHashUnits) and, for large id tables, ahead of the
// writes (hashUnits) to read the table's slots early: both must give the same hash.
import { describe, expect, it } from "vitest";
import { copyAndHashUnits, hashUnits } from "../src/id-hash.js";

function unitsOf(text: string): Uint16Array {
  return Uint16Array.from(text, (_, i) => text.charCodeAt(i));
}

describe("id hashes", () => {
  const ids = ["a", "ab", "abc", "45kvn7wsysa4-1:7", "é😀x", "\uD800", "x".repeat(301)];
  for (const id of ids) {
    it(`copying gives the same hash and units: ${JSON.stringify(id.slice(0, 20))}`, () => {
      const units = unitsOf(`pre${id}post`);
      const chars = new Uint16Array(16);
      // a small ring, so that the copy wraps
      const mask = id.length <= 16 ? chars.length - 1 : -1;
      const ring = mask === -1 ? new Uint16Array(id.length + 5) : chars;
      const hash = copyAndHashUnits(units, 3, id.length, ring, 5, mask);
      expect(hash).toBe(hashUnits(units, 3, id.length));
      const copied = Array.from({ length: id.length }, (_, k) => ring[(5 + k) & mask]!);
      expect(String.fromCharCode(...copied)).toBe(id);
    });
  }

  it("tells apart ids that differ in one code unit, odd or even", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(hashUnits(unitsOf(`run-${i}:1`), 0, `run-${i}:1`.length));
    expect(seen.size).toBe(1000);
  });
});
