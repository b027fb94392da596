import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compareTimelineEvents, type TimelineEvent, type TimelineStore } from "@sluice/timeline";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteTimelineStore, SQLITE_SCHEMA_VERSION } from "../src/index.js";
import { migrate, SQLITE_MIGRATIONS } from "../src/schema.js";
import { encodeOrderedText, encodeText } from "../src/text-codec.js";

const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-migrate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => join(dir, `m${files++}.db`);

// The events the schema 1 build was given to write fixtures/schema-1.db (see make-schema-1.mjs), one append each.
const SCHEMA_1_BATCHES = JSON.parse(
  readFileSync(new URL("./fixtures/schema-1-events.json", import.meta.url), "utf8"),
) as TimelineEvent[][];

/** Every event matching `filter`, read page by page with `limit`. */
async function readAll(
  store: TimelineStore,
  filter: { runId?: string; workflowId?: string } = {},
  limit = 1000,
): Promise<TimelineEvent[]> {
  const out: TimelineEvent[] = [];
  let next: string | undefined;
  do {
    const page = await store.query(next === undefined ? { ...filter, limit } : { ...filter, limit, next });
    out.push(...page.events);
    next = page.next;
  } while (next !== undefined);
  return out;
}

function columns(filename: string, table: string): string[] {
  const db = new Database(filename, { readonly: true });
  const names = (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
  db.close();
  return names;
}

describe("upgrading schema 2 files", () => {
  it("adds the staging table, keeping every event and id", async () => {
    const filename = newFile();
    // A schema 2 file as that build left it: its steps, and one event with its names.
    const v2 = new Database(filename);
    migrate(v2, filename, SQLITE_MIGRATIONS.slice(0, 2));
    v2.exec(`
      INSERT INTO timeline_names (name) VALUES ('r1'), ('orders');
      INSERT INTO timeline_events (id, run_key, workflow_key, seq, at, body)
        VALUES ('e1', 1, 2, 0, 1000, '["runtime","run.started",null,null,null,null]');
    `);
    v2.close();

    const store = await createSqliteTimelineStore({ filename });
    const e1: TimelineEvent = {
      id: "e1",
      runId: "r1",
      workflowId: "orders",
      seq: 0,
      at: 1000,
      source: "runtime",
      type: "run.started",
    };
    expect(await readAll(store)).toEqual([e1]);
    await store.append([{ ...e1, runId: "r2", message: "again" }]);
    expect(await readAll(store)).toEqual([e1]);
    await store.close();

    const db = new Database(filename, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    expect(db.prepare("SELECT count(*) FROM timeline_staged").pluck().get()).toBe(0);
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    db.close();
  });
});

describe("upgrading schema 1 files", () => {
  it("opens a file the schema 1 build wrote and returns every event it held, in order, by every filter", async () => {
    const filename = newFile();
    copyFileSync(new URL("./fixtures/schema-1.db", import.meta.url), filename);
    expect(columns(filename, "timeline_events")).toContain("run_id");

    // What that build kept: the first copy of each id.
    const expected: TimelineEvent[] = [];
    const seen = new Set<string>();
    for (const e of SCHEMA_1_BATCHES.flat()) if (!seen.has(e.id) && seen.add(e.id)) expected.push(e);
    expected.sort(compareTimelineEvents);

    const store = await createSqliteTimelineStore({ filename });
    expect(await readAll(store)).toEqual(expected);
    // One event per page walks every (at, seq) tie by cursor.
    expect(await readAll(store, {}, 1)).toEqual(expected);
    for (const e of expected) {
      expect(await readAll(store, { runId: e.runId })).toEqual(expected.filter((x) => x.runId === e.runId));
      expect(await readAll(store, { workflowId: e.workflowId }, 2)).toEqual(
        expected.filter((x) => x.workflowId === e.workflowId),
      );
    }
    // Ids it wrote still count: appending one again is ignored; new events go in.
    await store.append([{ ...expected[0]!, message: "again" }]);
    const added: TimelineEvent = {
      id: "new",
      runId: "r1",
      workflowId: "orders",
      seq: 3,
      at: 1003,
      source: "x",
      type: "y",
    };
    await store.append([added]);
    expect(await readAll(store)).toEqual([...expected, added].sort(compareTimelineEvents));
    expect(await store.delete({ runId: "r\uD800" })).toBe(1);
    await store.close();

    const db = new Database(filename, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    db.close();
    expect(columns(filename, "timeline_events")).toEqual([
      "id",
      "run_key",
      "workflow_key",
      "seq",
      "at",
      "body",
    ]);
    expect(columns(filename, "timeline_staged")).toEqual([
      "id",
      "run_key",
      "workflow_key",
      "seq",
      "at",
      "body",
    ]);

    // Reopening does not upgrade again.
    const reopened = await createSqliteTimelineStore({ filename });
    expect(await readAll(reopened)).toHaveLength(expected.length);
    await reopened.close();
  });

  it("copies a schema 1 file of several thousand events (more than one copy chunk) exactly", async () => {
    const filename = newFile();
    // A schema 1 file written the way that build wrote rows: its schema step and its INSERT.
    const v1 = new Database(filename);
    migrate(v1, filename, SQLITE_MIGRATIONS.slice(0, 1));
    const insert = v1.prepare(
      "INSERT OR IGNORE INTO timeline_events (id, run_id, workflow_id, seq, at, source, type, stage, step, level, message, data)" +
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const events: TimelineEvent[] = [];
    for (let i = 0; i < 2500; i++) {
      const e: TimelineEvent = {
        id: `e${i}`,
        runId: `run-${i % 7}`,
        workflowId: `wf-${i % 3}`,
        seq: Math.floor(i / 7),
        // Every fifth event ties on (at, seq) with the one before it in the same run.
        at: 5000 + Math.floor(i / 7) - (i % 35 >= 28 ? 1 : 0),
        source: "pipeline",
        type: i % 2 === 0 ? "step.completed" : "log",
      };
      if (i % 4 === 0) e.message = `message ${i}`;
      if (i % 5 === 0) e.data = { i, nested: { list: [i, null] } };
      if (i % 11 === 0) e.data = null;
      events.push(e);
    }
    v1.transaction(() => {
      for (const e of events) {
        insert.run(
          encodeOrderedText(e.id),
          encodeText(e.runId),
          encodeText(e.workflowId),
          e.seq,
          e.at,
          e.source,
          e.type,
          e.stage ?? null,
          e.step ?? null,
          e.level ?? null,
          e.message ?? null,
          e.data === undefined ? null : JSON.stringify(e.data),
        );
      }
    })();
    v1.close();

    const store = await createSqliteTimelineStore({ filename });
    const sorted = [...events].sort(compareTimelineEvents);
    expect(await readAll(store)).toEqual(sorted);
    expect(await readAll(store, { runId: "run-3" }, 77)).toEqual(sorted.filter((e) => e.runId === "run-3"));
    expect(await readAll(store, { workflowId: "wf-1" }, 100)).toEqual(
      sorted.filter((e) => e.workflowId === "wf-1"),
    );
    await store.close();
    const db = new Database(filename, { readonly: true });
    expect(db.prepare("SELECT count(*) FROM timeline_names").pluck().get()).toBe(10);
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    db.close();
  });
});

describe("a file another application uses", () => {
  /** The file's tables, user_version and journal mode, to compare before and after an open. */
  function state(filename: string) {
    const db = new Database(filename, { readonly: true });
    const found = {
      tables: db.prepare("SELECT name, sql FROM sqlite_master ORDER BY name").all(),
      userVersion: db.pragma("user_version", { simple: true }),
      journal: db.pragma("journal_mode", { simple: true }),
    };
    db.close();
    return found;
  }

  // 7 is past this build's schema version: such a file is another application's, not a newer
  // timeline file, and "upgrade @sluice/timeline-sqlite" would be the wrong advice.
  it.each([1, 2, 3, 7])(
    "with user_version %i and no timeline tables is refused INVALID_STATE and left as it was",
    async (version) => {
      const filename = newFile();
      const app = new Database(filename);
      app.exec("CREATE TABLE orders (id TEXT PRIMARY KEY)");
      app.pragma(`user_version = ${version}`);
      app.close();
      const before = state(filename);
      expect(before.journal).toBe("delete");
      const opening = createSqliteTimelineStore({ filename });
      await expect(opening).rejects.toMatchObject({
        code: "INVALID_STATE",
        message: expect.stringContaining("is not a timeline file"),
      });
      await expect(opening).rejects.toThrow(/another application's database.*separate file/);
      await expect(opening).rejects.not.toThrow(/upgrade/);
      expect(state(filename)).toEqual(before);
    },
  );

  it.each([0, 2])(
    "with user_version %i and a timeline_events table of its own is refused INVALID_STATE and left as it was",
    async (version) => {
      const filename = newFile();
      const app = new Database(filename);
      app.exec("CREATE TABLE timeline_events (x); INSERT INTO timeline_events VALUES (1)");
      app.pragma(`user_version = ${version}`);
      app.close();
      const before = state(filename);
      const opening = createSqliteTimelineStore({ filename });
      await expect(opening).rejects.toMatchObject({
        code: "INVALID_STATE",
        message: expect.stringContaining("is not a timeline file"),
      });
      await expect(opening).rejects.toThrow(/separate file/);
      expect(state(filename)).toEqual(before);
    },
  );
});
