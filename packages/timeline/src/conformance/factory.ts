import type { TimelineStore } from "../types.js";

/**
 * How the conformance suite gets stores of the adapter under test.
 *
 * @example
 * ```ts
 * // memory: nothing persists, nothing to clean up
 * describeTimelineConformance("memory", { create: () => createMemoryTimelineStore() });
 *
 * // a file-backed adapter: a fresh file per case, reopened over the same file, removed afterwards
 * let file = "";
 * describeTimelineConformance("sqlite", {
 *   create: () => createSqliteTimelineStore({ filename: (file = tempFile()) }),
 *   reopen: () => createSqliteTimelineStore({ filename: file }),
 *   cleanup: () => rm(file, { force: true }),
 * });
 * ```
 */
export interface ConformanceFactory {
  /**
   * A new, empty store. Called at the start of every case (a case may call it more than once;
   * each call must give a store that shares no events with earlier ones).
   */
  create(): Promise<TimelineStore> | TimelineStore;
  /**
   * Only for backends that persist: a new store over the same data as `previous` (the store most
   * recently created or reopened), which the suite has already closed. When given, the suite adds
   * the "survives close and reopen" case.
   */
  reopen?(previous: TimelineStore): Promise<TimelineStore> | TimelineStore;
  /**
   * Called after every case, pass or fail, once the suite has closed the case's stores: delete
   * files, databases, temporary directories.
   */
  cleanup?(): Promise<void> | void;
}

/** One conformance case: a name that states the rule, and a function that checks it. */
export interface ConformanceCase {
  /** The rule, e.g. `"paging: no gaps or repeats under concurrent appends"`. */
  name: string;
  /** Resolves when the adapter keeps the rule; rejects with what broke otherwise. */
  run(): Promise<void>;
}
