// Bundled into the Chromium test page with conformance-page.ts: what the adapter does when another
// connection holds its database (another tab, or code that ignores `versionchange`), against the
// page's real IndexedDB. The factory is the built package's; the open with a later schema step
// (what needs an upgrade, and so can be blocked) is the source's, as no released schema has it yet.
import { SystemError } from "@sluice/errors";
import type { TimelineStore } from "@sluice/timeline";
import { createIndexedDBTimelineStore } from "../../dist/index.js";
import { openTimelineDatabase } from "../../src/open-database.js";
import { EVENTS, INDEXEDDB_UPGRADES, type IndexedDBUpgrade } from "../../src/schema.js";

/** What one connection case saw, as plain data for the test process. */
export interface ConnectionResult {
  name: string;
  /** The code of the error the call under test rejected with (undefined: it resolved). */
  code?: string;
  message?: string;
  /** How long the call took to settle, in milliseconds. */
  ms?: number;
  /** What a later, fresh open saw: the version, the events store's indexes, whether it was blocked. */
  after?: { version: number; indexes: string[]; blocked: boolean };
  /** Event ids read back where the case reads some. */
  ids?: string[];
  /** Event ids a later call stored, read back with a raw connection, where the case reads them. */
  later?: string[];
  /** Something the case did not expect (a raw error, a hang). */
  problem?: string;
}

const nextStep: IndexedDBUpgrade = (_db, tx) => tx.objectStore(EVENTS).createIndex("byType", "type");

function holdOpen(name: string, version?: number): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function openOnce(name: string, version: number): Promise<NonNullable<ConnectionResult["after"]>> {
  return new Promise((resolve, reject) => {
    let blocked = false;
    const request = indexedDB.open(name, version);
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

function storedKeys(name: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onsuccess = () => {
      const db = request.result;
      // gone (this open made an empty one): nothing stored
      if (!db.objectStoreNames.contains(EVENTS)) {
        db.close();
        return resolve([]);
      }
      const keys = db.transaction(EVENTS).objectStore(EVENTS).getAllKeys();
      keys.onsuccess = () => {
        db.close();
        resolve(keys.result as string[]);
      };
      keys.onerror = () => reject(keys.error);
    };
    request.onerror = () => reject(request.error);
  });
}

const logEvent = (id: string, seq: number) => ({
  id,
  seq,
  at: seq + 1,
  runId: "r",
  workflowId: "w",
  source: "runtime",
  type: "log",
});

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/** How `run` settles: the code and message of a SystemError it rejects with, and how long it took. */
async function outcome(name: string, run: () => Promise<unknown>): Promise<ConnectionResult> {
  const started = performance.now();
  try {
    const value = await run();
    (value as { close?: () => unknown } | null)?.close?.();
    return { name, ms: performance.now() - started };
  } catch (error) {
    const ms = performance.now() - started;
    if (SystemError.is(error)) return { name, code: error.code, message: error.message, ms };
    return { name, ms, problem: `not a SystemError: ${String(error)}` };
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function blockedUpgrade(): Promise<ConnectionResult> {
  const name = "connections-blocked";
  await (await createIndexedDBTimelineStore({ database: name })).close();
  const holder = await holdOpen(name);
  const result = await outcome("blocked upgrade", () =>
    openTimelineDatabase(indexedDB, name, [...INDEXEDDB_UPGRADES, nextStep], 300),
  );
  holder.close();
  await pause(100);
  result.after = await openOnce(name, 5);
  await deleteDatabase(name);
  return result;
}

async function queuedBehindUpgrade(): Promise<ConnectionResult> {
  const name = "connections-queued";
  await (await createIndexedDBTimelineStore({ database: name })).close();
  const holder = await holdOpen(name);
  const upgrading = holdOpen(name, 2);
  const result = await outcome("factory queued behind a blocked upgrade", () =>
    createIndexedDBTimelineStore({ database: name, blockedTimeoutMs: 300 }),
  );
  holder.close();
  (await upgrading).close();
  await pause(100);
  result.after = await openOnce(name, 3);
  await deleteDatabase(name);
  return result;
}

async function storeStepsAside(): Promise<ConnectionResult> {
  const name = "connections-versionchange";
  const store = await createIndexedDBTimelineStore({ database: name });
  const event = { runId: "r", workflowId: "w", source: "runtime", type: "log" };
  const appending = store.append([
    { ...event, id: "e1", seq: 0, at: 1 },
    { ...event, id: "e2", seq: 1, at: 2 },
  ]);
  const result: ConnectionResult = { name: "store steps aside for a newer connection" };
  let blocked = false;
  const newer = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(name, 2);
    request.onblocked = () => {
      blocked = true;
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  try {
    await appending;
  } catch (error) {
    result.problem = `the append in flight failed: ${String(error)}`;
  }
  result.ids = await new Promise<string[]>((resolve, reject) => {
    const request = newer.transaction(EVENTS).objectStore(EVENTS).getAllKeys();
    request.onsuccess = () => resolve(request.result as string[]);
    request.onerror = () => reject(request.error);
  });
  result.after = { version: newer.version, indexes: [], blocked };
  newer.close();
  const query = await outcome("query after versionchange", () => store.query());
  if (query.code !== undefined) result.code = query.code;
  if (query.message !== undefined) result.message = query.message;
  if (query.problem !== undefined) result.problem = query.problem;
  // The newer build's database goes away: the store's next call opens a new one and writes there.
  await deleteDatabase(name);
  await store.append([logEvent("e3", 2)]);
  result.later = await storedKeys(name);
  await store.close();
  await deleteDatabase(name);
  return result;
}

async function storeReopensAfterDeletion(): Promise<ConnectionResult> {
  const name = "connections-deleted";
  const store = await createIndexedDBTimelineStore({ database: name });
  await store.append([logEvent("e1", 0)]);
  // Another tab deletes the database: not blocked by the store, whose next calls open it again.
  await deleteDatabase(name);
  const result = await outcome("append after deletion", () =>
    Promise.all([store.append([logEvent("e2", 1)]), store.append([logEvent("e3", 2)])]),
  );
  result.ids = (await store.query()).events.map((e) => e.id);
  result.later = await storedKeys(name);
  await store.close();
  await deleteDatabase(name);
  return result;
}

let cleared: TimelineStore | undefined;

/** Opens a store on `name` holding one event, for the test to clear the site's data under it. */
export async function openStoreToClear(name: string): Promise<void> {
  cleared = await createIndexedDBTimelineStore({ database: name });
  await cleared.append([logEvent("e1", 0)]);
}

/** After the site's data was cleared: the store's next append, and what the database then holds. */
export async function appendAfterClearing(name: string): Promise<ConnectionResult> {
  const store = cleared!;
  const result = await outcome("append after clearing site data", () => store.append([logEvent("e2", 1)]));
  result.later = await storedKeys(name).catch((e: unknown) => [`unreadable: ${String(e)}`]);
  await store.close();
  await deleteDatabase(name);
  return result;
}

/** Runs the connection cases one after another. */
export async function runConnectionCases(): Promise<ConnectionResult[]> {
  const results: ConnectionResult[] = [];
  for (const run of [blockedUpgrade, queuedBehindUpgrade, storeStepsAside, storeReopensAfterDeletion]) {
    try {
      results.push(await run());
    } catch (error) {
      results.push({ name: run.name, problem: `threw: ${String(error)}` });
    }
  }
  return results;
}
