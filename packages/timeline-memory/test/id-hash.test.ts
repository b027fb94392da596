// The id table's hashes: an id of the runtime's form `<run>:<seq>` lands in a block of 16 slots
// shared with its run's neighbouring seqs (cache locality for appends and evictions); the hash is a
// function of the id's code units alone, so the store finds an id whichever way it arrived: as a
// string (IdUnits.read) or derived by a batch (IdUnits.readBatch).
import { TimelineBatch } from "@sluice/timeline";
import { describe, expect, it } from "vitest";
import { copyUnits, idHash, runSeqHash, stringHash } from "../src/id-hash.js";
import { IdUnits } from "../src/id-units.js";
import { createMemoryTimelineStore } from "../src/index.js";

/** UTF-16 code units (`Uint16Array.from(text)` would walk code points). */
function unitsOf(text: string): Uint16Array {
  const units = new Uint16Array(text.length);
  for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
  return units;
}

const hashOf = (id: string) => idHash(unitsOf(id), 0, id.length);

describe("id hashes", () => {
  it("puts a run's seqs 16k to 16k + 15 in one block of 16 slots, in seq order", () => {
    for (const run of ["45kvn7wsysa4-1", "r", "é😀", "a:b"]) {
      for (const base of [0, 16, 1_600, 2 ** 40]) {
        const block = hashOf(`${run}:${base}`) & ~15;
        for (let j = 0; j < 16; j++) {
          const hash = hashOf(`${run}:${base + j}`);
          expect(hash & ~15).toBe(block);
          expect(hash & 15).toBe(j);
          expect(hash).toBe(runSeqHash(stringHash(unitsOf(run), 0, run.length), base + j));
        }
        expect(hashOf(`${run}:${base + 16}`) & ~15).not.toBe(block);
      }
    }
  });

  it("spreads runs over the table and tells apart ids that differ in one code unit", () => {
    const blocks = new Set<number>();
    const hashes = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      blocks.add(hashOf(`run-${i}:1`) & ~15);
      hashes.add(hashOf(`event-${i}`));
    }
    expect(blocks.size).toBe(1000);
    expect(hashes.size).toBe(1000);
  });

  it("hashes every other id as a whole string", () => {
    const whole = [
      "r:05",
      "r:",
      ":5",
      "r:1234567890123456",
      "plain",
      "r:5 ",
      "r:-1",
      "x".repeat(301),
      "\uD800",
    ];
    for (const id of whole) expect(hashOf(id)).toBe(stringHash(unitsOf(id), 0, id.length));
    // 15 digits is a seq; a leading zero or a 16th digit is not
    expect(hashOf("r:123456789012345")).toBe(runSeqHash(stringHash(unitsOf("r"), 0, 1), 123456789012345));
    expect(hashOf("r:0")).toBe(runSeqHash(stringHash(unitsOf("r"), 0, 1), 0));
  });

  it("gives the same hash to an id read as a string and derived by a batch", () => {
    const runs = ["run-1", "a:b", "r9", "é😀-x"];
    const seqs = [0, 1, 15, 16, 999, 123456789012345, 1234567890123456, Number.MAX_SAFE_INTEGER];
    const batch = new TimelineBatch();
    const ids: string[] = [];
    for (const run of runs) {
      for (const seq of seqs) {
        batch.add(undefined, run, "wf", seq, 1, "runtime", "x");
        ids.push(`${run}:${seq}`);
      }
    }
    batch.add("explicit:7", "run-1", "wf", 3, 1, "runtime", "x");
    ids.push("explicit:7");
    const fromBatch = new IdUnits();
    const batchUnits = fromBatch.readBatch(batch)!;
    const batchHashes = Array.from(fromBatch.hashes.subarray(0, ids.length));
    const fromStrings = new IdUnits();
    fromStrings.read(ids, ids.join("").length);
    expect(batchHashes).toEqual(Array.from(fromStrings.hashes.subarray(0, ids.length)));
    // derived ids are kept as run and seq (length 0, no code units), except those whose seq has
    // more than 15 digits, written out like explicit ids
    const written = ids.filter((_id, i) => batch.ids[i] !== undefined || String(batch.seqs[i]).length > 15);
    expect(Array.from(fromBatch.lengths.subarray(0, ids.length))).toEqual(
      ids.map((id) => (written.includes(id) ? id.length : 0)),
    );
    const total = written.join("").length;
    expect(String.fromCharCode(...Array.from(batchUnits.subarray(0, total)))).toBe(written.join(""));
  });

  it("keeps derived ids of two runs apart when their hashes collide", async () => {
    // two run ids whose derived ids hash alike (a birthday search over the block bits): the store
    // must compare the runs, not only the hash and the seq
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const run = `run-${i.toString(36)}`;
      const hash = runSeqHash(stringHash(unitsOf(run), 0, run.length), 5);
      const other = seen.get(hash);
      if (other !== undefined) pair = [other, run];
      else seen.set(hash, run);
    }
    const [a, b] = pair;
    const store = await createMemoryTimelineStore();
    const batch = new TimelineBatch();
    batch.add(undefined, a, "wf", 5, 1, "runtime", "x");
    batch.add(undefined, b, "wf", 5, 2, "runtime", "x");
    await store.appendBatch!(batch);
    const again = new TimelineBatch();
    again.add(undefined, b, "wf", 5, 3, "runtime", "again");
    await store.appendBatch!(again);
    await store.append([
      { id: `${a}:5`, runId: a, workflowId: "wf", seq: 5, at: 4, source: "runtime", type: "again" },
    ]);
    const { events } = await store.query({});
    expect(events.map((e) => [e.id, e.type])).toEqual([
      [`${a}:5`, "x"],
      [`${b}:5`, "x"],
    ]);
  });

  it("copies code units into a ring, wrapping at its end", () => {
    const units = unitsOf("pre-abcdefghij-post");
    const ring = new Uint16Array(16);
    copyUnits(units, 4, 10, ring, 12, 15);
    expect(String.fromCharCode(...Array.from({ length: 10 }, (_, k) => ring[(12 + k) & 15]!))).toBe(
      "abcdefghij",
    );
    expect(ring[0]).toBe("e".charCodeAt(0)); // wrapped
  });
});
