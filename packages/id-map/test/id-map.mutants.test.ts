import { describe, expect, it } from "vitest";
import { IdMap } from "../src/index.js";

// Memory grows with the most ids held at once: ids that come and go reuse the slots (handles) of
// ids that went, instead of taking new ones for ever.

describe("IdMap slot reuse", () => {
  it("one id in and out at a time keeps using the same small handles", () => {
    const map = new IdMap<number>();
    const handles = new Set<number>();
    let removed = 0;
    for (let i = 0; i < 2_000; i++) {
      const handle = map.insert(`run-${i}`, i);
      handles.add(handle);
      if (map.removeAt(handle)) removed++;
    }
    expect(removed).toBe(2_000);
    expect(map.size).toBe(0);
    expect(Math.max(...handles)).toBeLessThan(16);
  });

  it("with a long-lived id held, churning others reuses the slots they freed", () => {
    const map = new IdMap<number>();
    map.set("long-lived", -1);
    const handles = new Set<number>();
    let removed = 0;
    for (let i = 0; i < 2_000; i++) {
      handles.add(map.insert(`run-${i}`, i));
      if (map.delete(`run-${i}`)) removed++;
    }
    expect(removed).toBe(2_000);
    expect(map.get("long-lived")).toBe(-1);
    expect(map.size).toBe(1);
    expect(Math.max(...handles)).toBeLessThan(16);
  });
});
