import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TimelineEvent } from "@sluice/timeline";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";
import { STAGE_LIMIT } from "../src/staging.js";

// Appends are committed to timeline_staged and moved into timeline_events in bulk (staging.ts).

const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-staging-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => join(dir, `s${files++}.db`);

const event = (id: string, runId = "r", message = id, seq = 0): TimelineEvent => ({
  id,
  runId,
  workflowId: "w",
  seq,
  at: 1,
  source: "runtime",
  type: "log",
  message,
});

/** Rows in each table, read through another connection. */
function rowCounts(filename: string): { staged: number; events: number } {
  const db = new Database(filename, { readonly: true });
  const count = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  const counts = { staged: count("timeline_staged"), events: count("timeline_events") };
  db.close();
  return counts;
}

describe("staged appends", () => {
  it("that close() cannot move make it reject once; a close() called meanwhile or later resolves", async () => {
    const filename = newFile();
    const store = await createSqliteTimelineStore({ filename });
    await store.append([event("a"), event("b")]); // staged
    // another connection breaks the move (a full disk would too, but slowly to stage here)
    const other = new Database(filename);
    other.exec("DROP TABLE timeline_events");
    other.close();
    const first = store.close();
    const concurrent = store.close();
    await expect(first).rejects.toMatchObject({ code: "STORAGE_FAILED" });
    // TimelineStore.close(): calling it again, even concurrently, resolves and does nothing
    await expect(concurrent).resolves.toBeUndefined();
    await expect(store.close()).resolves.toBeUndefined();
    await expect(store.query()).rejects.toMatchObject({ code: "DISPOSED" });
  });

  it("are moved once STAGE_LIMIT rows wait, and before a query reads", async () => {
    const filename = newFile();
    const store = await createSqliteTimelineStore({ filename });
    const batch = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => event(`e${from + i}`, `run-${(from + i) % 7}`, "m", from + i));
    await store.append(batch(0, STAGE_LIMIT - 1));
    expect(rowCounts(filename)).toEqual({ staged: STAGE_LIMIT - 1, events: 0 });
    await store.append(batch(STAGE_LIMIT - 1, 1));
    expect(rowCounts(filename)).toEqual({ staged: 0, events: STAGE_LIMIT });
    await store.append(batch(STAGE_LIMIT, 5));
    expect(rowCounts(filename)).toEqual({ staged: 5, events: STAGE_LIMIT });
    expect((await store.query({ runId: "run-3", limit: 2 })).events.map((e) => e.id)).toEqual(["e3", "e10"]);
    expect(rowCounts(filename)).toEqual({ staged: 0, events: STAGE_LIMIT + 5 });
    await store.close();
  });

  it("keep the first copy of an id, staged or moved, whatever run a later copy names", async () => {
    const store = await createSqliteTimelineStore({ filename: newFile() });
    await store.append([event("e1", "a", "first")]);
    await store.query(); // moves e1
    await store.append([event("e1", "b", "again"), event("e2", "a", "first"), event("e2", "c", "second")]);
    await store.append([event("e2", "b", "third")]);
    expect((await store.query()).events.map((e) => [e.id, e.runId, e.message])).toEqual([
      ["e1", "a", "first"],
      ["e2", "a", "first"],
    ]);
    expect((await store.query({ runId: "b" })).events).toEqual([]);
    await store.close();
  });

  it("left by a connection that never closed (as after a crash) are read by the next store", async () => {
    const filename = newFile();
    const crashed = await createSqliteTimelineStore({ filename });
    await crashed.append([event("e1", "a"), event("e2", "b")]);
    expect(rowCounts(filename)).toEqual({ staged: 2, events: 0 });
    const next = await createSqliteTimelineStore({ filename });
    await next.append([event("e1", "c", "later copy")]);
    expect((await next.query()).events.map((e) => [e.id, e.runId, e.message])).toEqual([
      ["e1", "a", "e1"],
      ["e2", "b", "e2"],
    ]);
    await next.close();
    await crashed.close();
  });

  it("are deleted by a delete that matches them, which collects their names", async () => {
    const filename = newFile();
    const store = await createSqliteTimelineStore({ filename });
    await store.append([event("e1", "a"), event("e2", "b")]);
    expect(await store.delete({ runId: "a" })).toBe(1);
    await store.close();
    const db = new Database(filename, { readonly: true });
    expect(db.prepare("SELECT name FROM timeline_names ORDER BY name").pluck().all()).toEqual(["b", "w"]);
    db.close();
    expect(rowCounts(filename)).toEqual({ staged: 0, events: 1 });
  });
});
