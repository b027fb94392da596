import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TimelineEvent } from "@sluice/timeline";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-delete-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => join(dir, `d${files++}.db`);

// 600 runs of 20 events, at 0..11999: more than two of the delete's chunks.
const RUNS = 600;
const PER_RUN = 20;
function events(): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  for (let k = 0; k < RUNS * PER_RUN; k++) {
    const run = Math.floor(k / PER_RUN);
    out.push({
      id: `e${k}`,
      runId: `run-${run}`,
      workflowId: run % 2 === 0 ? "even" : "odd",
      seq: k % PER_RUN,
      at: k,
      source: "runtime",
      type: "log",
    });
  }
  return out;
}

describe("a large delete", () => {
  it("removes its events in several transactions, leaving the write lock and the thread free between them", async () => {
    const filename = newFile();
    const store = await createSqliteTimelineStore({ filename });
    await store.append(events().slice(0, 8000));
    await store.query(); // moved
    await store.append(events().slice(8000)); // staged: deleted too
    const other = new Database(filename, { timeout: 0 });

    let settled = false;
    const deleting = store.delete({ before: 11_000 });
    void deleting.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 0));
    // A timer of the host ran before the delete ended, and another connection takes the write lock
    // without waiting: before, the whole delete was one transaction that held both until it ended.
    expect(settled).toBe(false);
    expect(() => other.exec("BEGIN IMMEDIATE; COMMIT")).not.toThrow();
    other.close();

    expect(await deleting).toBe(11_000);
    expect((await store.query({ limit: 2000 })).events.map((e) => e.at)).toEqual(
      Array.from({ length: 1000 }, (_, i) => 11_000 + i),
    );
    await store.close();
    // Names of runs with no event left are collected, across the chunks: 50 runs and both workflows.
    const db = new Database(filename, { readonly: true });
    expect(db.prepare("SELECT count(*) FROM timeline_names").pluck().get()).toBe(52);
    db.close();
  });

  it("finishes when close() is called while it runs", async () => {
    const filename = newFile();
    const store = await createSqliteTimelineStore({ filename });
    await store.append(events());
    const deleting = store.delete({ workflowId: "even" });
    let deleted = false;
    void deleting.then(() => {
      deleted = true;
    });
    const first = store.close();
    // a second close() resolves when the file is closed too, not at once
    await store.close();
    expect(deleted).toBe(true);
    await first;
    expect(await deleting).toBe((RUNS / 2) * PER_RUN);
    const reopened = await createSqliteTimelineStore({ filename });
    expect((await reopened.query({ workflowId: "even" })).events).toEqual([]);
    expect((await reopened.query({ workflowId: "odd", limit: 10_000 })).events).toHaveLength(
      (RUNS / 2) * PER_RUN,
    );
    await reopened.close();
  });

  it("keeps the names of events appended between its chunks: every query still answers, after a reopen too", async () => {
    const filename = newFile();
    let store = await createSqliteTimelineStore({ filename });
    await store.append(events().slice(0, 6000)); // workflows "even" and "odd", at 0..5999
    const retention = store.delete({ before: 6000 });
    // lands in the pause after the first chunk, staged, in a workflow whose events are all going
    await store.append([
      { id: "new:1", runId: "new", workflowId: "even", seq: 1, at: 99_999, source: "runtime", type: "log" },
    ]);
    expect(await retention).toBe(6000);
    const page = await store.query();
    expect(page.events.map((e) => [e.workflowId, e.runId])).toEqual([["even", "new"]]);
    expect((await store.query({ workflowId: "even" })).events.map((e) => e.id)).toEqual(["new:1"]);
    await store.close();
    store = await createSqliteTimelineStore({ filename });
    expect((await store.query({ runId: "new" })).events.map((e) => e.id)).toEqual(["new:1"]);
    await store.close();
  });
});
