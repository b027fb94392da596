import { SystemError } from "@sluice/errors";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IdMap } from "../src/index.js";

/** Every id the map holds and its value, sorted by id, read through the public surface. */
function contents<V>(map: IdMap<V>): Array<[string, V]> {
  return map
    .ids()
    .sort()
    .map((id) => [id, map.get(id) as V]);
}

function sorted<V>(map: Map<string, V>): Array<[string, V]> {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

describe("IdMap", () => {
  it("holds, replaces, finds and removes values by id", () => {
    const map = new IdMap<number>();
    map.set("run-1", 1).set("run-2", 2);
    expect(map.size).toBe(2);
    expect(map.get("run-1")).toBe(1);
    expect(map.has("run-2")).toBe(true);
    map.set("run-1", 10);
    expect(map.size).toBe(2);
    expect(map.get("run-1")).toBe(10);
    expect(map.add("run-1", 99)).toBe(-1);
    expect(map.get("run-1")).toBe(10);
    const handle = map.add("run-3", 3);
    expect(handle).toBeGreaterThanOrEqual(0);
    expect(map.at(handle)).toBe(3);
    expect(map.take("run-3")).toBe(3);
    expect(map.take("run-1")).toBe(10);
    expect(map.take("run-1")).toBeUndefined();
    expect(map.delete("run-2")).toBe(true);
    expect(map.delete("run-2")).toBe(false);
    expect(map.size).toBe(0);
    expect(map.get("run-2")).toBeUndefined();
  });

  it("keeps ids that are unusual as object keys apart from everything else", () => {
    const map = new IdMap<string>();
    const ids = ["", "__proto__", "constructor", "toString", "0", "ünï©ødé", "💥", "a".repeat(10_000)];
    for (const id of ids) map.set(id, `v:${id}`);
    for (const id of ids) expect(map.get(id)).toBe(`v:${id}`);
    expect(map.size).toBe(ids.length);
    expect(map.get("hasOwnProperty")).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("grows past its starting size and shrinks back after a burst, losing nothing", () => {
    const map = new IdMap<number>();
    for (let i = 0; i < 50_000; i++) map.set(`r${i}`, i);
    expect(map.size).toBe(50_000);
    // checked in plain loops and asserted once: 57k expect() calls took seconds on a loaded machine
    const misread: string[] = [];
    for (let i = 0; i < 50_000; i += 7) if (map.get(`r${i}`) !== i) misread.push(`get r${i}`);
    for (let i = 0; i < 49_990; i++) if (!map.delete(`r${i}`)) misread.push(`delete r${i}`);
    expect(misread).toEqual([]);
    expect(map.size).toBe(10);
    expect(contents(map)).toEqual(
      Array.from({ length: 10 }, (_, k) => [`r${49_990 + k}`, 49_990 + k]).sort(),
    );
    for (let i = 0; i < 1000; i++) map.set(`again${i}`, i);
    expect(map.size).toBe(1010);
    expect(map.get("again999")).toBe(999);
    expect(map.get("r49999")).toBe(49_999);
  });

  it("tells apart ids that differ only far from their end", () => {
    const map = new IdMap<number>();
    const suffix = "-state-of-the-main-session";
    // half added without an index, so the first lookup indexes them all at once
    for (let i = 0; i < 2500; i++) map.insert(`order-${i}${suffix}`, i);
    expect(map.get(`order-7${suffix}`)).toBe(7);
    for (let i = 2500; i < 5000; i++) map.set(`order-${i}${suffix}`, i);
    for (let i = 0; i < 5000; i += 2) expect(map.take(`order-${i}${suffix}`)).toBe(i);
    for (let i = 0; i < 5000; i++) expect(map.get(`order-${i}${suffix}`)).toBe(i % 2 ? i : undefined);
    expect(map.size).toBe(2500);
  });

  it("returns snapshots from values() and ids(), so it can be changed while walking them", () => {
    const map = new IdMap<number>();
    for (let i = 0; i < 100; i++) map.set(`r${i}`, i);
    for (const id of map.ids()) map.delete(id);
    expect(map.size).toBe(0);
    expect(map.values()).toEqual([]);
  });

  it("visits every entry, and only those, through at(handle) below handleEnd", () => {
    const map = new IdMap<number>();
    const handles = Array.from({ length: 50 }, (_, i) => map.insert(`r${i}`, i));
    for (let i = 0; i < 50; i += 3) map.removeAt(handles[i]!);
    const seen: number[] = [];
    for (let handle = 0; handle < map.handleEnd; handle++) {
      if (map.idAt(handle) !== undefined) seen.push(map.at(handle)!);
    }
    expect(seen.sort((a, b) => a - b)).toEqual(map.values().sort((a, b) => a - b));
    expect(seen).toHaveLength(map.size);
    for (const handle of handles) map.removeAt(handle);
    expect(map.handleEnd).toBe(0);
  });

  it("clear() forgets every id", () => {
    const map = new IdMap<number>();
    for (let i = 0; i < 1000; i++) map.set(`r${i}`, i);
    map.clear();
    expect(map.size).toBe(0);
    expect(map.get("r1")).toBeUndefined();
    map.set("r1", 1);
    expect(map.get("r1")).toBe(1);
  });

  it("rejects a non-string id with INVALID_INPUT and finds nothing under one", () => {
    const map = new IdMap<number>();
    expect(() => map.set(42 as unknown as string, 1)).toThrow(SystemError);
    try {
      map.set(undefined as unknown as string, 1);
    } catch (error) {
      expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
      expect((error as Error).message).toContain("must be a string");
    }
    expect(map.get(42 as unknown as string)).toBeUndefined();
    expect(map.delete(null as unknown as string)).toBe(false);
    expect(() => map.add(Symbol("x") as unknown as string, 1)).toThrow(/must be a string/);
    expect(map.size).toBe(0);
  });

  it("adds and removes by handle without any lookup, and finds those ids once looked up", () => {
    const map = new IdMap<number>();
    const handles = new Map<string, number>();
    for (let i = 0; i < 100; i++) handles.set(`r${i}`, map.insert(`r${i}`, i));
    for (let i = 0; i < 100; i += 2) expect(map.removeAt(handles.get(`r${i}`)!)).toBe(true);
    expect(map.removeAt(handles.get("r0")!)).toBe(false);
    expect(map.size).toBe(50);
    expect(map.at(handles.get("r1")!)).toBe(1);
    // the first lookup by id indexes what insert() added without hashing
    expect(map.get("r1")).toBe(1);
    expect(map.get("r2")).toBeUndefined();
    // handles keep working alongside the index, and the index follows them
    const h = map.insert("late", 7);
    expect(map.get("late")).toBe(7);
    expect(map.removeAt(h)).toBe(true);
    expect(map.has("late")).toBe(false);
    expect(map.take("r99")).toBe(99);
    expect(map.ids().sort()).toEqual(Array.from({ length: 49 }, (_, k) => `r${2 * k + 1}`).sort());
    // handleOf gives back what insert returned; idAt names the id a handle holds
    expect(map.handleOf("r1")).toBe(handles.get("r1"));
    expect(map.idAt(handles.get("r1")!)).toBe("r1");
    expect(map.handleOf("r0")).toBe(-1);
    expect(map.idAt(handles.get("r0")!)).toBeUndefined();
  });

  it("drops an index nobody uses and rebuilds it on the next lookup, losing nothing", () => {
    const map = new IdMap<number>();
    map.insert("first", 0);
    expect(map.get("first")).toBe(0); // index built
    const handles: number[] = [];
    for (let i = 0; i < 5000; i++) handles.push(map.insert(`r${i}`, i)); // long enough to drop it
    for (let i = 0; i < 5000; i += 3) map.removeAt(handles[i]!);
    for (let i = 0; i < 5000; i++) expect(map.get(`r${i}`)).toBe(i % 3 === 0 ? undefined : i);
    expect(map.get("first")).toBe(0);
  });

  // Long random sequences against a Map: few distinct ids so that sets, deletes and re-adds of the
  // same id interleave and clusters form in the index (the backward-shift removal is the risky
  // part), with handle operations mixed in and the index dropped and rebuilt along the way.
  it("behaves like a Map over random sequences of every operation", () => {
    const id = fc.oneof(
      fc.integer({ min: 0, max: 40 }).map((n) => `run-${n}`),
      fc.string({ maxLength: 3 }),
    );
    const op = fc.oneof(
      { weight: 100, arbitrary: fc.tuple(fc.constant("set" as const), id, fc.integer()) },
      { weight: 40, arbitrary: fc.tuple(fc.constant("add" as const), id, fc.integer()) },
      { weight: 60, arbitrary: fc.tuple(fc.constant("insert" as const), id, fc.integer()) },
      { weight: 60, arbitrary: fc.tuple(fc.constant("removeAt" as const), id, fc.constant(0)) },
      { weight: 80, arbitrary: fc.tuple(fc.constant("delete" as const), id, fc.constant(0)) },
      { weight: 40, arbitrary: fc.tuple(fc.constant("take" as const), id, fc.constant(0)) },
      { weight: 20, arbitrary: fc.tuple(fc.constant("get" as const), id, fc.constant(0)) },
      { weight: 1, arbitrary: fc.tuple(fc.constant("clear" as const), id, fc.constant(0)) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const map = new IdMap<number>();
        const model = new Map<string, number>();
        // handles of entries added with insert(), by id, while the model says they are held
        const handles = new Map<string, number>();
        for (const [kind, key, value] of ops) {
          if (kind === "set") {
            map.set(key, value);
            model.set(key, value);
          } else if (kind === "add") {
            const handle = map.add(key, value);
            expect(handle !== -1).toBe(!model.has(key));
            if (handle !== -1) {
              handles.set(key, handle);
              model.set(key, value);
            }
          } else if (kind === "insert") {
            if (model.has(key)) continue; // insert() is for ids the caller knows are new
            handles.set(key, map.insert(key, value));
            model.set(key, value);
          } else if (kind === "removeAt") {
            const handle = handles.get(key);
            if (handle === undefined || !model.has(key)) continue;
            expect(map.at(handle)).toBe(model.get(key));
            expect(map.removeAt(handle)).toBe(true);
            model.delete(key);
          } else if (kind === "delete") {
            expect(map.delete(key)).toBe(model.delete(key));
          } else if (kind === "take") {
            expect(map.take(key)).toBe(model.get(key));
            model.delete(key);
          } else if (kind === "get") {
            expect(map.get(key)).toBe(model.get(key));
          } else {
            map.clear();
            model.clear();
          }
          // a handle is only good while its entry is held
          for (const k of [...handles.keys()]) if (!model.has(k)) handles.delete(k);
          expect(map.size).toBe(model.size);
        }
        expect(contents(map)).toEqual(sorted(model));
        for (const key of model.keys()) expect(map.has(key)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
