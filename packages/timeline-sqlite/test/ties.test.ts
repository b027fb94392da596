import { compareTimelineEvents, type TimelineEvent, type TimelineQuery } from "@sluice/timeline";
import { describe, expect, it } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

// The indexes end at (at, seq): events tied on both come out of SQLite in insertion order, and the
// store orders them by id, reading the whole tie when one straddles the end of a page.

const event = (id: string, runId: string, seq: number, at: number): TimelineEvent => ({
  id,
  runId,
  workflowId: "w",
  seq,
  at,
  source: "runtime",
  type: "x",
});

async function pages(
  store: Awaited<ReturnType<typeof createSqliteTimelineStore>>,
  filter: TimelineQuery,
  limit: number,
): Promise<string[][]> {
  const out: string[][] = [];
  let next: string | undefined;
  do {
    const page = await store.query(next === undefined ? { ...filter, limit } : { ...filter, limit, next });
    out.push(page.events.map((e) => e.id));
    next = page.next;
  } while (next !== undefined);
  return out;
}

describe("events tied on (at, seq)", () => {
  it("pages through a tie larger than a page in id order, appended in reverse", async () => {
    const store = await createSqliteTimelineStore({ filename: ":memory:" });
    // 30 runs all at seq 0 in the same millisecond (runs starting together), newest id first, and
    // one event before and after the tie.
    const tied = Array.from({ length: 30 }, (_, i) =>
      event(`id-${String(29 - i).padStart(2, "0")}`, `r${i}`, 0, 5),
    );
    await store.append([event("after", "z", 0, 6), ...tied, event("before", "a", 0, 4)]);
    const ids = tied.map((e) => e.id).sort();
    for (const filter of [{}, { workflowId: "w" }, { from: 5, to: 6 }]) {
      const expected = "from" in filter ? ids : ["before", ...ids, "after"];
      const got = await pages(store, filter, 7);
      expect(got.flat()).toEqual(expected);
      // Full pages except the last: a tie is never cut short.
      expect(got.slice(0, -1).every((p) => p.length === 7)).toBe(true);
    }
    await store.close();
  });

  it("orders ties inside one run (equal seq) and at every page size", async () => {
    const store = await createSqliteTimelineStore({ filename: ":memory:" });
    const events: TimelineEvent[] = [];
    for (let i = 0; i < 40; i++) events.push(event(`e${(i * 17) % 40}`, "run", Math.floor(i / 8), 100));
    await store.append(events);
    const expected = [...events].sort(compareTimelineEvents).map((e) => e.id);
    for (const limit of [1, 2, 3, 7, 8, 9, 39, 40, 41]) {
      expect((await pages(store, { runId: "run" }, limit)).flat()).toEqual(expected);
    }
    await store.close();
  });
});
