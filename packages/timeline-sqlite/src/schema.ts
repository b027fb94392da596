import { SystemError } from "@sluice/errors";
import type Database from "better-sqlite3";

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
];

/** The schema version this build writes. */
export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS.length;

/**
 * Brings `db` from its `user_version` up to `migrations.length`, one step per transaction, so a
 * failing step leaves the file at the last version that completed. A file from a newer build is
 * refused rather than written with an older schema.
 */
export function migrate(
  db: Database.Database,
  filename: string,
  migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS,
): void {
  const found = db.pragma("user_version", { simple: true }) as number;
  const target = migrations.length;
  if (found > target) {
    throw new SystemError(
      "INVALID_STATE",
      `createSqliteTimelineStore: "${filename}" has timeline schema version ${found}, but this version of ` +
        `@sluice/timeline-sqlite understands up to ${target}; upgrade @sluice/timeline-sqlite or use another file`,
      { details: { filename, found, supported: target } },
    );
  }
  for (let version = found; version < target; version++) {
    const step = migrations[version]!;
    db.transaction(() => {
      step(db);
      // PRAGMA cannot take a bound parameter; `version` is an integer we computed.
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
