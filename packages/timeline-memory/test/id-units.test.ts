// The store reads a batch's ids through IdUnits, joined into one string for batches of 8 or more,
// one by one for smaller ones: both must give the same code units (the hashes and the stored ids
// come from them), whatever the ids hold.
import { describe, expect, it } from "vitest";
import { IdUnits } from "../src/id-units.js";
import { createMemoryTimelineStore } from "../src/index.js";

function unitsOf(ids: string[]): number[] {
  const out: number[] = [];
  for (const id of ids) for (let k = 0; k < id.length; k++) out.push(id.charCodeAt(k));
  return out;
}

function read(ids: string[]): number[] {
  const total = ids.reduce((n, id) => n + id.length, 0);
  return Array.from(new IdUnits().read(ids, total).subarray(0, total));
}

/** Ids built as the runtime builds them: concatenations V8 keeps as cons strings. */
function consIds(count: number, tail = ""): string[] {
  const runId = `${Math.random().toString(36).slice(2, 14)}-${count}`;
  return Array.from({ length: count }, (_, i) => `${runId}:${i}${tail}`);
}

describe("IdUnits", () => {
  const cases: Array<[string, string[]]> = [
    ["a small batch of ASCII ids", ["a", "bc", "def"]],
    ["a batch of ASCII cons strings", consIds(300)],
    ["non-ASCII ids among ASCII ones", [...consIds(10), "é", "😀x", ...consIds(5)]],
    ["lone surrogates", [...consIds(9), "\uD800", "a\uDC00b", "\uFFFF"]],
    ["a small batch of non-ASCII ids", ["שלום", "\uD83D"]],
  ];
  for (const [name, ids] of cases) {
    it(`reads ${name}`, () => {
      expect(read(ids)).toEqual(unitsOf(ids));
    });
  }

  it("reuses and grows its buffer", () => {
    const units = new IdUnits();
    const long = consIds(20, "x".repeat(500));
    expect(read(long)).toEqual(unitsOf(long));
    const total = long.reduce((n, id) => n + id.length, 0);
    expect(Array.from(units.read(long, total).subarray(0, total))).toEqual(unitsOf(long));
    expect(Array.from(units.read(["ab", "c"], 3).subarray(0, 3))).toEqual([97, 98, 99]);
  });
});

describe("ids read one by one or joined", () => {
  it("are the same ids: a duplicate is found whichever way either copy was read", async () => {
    const store = await createMemoryTimelineStore();
    const ev = (id: string, seq: number) => ({
      id,
      runId: "r",
      workflowId: "wf",
      seq,
      at: 1,
      source: "runtime",
      type: "log",
    });
    const ids = [...consIds(12), "é-1", "\uD800-2"];
    // one by one first, then in batches large enough to be joined, then one by one again
    for (const id of ids) await store.append([ev(id, 1)]);
    await store.append(ids.map((id) => ev(id, 99)));
    const more = consIds(12);
    await store.append(more.map((id) => ev(id, 1)));
    for (const id of more) await store.append([ev(id, 2)]);
    const stored = (await store.query({ limit: 100 })).events;
    expect(stored.map((e) => e.id).sort()).toEqual([...ids, ...more].sort());
    // the first copy of each was kept
    expect(stored.filter((e) => e.seq === 99 || e.seq === 2)).toEqual([]);
  });
});
