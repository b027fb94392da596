import type { PauseRequestData } from "@sluice/pause";
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../src/run-record.js";
import { WaitIndex } from "../src/wait-index.js";

// The index only compares runs by identity: plain tokens stand in for run records.
const run = (name: string) => ({ name }) as unknown as RunRecord;
const waitFor = (orderId: unknown): PauseRequestData =>
  ({
    id: `w-${String(orderId)}`,
    event: "approved",
    conditions: [{ path: "orderId", op: "==", value: orderId }],
  }) as PauseRequestData;

describe("WaitIndex", () => {
  it("finds each waiting run by its key and forgets it when removed, down to empty and back", () => {
    const index = new WaitIndex();
    const runs = [run("a"), run("b"), run("c")];
    for (let cycle = 0; cycle < 3; cycle++) {
      // one run at a time, each on a key of its own (a pause → resume cycle), then several at once
      for (const [i, r] of runs.entries()) {
        index.add(r, waitFor(`o-${cycle}-${i}`));
        expect(index.candidates({ orderId: `o-${cycle}-${i}` })).toEqual([r]);
        index.remove(r, waitFor(`o-${cycle}-${i}`));
        expect(index.size).toBe(0);
        expect(index.candidates({ orderId: `o-${cycle}-${i}` })).toEqual([]);
      }
      for (const [i, r] of runs.entries()) index.add(r, waitFor(i));
      expect(index.size).toBe(3);
      index.remove(runs[1]!, waitFor(1));
      expect(index.candidates({ orderId: 0 })).toEqual([runs[0]]);
      expect(index.candidates({ orderId: 1 })).toEqual([]);
      index.remove(runs[0]!, waitFor(0));
      index.remove(runs[2]!, waitFor(2));
      expect(index.size).toBe(0);
      expect([0, 1, 2].flatMap((v) => index.candidates({ orderId: v }))).toEqual([]);
    }
  });

  it("keeps runs that share a key apart, and unkeyed waits in a list", () => {
    const index = new WaitIndex();
    const [a, b] = [run("a"), run("b")];
    index.add(a, waitFor("same"));
    index.add(b, waitFor("same"));
    index.add(a, waitFor("same")); // one entry per (run, key)
    expect(index.size).toBe(2);
    expect(index.candidates({ orderId: "same" })).toEqual([a, b]);
    index.remove(a, waitFor("same"));
    expect(index.candidates({ orderId: "same" })).toEqual([b]);
    const anyEvent = { id: "w", event: "approved" } as PauseRequestData;
    index.add(a, anyEvent);
    expect(index.candidates({ orderId: "other" })).toEqual([a]);
    index.remove(a, anyEvent);
    index.remove(b, waitFor("same"));
    expect(index.size).toBe(0);
    expect(index.candidates({ orderId: "same" })).toEqual([]);
  });

  it("forgets the maps of paths no wait uses any more once they outnumber the rest: paths made from data do not pile up", () => {
    const index = new WaitIndex();
    const voteOn = (user: string): PauseRequestData =>
      ({
        id: `w-${user}`,
        event: "vote.cast",
        conditions: [{ path: `votes.${user}`, op: "==", value: true }],
      }) as PauseRequestData;
    const holdout = run("holdout");
    index.add(holdout, voteOn("holdout"));
    // a run per voter waits on its own path (`votes.<user>`), then resumes or ends
    for (let i = 0; i < 1000; i++) {
      const voter = run(`u${i}`);
      index.add(voter, voteOn(`u${i}`));
      expect(index.candidates({ votes: { [`u${i}`]: true } })).toEqual([voter]);
      index.remove(voter, voteOn(`u${i}`));
    }
    // the holdout's path, and at most 64 emptied ones kept for reuse (it kept all 1001)
    expect(index.paths).toBeLessThanOrEqual(65);
    expect(index.size).toBe(1);
    expect(index.candidates({ votes: { holdout: true } })).toEqual([holdout]);
    index.add(run("again"), voteOn("u999"));
    expect(index.candidates({ votes: { u999: true } })).toHaveLength(1);
  });
});
