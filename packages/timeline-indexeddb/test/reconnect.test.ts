import { SystemError } from "@sluice/errors";
import type { TimelineEvent } from "@sluice/timeline";
import { forceCloseDatabase, IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { createIndexedDBTimelineStore, INDEXEDDB_SCHEMA_VERSION } from "../src/index.js";
import { EVENTS } from "../src/schema.js";

// A store whose connection was dropped (another connection upgraded or deleted the database, or
// the browser closed it) opens the database again on its next call, as a database driver
// reconnects: a page open for days recovers without a reload.

const event = (id: string, at: number): TimelineEvent => ({
  id,
  runId: "r1",
  workflowId: "w1",
  seq: at,
  at,
  source: "runtime",
  type: "log",
});

/**
 * `real`, counting the opens a store makes at its schema version (the reopens; the look at a
 * database of a higher version opens it without one) and keeping each connection they give.
 */
function counted(real: IDBFactory): { indexedDB: IDBFactory; opens: IDBDatabase[]; count(): number } {
  let count = 0;
  const opens: IDBDatabase[] = [];
  const indexedDB = new Proxy(real, {
    get(target, key) {
      if (key !== "open") return Reflect.get(target, key);
      return (name: string, version?: number) => {
        if (version === undefined) return target.open(name);
        count++;
        const request = target.open(name, version);
        request.addEventListener("success", () => opens.push(request.result));
        return request;
      };
    },
  });
  return { indexedDB, opens, count: () => count };
}

/** A raw connection that ignores `versionchange` (another tab's code that never closes). */
function openRaw(indexedDB: IDBFactory, name: string, version?: number): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function deleteDatabase(indexedDB: IDBFactory, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/** The ids stored in `name`, read through a raw connection; and its version. */
async function contents(
  indexedDB: IDBFactory,
  name: string,
): Promise<{ version: number; ids: IDBValidKey[] }> {
  const db = await openRaw(indexedDB, name);
  const ids = await new Promise<IDBValidKey[]>((resolve, reject) => {
    const request = db.transaction(EVENTS).objectStore(EVENTS).getAllKeys();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  db.close();
  return { version: db.version, ids };
}

async function rejection(promise: Promise<unknown>): Promise<SystemError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(SystemError.is(error), `expected a SystemError, got ${String(error)}`).toBe(true);
  return error as SystemError;
}

/** Whether `db` was closed: a closed connection refuses to start a transaction. */
function isClosed(db: IDBDatabase): boolean {
  try {
    db.transaction(EVENTS).abort();
    return false;
  } catch (e) {
    return (e as Error).name === "InvalidStateError";
  }
}

/**
 * Closes `db` as a browser does when the user clears the site's data, once its transactions are
 * done (the query's still is, right after it resolves); resolves once its `close` event fired.
 */
function closedByTheBrowser(db: IDBDatabase): Promise<void> {
  const closed = new Promise<void>((resolve) => db.addEventListener("close", () => resolve()));
  // fake-indexeddb types the parameter as the connection class (`typeof FDBDatabase`), while it
  // takes a connection
  forceCloseDatabase(db as unknown as Parameters<typeof forceCloseDatabase>[0]);
  return closed;
}

/** Lets the fake's queued IndexedDB work run (it answers requests on macrotasks). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("a store whose connection was dropped reopens the database on its next call", () => {
  it("after another connection deleted the database: the append lands in the new database", async () => {
    const real = new IDBFactory();
    const { indexedDB, count } = counted(real);
    const store = await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    await store.append([event("e1", 1)]);
    await deleteDatabase(real, "t");
    await store.append([event("e2", 2)]);
    expect(count()).toBe(2);
    expect(await contents(real, "t")).toEqual({ version: INDEXEDDB_SCHEMA_VERSION, ids: ["e2"] });
    expect((await store.query()).events.map((e) => e.id)).toEqual(["e2"]);
    await store.close();
  });

  it("after the browser closed the connection (site data cleared): query and delete work again", async () => {
    const real = new IDBFactory();
    const { indexedDB, opens } = counted(real);
    const store = await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    await store.append([event("e1", 1), event("e2", 2)]);
    await closedByTheBrowser(opens[0]!);
    expect((await store.query()).events.map((e) => e.id)).toEqual(["e1", "e2"]);
    await closedByTheBrowser(opens[1]!);
    expect(await store.delete({ runId: "r1" })).toBe(2);
    expect(opens).toHaveLength(3);
    await store.close();
  });

  it("after an upgrade to a newer schema: rejects INVALID_STATE saying to reload the page, and each later call tries again", async () => {
    const real = new IDBFactory();
    const { indexedDB, count } = counted(real);
    const store = await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    await store.append([event("e1", 1)]);
    (await openRaw(real, "t", INDEXEDDB_SCHEMA_VERSION + 1)).close();
    const error = await rejection(store.append([event("e2", 2)]));
    expect(error.code).toBe("INVALID_STATE");
    expect(error.message).toBe(
      `IndexedDB timeline store: append() failed: database "t" now has a newer timeline schema than version ${INDEXEDDB_SCHEMA_VERSION}, which this build of @sluice/timeline-indexeddb writes: a newer build of this app (in another tab, say) upgraded it. Reload the page to run that build's code; until then each call tries to reopen the database and fails`,
    );
    expect(error.details).toEqual({ database: "t", supported: INDEXEDDB_SCHEMA_VERSION });
    expect(SystemError.is(error.cause, "INVALID_STATE")).toBe(true);
    expect((await rejection(store.query())).code).toBe("INVALID_STATE");
    expect(count()).toBe(3);
    // The newer build's database goes away (its tab cleared it): the next call opens a new one.
    await deleteDatabase(real, "t");
    await store.append([event("e3", 3)]);
    expect(await contents(real, "t")).toEqual({ version: INDEXEDDB_SCHEMA_VERSION, ids: ["e3"] });
    await store.close();
    await expect(store.query()).rejects.toSatisfy((e) => SystemError.is(e, "DISPOSED"));
  });

  it("calls that arrive while a reopen is in flight share it, and go on with its connection", async () => {
    const real = new IDBFactory();
    const { indexedDB, count } = counted(real);
    const store = await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    await deleteDatabase(real, "t");
    const [appended, page, removed] = await Promise.all([
      store.append([event("e1", 1), event("e2", 2)]),
      store.query({ runId: "r1" }),
      store.delete({ runId: "r1", before: 2 }),
    ]);
    expect(appended).toBeUndefined();
    // IndexedDB runs the transactions in the order the calls made them.
    expect(page.events.map((e) => e.id)).toEqual(["e1", "e2"]);
    expect(removed).toBe(1);
    expect(count()).toBe(2);
    expect((await store.query()).events.map((e) => e.id)).toEqual(["e2"]);
    expect(count()).toBe(2);
    await store.close();
  });

  it("calls sharing a reopen that fails all reject with its error, naming each call", async () => {
    const real = new IDBFactory();
    const { indexedDB, count } = counted(real);
    const store = await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    (await openRaw(real, "t", INDEXEDDB_SCHEMA_VERSION + 1)).close();
    const errors = await Promise.all([
      rejection(store.append([event("e1", 1)])),
      rejection(store.query()),
      rejection(store.delete({ runId: "r1" })),
    ]);
    expect(errors.map((e) => e.code)).toEqual(["INVALID_STATE", "INVALID_STATE", "INVALID_STATE"]);
    expect(errors.map((e) => /^IndexedDB timeline store: (\w+)\(\) failed/.exec(e.message)?.[1])).toEqual([
      "append",
      "query",
      "delete",
    ]);
    expect(count()).toBe(2);
    await store.close();
  });

  it("a reopen another connection keeps blocked rejects TIMEOUT saying why, and a later call gets through", async () => {
    const real = new IDBFactory();
    const store = await createIndexedDBTimelineStore({
      database: "t",
      indexedDB: real,
      IDBKeyRange,
      blockedTimeoutMs: 50,
    });
    await store.append([event("e1", 1)]);
    // Another tab that never closes its connection, and a deletion (by a third) waiting for it.
    const holder = await openRaw(real, "t");
    const deleting = deleteDatabase(real, "t");
    await settle(); // the deletion has asked the store to let go, and waits for the holder
    const error = await rejection(store.append([event("e2", 2)]));
    expect(error.code).toBe("TIMEOUT");
    expect(error.message).toMatch(
      /^IndexedDB timeline store: append\(\) failed: database "t" was upgraded or deleted by another connection \(another tab, or another store\), and reopening it failed: createIndexedDBTimelineStore: opening database "t" stayed blocked for 50 ms: .*; the next call tries to reopen it again$/,
    );
    expect(error.details).toMatchObject({ database: "t", timeoutMs: 50 });
    holder.close();
    await deleting;
    await settle();
    await store.append([event("e3", 3)]);
    expect(await contents(real, "t")).toEqual({ version: INDEXEDDB_SCHEMA_VERSION, ids: ["e3"] });
    await store.close();
  });

  it("close() during a reopen resolves at once, the waiting calls reject DISPOSED, and the new connection is closed when it arrives", async () => {
    const real = new IDBFactory();
    const { indexedDB, opens } = counted(real);
    const store = await createIndexedDBTimelineStore({
      database: "t",
      indexedDB,
      IDBKeyRange,
      blockedTimeoutMs: Number.POSITIVE_INFINITY,
    });
    const holder = await openRaw(real, "t");
    const deleting = deleteDatabase(real, "t");
    await settle(); // the deletion has asked the store to let go, and waits for the holder
    const appending = rejection(store.append([event("e1", 1)]));
    const querying = rejection(store.query());
    await settle(); // the reopen waits behind the deletion
    await store.close();
    holder.close();
    await deleting;
    const errors = await Promise.all([appending, querying]);
    expect(errors.map((e) => e.code)).toEqual(["DISPOSED", "DISPOSED"]);
    expect(errors[0]!.message).toBe(
      "IndexedDB timeline store: close() was called while append() waited for the database to be reopened",
    );
    await settle();
    expect(opens).toHaveLength(2);
    expect(isClosed(opens[1]!)).toBe(true);
    // Nothing holds the database: an upgrade by another connection is not blocked.
    const blocked = await new Promise<boolean>((resolve, reject) => {
      let wasBlocked = false;
      const request = real.open("t", INDEXEDDB_SCHEMA_VERSION + 1);
      request.onblocked = () => {
        wasBlocked = true;
      };
      request.onsuccess = () => {
        request.result.close();
        resolve(wasBlocked);
      };
      request.onerror = () => reject(request.error);
    });
    expect(blocked).toBe(false);
    await expect(store.append([event("e2", 2)])).rejects.toSatisfy((e) => SystemError.is(e, "DISPOSED"));
  });

  it("close() after the connection was dropped stays final: DISPOSED, no reopen", async () => {
    const real = new IDBFactory();
    const { indexedDB, count } = counted(real);
    const store = await createIndexedDBTimelineStore({ database: "t", indexedDB, IDBKeyRange });
    await deleteDatabase(real, "t");
    await store.close();
    await expect(store.append([event("e1", 1)])).rejects.toSatisfy((e) => SystemError.is(e, "DISPOSED"));
    expect(count()).toBe(1);
  });
});
