import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compareTimelineEvents, type TimelineEvent, type TimelineQuery } from "@sluice/timeline";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it, vi } from "vitest";
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

describe("a tie larger than many pages (runs started in one millisecond)", () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-ties-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const RUNS = 2000;
  const LIMIT = 10;
  // Every run's first event at the same (at, seq), appended newest id first.
  const tied = Array.from({ length: RUNS }, (_, i) => {
    const n = String(RUNS - 1 - i).padStart(4, "0");
    return event(`run-${n}:0`, `run-${n}`, 0, 1000);
  });
  const expected = tied.map((e) => e.id).sort();

  // Pages through the workflow and counts the stored rows each query decodes (one JSON.parse per
  // row body, and one for the cursor): a page must not decode the rest of the tie it starts in.
  async function pageCounting(store: Awaited<ReturnType<typeof createSqliteTimelineStore>>) {
    const parse = vi.spyOn(JSON, "parse");
    try {
      const ids: string[] = [];
      let most = 0;
      let next: string | undefined;
      do {
        parse.mockClear();
        const page = await store.query({ workflowId: "w", limit: LIMIT, ...(next ? { next } : {}) });
        most = Math.max(most, parse.mock.calls.length);
        ids.push(...page.events.map((e) => e.id));
        next = page.next;
      } while (next !== undefined);
      return { ids, most };
    } finally {
      parse.mockRestore();
    }
  }

  it("decodes only the rows a page holds, not the rest of the tie", async () => {
    const store = await createSqliteTimelineStore({ filename: ":memory:" });
    await store.append(tied);
    const { ids, most } = await pageCounting(store);
    expect(ids).toEqual(expected);
    // the page and one more row, and the cursor
    expect(most).toBeLessThanOrEqual(LIMIT + 2);
    await store.close();
  });

  it("does so too while reading staged rows in place (another connection holds the write lock)", async () => {
    const filename = join(dir, "in-place.db");
    const writer = await createSqliteTimelineStore({ filename });
    // half moved into timeline_events, half left staged
    await writer.append(tied.slice(0, RUNS / 2));
    await writer.query({ limit: 1 });
    await writer.append(tied.slice(RUNS / 2));
    const reader = await createSqliteTimelineStore({ filename });
    const holder = new Database(filename);
    holder.exec("BEGIN IMMEDIATE");
    try {
      const { ids, most } = await pageCounting(reader);
      expect(ids).toEqual(expected);
      expect(most).toBeLessThanOrEqual(LIMIT + 2);
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
    await reader.close();
    await writer.close();
  });
});
