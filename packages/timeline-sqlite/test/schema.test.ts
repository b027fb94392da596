import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SystemError } from "@sluice/errors";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteTimelineStore, SQLITE_SCHEMA_VERSION } from "../src/index.js";
import { migrate, SQLITE_MIGRATIONS } from "../src/schema.js";

const DIST = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const OPEN_AT = fileURLToPath(new URL("./fixtures/open-at.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "sluice-sqlite-schema-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => join(dir, `t${files++}.db`);

const event = (id: string, at = 1) => ({
  id,
  runId: "r1",
  workflowId: "w1",
  seq: at,
  at,
  source: "runtime",
  type: "step.completed",
  data: { id },
});

describe("schema", () => {
  it("creates the current schema in WAL mode, with one index per query shape", async () => {
    const filename = newFile();
    await (await createSqliteTimelineStore({ filename })).close();
    const db = new Database(filename, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    expect(SQLITE_SCHEMA_VERSION).toBe(3);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    const indexes = db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
      .all() as { name: string; sql: string }[];
    expect(indexes.map((i) => i.sql.replace(/^.* ON /, ""))).toEqual([
      "timeline_events (run_key, at, seq)",
      "timeline_events (at, seq)",
      "timeline_events (workflow_key, at, seq)",
    ]);
    const columns = (table: string) =>
      (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
    expect(columns("timeline_events")).toEqual(["id", "run_key", "workflow_key", "seq", "at", "body"]);
    expect(columns("timeline_names")).toEqual(["key", "name"]);
    expect(columns("timeline_staged")).toEqual(["id", "run_key", "workflow_key", "seq", "at", "body"]);
    db.close();
  });

  it("stores run and workflow ids once, and the other fields as one JSON array", async () => {
    const filename = newFile();
    const store = await createSqliteTimelineStore({ filename });
    await store.append([
      { ...event("e1"), stage: "s", level: "info", message: 'say "hi"', data: null },
      { ...event("e2", 2), data: undefined },
    ]);
    await store.close();
    const db = new Database(filename, { readonly: true });
    expect(db.prepare("SELECT name FROM timeline_names ORDER BY key").pluck().all()).toEqual(["r1", "w1"]);
    expect(db.prepare("SELECT body FROM timeline_events ORDER BY at").pluck().all()).toEqual([
      '["runtime","step.completed","s",null,"info","say \\"hi\\"",null]',
      '["runtime","step.completed",null,null,null,null]',
    ]);
    db.close();
  });

  it("adds its table to a file that already holds the host's own tables", async () => {
    const filename = newFile();
    const host = new Database(filename);
    host.exec("CREATE TABLE settings (k TEXT PRIMARY KEY, v TEXT); INSERT INTO settings VALUES ('a', 'b')");
    host.close();
    const store = await createSqliteTimelineStore({ filename });
    await store.append([event("e1")]);
    await store.close();
    const db = new Database(filename, { readonly: true });
    expect(db.prepare("SELECT v FROM settings WHERE k = 'a'").pluck().get()).toBe("b");
    expect(db.prepare("SELECT count(*) FROM timeline_events").pluck().get()).toBe(1);
    db.close();
  });

  it("keeps data and reopens at the same version", async () => {
    const filename = newFile();
    const first = await createSqliteTimelineStore({ filename });
    await first.append([event("e1", 1), event("e2", 2)]);
    await first.close();
    const second = await createSqliteTimelineStore({ filename });
    expect((await second.query({ runId: "r1" })).events.map((e) => e.id)).toEqual(["e1", "e2"]);
    await second.close();
  });

  it("refuses a file written by a newer schema, leaving it untouched (journal mode included)", async () => {
    const filename = newFile();
    const current = await createSqliteTimelineStore({ filename });
    await current.append([event("e1")]);
    await current.close();
    // What a newer build would leave: this package's tables, a later version (and, here, a journal
    // mode other than the store's, to see that the refused open does not switch it).
    const db = new Database(filename);
    db.pragma("journal_mode = DELETE");
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    const opening = createSqliteTimelineStore({ filename });
    await expect(opening).rejects.toSatisfy((e) => SystemError.is(e, "INVALID_STATE"));
    await expect(opening).rejects.toThrow(/upgrade @sluice\/timeline-sqlite/);
    const after = new Database(filename, { readonly: true });
    expect(after.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION + 1);
    expect(after.pragma("journal_mode", { simple: true })).toBe("delete");
    expect(after.prepare("SELECT count(*) FROM timeline_events").pluck().get()).toBe(1);
    after.close();
  });

  it("upgrades an older file step by step, keeping its events", async () => {
    const filename = newFile();
    const old = await createSqliteTimelineStore({ filename });
    await old.append([event("e1", 1), event("e2", 2)]);
    await old.close();

    // A later release appends a step; files at the current version take only that step.
    const nextStep = (db: Database.Database) => db.exec("ALTER TABLE timeline_events ADD COLUMN tag TEXT");
    const db = new Database(filename);
    migrate(db, filename, [...SQLITE_MIGRATIONS, nextStep]);
    expect(db.pragma("user_version", { simple: true })).toBe(SQLITE_MIGRATIONS.length + 1);
    const columns = (db.pragma("table_info(timeline_events)") as { name: string }[]).map((c) => c.name);
    expect(columns).toContain("tag");
    expect(db.prepare("SELECT id FROM timeline_events ORDER BY at").pluck().all()).toEqual(["e1", "e2"]);
    db.close();
  });

  it("rolls a failing step back, so the file stays at the last version that completed", async () => {
    const filename = newFile();
    const old = await createSqliteTimelineStore({ filename });
    await old.append([event("e1")]);
    await old.close();

    const failing = (db: Database.Database) => {
      db.exec("ALTER TABLE timeline_events ADD COLUMN tag TEXT");
      throw new Error("step failed half way");
    };
    const db = new Database(filename);
    expect(() => migrate(db, filename, [...SQLITE_MIGRATIONS, failing])).toThrow("step failed half way");
    expect(db.pragma("user_version", { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    const columns = (db.pragma("table_info(timeline_events)") as { name: string }[]).map((c) => c.name);
    expect(columns).not.toContain("tag");
    db.close();
    const reopened = await createSqliteTimelineStore({ filename });
    expect((await reopened.query()).events.map((e) => e.id)).toEqual(["e1"]);
    await reopened.close();
  });

  it("upgrades a version-0 file through every step in order", () => {
    const filename = newFile();
    const seen: number[] = [];
    const steps = [0, 1, 2].map((n) => (db: Database.Database) => {
      seen.push(db.pragma("user_version", { simple: true }) as number);
      db.exec(`CREATE TABLE step_${n} (x)`);
    });
    const db = new Database(filename);
    migrate(db, filename, steps);
    expect(seen).toEqual([0, 1, 2]);
    expect(db.pragma("user_version", { simple: true })).toBe(3);
    db.close();
  });
});

/** What a child process that opens `filename` at `start` (epoch ms) printed. */
function openInChild(filename: string, start: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [OPEN_AT, DIST, filename, String(start)], (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe("opening one file from several connections at once", () => {
  it("runs each schema step once when another connection migrates between its version check and its step", () => {
    const filename = newFile();
    const first = new Database(filename);
    const second = new Database(filename);
    // The second connection migrates the whole file right after the first one read its version.
    const pragma = first.pragma.bind(first);
    let interleaved = false;
    first.pragma = ((source: string, options?: Database.PragmaOptions) => {
      const result = pragma(source, options);
      if (!interleaved && source === "user_version") {
        interleaved = true;
        migrate(second, filename);
      }
      return result;
    }) as typeof first.pragma;
    expect(() => migrate(first, filename)).not.toThrow();
    expect(interleaved).toBe(true);
    expect(first.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    first.close();
    second.close();
  });

  it("opens a new file from several processes at the same moment, every open succeeding", async () => {
    expect(existsSync(DIST), "build the package first: pnpm --filter @sluice/timeline-sqlite build").toBe(
      true,
    );
    // Node takes a few hundred milliseconds to start: all children wait for the same moment.
    const files = [newFile(), newFile(), newFile()];
    const start = Date.now() + 1500;
    const outputs = await Promise.all(
      files.flatMap((filename) => Array.from({ length: 4 }, () => openInChild(filename, start))),
    );
    expect(outputs).toEqual(outputs.map(() => "ok"));
    for (const filename of files) {
      const db = new Database(filename, { readonly: true });
      expect(db.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
      db.close();
    }
  }, 30_000);
});
