import { SystemError } from "@sluice/errors";
import { EVENTS, INDEXEDDB_UPGRADES, type IndexedDBUpgrade, upgrade } from "./schema.js";

/**
 * Opens `name` at version `upgrades.length`, running the upgrade steps a database below that needs.
 * A database at a higher version is refused with `INVALID_STATE`: as written by a newer build
 * when it has the `events` object store, as not a timeline database when it has not.
 */
export async function openTimelineDatabase(
  factory: IDBFactory,
  name: string,
  upgrades: readonly IndexedDBUpgrade[] = INDEXEDDB_UPGRADES,
): Promise<IDBDatabase> {
  for (let attempt = 1; ; attempt++) {
    const opened = await openAt(factory, name, upgrades);
    if (opened !== undefined) return opened;
    // At a higher version: look at it as it is, without a version (no upgrade, nothing written).
    const layout = await probe(factory, name);
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
  return new SystemError(
    "INVALID_STATE",
    `createIndexedDBTimelineStore: database "${name}" has a newer timeline schema than version ` +
      `${supported}, which this version of @sluice/timeline-indexeddb writes; upgrade ` +
      "@sluice/timeline-indexeddb or use another database name",
    { details: { database: name, supported } },
  );
}

/** Opens `name` at `upgrades.length`; `undefined` when the database is at a higher version. */
function openAt(
  factory: IDBFactory,
  name: string,
  upgrades: readonly IndexedDBUpgrade[],
): Promise<IDBDatabase | undefined> {
  return new Promise((resolve, reject) => {
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(name, upgrades.length);
    } catch (e) {
      reject(SystemError.from(e, "STORAGE_FAILED", `IndexedDB timeline store: opening "${name}" failed`));
      return;
    }
    let stepFailure: unknown;
    request.onupgradeneeded = (event) => {
      try {
        upgrade(request.result, request.transaction!, event.oldVersion, upgrades);
      } catch (e) {
        stepFailure = e;
        request.transaction!.abort();
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = (event) => {
      // Handled here: keeps browsers from reporting it as an uncaught error as well.
      event.preventDefault();
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
function probe(factory: IDBFactory, name: string): Promise<"timeline" | "foreign" | "gone"> {
  return new Promise((resolve, reject) => {
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(name);
    } catch (e) {
      reject(SystemError.from(e, "STORAGE_FAILED", `IndexedDB timeline store: opening "${name}" failed`));
      return;
    }
    let gone = false;
    request.onupgradeneeded = () => {
      // Only for a database that does not exist: abort, so that looking does not create it.
      gone = true;
      request.transaction!.abort();
    };
    request.onsuccess = () => {
      const db = request.result;
      const layout = db.objectStoreNames.contains(EVENTS) ? "timeline" : "foreign";
      db.close();
      resolve(layout);
    };
    request.onerror = (event) => {
      event.preventDefault();
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
