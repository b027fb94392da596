import { SystemError } from "@sluice/errors";
import type { TimelineEvent } from "@sluice/timeline";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { createIndexedDBTimelineStore, INDEXEDDB_SCHEMA_VERSION } from "../src/index.js";
import { openTimelineDatabase } from "../src/open-database.js";
import {
  BY_RUN,
  BY_TIME,
  BY_WORKFLOW,
  EVENTS,
  INDEXEDDB_UPGRADES,
  type IndexedDBUpgrade,
} from "../src/schema.js";

const event = (id: string, at: number): TimelineEvent => ({
  id,
  runId: "r1",
  workflowId: "w1",
  seq: at,
  at,
  source: "runtime",
  type: "log",
  data: { id },
});

async function seeded(indexedDB: IDBFactory, database: string): Promise<void> {
  const store = await createIndexedDBTimelineStore({ database, indexedDB, IDBKeyRange });
  await store.append([event("e1", 1), event("e2", 2)]);
  await store.close();
}

function openRaw(
  indexedDB: IDBFactory,
  name: string,
  version?: number,
  onUpgrade?: (db: IDBDatabase, tx: IDBTransaction) => void,
): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    request.onupgradeneeded = () => onUpgrade?.(request.result, request.transaction!);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function allKeys(db: IDBDatabase): Promise<IDBValidKey[]> {
  return new Promise((resolve, reject) => {
    const request = db.transaction(EVENTS).objectStore(EVENTS).getAllKeys();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

describe("schema", () => {
  it("creates the events store keyed by id with one index per query shape", async () => {
    const indexedDB = new IDBFactory();
    await (await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange })).close();
    const db = await openRaw(indexedDB, "t");
    expect(db.version).toBe(INDEXEDDB_SCHEMA_VERSION);
    const store = db.transaction(EVENTS).objectStore(EVENTS);
    expect(store.keyPath).toBe("id");
    const keyPaths = Object.fromEntries(
      [BY_RUN, BY_WORKFLOW, BY_TIME].map((name) => [name, store.index(name).keyPath]),
    );
    expect(keyPaths).toEqual({
      [BY_RUN]: ["runId", "at", "seq", "id"],
      [BY_WORKFLOW]: ["workflowId", "at", "seq", "id"],
      [BY_TIME]: ["at", "seq", "id"],
    });
    db.close();
  });

  it("upgrades an older database step by step, keeping its events", async () => {
    const indexedDB = new IDBFactory();
    await seeded(indexedDB, "t");
    // A later release appends a step; a database at the current version takes only that step.
    const nextStep: IndexedDBUpgrade = (_db, tx) => tx.objectStore(EVENTS).createIndex("byType", "type");
    const db = await openTimelineDatabase(indexedDB, "t", [...INDEXEDDB_UPGRADES, nextStep]);
    expect(db.version).toBe(INDEXEDDB_UPGRADES.length + 1);
    expect(Array.from(db.transaction(EVENTS).objectStore(EVENTS).indexNames)).toContain("byType");
    expect(await allKeys(db)).toEqual(["e1", "e2"]);
    db.close();
  });

  it("runs every step from version 0 in order", async () => {
    const indexedDB = new IDBFactory();
    const seen: number[] = [];
    const steps: IndexedDBUpgrade[] = [0, 1, 2].map((n) => (db) => {
      seen.push(n);
      db.createObjectStore(`store${n}`);
    });
    const db = await openTimelineDatabase(indexedDB, "t", steps);
    expect(seen).toEqual([0, 1, 2]);
    expect(db.version).toBe(3);
    db.close();
  });

  it("leaves the database at its old version when a step fails", async () => {
    const indexedDB = new IDBFactory();
    await seeded(indexedDB, "t");
    const failing: IndexedDBUpgrade = (_db, tx) => {
      tx.objectStore(EVENTS).createIndex("byType", "type");
      throw new Error("step failed half way");
    };
    const opening = openTimelineDatabase(indexedDB, "t", [...INDEXEDDB_UPGRADES, failing]);
    await expect(opening).rejects.toSatisfy((e) => SystemError.is(e, "STORAGE_FAILED"));
    await expect(opening).rejects.toThrow(/upgrading its schema.*step failed half way/);
    const store = await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    expect((await store.query()).events.map((e) => e.id)).toEqual(["e1", "e2"]);
    await store.close();
    const db = await openRaw(indexedDB, "t");
    expect(db.version).toBe(INDEXEDDB_SCHEMA_VERSION);
    expect(Array.from(db.transaction(EVENTS).objectStore(EVENTS).indexNames)).not.toContain("byType");
    db.close();
  });

  it("refuses a database written by a newer schema, leaving it untouched", async () => {
    const indexedDB = new IDBFactory();
    await seeded(indexedDB, "t");
    const newer = await openRaw(indexedDB, "t", INDEXEDDB_SCHEMA_VERSION + 1);
    newer.close();
    const opening = createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    await expect(opening).rejects.toSatisfy((e) => SystemError.is(e, "INVALID_STATE"));
    await expect(opening).rejects.toThrow(/newer timeline schema.*upgrade @sluice\/timeline-indexeddb/);
    const db = await openRaw(indexedDB, "t");
    expect(db.version).toBe(INDEXEDDB_SCHEMA_VERSION + 1);
    expect(await allKeys(db)).toEqual(["e1", "e2"]);
    db.close();
  });

  it("refuses a database of the same name that another part of the app made, leaving it untouched", async () => {
    const layouts: Array<[string, (db: IDBDatabase) => void]> = [
      ["no events store", (db) => db.createObjectStore("settings")],
      ["an events store of its own", (db) => db.createObjectStore(EVENTS, { keyPath: "id" })],
    ];
    for (const [label, layout] of layouts) {
      const indexedDB = new IDBFactory();
      (await openRaw(indexedDB, "app", INDEXEDDB_SCHEMA_VERSION, layout)).close();
      const opening = createIndexedDBTimelineStore({ database: "app", indexedDB, IDBKeyRange });
      await expect(opening, label).rejects.toSatisfy((e) => SystemError.is(e, "INVALID_STATE"));
      await expect(opening, label).rejects.toThrow(
        /database "app" is not a timeline database.*use another database name/,
      );
      const db = await openRaw(indexedDB, "app");
      expect(db.version, label).toBe(INDEXEDDB_SCHEMA_VERSION);
      db.close();
    }
  });

  it("refuses a database of the same name at a higher version without an events store as not a timeline", async () => {
    const layouts: Array<[string, number, (db: IDBDatabase) => void]> = [
      ["a settings store", INDEXEDDB_SCHEMA_VERSION + 1, (db) => db.createObjectStore("settings")],
      ["no stores at all", INDEXEDDB_SCHEMA_VERSION + 4, () => {}],
    ];
    for (const [label, version, layout] of layouts) {
      const indexedDB = new IDBFactory();
      (await openRaw(indexedDB, "app", version, layout)).close();
      const opening = createIndexedDBTimelineStore({ database: "app", indexedDB, IDBKeyRange });
      await expect(opening, label).rejects.toSatisfy((e) => SystemError.is(e, "INVALID_STATE"));
      await expect(opening, label).rejects.toThrow(
        /database "app" is not a timeline database \(it has no "events" object store\).*use another database name/,
      );
      const db = await openRaw(indexedDB, "app");
      expect(db.version, label).toBe(version);
      expect(Array.from(db.objectStoreNames), label).toEqual(
        label === "no stores at all" ? [] : ["settings"],
      );
      db.close();
    }
  });

  it("opens a database deleted between finding it at a higher version and looking at it, as new", async () => {
    const real = new IDBFactory();
    (
      await openRaw(real, "t", INDEXEDDB_SCHEMA_VERSION + 1, (db) => db.createObjectStore("settings"))
    ).close();
    // The look at the database (an open without a version) finds it gone: deleted just before.
    const indexedDB = new Proxy(real, {
      get(target, key) {
        if (key !== "open") return Reflect.get(target, key);
        return (name: string, version?: number) => {
          if (version === undefined) target.deleteDatabase(name);
          return version === undefined ? target.open(name) : target.open(name, version);
        };
      },
    });
    const store = await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    await store.append([event("e1", 1)]);
    expect((await store.query()).events.map((e) => e.id)).toEqual(["e1"]);
    await store.close();
    const db = await openRaw(real, "t");
    expect(db.version).toBe(INDEXEDDB_SCHEMA_VERSION);
    db.close();
  });

  it("steps aside when another connection upgrades the database, and the next call's reopen refuses the newer schema", async () => {
    const indexedDB = new IDBFactory();
    const store = await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    await store.append([event("e1", 1)]);
    // Not blocked by the open store: it closes its connection on `versionchange`.
    const newer = await openRaw(indexedDB, "t", INDEXEDDB_SCHEMA_VERSION + 1);
    newer.close();
    const query = store.query();
    await expect(query).rejects.toSatisfy((e) => SystemError.is(e, "INVALID_STATE"));
    await expect(query).rejects.toThrow(/database "t" now has a newer timeline schema.*Reload the page/);
    await store.close();
    await expect(store.query()).rejects.toSatisfy((e) => SystemError.is(e, "DISPOSED"));
  });
});
