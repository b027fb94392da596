import { SystemError } from "@sluice/errors";
import type { TimelineEvent } from "@sluice/timeline";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { createIndexedDBTimelineStore, INDEXEDDB_SCHEMA_VERSION } from "../src/index.js";
import { openTimelineDatabase, wasClosedByVersionChange } from "../src/open-database.js";
import { EVENTS, INDEXEDDB_UPGRADES, type IndexedDBUpgrade } from "../src/schema.js";

// Another connection that holds the database and does not let go: another tab running code that
// ignores `versionchange`, or an old build of an app. What opening then does, and what a store does
// when it is the one holding the database.

const event = (id: string, at: number): TimelineEvent => ({
  id,
  runId: "r1",
  workflowId: "w1",
  seq: at,
  at,
  source: "runtime",
  type: "log",
});

// A later schema step: what makes an open need an upgrade (and so wait for other connections).
const nextStep: IndexedDBUpgrade = (_db, tx) => tx.objectStore(EVENTS).createIndex("byType", "type");
const UPGRADED = [...INDEXEDDB_UPGRADES, nextStep];

/** A raw connection that ignores `versionchange` (it never closes by itself). */
function holdOpen(indexedDB: IDBFactory, name: string, version?: number): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Opens at `version` and reports whether the open was ever blocked; closes the connection. */
function openOnce(
  indexedDB: IDBFactory,
  name: string,
  version?: number,
): Promise<{ version: number; indexes: string[]; blocked: boolean }> {
  return new Promise((resolve, reject) => {
    let blocked = false;
    const request = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    request.onblocked = () => {
      blocked = true;
    };
    request.onsuccess = () => {
      const db = request.result;
      const indexes = db.objectStoreNames.contains(EVENTS)
        ? Array.from(db.transaction(EVENTS).objectStore(EVENTS).indexNames)
        : [];
      db.close();
      resolve({ version: db.version, indexes, blocked });
    };
    request.onerror = () => reject(request.error);
  });
}

async function timeoutOf(promise: Promise<unknown>): Promise<SystemError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(SystemError.is(error, "TIMEOUT"), `expected a TIMEOUT SystemError, got ${String(error)}`).toBe(true);
  return error as SystemError;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("an open another connection keeps blocked", () => {
  it("fails with TIMEOUT after blockedTimeoutMs, naming the database and the connection holding it", async () => {
    const indexedDB = new IDBFactory();
    await (await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange })).close();
    const holder = await holdOpen(indexedDB, "t");
    const started = Date.now();
    const error = await timeoutOf(openTimelineDatabase(indexedDB, "t", UPGRADED, 100));
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(error.message).toBe(
      `createIndexedDBTimelineStore: opening database "t" stayed blocked for 100 ms: another connection holds it open at version ${INDEXEDDB_SCHEMA_VERSION} (another tab or window, or another store on this page) and did not close when asked to, so it cannot be upgraded; close the other tabs (or that connection) and try again, or raise blockedTimeoutMs`,
    );
    expect(error.details).toEqual({ database: "t", timeoutMs: 100, blocked: true });
    // Once the holder lets go, the abandoned open is answered: it upgrades nothing and keeps no
    // connection (an open at a higher version is not blocked).
    holder.close();
    await settle();
    const after = await openOnce(indexedDB, "t", INDEXEDDB_SCHEMA_VERSION + 5);
    expect(after).toEqual({
      version: INDEXEDDB_SCHEMA_VERSION + 5,
      indexes: expect.any(Array),
      blocked: false,
    });
    expect(after.indexes).not.toContain("byType");
  });

  it("waits for a connection that lets go within blockedTimeoutMs, then upgrades", async () => {
    const indexedDB = new IDBFactory();
    const seeded = await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    await seeded.append([event("e1", 1)]);
    await seeded.close();
    const holder = await holdOpen(indexedDB, "t");
    holder.onversionchange = () => setTimeout(() => holder.close(), 50);
    const db = await openTimelineDatabase(indexedDB, "t", UPGRADED, 5_000);
    expect(db.version).toBe(UPGRADED.length);
    expect(Array.from(db.transaction(EVENTS).objectStore(EVENTS).indexNames)).toContain("byType");
    db.close();
  });

  it("through the factory: an open queued behind another connection's blocked upgrade fails with TIMEOUT", async () => {
    const indexedDB = new IDBFactory();
    await (await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange })).close();
    const holder = await holdOpen(indexedDB, "t");
    // Another tab's newer build asks for a higher version and waits for the holder.
    const upgrading = holdOpen(indexedDB, "t", INDEXEDDB_SCHEMA_VERSION + 1);
    const error = await timeoutOf(
      createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange, blockedTimeoutMs: 50 }),
    );
    expect(error.message).toContain(
      'opening database "t" stayed blocked for 50 ms: another connection holds it',
    );
    expect(error.message).toContain("an upgrade or deletion of it queued before this open");
    expect(error.details).toMatchObject({ database: "t", blocked: false });
    holder.close();
    (await upgrading).close();
    await settle();
    expect((await openOnce(indexedDB, "t", INDEXEDDB_SCHEMA_VERSION + 2)).blocked).toBe(false);
  });

  it("a store open on the database never blocks another connection's upgrade, and its append in flight completes", async () => {
    const indexedDB = new IDBFactory();
    const store = await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    const appending = store.append([event("e1", 1), event("e2", 2)]);
    const newer = await openTimelineDatabase(indexedDB, "t", UPGRADED, 1_000);
    await appending;
    const keys = await new Promise((resolve) => {
      const request = newer.transaction(EVENTS).objectStore(EVENTS).getAllKeys();
      request.onsuccess = () => resolve(request.result);
    });
    expect(keys).toEqual(["e1", "e2"]);
    newer.close();
    for (const call of [
      () => store.query(),
      () => store.append([event("e3", 3)]),
      () => store.delete({ runId: "r1" }),
    ]) {
      const pending = call();
      await expect(pending).rejects.toSatisfy((e) => SystemError.is(e, "INVALID_STATE"));
      await expect(pending).rejects.toThrow(/database "t" now has a newer timeline schema .*Reload the page/);
    }
    await store.close();
    await expect(store.query()).rejects.toSatisfy((e) => SystemError.is(e, "DISPOSED"));
  });

  it("a connection opened but not yet taken over by a store steps aside on versionchange too", async () => {
    const indexedDB = new IDBFactory();
    const db = await openTimelineDatabase(indexedDB, "t");
    expect(wasClosedByVersionChange(db)).toBe(false);
    // No store holds `db` yet (the factory would check it next): the newer open is not blocked.
    expect(await openOnce(indexedDB, "t", INDEXEDDB_SCHEMA_VERSION + 1)).toMatchObject({ blocked: false });
    expect(wasClosedByVersionChange(db)).toBe(true);
  });

  it("two stores on one database: a second factory call never waits on the first, and neither blocks a deletion", async () => {
    const indexedDB = new IDBFactory();
    const first = await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    const second = await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    await first.append([event("e1", 1)]);
    expect((await second.query()).events.map((e) => e.id)).toEqual(["e1"]);
    // Deleting the database (another tab's "clear data") closes both rather than waiting on them;
    // each opens the new, empty database on its next call.
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase("t");
      request.onblocked = () => reject(new Error("deleteDatabase was blocked by an open store"));
      request.onsuccess = () => resolve();
    });
    expect((await first.query()).events).toEqual([]);
    await second.append([event("e2", 2)]);
    expect((await first.query()).events.map((e) => e.id)).toEqual(["e2"]);
    await first.close();
    await second.close();
  });

  it.each([0, -1, Number.NaN, "5", 2 ** 31])("rejects blockedTimeoutMs %s", async (blockedTimeoutMs) => {
    const opening = createIndexedDBTimelineStore({
      database: "t",
      indexedDB: new IDBFactory(),
      IDBKeyRange,
      blockedTimeoutMs: blockedTimeoutMs as number,
    });
    await expect(opening).rejects.toSatisfy((e) => SystemError.is(e, "INVALID_INPUT"));
    await expect(opening).rejects.toThrow(/options\.blockedTimeoutMs must be a number of milliseconds/);
  });

  it("accepts blockedTimeoutMs Infinity", async () => {
    const store = await createIndexedDBTimelineStore({
      database: "t",
      indexedDB: new IDBFactory(),
      IDBKeyRange,
      blockedTimeoutMs: Number.POSITIVE_INFINITY,
    });
    await store.close();
  });
});
