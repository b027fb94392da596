import { SystemError } from "@sluice/errors";
import { INDEXEDDB_UPGRADES, type IndexedDBUpgrade, upgrade } from "./schema.js";

/**
 * Opens `name` at version `upgrades.length`, running the upgrade steps a database below that needs.
 * A database at a higher version (written by a newer build) is refused with `INVALID_STATE`.
 */
export function openTimelineDatabase(
  factory: IDBFactory,
  name: string,
  upgrades: readonly IndexedDBUpgrade[] = INDEXEDDB_UPGRADES,
): Promise<IDBDatabase> {
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
      if (error?.name === "VersionError") {
        reject(
          new SystemError(
            "INVALID_STATE",
            `createIndexedDBTimelineStore: database "${name}" has a newer timeline schema than version ` +
              `${upgrades.length}, which this version of @sluice/timeline-indexeddb writes; upgrade ` +
              "@sluice/timeline-indexeddb or use another database name",
            { cause: error, details: { database: name, supported: upgrades.length } },
          ),
        );
        return;
      }
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
