import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TimelineEvent } from "@sluice/timeline";
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";
import { NameKeys } from "../src/names.js";

afterEach(() => {
  vi.restoreAllMocks();
});

const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-names-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => join(dir, `n${files++}.db`);

const event = (id: string, runId: string, workflowId: string, at = 1): TimelineEvent => ({
  id,
  runId,
  workflowId,
  seq: 0,
  at,
  source: "runtime",
  type: "x",
});

function names(filename: string): Map<string, number> {
  const db = new Database(filename, { readonly: true });
  const rows = db.prepare("SELECT name, key FROM timeline_names").raw().all() as [string, number][];
  db.close();
  return new Map(rows);
}

describe("run and workflow names", () => {
  it("are collected once no event uses them, and a key is never given to another name", async () => {
    const filename = newFile();
    const store = await createSqliteTimelineStore({ filename });
    await store.append([
      event("a1", "run-a", "orders", 1),
      event("a2", "run-a", "orders", 5),
      event("b1", "run-b", "orders", 1),
      event("c1", "run-c", "billing", 9),
    ]);
    const before = names(filename);
    expect([...before.keys()].sort()).toEqual(["billing", "orders", "run-a", "run-b", "run-c"]);

    expect(await store.delete({ runId: "run-b" })).toBe(1);
    expect([...names(filename).keys()].sort()).toEqual(["billing", "orders", "run-a", "run-c"]);
    // Retention that leaves part of a run keeps its name.
    expect(await store.delete({ before: 2 })).toBe(1);
    expect([...names(filename).keys()].sort()).toEqual(["billing", "orders", "run-a", "run-c"]);
    expect(await store.delete({ workflowId: "billing" })).toBe(1);
    expect([...names(filename).keys()].sort()).toEqual(["orders", "run-a"]);
    expect(await store.delete({ before: Infinity })).toBe(1);
    expect(names(filename).size).toBe(0);

    // Appended again, a collected name gets a new key, above every key used before.
    await store.append([event("b2", "run-b", "orders")]);
    const after = names(filename);
    expect(Math.min(...after.values())).toBeGreaterThan(Math.max(...before.values()));
    expect((await store.query({ runId: "run-b" })).events.map((e) => e.id)).toEqual(["b2"]);
    await store.close();
  });

  it("stay right when another connection to the file collects a name this store has cached", async () => {
    const filename = newFile();
    const one = await createSqliteTimelineStore({ filename });
    const two = await createSqliteTimelineStore({ filename });
    await one.append([event("e1", "shared-run", "w")]);
    await two.append([event("e2", "shared-run", "w", 2)]); // `two` now caches the run's key
    expect(await one.delete({ runId: "shared-run" })).toBe(2); // ...which this collects
    await two.append([event("e3", "shared-run", "w", 3)]);
    for (const store of [one, two]) {
      expect((await store.query({ runId: "shared-run" })).events.map((e) => [e.id, e.runId])).toEqual([
        ["e3", "shared-run"],
      ]);
    }
    await one.close();
    await two.close();
    const db = new Database(filename, { readonly: true });
    const dangling = db
      .prepare("SELECT count(*) FROM timeline_events WHERE run_key NOT IN (SELECT key FROM timeline_names)")
      .pluck()
      .get();
    expect(dangling).toBe(0);
    db.close();
  });
});

describe("a query", () => {
  it("reads its rows and their names in one snapshot while another connection deletes them", async () => {
    const filename = newFile();
    const writer = await createSqliteTimelineStore({ filename });
    await writer.append([event("a1", "run-a", "orders", 1), event("b1", "run-b", "billing", 2)]);
    await writer.query(); // moves the staged rows, so the delete below has no move to make
    const reader = await createSqliteTimelineStore({ filename }); // caches no names yet
    // Deterministically between reading the rows and resolving their names: the writer's delete
    // commits (better-sqlite3 is synchronous, so the delete runs to its commit right here) and
    // collects every name the rows refer to.
    const nameOf = NameKeys.prototype.nameOf;
    let deleted: Promise<number> | undefined;
    vi.spyOn(NameKeys.prototype, "nameOf").mockImplementation(function (this: NameKeys, key: number) {
      deleted ??= writer.delete({ before: Infinity });
      return nameOf.call(this, key);
    });
    const page = await reader.query();
    expect(deleted).toBeDefined();
    expect(await deleted).toBe(2);
    expect(page.events.map((e) => [e.id, e.runId, e.workflowId])).toEqual([
      ["a1", "run-a", "orders"],
      ["b1", "run-b", "billing"],
    ]);
    vi.restoreAllMocks();
    expect((await reader.query()).events).toEqual([]);
    await reader.close();
    await writer.close();
  });

  it("rejects with STORAGE_FAILED, with what it found as the cause, on rows it cannot read back", async () => {
    for (const damage of [
      "DELETE FROM timeline_names WHERE name = 'run-a'",
      "UPDATE timeline_events SET body = 'not json'",
    ]) {
      const filename = newFile();
      const store = await createSqliteTimelineStore({ filename });
      await store.append([event("a1", "run-a", "orders")]);
      await store.close();
      const db = new Database(filename);
      db.exec(damage);
      db.close();
      const reopened = await createSqliteTimelineStore({ filename });
      const error = await reopened.query().then(
        () => undefined,
        (e: unknown) => e as { code?: unknown; cause?: unknown },
      );
      expect(error?.code, damage).toBe("STORAGE_FAILED");
      expect(error?.cause, damage).toBeInstanceOf(Error);
      await reopened.close();
    }
  });
});
