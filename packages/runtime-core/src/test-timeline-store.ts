import { describeValue, SystemError } from "@sluice/errors";
import type { TimelineStore } from "@sluice/timeline";

/** The database `createTestTimelineStore()` opens when given no name. */
export const DEFAULT_TEST_DATABASE = "sluice-test-timeline";

const WHAT = "WorkflowRuntime.createTestTimelineStore";

/**
 * `WorkflowRuntime.createTestTimelineStore(database)`: an IndexedDB-backed store on the host's
 * `indexedDB`. Its faults are told in its own terms: its caller passes a name, never the
 * `indexedDB` option that `createIndexedDBTimelineStore` would have it pass.
 */
export async function createTestTimelineStore(database: unknown): Promise<TimelineStore> {
  if (typeof database !== "string" || database.length === 0) {
    throw new SystemError(
      "INVALID_INPUT",
      `${WHAT}(database): database must be a non-empty string (the IndexedDB database name), or left out for "${DEFAULT_TEST_DATABASE}"; got ${describeValue(database)}`,
    );
  }
  let adapter: typeof import("@sluice/timeline-indexeddb");
  try {
    adapter = await import("@sluice/timeline-indexeddb");
  } catch (cause) {
    throw new SystemError(
      "NOT_FOUND",
      "createTestTimelineStore needs the @sluice/timeline-indexeddb package: install it next to @sluice/runtime-core",
      { cause },
    );
  }
  const host = globalThis as { indexedDB?: unknown; IDBKeyRange?: unknown };
  if (host.indexedDB === undefined || host.IDBKeyRange === undefined) {
    throw new SystemError(
      "INVALID_STATE",
      `${WHAT}: this host has no ${host.indexedDB === undefined ? "indexedDB" : "IDBKeyRange"}; in Node, import "fake-indexeddb/auto" before calling it (or give createIndexedDBTimelineStore({ database, indexedDB, IDBKeyRange }) from @sluice/timeline-indexeddb an IndexedDB of your own)`,
    );
  }
  return adapter.createIndexedDBTimelineStore({ database });
}
