import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TimelineEvent, TimelineQuery, TimelineStore } from "@sluice/timeline";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-write-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => join(dir, `l${files++}.db`);

const event = (id: string, runId: string, at: number, workflowId = "w", message = id): TimelineEvent => ({
  id,
  runId,
  workflowId,
  seq: 0,
  at,
  source: "runtime",
  type: "log",
  message,
});

/** Every page of `filter` with `limit`, as `id:message` strings, and the time it took. */
async function pages(store: TimelineStore, filter: TimelineQuery, limit: number) {
  const out: string[][] = [];
  let next: string | undefined;
  do {
    const page = await store.query({ ...filter, limit, ...(next === undefined ? {} : { next }) });
    out.push(page.events.map((e) => `${e.id}:${e.message}`));
    next = page.next;
  } while (next !== undefined);
  return out;
}

const FILTERS: TimelineQuery[] = [{}, { runId: "r1" }, { workflowId: "w2" }, { from: 3, to: 6 }];

describe("a query while another connection holds the write lock", () => {
  it("answers at once with the staged rows read in place, the same pages as once they are moved", async () => {
    const filename = newFile();
    const writer = await createSqliteTimelineStore({ filename });
    await writer.append([event("a", "r1", 1), event("c", "r2", 3, "w2"), event("t2", "r1", 5)]);
    await writer.query(); // moved
    await writer.append([
      event("b", "r1", 2),
      event("a", "r2", 9, "w2", "second copy of a moved id"),
      event("d", "r2", 4, "w2"),
      event("t1", "r1", 5), // ties with t2 on (at, seq), across both tables
      event("e", "r1", 6, "w", "first"),
      event("e", "r1", 7, "w", "second staged copy"),
    ]); // staged
    const reader = await createSqliteTimelineStore({ filename });

    // Another process's long write transaction (a large delete, say).
    const holder = new Database(filename);
    holder.exec("BEGIN IMMEDIATE");
    const whileLocked: string[][][] = [];
    const started = performance.now();
    for (const filter of FILTERS) {
      for (const limit of [1, 2, 100]) whileLocked.push(await pages(reader, filter, limit));
    }
    const took = performance.now() - started;
    holder.exec("COMMIT");
    holder.close();
    // better-sqlite3 waits up to 5 s for the lock; none of these queries waited for it.
    expect(took).toBeLessThan(1000);

    const moved: string[][][] = [];
    for (const filter of FILTERS) {
      for (const limit of [1, 2, 100]) moved.push(await pages(reader, filter, limit));
    }
    const raw = new Database(filename, { readonly: true });
    expect(raw.prepare("SELECT count(*) FROM timeline_staged").pluck().get()).toBe(0);
    raw.close();
    expect(whileLocked).toEqual(moved);
    // runId r1 in one page: first copies only, the tie in id order across both tables
    expect(moved[5]).toEqual([["a:a", "b:b", "t1:t1", "t2:t2", "e:first"]]);
    await reader.close();
    await writer.close();
  });
});
