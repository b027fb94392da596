/** The object store holding the events, keyed by `id`. */
export const EVENTS = "events";
/** Index on [runId, at, seq, id]: one run's events in timeline order. */
export const BY_RUN = "byRun";
/** Index on [workflowId, at, seq, id]: one workflow's events in timeline order. */
export const BY_WORKFLOW = "byWorkflow";
/** Index on [at, seq, id]: every event in timeline order. */
export const BY_TIME = "byTime";

/**
 * One schema step, run inside the `versionchange` transaction: upgrades[i] moves a database from
 * version i to i + 1. Steps are only ever appended; a released step never changes, so every older
 * database upgrades through the same path.
 */
export type IndexedDBUpgrade = (db: IDBDatabase, transaction: IDBTransaction) => void;

/** The schema steps this build knows; its schema (IndexedDB) version is their count. */
export const INDEXEDDB_UPGRADES: readonly IndexedDBUpgrade[] = [
  // 0 -> 1: the events store and one index per query shape.
  (db) => {
    const events = db.createObjectStore(EVENTS, { keyPath: "id" });
    events.createIndex(BY_RUN, ["runId", "at", "seq", "id"]);
    events.createIndex(BY_WORKFLOW, ["workflowId", "at", "seq", "id"]);
    events.createIndex(BY_TIME, ["at", "seq", "id"]);
  },
];

/** The schema version this build writes (the IndexedDB database version). */
export const INDEXEDDB_SCHEMA_VERSION = INDEXEDDB_UPGRADES.length;

/**
 * Runs the steps from `oldVersion` up to `upgrades.length`, in order, in one `versionchange`
 * transaction: if any step throws, the browser aborts it and the database keeps its old version.
 */
export function upgrade(
  db: IDBDatabase,
  transaction: IDBTransaction,
  oldVersion: number,
  upgrades: readonly IndexedDBUpgrade[],
): void {
  for (let version = oldVersion; version < upgrades.length; version++) upgrades[version]!(db, transaction);
}

/**
 * What keeps `db` (opened at the current version) from being a timeline database, or `undefined`
 * when it is one: a database of the same name that another part of the app made at this version
 * has no `events` store, or one of its own, without the indexes queries read.
 */
export function notATimelineLayout(db: IDBDatabase): string | undefined {
  if (!db.objectStoreNames.contains(EVENTS)) return `it has no "${EVENTS}" object store`;
  const store = db.transaction(EVENTS, "readonly").objectStore(EVENTS);
  if (store.keyPath !== "id") return `its "${EVENTS}" object store is not keyed by "id"`;
  for (const index of [BY_RUN, BY_WORKFLOW, BY_TIME]) {
    if (!store.indexNames.contains(index)) return `its "${EVENTS}" object store has no "${index}" index`;
  }
  return undefined;
}
