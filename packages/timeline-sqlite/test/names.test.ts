import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TimelineEvent } from "@sluice/timeline";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

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
