import { describeValue, refuseUnknownKeys, SystemError } from "@sluice/errors";
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
import { DEFAULT_BLOCKED_TIMEOUT_MS, isNewerSchemaRefusal, openStoreConnection } from "./open-database.js";
import { BY_RUN, BY_TIME, BY_WORKFLOW, EVENTS } from "./schema.js";
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
   * `SystemError` `TIMEOUT` naming the database, and so does the call of a store that was reopening
   * its database (see {@link createIndexedDBTimelineStore}). Running this package's own schema
   * upgrade is not timed.
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

/** How a store opens its database: the factory's checked options, kept for reopening it. */
interface Connecting {
  name: string;
  factory: IDBFactory;
  blockedTimeoutMs: number;
}

/**
 * The `TimelineStore` over one IndexedDB connection at a time: when another connection or the
 * browser takes it away, the next call opens the database again.
 */
class IndexedDBTimelineStore implements TimelineStore {
  #db: IDBDatabase | undefined;
  /** Why the connection was taken away; undefined while there is one, and after close(). */
  #lost: string | undefined;
  #closed = false;
  /** The reopen in flight, which every call arriving meanwhile awaits. */
  #reopening: Promise<IDBDatabase> | undefined;
  readonly #connecting: Connecting;
  readonly #name: string;
  readonly #factory: IDBFactory;
  readonly #keyRange: typeof IDBKeyRange;
  readonly #txOptions: IDBTransactionOptions | undefined;

  constructor(
    db: IDBDatabase,
    connecting: Connecting,
    keyRange: typeof IDBKeyRange,
    durability: IDBTransactionDurability | undefined,
  ) {
    this.#connecting = connecting;
    this.#name = connecting.name;
    this.#factory = connecting.factory;
    this.#keyRange = keyRange;
    this.#txOptions = durability === undefined ? undefined : { durability };
    this.#adopt(db);
  }

  #adopt(db: IDBDatabase): void {
    this.#db = db;
    this.#lost = undefined;
    // Another connection (another tab, a newer build, another store) wants to upgrade or delete
    // the database: step aside rather than block it; the next call opens it again. Transactions
    // already started (an append in flight) still complete first.
    db.onversionchange = () =>
      this.#drop(db, "was upgraded or deleted by another connection (another tab, or another store)");
    db.onclose = () => this.#drop(db, "was closed by the browser (e.g. its storage was cleared)");
  }

  #drop(db: IDBDatabase, reason: string): void {
    // An event of a connection given up already must not take the current one away.
    if (this.#db !== db) return;
    this.#db = undefined;
    this.#lost = reason;
    db.close();
  }

  /**
   * The connection, or `undefined` when it was taken away and the caller must {@link #reopen} it
   * (after checking its input: a bad call fails the same whatever the connection). Synchronous,
   * allocating nothing: appends are the timeline's hot path.
   */
  #open(operation: string): IDBDatabase | undefined {
    const db = this.#db;
    if (db !== undefined) return db;
    if (this.#closed) {
      throw new SystemError(
        "DISPOSED",
        `IndexedDB timeline store: ${operation}() was called after close(); create a new store with createIndexedDBTimelineStore()`,
      );
    }
    return undefined;
  }

  /**
   * Opens the database again for `operation`, as `createIndexedDBTimelineStore` opened it; calls
   * arriving while a reopen is in flight share it. A failed reopen fails the calls that awaited it
   * and leaves the next call to try again.
   */
  async #reopen(operation: string): Promise<IDBDatabase> {
    const lost = this.#lost;
    this.#reopening ??= this.#connect();
    try {
      return await this.#reopening;
    } catch (error) {
      if (this.#closed) {
        throw new SystemError(
          "DISPOSED",
          `IndexedDB timeline store: close() was called while ${operation}() waited for the database to be reopened`,
        );
      }
      throw this.#reopenFailed(operation, lost, error);
    }
  }

  async #connect(): Promise<IDBDatabase> {
    const { factory, name, blockedTimeoutMs } = this.#connecting;
    try {
      const db = await openStoreConnection(factory, name, blockedTimeoutMs);
      if (db === undefined) {
        throw new SystemError(
          "INVALID_STATE",
          `database "${name}" was upgraded or deleted by another connection again while it was being reopened`,
          { details: { database: name } },
        );
      }
      // close() came while the open was in flight: the connection is not kept.
      if (this.#closed) {
        db.close();
        throw new SystemError("DISPOSED", "IndexedDB timeline store: closed while reopening");
      }
      this.#adopt(db);
      return db;
    } finally {
      this.#reopening = undefined;
    }
  }

  #reopenFailed(operation: string, lost: string | undefined, error: unknown): SystemError {
    const prefix = `IndexedDB timeline store: ${operation}() failed: database "${this.#name}"`;
    if (isNewerSchemaRefusal(error)) {
      // An old build cannot write a newer build's schema, nor should it block it: only a reload
      // (which loads the newer build) gets this page a timeline again.
      return new SystemError(
        "INVALID_STATE",
        `${prefix} now has a newer timeline schema than version ${String(error.details?.supported)}, ` +
          "which this build of @sluice/timeline-indexeddb writes: a newer build of this app (in another " +
          "tab, say) upgraded it. Reload the page to run that build's code; until then each call tries " +
          "to reopen the database and fails",
        { cause: error, details: { ...error.details, database: this.#name } },
      );
    }
    const reopenError = SystemError.from(error, "STORAGE_FAILED", "opening it failed");
    return new SystemError(
      reopenError.code,
      `${prefix} ${lost ?? "lost its connection"}, and reopening it failed: ${reopenError.message}; ` +
        "the next call tries to reopen it again",
      { cause: error, details: { ...reopenError.details, database: this.#name } },
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
    const open = this.#open("append");
    // Each event read once into the record that is checked and stored (snapshot.ts), at the call.
    const records = recordsOf(events);
    if (records.length === 0) return;
    const db = open ?? (await this.#reopen("append"));
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
    const open = this.#open("query");
    const q = resolveQuery(filter);
    const scan = this.#queryScan(q);
    if (scan === undefined) return { events: [] };
    const db = open ?? (await this.#reopen("query"));
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
    const open = this.#open("delete");
    // the checked copy, each field read once: the caller's filter is not read again
    const f = resolveDeleteFilter(filter);
    const scan = this.#scan(f.runId, f.workflowId, undefined, f.before, undefined);
    if (scan === undefined) return 0;
    const db = open ?? (await this.#reopen("delete"));
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
    this.#closed = true;
    this.#db = undefined;
    this.#lost = undefined;
    // Transactions already started still complete; IndexedDB closes once they have. A reopen in
    // flight closes its connection when it arrives (#connect): waiting for it here could take
    // blockedTimeoutMs, or for ever.
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
 * closes (after the transactions already started), as it does when the browser closes it (the
 * site's data cleared). The store's next call then opens the database again, as this factory opens
 * it (creating it when it was deleted), and goes on with the new connection; calls arriving while
 * that reopen is in flight share it. When the reopen fails, those calls reject with its error (the
 * operation, why the connection went, and the open's reason: `TIMEOUT` while another connection
 * keeps the open blocked, `INVALID_STATE` for a database a newer build upgraded, saying to reload
 * the page to run that build's code, or one that is not a timeline), and the next call tries again.
 * An open that another connection keeps waiting fails with `TIMEOUT` after `blockedTimeoutMs`
 * instead of waiting for ever. `close()` is final: later calls reject with `DISPOSED`, and so do
 * the calls waiting on a reopen it interrupts (whose connection is closed when it arrives).
 *
 * @throws `SystemError` `INVALID_INPUT` for a missing `database` name, a bad option or a key the
 *   options do not have (`createIndexedDBTimelineStore: options.durabilty is not an option (options:
 *   database, indexedDB, IDBKeyRange, durability, blockedTimeoutMs)`), `TIMEOUT` when
 *   another connection kept the database blocked for `blockedTimeoutMs`, `INVALID_STATE` when there is no
 *   IndexedDB (pass one), the database has a newer schema, or it is not a timeline database (another
 *   part of the app made it, at any version), `STORAGE_FAILED` when it cannot be opened. The store's
 *   `append`, `query` and `delete` reject with the same codes when reopening the database fails
 *   (`IndexedDB timeline store: append() failed: database "…" now has a newer timeline schema …
 *   Reload the page …`), `STORAGE_FAILED` when IndexedDB fails (e.g. quota), and `DISPOSED` after
 *   `close()`.
 */
export async function createIndexedDBTimelineStore(
  options: IndexedDBTimelineStoreOptions,
): Promise<TimelineStore> {
  if (options !== null && typeof options === "object") {
    refuseUnknownKeys(options, OPTIONS, "options", { caller: "createIndexedDBTimelineStore" });
  }
  if (options === null || typeof options !== "object") {
    throw new SystemError(
      "INVALID_INPUT",
      `createIndexedDBTimelineStore: options must be an object { database, … } (got ${describeValue(options)})`,
      { details: { path: "options" } },
    );
  }
  if (typeof options.database !== "string" || options.database === "") {
    throw new SystemError(
      "INVALID_INPUT",
      `createIndexedDBTimelineStore: options.database must be a non-empty string (the IndexedDB database name), got ${describeValue(options.database)}`,
      { details: { path: "options.database" } },
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
      `createIndexedDBTimelineStore: options.durability must be "default", "strict" or "relaxed", got ${describeValue(durability)}`,
      { details: { path: "options.durability" } },
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
      `createIndexedDBTimelineStore: options.blockedTimeoutMs must be a number of milliseconds from 1 to ${MAX_TIMER_MS}, or Infinity, got ${describeValue(blockedTimeoutMs)}`,
      { details: { path: "options.blockedTimeoutMs" } },
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
  const connecting: Connecting = { name: options.database, factory, blockedTimeoutMs };
  const db = await openStoreConnection(factory, options.database, blockedTimeoutMs);
  if (db === undefined) {
    throw new SystemError(
      "INVALID_STATE",
      `createIndexedDBTimelineStore: database "${options.database}" was upgraded or deleted by another ` +
        "connection (another tab, or another store) while it was being opened; create the store again",
      { details: { database: options.database } },
    );
  }
  return new IndexedDBTimelineStore(db, connecting, keyRange, durability);
}
