import { refuseUnknownKeys, SystemError } from "@sluice/errors";
import {
  makeTimelinePage,
  type ResolvedTimelineQuery,
  resolveDeleteFilter,
  resolveQuery,
  type TimelineDeleteFilter,
  type TimelineEvent,
  type TimelinePage,
  type TimelineQuery,
  type TimelineStore,
} from "@sluice/timeline";
import {
  DEFAULT_BLOCKED_TIMEOUT_MS,
  notATimeline,
  openTimelineDatabase,
  wasClosedByVersionChange,
} from "./open-database.js";
import { BY_RUN, BY_TIME, BY_WORKFLOW, EVENTS, notATimelineLayout } from "./schema.js";
import { recordsOf } from "./snapshot.js";

/** Options of {@link createIndexedDBTimelineStore}. A key it does not have is refused. */
export interface IndexedDBTimelineStoreOptions {
  /** Name of the IndexedDB database (created when missing). Give each independent timeline its own. */
  database: string;
  /**
   * The IndexedDB implementation; defaults to `globalThis.indexedDB` (a browser's). In Node pass one,
   * e.g. `indexedDB` from `fake-indexeddb`.
   */
  indexedDB?: IDBFactory;
  /**
   * The `IDBKeyRange` of the same implementation as `indexedDB`; defaults to `globalThis.IDBKeyRange`.
   * Pass it with a non-global `indexedDB` (e.g. `IDBKeyRange` from `fake-indexeddb`).
   */
  IDBKeyRange?: typeof IDBKeyRange;
  /**
   * Durability of each append's transaction (`"default"`, `"strict"` or `"relaxed"`), see
   * `IDBDatabase.transaction`: `"strict"` has the browser flush to disk before an append resolves,
   * `"relaxed"` lets it resolve once the operating system has the data. Default: the browser's default.
   */
  durability?: IDBTransactionDurability;
  /**
   * How long opening may wait for other connections to let go of the database, in milliseconds
   * (default 10 000; `Infinity` waits for ever). Opening waits while another connection (another
   * tab or window, or another store on this page) keeps the database open at an older schema
   * version and does not close when asked to, or while another connection's upgrade or deletion of
   * it, queued first, waits for that. Past this, `createIndexedDBTimelineStore` rejects with
   * `SystemError` `TIMEOUT` naming the database. Running this package's own schema upgrade is not
   * timed.
   */
  blockedTimeoutMs?: number;
}

const OPTIONS: ReadonlySet<string> = new Set([
  "database",
  "indexedDB",
  "IDBKeyRange",
  "durability",
  "blockedTimeoutMs",
]);

/** The longest wait a timer can take (2^31 - 1 ms); a longer one would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

// Where a query or delete reads: an index and a bounded key range inside it (undefined: all of it).
interface Scan {
  index: string;
  range: IDBKeyRange | undefined;
}

// A shared handler (no closure per event): a duplicate id keeps the stored copy, and
// preventDefault keeps the rest of the batch's transaction from aborting.
function ignoreDuplicate(this: IDBRequest, event: Event): void {
  if (this.error?.name === "ConstraintError") {
    event.preventDefault();
    event.stopPropagation();
  }
}

function storageFailed(operation: string, cause: unknown): SystemError {
  return SystemError.from(cause, "STORAGE_FAILED", `IndexedDB timeline store: ${operation} failed`);
}

/** The `TimelineStore` over one IndexedDB connection. */
class IndexedDBTimelineStore implements TimelineStore {
  #db: IDBDatabase | undefined;
  #lost: string | undefined;
  readonly #name: string;
  readonly #factory: IDBFactory;
  readonly #keyRange: typeof IDBKeyRange;
  readonly #txOptions: IDBTransactionOptions | undefined;

  constructor(
    db: IDBDatabase,
    name: string,
    factory: IDBFactory,
    keyRange: typeof IDBKeyRange,
    durability: IDBTransactionDurability | undefined,
  ) {
    this.#db = db;
    this.#name = name;
    this.#factory = factory;
    this.#keyRange = keyRange;
    this.#txOptions = durability === undefined ? undefined : { durability };
    // Another connection (another tab, a newer build, another store) wants to upgrade or delete
    // the database: step aside rather than block it, and say so on the next call. Transactions
    // already started (an append in flight) still complete first.
    db.onversionchange = () =>
      this.#drop("was upgraded or deleted by another connection (another tab, or another store)");
    db.onclose = () => this.#drop("was closed by the browser (e.g. its storage was cleared)");
  }

  #drop(reason: string): void {
    const db = this.#db;
    if (db === undefined) return;
    this.#db = undefined;
    this.#lost = reason;
    db.close();
  }

  #open(operation: string): IDBDatabase {
    if (this.#db !== undefined) return this.#db;
    if (this.#lost !== undefined) {
      throw new SystemError(
        "INVALID_STATE",
        `IndexedDB timeline store: ${operation}() failed: database "${this.#name}" ${this.#lost}, ` +
          "so this store closed its connection; create a new store with createIndexedDBTimelineStore()",
        { details: { database: this.#name } },
      );
    }
    throw new SystemError(
      "DISPOSED",
      `IndexedDB timeline store: ${operation}() was called after close(); create a new store with createIndexedDBTimelineStore()`,
    );
  }

  #transaction(db: IDBDatabase, mode: IDBTransactionMode, operation: string): IDBTransaction {
    try {
      return db.transaction(EVENTS, mode, mode === "readwrite" ? this.#txOptions : undefined);
    } catch (e) {
      throw storageFailed(operation, e);
    }
  }

  async append(events: readonly TimelineEvent[]): Promise<void> {
    const db = this.#open("append");
    // Each event read once into the record that is checked and stored (snapshot.ts).
    const records = recordsOf(events);
    if (records.length === 0) return;
    // A batch holding an id stored already (a retried append, a run adopted twice) is written
    // again, skipping those ids: rare, and its transaction is not committed at once.
    if (await this.#add(db, records, true)) await this.#add(db, records, false);
  }

  /**
   * Adds `records` in one transaction, all or nothing. `committed`: committed at once (see below),
   * any id stored already aborting it, which resolves `true` (nothing written); otherwise ids stored
   * already are skipped and the transaction commits when its requests are done.
   *
   * Why commit at once: a page that unloads (a tab closed or reloaded right as a run ended) aborts
   * a transaction not yet committed, and the whole batch, the run's last events, was lost in about
   * one such leave in five. But once `commit()` is called, Chromium aborts the transaction at a
   * failed request even when its error is handled, so ids stored already cannot be skipped then.
   */
  #add(db: IDBDatabase, records: readonly object[], committed: boolean): Promise<boolean> {
    const tx = this.#transaction(db, "readwrite", "append");
    return new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve(false);
      tx.onabort = () => {
        if (committed && tx.error?.name === "ConstraintError") resolve(true);
        else reject(storageFailed("append", tx.error));
      };
      try {
        const store = tx.objectStore(EVENTS);
        if (committed) {
          for (let i = 0; i < records.length; i++) store.add(records[i]!);
          // (optional: older browsers have no commit(), and auto-commit is all there is)
          tx.commit?.();
        } else {
          for (let i = 0; i < records.length; i++) store.add(records[i]!).onerror = ignoreDuplicate;
        }
      } catch (e) {
        // Nothing of the batch is kept: the transaction is all or nothing.
        tx.onabort = () => reject(storageFailed("append", e));
        tx.abort();
      }
    });
  }

  async query(filter?: TimelineQuery): Promise<TimelinePage> {
    const db = this.#open("query");
    const q = resolveQuery(filter);
    const scan = this.#queryScan(q);
    if (scan === undefined) return { events: [] };
    const tx = this.#transaction(db, "readonly", "query");
    const index = tx.objectStore(EVENTS).index(scan.index);
    const wanted = q.limit + 1;
    const rows = await new Promise<TimelineEvent[]>((resolve, reject) => {
      tx.onabort = () => reject(storageFailed("query", tx.error));
      if (q.runId !== undefined && q.workflowId !== undefined) {
        // The run index, checking the workflow of each event: a run normally has one workflow.
        const rows: TimelineEvent[] = [];
        const request = index.openCursor(scan.range);
        request.onsuccess = () => {
          const cursor = request.result;
          if (cursor === null) return resolve(rows);
          const event = cursor.value as TimelineEvent;
          if (event.workflowId === q.workflowId && rows.push(event) === wanted) return resolve(rows);
          cursor.continue();
        };
      } else {
        const request = index.getAll(scan.range, wanted);
        request.onsuccess = () => resolve(request.result as TimelineEvent[]);
      }
    });
    return makeTimelinePage(rows, q);
  }

  async delete(filter: TimelineDeleteFilter): Promise<number> {
    const db = this.#open("delete");
    // the checked copy, each field read once: the caller's filter is not read again
    const f = resolveDeleteFilter(filter);
    const scan = this.#scan(f.runId, f.workflowId, undefined, f.before, undefined);
    if (scan === undefined) return 0;
    const tx = this.#transaction(db, "readwrite", "delete");
    const store = tx.objectStore(EVENTS);
    const index = store.index(scan.index);
    return new Promise<number>((resolve, reject) => {
      let removed = 0;
      tx.oncomplete = () => resolve(removed);
      tx.onabort = () => reject(storageFailed("delete", tx.error));
      if (f.runId !== undefined && f.workflowId !== undefined) {
        const request = index.openCursor(scan.range);
        request.onsuccess = () => {
          const cursor = request.result;
          if (cursor === null) return;
          if ((cursor.value as TimelineEvent).workflowId === f.workflowId) {
            cursor.delete();
            removed++;
          }
          cursor.continue();
        };
      } else {
        // Keys only: the events themselves are never read.
        const request = index.openKeyCursor(scan.range);
        request.onsuccess = () => {
          const cursor = request.result;
          if (cursor === null) return;
          store.delete(cursor.primaryKey);
          removed++;
          cursor.continue();
        };
      }
    });
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    this.#lost = undefined;
    // Transactions already started still complete; IndexedDB closes once they have.
    db?.close();
  }

  #queryScan(q: ResolvedTimelineQuery): Scan | undefined {
    // One lower bound: the cursor when it lies inside the range (it does for a cursor this query
    // issued), else `from`.
    const after =
      q.after !== undefined && (q.from === undefined || q.after.at >= q.from) ? q.after : undefined;
    return this.#scan(q.runId, q.workflowId, after === undefined ? q.from : undefined, q.to, after);
  }

  /**
   * The index and key range holding the events with the given run or workflow (the run index when
   * both are given), `at >= from` (or after the position `after`) and `at < before`. Undefined when
   * the range is empty.
   */
  #scan(
    runId: string | undefined,
    workflowId: string | undefined,
    from: number | undefined,
    before: number | undefined,
    after: { at: number; seq: number; id: string } | undefined,
  ): Scan | undefined {
    const prefix = runId !== undefined ? [runId] : workflowId !== undefined ? [workflowId] : [];
    const index = runId !== undefined ? BY_RUN : workflowId !== undefined ? BY_WORKFLOW : BY_TIME;
    // Array keys sort after every number and string, and a shorter array before any longer one
    // that starts with it: [p] is below every [p, at, …] and [p, []] above them.
    let lower: unknown[] | undefined;
    let lowerOpen = false;
    if (after !== undefined) {
      lower = [...prefix, after.at, after.seq, after.id];
      lowerOpen = true;
    } else if (from !== undefined) lower = [...prefix, from];
    else if (prefix.length > 0) lower = prefix;
    let upper: unknown[] | undefined;
    let upperOpen = false;
    if (before !== undefined) {
      upper = [...prefix, before];
      upperOpen = true;
    } else if (prefix.length > 0) upper = [...prefix, []];
    const KeyRange = this.#keyRange;
    if (lower === undefined)
      return { index, range: upper === undefined ? undefined : KeyRange.upperBound(upper, upperOpen) };
    if (upper === undefined) return { index, range: KeyRange.lowerBound(lower, lowerOpen) };
    const order = this.#factory.cmp(lower, upper);
    if (order > 0 || (order === 0 && (lowerOpen || upperOpen))) return undefined;
    return { index, range: KeyRange.bound(lower, upper, lowerOpen, upperOpen) };
  }
}

/**
 * Opens (creating or upgrading when needed) an IndexedDB timeline database and resolves to a
 * `TimelineStore` on it. Each `append` is one transaction, storing a copy of each event made by
 * reading it once (so what is stored is what was checked; `data` properties whose value is
 * `undefined` are dropped, as JSON drops them); queries read the run, workflow or time index in
 * (`at`, `seq`, `id`) order.
 *
 * @example
 * ```ts
 * // In a browser; in Node pass { indexedDB, IDBKeyRange } from "fake-indexeddb".
 * const store = await createIndexedDBTimelineStore({ database: "sluice-timeline" });
 * await store.append([{ id: "e1", runId: "r1", workflowId: "orders", seq: 0, at: Date.now(),
 *   source: "runtime", type: "run.started" }]);
 * const { events } = await store.query({ runId: "r1" });
 * await store.close();
 * ```
 * Our connection never blocks another's upgrade or deletion of the database: on `versionchange` it
 * closes (after the transactions already started), and the store's later calls reject with
 * `INVALID_STATE`. An open that another connection keeps waiting fails with `TIMEOUT` after
 * `blockedTimeoutMs` instead of waiting for ever.
 *
 * @throws `SystemError` `INVALID_INPUT` for a missing `database` name, a bad option or a key the
 *   options do not have (`createIndexedDBTimelineStore: options.durabilty is not an option (options:
 *   database, indexedDB, IDBKeyRange, durability, blockedTimeoutMs)`), `TIMEOUT` when
 *   another connection kept the database blocked for `blockedTimeoutMs`, `INVALID_STATE` when there is no
 *   IndexedDB (pass one), the database has a newer schema, or it is not a timeline database (another
 *   part of the app made it, at any version), `STORAGE_FAILED` when it cannot be opened.
 */
export async function createIndexedDBTimelineStore(
  options: IndexedDBTimelineStoreOptions,
): Promise<TimelineStore> {
  if (options !== null && typeof options === "object") {
    refuseUnknownKeys(options, OPTIONS, "options", { caller: "createIndexedDBTimelineStore" });
  }
  if (
    options === null ||
    typeof options !== "object" ||
    typeof options.database !== "string" ||
    options.database === ""
  ) {
    throw new SystemError(
      "INVALID_INPUT",
      "createIndexedDBTimelineStore: options.database must be a non-empty string (the IndexedDB database name)",
    );
  }
  const { durability } = options;
  if (
    durability !== undefined &&
    durability !== "default" &&
    durability !== "strict" &&
    durability !== "relaxed"
  ) {
    throw new SystemError(
      "INVALID_INPUT",
      `createIndexedDBTimelineStore: options.durability must be "default", "strict" or "relaxed", got ${JSON.stringify(durability)}`,
    );
  }
  const blockedTimeoutMs = options.blockedTimeoutMs ?? DEFAULT_BLOCKED_TIMEOUT_MS;
  if (
    typeof blockedTimeoutMs !== "number" ||
    !(blockedTimeoutMs > 0) ||
    (blockedTimeoutMs > MAX_TIMER_MS && blockedTimeoutMs !== Number.POSITIVE_INFINITY)
  ) {
    throw new SystemError(
      "INVALID_INPUT",
      `createIndexedDBTimelineStore: options.blockedTimeoutMs must be a number of milliseconds from 1 to ${MAX_TIMER_MS}, or Infinity, got ${String(blockedTimeoutMs)}`,
    );
  }
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (factory === undefined) {
    throw new SystemError(
      "INVALID_STATE",
      "createIndexedDBTimelineStore: no IndexedDB here (globalThis.indexedDB is undefined); pass one as " +
        'options.indexedDB, e.g. in Node: import { indexedDB, IDBKeyRange } from "fake-indexeddb"',
    );
  }
  const keyRange = options.IDBKeyRange ?? (globalThis as { IDBKeyRange?: typeof IDBKeyRange }).IDBKeyRange;
  if (keyRange === undefined) {
    throw new SystemError(
      "INVALID_STATE",
      "createIndexedDBTimelineStore: no IDBKeyRange here (globalThis.IDBKeyRange is undefined); pass the one " +
        'of your IndexedDB implementation as options.IDBKeyRange, e.g. import { IDBKeyRange } from "fake-indexeddb"',
    );
  }
  const db = await openTimelineDatabase(factory, options.database, undefined, blockedTimeoutMs);
  if (wasClosedByVersionChange(db)) {
    throw new SystemError(
      "INVALID_STATE",
      `createIndexedDBTimelineStore: database "${options.database}" was upgraded or deleted by another ` +
        "connection (another tab, or another store) while it was being opened; create the store again",
      { details: { database: options.database } },
    );
  }
  // The name may be taken by another part of the app, at this version: writing into its stores
  // and failing every query with a raw NotFoundError would be worse than refusing it here.
  let foreign: string | undefined;
  try {
    foreign = notATimelineLayout(db);
  } catch (e) {
    db.close();
    throw SystemError.from(
      e,
      "STORAGE_FAILED",
      `IndexedDB timeline store: opening "${options.database}" failed`,
    );
  }
  if (foreign !== undefined) {
    db.close();
    throw notATimeline(options.database, foreign);
  }
  return new IndexedDBTimelineStore(db, options.database, factory, keyRange, durability);
}
