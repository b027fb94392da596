import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SystemError } from "@sluice/errors";
import type { TimelineEvent } from "@sluice/timeline";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

// Appends made in the same tick are written by one transaction; each still behaves as if alone.

const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-group-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => join(dir, `g${files++}.db`);

const event = (id: string, message = id): TimelineEvent => ({
  id,
  runId: "r",
  workflowId: "w",
  seq: Number(id.replace(/\D/g, "") || 0),
  at: 1,
  source: "runtime",
  type: "log",
  message,
});

const stored = async (store: Awaited<ReturnType<typeof createSqliteTimelineStore>>) =>
  (await store.query({ runId: "r" })).events.map((e) => [e.id, e.message]);

describe("appends in the same tick", () => {
  it("keep the first copy of an id by call order, across appends written together", async () => {
    const store = await createSqliteTimelineStore({ filename: newFile() });
    await Promise.all([
      store.append([event("e1", "first")]),
      store.append([event("e1", "second"), event("e2")]),
      store.append([event("e2", "third")]),
    ]);
    expect(await stored(store)).toEqual([
      ["e1", "first"],
      ["e2", "e2"],
    ]);
    await store.close();
  });

  it("fail alone: a batch SQLite refuses is rejected whole, the others of its tick commit", async () => {
    const filename = newFile();
    const store = await createSqliteTimelineStore({ filename });
    // A trigger added through another connection makes SQLite abort any append of this id (appends
    // are written to timeline_staged first, see staging.ts).
    const raw = new Database(filename);
    raw.exec(
      "CREATE TRIGGER poison BEFORE INSERT ON timeline_staged WHEN NEW.id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END",
    );
    raw.close();
    const results = await Promise.allSettled([
      store.append([event("e1")]),
      store.append([event("e2"), event("poison"), event("e3")]),
      store.append([event("e4")]),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const reason = (results[1] as PromiseRejectedResult).reason;
    expect(SystemError.is(reason, "STORAGE_FAILED")).toBe(true);
    expect(String(reason.message)).toMatch(/poisoned row/);
    expect(await stored(store)).toEqual([
      ["e1", "e1"],
      ["e4", "e4"],
    ]);
    // Alone, the same failure is reported the same way.
    await expect(store.append([event("poison")])).rejects.toSatisfy((e) =>
      SystemError.is(e, "STORAGE_FAILED"),
    );
    await store.close();
  });

  it("fail together, after one busy wait, when another connection holds the write lock", async () => {
    const filename = newFile();
    const store = await createSqliteTimelineStore({ filename });
    const holder = new Database(filename);
    holder.exec("BEGIN IMMEDIATE");
    const started = Date.now();
    // better-sqlite3 waits for the lock synchronously (its 5 s busy timeout), blocking the thread:
    // trying each append of the tick again alone would block it once more per append.
    const results = await Promise.allSettled([
      store.append([event("e1")]),
      store.append([event("e2")]),
      store.append([event("e3")]),
    ]);
    const waited = Date.now() - started;
    holder.exec("ROLLBACK");
    holder.close();
    for (const result of results) {
      expect(result.status).toBe("rejected");
      const reason = (result as PromiseRejectedResult).reason;
      expect(SystemError.is(reason, "STORAGE_FAILED")).toBe(true);
      expect(reason.cause?.code).toBe("SQLITE_BUSY");
    }
    expect(waited).toBeLessThan(10_000);
    await store.append([event("e4")]);
    expect(await stored(store)).toEqual([["e4", "e4"]]);
    await store.close();
  }, 30_000);

  it("take the events as they were when append() was called", async () => {
    const store = await createSqliteTimelineStore({ filename: newFile() });
    const e = event("e1", "as appended");
    const batch = [e];
    const appending = store.append(batch);
    e.message = "changed before the write";
    (e as { data?: unknown }).data = () => "not JSON";
    batch.push(event("e2"));
    await appending;
    expect((await store.query()).events).toEqual([event("e1", "as appended")]);
    await store.close();
  });

  it("take effect before a query or delete called after them", async () => {
    const store = await createSqliteTimelineStore({ filename: newFile() });
    const appending = store.append([event("e1")]);
    const page = store.query();
    const deleting = store.delete({ before: Infinity });
    const late = store.append([event("e2")]);
    expect((await page).events.map((e) => e.id)).toEqual(["e1"]);
    expect(await deleting).toBe(1);
    await Promise.all([appending, late]);
    expect(await stored(store)).toEqual([["e2", "e2"]]);
    await store.close();
  });

  it("resolve only once committed: close() right after append() writes it first", async () => {
    const filename = newFile();
    const store = await createSqliteTimelineStore({ filename });
    const appending = store.append([event("e1")]);
    await store.close();
    await appending;
    const db = new Database(filename, { readonly: true });
    expect(db.prepare("SELECT id FROM timeline_events").pluck().all()).toEqual(["e1"]);
    db.close();
    await expect(store.append([event("e2")])).rejects.toSatisfy((e) => SystemError.is(e, "DISPOSED"));
  });
});
