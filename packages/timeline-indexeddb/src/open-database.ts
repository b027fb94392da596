import { SystemError } from "@sluice/errors";
import { EVENTS, INDEXEDDB_UPGRADES, type IndexedDBUpgrade, notATimelineLayout, upgrade } from "./schema.js";

/** How long an open waits, by default, for other connections to let go of the database. */
export const DEFAULT_BLOCKED_TIMEOUT_MS = 10_000;

/**
 * Connections whose `versionchange` came before a store took them over: closed at once, so
 * that a connection being opened never blocks another's upgrade or deletion either.
 */
const closedByVersionChange = new WeakSet<IDBDatabase>();

/** Whether `db`, opened by {@link openTimelineDatabase}, was closed for another connection since. */
export function wasClosedByVersionChange(db: IDBDatabase): boolean {
  return closedByVersionChange.has(db);
}

/**
 * The refusals of a database at a newer schema: a store reopening its database tells the page to
 * reload (a newer build took the database over while it ran), not to upgrade the package.
 */
const newerSchemaRefusals = new WeakSet<SystemError>();

/** Whether `error` is {@link openTimelineDatabase}'s refusal of a database at a newer schema. */
export function isNewerSchemaRefusal(error: unknown): error is SystemError {
  return error instanceof SystemError && newerSchemaRefusals.has(error);
}

/**
 * Opens `name` as the connection of a timeline store, the same way for `createIndexedDBTimelineStore`
 * and for a store reopening its database: {@link openTimelineDatabase} (creating the schema, or
 * refusing a newer one), then refusing a database of that name that is not a timeline.
 * `undefined` when another connection's upgrade or deletion closed the connection before it was
 * checked (each caller says so in its own words).
 */
export async function openStoreConnection(
  factory: IDBFactory,
  name: string,
  blockedTimeoutMs: number,
): Promise<IDBDatabase | undefined> {
  const db = await openTimelineDatabase(factory, name, undefined, blockedTimeoutMs);
  if (wasClosedByVersionChange(db)) return undefined;
  // The name may be taken by another part of the app, at this version: writing into its stores
  // and failing every query with a raw NotFoundError would be worse than refusing it here.
  let foreign: string | undefined;
  try {
    foreign = notATimelineLayout(db);
  } catch (e) {
    db.close();
    throw SystemError.from(e, "STORAGE_FAILED", `IndexedDB timeline store: opening "${name}" failed`);
  }
  if (foreign !== undefined) {
    db.close();
    throw notATimeline(name, foreign);
  }
  return db;
}

/**
 * Opens `name` at version `upgrades.length`, running the upgrade steps a database below that needs.
 * A database at a higher version is refused with `INVALID_STATE`: as written by a newer build
 * when it has the `events` object store, as not a timeline database when it has not.
 *
 * Each open request may wait `blockedTimeoutMs` for the browser to answer: it waits while another
 * connection (another tab, another store) keeps the database open at an older version than this
 * one upgrades it to, or while an upgrade or deletion queued before it waits for such a connection.
 * Past that it rejects with `TIMEOUT`; the request the browser still holds is then aborted (no
 * upgrade) or closed when it is finally answered. A running upgrade is not timed.
 */
export async function openTimelineDatabase(
  factory: IDBFactory,
  name: string,
  upgrades: readonly IndexedDBUpgrade[] = INDEXEDDB_UPGRADES,
  blockedTimeoutMs: number = DEFAULT_BLOCKED_TIMEOUT_MS,
): Promise<IDBDatabase> {
  for (let attempt = 1; ; attempt++) {
    const opened = await openAt(factory, name, upgrades, blockedTimeoutMs);
    if (opened !== undefined) return opened;
    // At a higher version: look at it as it is, without a version (no upgrade, nothing written).
    const layout = await probe(factory, name, blockedTimeoutMs);
    if (layout === "foreign") throw notATimeline(name, `it has no "${EVENTS}" object store`);
    if (layout === "timeline") throw newerSchema(name, upgrades.length);
    // Deleted between the two opens: open it again, as new (twice at most; then give up).
    if (attempt === 2) {
      throw new SystemError(
        "STORAGE_FAILED",
        `IndexedDB timeline store: opening "${name}" failed: another connection keeps deleting and recreating it`,
        { details: { database: name } },
      );
    }
  }
}

/**
 * The `INVALID_STATE` error for a database of the timeline's name that something else made: it
 * is left untouched.
 */
export function notATimeline(name: string, reason: string): SystemError {
  return new SystemError(
    "INVALID_STATE",
    `createIndexedDBTimelineStore: database "${name}" is not a timeline database (${reason}); ` +
      "it holds other data, left untouched: use another database name",
    { details: { database: name } },
  );
}

function newerSchema(name: string, supported: number): SystemError {
  const error = new SystemError(
    "INVALID_STATE",
    `createIndexedDBTimelineStore: database "${name}" has a newer timeline schema than version ` +
      `${supported}, which this version of @sluice/timeline-indexeddb writes; upgrade ` +
      "@sluice/timeline-indexeddb or use another database name",
    { details: { database: name, supported } },
  );
  newerSchemaRefusals.add(error);
  return error;
}

/**
 * Times an open request: `fail` settles the open with `TIMEOUT` once `ms` pass before the browser
 * answers (see {@link openTimelineDatabase}); `answered` stops the clock and says whether the open
 * is still waiting for the answer (false once it timed out).
 */
function clock(
  name: string,
  ms: number,
  request: IDBOpenDBRequest,
  fail: (error: SystemError) => void,
): { answered(): boolean } {
  let blockedAt: number | undefined;
  let timedOut = false;
  request.onblocked = (event) => {
    blockedAt = event.oldVersion;
  };
  const timer =
    ms === Number.POSITIVE_INFINITY
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          fail(blocked(name, ms, blockedAt));
        }, ms);
  return {
    answered() {
      clearTimeout(timer);
      return !timedOut;
    },
  };
}

/** The `TIMEOUT` error of an open that waited `ms` for other connections (`oldVersion`: blocked at it). */
function blocked(name: string, ms: number, oldVersion: number | undefined): SystemError {
  const why =
    oldVersion === undefined
      ? "another connection holds it (another tab or window, or another store on this page), and an upgrade or deletion of it queued before this open waits for that connection to close"
      : `another connection holds it open at version ${oldVersion} (another tab or window, or another store on this page) and did not close when asked to, so it cannot be upgraded`;
  return new SystemError(
    "TIMEOUT",
    `createIndexedDBTimelineStore: opening database "${name}" stayed blocked for ${ms} ms: ${why}; ` +
      "close the other tabs (or that connection) and try again, or raise blockedTimeoutMs",
    { details: { database: name, timeoutMs: ms, blocked: oldVersion !== undefined } },
  );
}

/** Opens `name` at `upgrades.length`; `undefined` when the database is at a higher version. */
function openAt(
  factory: IDBFactory,
  name: string,
  upgrades: readonly IndexedDBUpgrade[],
  blockedTimeoutMs: number,
): Promise<IDBDatabase | undefined> {
  return new Promise((resolve, reject) => {
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(name, upgrades.length);
    } catch (e) {
      reject(SystemError.from(e, "STORAGE_FAILED", `IndexedDB timeline store: opening "${name}" failed`));
      return;
    }
    const waiting = clock(name, blockedTimeoutMs, request, reject);
    let stepFailure: unknown;
    request.onupgradeneeded = (event) => {
      // Too late: the open already failed, so it changes nothing.
      if (!waiting.answered()) return request.transaction!.abort();
      try {
        upgrade(request.result, request.transaction!, event.oldVersion, upgrades);
      } catch (e) {
        stepFailure = e;
        request.transaction!.abort();
      }
    };
    request.onsuccess = () => {
      const db = request.result;
      if (!waiting.answered()) return db.close();
      // Until a store takes the connection over: step aside for another connection at once.
      db.onversionchange = () => {
        closedByVersionChange.add(db);
        db.close();
      };
      resolve(db);
    };
    request.onerror = (event) => {
      // Handled here: keeps browsers from reporting it as an uncaught error as well.
      event.preventDefault();
      if (!waiting.answered()) return;
      const error = request.error;
      if (error?.name === "VersionError") return resolve(undefined);
      const cause = stepFailure ?? error;
      reject(
        SystemError.from(
          cause,
          "STORAGE_FAILED",
          `IndexedDB timeline store: opening "${name}" failed${stepFailure === undefined ? "" : " while upgrading its schema"}`,
        ),
      );
    };
  });
}

/**
 * Whether the database `name`, opened at its current version and closed again, has the `events`
 * object store; `"gone"` when it no longer exists (the open that would create it is aborted).
 */
function probe(
  factory: IDBFactory,
  name: string,
  blockedTimeoutMs: number,
): Promise<"timeline" | "foreign" | "gone"> {
  return new Promise((resolve, reject) => {
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(name);
    } catch (e) {
      reject(SystemError.from(e, "STORAGE_FAILED", `IndexedDB timeline store: opening "${name}" failed`));
      return;
    }
    const waiting = clock(name, blockedTimeoutMs, request, reject);
    let gone = false;
    request.onupgradeneeded = () => {
      // Only for a database that does not exist: abort, so that looking does not create it.
      gone = true;
      waiting.answered();
      request.transaction!.abort();
    };
    request.onsuccess = () => {
      const db = request.result;
      const layout = db.objectStoreNames.contains(EVENTS) ? "timeline" : "foreign";
      db.close();
      if (waiting.answered()) resolve(layout);
    };
    request.onerror = (event) => {
      event.preventDefault();
      if (!waiting.answered()) return;
      if (gone) return resolve("gone");
      reject(
        SystemError.from(
          request.error,
          "STORAGE_FAILED",
          `IndexedDB timeline store: opening "${name}" failed`,
        ),
      );
    };
  });
}
