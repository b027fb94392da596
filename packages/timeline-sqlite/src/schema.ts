import { SystemError } from "@sluice/errors";
import type { TimelineLevel } from "@sluice/timeline";
import type Database from "better-sqlite3";
import { encodeBody } from "./body.js";
import { decodeText } from "./text-codec.js";

type Text = string | Buffer;
// A schema 1 row as step 1 -> 2 reads it (strings with a lone surrogate were UTF-16 BLOBs).
type V1Row = [
  rowid: number,
  id: string,
  runId: Text,
  workflowId: Text,
  seq: number,
  at: number,
  source: Text,
  type: Text,
  stage: Text | null,
  step: Text | null,
  level: string | null,
  message: Text | null,
  data: string | null,
];

/**
 * One schema step: migrations[i] moves a database from `user_version` i to i + 1. Steps are only
 * ever appended; a released step never changes, so every older file upgrades through the same path.
 */
export type SqliteMigration = (db: Database.Database) => void;

/** The schema steps this build knows; its schema version is their count. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  // 0 -> 1: the events table and one index per query shape. The rowid table (not WITHOUT ROWID)
  // keeps rows with large `data` out of the b-tree pages the indexes are built from.
  (db) => {
    db.exec(`
      CREATE TABLE timeline_events (
        id TEXT NOT NULL PRIMARY KEY,
        run_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        source TEXT NOT NULL,
        type TEXT NOT NULL,
        stage TEXT,
        step TEXT,
        level TEXT,
        message TEXT,
        data TEXT
      );
      CREATE INDEX timeline_events_by_run ON timeline_events (run_id, at, seq, id);
      CREATE INDEX timeline_events_by_workflow ON timeline_events (workflow_id, at, seq, id);
      CREATE INDEX timeline_events_by_time ON timeline_events (at, seq, id);
    `);
  },
  // 1 -> 2: the layout that makes appends cheaper. Run and workflow ids move to `timeline_names`
  // and events keep their integer key; the indexes lose their `id` tail (the adapter orders ties on
  // (`at`, `seq`) by id itself); the fields no query filters on become one JSON `body` (see
  // body.ts). The table is rebuilt, keeping every rowid; the copy runs in JavaScript, 1000 rows at a
  // time, because v1 kept strings with lone surrogates as UTF-16 BLOBs, which SQL's JSON cannot take.
  (db) => {
    db.exec(`
      CREATE TABLE timeline_names (
        key INTEGER PRIMARY KEY AUTOINCREMENT,
        name NOT NULL UNIQUE
      );
      INSERT INTO timeline_names (name)
        SELECT run_id FROM timeline_events UNION SELECT workflow_id FROM timeline_events;
      CREATE TABLE timeline_events_v2 (
        id TEXT NOT NULL PRIMARY KEY,
        run_key INTEGER NOT NULL,
        workflow_key INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        body TEXT NOT NULL
      );
    `);
    const read = db
      .prepare(
        "SELECT rowid, id, run_id, workflow_id, seq, at, source, type, stage, step, level, message, data" +
          " FROM timeline_events WHERE rowid > ? ORDER BY rowid LIMIT 1000",
      )
      .raw(true);
    const key = "(SELECT key FROM timeline_names WHERE name = ?)";
    const write = db.prepare(
      `INSERT INTO timeline_events_v2 (rowid, id, run_key, workflow_key, seq, at, body) VALUES (?, ?, ${key}, ${key}, ?, ?, ?)`,
    );
    const text = (stored: Text | null) => (stored === null ? undefined : decodeText(stored));
    for (let after = 0; ; ) {
      const rows = read.all(after) as V1Row[];
      if (rows.length === 0) break;
      for (const [
        rowid,
        id,
        runId,
        workflowId,
        seq,
        at,
        source,
        type,
        stage,
        step,
        level,
        message,
        data,
      ] of rows) {
        const fields = {
          source: decodeText(source),
          type: decodeText(type),
          stage: text(stage),
          step: text(step),
          level: (level ?? undefined) as TimelineLevel | undefined,
          message: text(message),
        };
        // v1 wrote `data` with JSON.stringify: JSON text already, spliced in as it is.
        write.run(rowid, id, runId, workflowId, seq, at, encodeBody(fields, data ?? undefined));
      }
      after = rows[rows.length - 1]![0];
    }
    db.exec(`
      DROP TABLE timeline_events;
      ALTER TABLE timeline_events_v2 RENAME TO timeline_events;
      CREATE INDEX timeline_events_by_run ON timeline_events (run_key, at, seq);
      CREATE INDEX timeline_events_by_workflow ON timeline_events (workflow_key, at, seq);
      CREATE INDEX timeline_events_by_time ON timeline_events (at, seq);
    `);
  },
  // 2 -> 3: the staging table appends are written to before being moved into timeline_events in
  // bulk (see staging.ts). No NOT NULL and no key: a multi-row INSERT into a table with a
  // constraint that can fail keeps a statement journal to undo half a statement, which doubled the
  // cost of a batch. Only the store writes rows here, each one validated.
  (db) => {
    db.exec(`
      CREATE TABLE timeline_staged (
        id TEXT,
        run_key INTEGER,
        workflow_key INTEGER,
        seq INTEGER,
        at INTEGER,
        body TEXT
      );
    `);
  },
];

/** The schema version this build writes. */
export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS.length;

/**
 * Brings `db` from its `user_version` up to `migrations.length`, one step per transaction, so a
 * failing step leaves the file at the last version that completed. A file from a newer build is
 * refused rather than written with an older schema.
 *
 * Several processes may open the same new or old file at once (a writer and its readers starting
 * together): each step's IMMEDIATE transaction reads the version again once it holds the write lock,
 * so a step another process took while this one waited is not run twice ("table already exists").
 */
export function migrate(
  db: Database.Database,
  filename: string,
  migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS,
): void {
  const target = migrations.length;
  // Outside a transaction: most opens find the file current and need no write lock (which a
  // process that may only read the file could not take).
  if (schemaVersion(db, filename, target) === target) return;
  const step = db.transaction((): boolean => {
    const version = schemaVersion(db, filename, target);
    if (version === target) return false;
    migrations[version]!(db);
    // PRAGMA cannot take a bound parameter; `version` is an integer read from the file.
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  while (step.immediate()) {}
}

/** The `user_version` of `db`; refuses a file written by a newer build than one at `target`. */
function schemaVersion(db: Database.Database, filename: string, target: number): number {
  const found = db.pragma("user_version", { simple: true }) as number;
  if (found > target) throw newerSchema(filename, found, target);
  return found;
}

function newerSchema(filename: string, found: number, target: number): SystemError {
  return new SystemError(
    "INVALID_STATE",
    `createSqliteTimelineStore: "${filename}" has timeline schema version ${found}, but this version of ` +
      `@sluice/timeline-sqlite understands up to ${target}; upgrade @sluice/timeline-sqlite or use another file`,
    { details: { filename, found, supported: target } },
  );
}

// The tables the schema steps create; a file at user_version 0 that already has one was not made by
// them (each step sets user_version in the transaction that creates its tables).
const TIMELINE_TABLES = ["timeline_events", "timeline_names", "timeline_staged"];

/**
 * Refuses, before anything writes to it (its journal mode included), a file that is not a timeline
 * file this build may open: another application's (a `user_version` without this package's
 * `timeline_events`, or a table of this package's name at `user_version` 0, which would make a schema
 * step fail half way or take over that table), and one written by a newer build. A file at
 * `user_version` 0 with other tables only (the host's own) is opened, and its `user_version` set.
 *
 * What it reads, it reads in one read transaction: another process may be taking a schema step on
 * the same file meanwhile, and a version read before that step with tables read after it would look
 * like another application's file.
 */
export function checkFile(db: Database.Database, filename: string): void {
  db.transaction(() => {
    const found = db.pragma("user_version", { simple: true }) as number;
    const events = columnsOf(db, "timeline_events");
    if (found === 0) {
      const taken = TIMELINE_TABLES.filter((table) => db.prepare(HAS_TABLE).get(table) !== undefined);
      if (taken.length > 0) {
        throw notATimelineFile(
          filename,
          found,
          `it has a ${taken.join(" and a ")} table but no timeline schema version (user_version 0), ` +
            "so this package did not create it",
        );
      }
      return;
    }
    // Every version so far has these; version 1 kept run ids as text, later ones as keys.
    const ours =
      events.has("id") &&
      events.has("seq") &&
      events.has("at") &&
      (found === 1 ? events.has("run_id") : found <= SQLITE_SCHEMA_VERSION ? events.has("run_key") : true);
    if (!ours) {
      throw notATimelineFile(
        filename,
        found,
        `its user_version is ${found} but it has no timeline_events table of this package's`,
      );
    }
    if (found > SQLITE_SCHEMA_VERSION) throw newerSchema(filename, found, SQLITE_SCHEMA_VERSION);
  })();
}

const HAS_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?";

function columnsOf(db: Database.Database, table: string): Set<string> {
  return new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
}

function notATimelineFile(filename: string, found: number, why: string): SystemError {
  return new SystemError(
    "INVALID_STATE",
    `createSqliteTimelineStore: "${filename}" is not a timeline file: ${why}. It looks like another ` +
      "application's database, and was left as it was; give the timeline store a separate file (or a new one)",
    { details: { filename, found } },
  );
}
