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
  unreadableTimelineEvent,
} from "@sluice/timeline";
import Database from "better-sqlite3";
import { decodeBody, encodeEventBody } from "./body.js";
import { NameKeys } from "./names.js";
import { checkFilename, openFailure } from "./open-file.js";
import { checkFile, migrate } from "./schema.js";
import { snapshotEvents } from "./snapshot.js";
import { COLUMNS, STAGE_LIMIT, StagedEvents } from "./staging.js";
import { decodeOrderedText, encodeOrderedText, encodeText } from "./text-codec.js";

/** Options of {@link createSqliteTimelineStore}. A key it does not have is refused. */
export interface SqliteTimelineStoreOptions {
  /**
   * Path of the database file (created when missing, in a directory that must exist), or `":memory:"`
   * for a private in-memory database. Not a directory, nor a `file:` URI (better-sqlite3 does not
   * read URIs; for a URL pass `fileURLToPath(url)`).
   */
  filename: string;
}

const OPTIONS: ReadonlySet<string> = new Set(["filename"]);

// Rows bound per INSERT statement (6 parameters each; SQLite allows 32766 per statement).
// 32 measured as fast as 16 or 62 (within noise).
const ROWS_PER_INSERT = 32;

// Pages of WAL (4 KiB each) after which a commit checkpoints them into the database file; SQLite's
// default is 1000. A 1000-event batch over 100 runs dirties about two leaf pages per run in each of
// the id and run indexes, some 400 pages in all, so at the default nearly every other commit ran a
// checkpoint (copy + fsync) that rewrote the same hot index pages. At 4000 a checkpoint comes a
// quarter as often and copies each hot page once. A commit is still durable against a process crash
// the moment it returns; what grows is only what synchronous = NORMAL already leaves to chance on a
// power loss (the commits since the last checkpoint's fsync). 16000 measured 5% faster again, not
// enough to quadruple that window and the WAL's size.
const WAL_AUTOCHECKPOINT_PAGES = 4000;
// After a checkpoint the WAL is truncated back to this size, so the file does not keep its peak size.
const WAL_SIZE_LIMIT_BYTES = WAL_AUTOCHECKPOINT_PAGES * 4096;

const WIDTH = 6;

// Events a delete removes per transaction, and the pause between two (see delete()). Measured
// deleting 900k of 1M events with another process appending (README, "Retention"): 5000 rows hold
// the thread about 40 ms (2000 half that, for 1.8x the total time; 10000 twice that, no faster).
// With no pause, the other process's busy handler, which sleeps up to 100 ms between tries, seldom
// found the lock free (appends waited up to 630 ms); 20 ms pauses brought that to about 300 ms and
// kept the WAL near its 16 MiB limit, where 0 or 5 ms let it grow to 50-70 MiB.
const DELETE_CHUNK_ROWS = 5000;
const DELETE_PAUSE_MS = 20;

// Bits of a query's shape; each shape gets one prepared statement, made on first use.
const BY_RUN = 1;
const BY_WORKFLOW = 2;
const FROM = 4;
const TO = 8;
const AFTER = 16;
// The same filter narrowed to one (at, seq), in id order: see #readEvents().
const TIE = 32;
// Staged rows read where they are, with timeline_events: for a connection that cannot move them.
const WITH_STAGED = 64;

const KEY_OF_NAME = "(SELECT key FROM timeline_names WHERE name = ?)";

type Row = [id: string, runKey: number, workflowKey: number, seq: number, at: number, body: string];

function querySql(shape: number): string {
  const where: string[] = [];
  // Names are looked up in SQL rather than in this connection's cache: a name this cache holds may
  // have been collected and appended again under a new key since.
  if (shape & BY_RUN) where.push(`run_key = ${KEY_OF_NAME}`);
  if (shape & BY_WORKFLOW) where.push(`workflow_key = ${KEY_OF_NAME}`);
  // The index holds (at, seq) but not id: SQLite seeks to (at, seq) and checks id on the rows there.
  if (shape & AFTER) where.push("(at, seq, id) > (?, ?, ?)");
  else if (shape & FROM) where.push("at >= ?");
  if (shape & TO) where.push("at < ?");
  if (shape & TIE) where.push("at = ? AND seq = ?");
  // Pinned, so a page is one index seek whatever SQLite's statistics say; the run index also
  // serves a run + workflow query (a run has one workflow).
  const index =
    shape & BY_RUN
      ? "timeline_events_by_run"
      : shape & BY_WORKFLOW
        ? "timeline_events_by_workflow"
        : "timeline_events_by_time";
  const filter = where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "";
  // Index order, so no sorter: ties on (at, seq) come out together, and query() orders them by id.
  // A tie is read in id order (the stored ids compare as JavaScript's, see text-codec.ts) and only
  // as far as the page needs: the indexes end at (at, seq), so SQLite still visits the whole tie, but
  // keeps only the smallest ids (a top-N sort) and no row the page does not hold is decoded.
  const order = shape & TIE ? " ORDER BY id LIMIT ?" : " ORDER BY at, seq LIMIT ?";
  const events = `SELECT ${COLUMNS} FROM timeline_events INDEXED BY ${index}${filter}${order}`;
  if (!(shape & WITH_STAGED)) return events;
  // The page of timeline_events (one index seek, as above) merged with the staged rows that match,
  // each id's first staged copy unless timeline_events has the id: what moving them would keep.
  // The filter is bound twice, once per table (see bindTwice).
  const staged =
    `SELECT ${COLUMNS} FROM timeline_staged AS staged${filter ? `${filter} AND` : " WHERE"}` +
    " staged.rowid IN (SELECT min(rowid) FROM timeline_staged GROUP BY id)" +
    " AND NOT EXISTS (SELECT 1 FROM timeline_events AS moved WHERE moved.id = staged.id)";
  return `SELECT ${COLUMNS} FROM (${events}) UNION ALL ${staged}${order}`;
}

// The values of a WITH_STAGED statement, whose filter appears twice: `params` holds the filter's
// values (and the limit, last, when `limited`).
function bindTwice(params: unknown[], limited: boolean): void {
  const filter = params.slice(0, limited ? -1 : params.length);
  params.push(...filter);
  if (limited) params.push(params[filter.length]);
}

// What SQLite says when the connection may only read the file (permissions, a read-only mount).
const isReadOnlyError = (e: unknown): boolean =>
  typeof (e as { code?: unknown } | null)?.code === "string" &&
  (e as { code: string }).code.startsWith("SQLITE_READONLY");

function rowToEvent(row: Row, names: NameKeys): TimelineEvent {
  return decodeBody(
    {
      id: decodeOrderedText(row[0]),
      runId: names.nameOf(row[1]),
      workflowId: names.nameOf(row[2]),
      seq: row[3],
      at: row[4],
    },
    row[5],
  );
}

const sameSpot = (a: Row, b: Row): boolean => a[4] === b[4] && a[3] === b[3];
const byId = (a: TimelineEvent, b: TimelineEvent): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

// Puts each run of events with equal (at, seq) in id order; `events` is in (at, seq) order.
function orderTies(events: TimelineEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    const first = events[i - 1]!;
    if (events[i]!.at !== first.at || events[i]!.seq !== first.seq) continue;
    let end = i + 1;
    while (end < events.length && events[end]!.at === first.at && events[end]!.seq === first.seq) end++;
    const tied = events.slice(i - 1, end).sort(byId);
    for (let k = 0; k < tied.length; k++) events[i - 1 + k] = tied[k]!;
    i = end;
  }
}

function storageFailed(operation: string, cause: unknown): SystemError {
  return SystemError.from(cause, "STORAGE_FAILED", `SQLite timeline store: ${operation} failed`);
}

/** An accepted `append` waiting for the transaction that writes it. */
interface PendingAppend {
  /**
   * Its column values, {@link WIDTH} per event, taken when `append` was called (so later changes to
   * the caller's objects cannot reach the file); run and workflow ids are still names here.
   */
  readonly rows: unknown[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The `TimelineStore` over one better-sqlite3 connection. */
class SqliteTimelineStore implements TimelineStore {
  #db: Database.Database | undefined;
  readonly #names: NameKeys;
  // Appends made in the same tick, written by one transaction (group commit): committing is most of
  // what a small append costs on a file, and callers that do not wait for each other share it.
  #queue: PendingAppend[] = [];
  readonly #write: Database.Transaction<(queue: readonly PendingAppend[]) => void>;
  readonly #staged: StagedEvents;
  readonly #move: Database.Transaction<() => void>;
  // Rows this connection staged since it last moved them; at STAGE_LIMIT, the next append moves.
  #stagedRows = 0;
  // Set once moving staged rows failed because this connection may only read the file: its queries
  // then read staged rows where they are (WITH_STAGED), and close() leaves them to a writer.
  #readOnly = false;
  // Whether the query being read takes staged rows where they are (WITH_STAGED): this connection
  // may only read the file, another one held the write lock when it tried to move them, or the
  // move could not be written (a full disk).
  #inPlace = false;
  // better-sqlite3's busy timeout, which every wait for the write lock uses but a query's move.
  readonly #busyTimeout: number;
  readonly #queries = new Map<number, Database.Statement>();
  // Deletes under way, which close() lets finish: each runs in chunks, across macrotasks.
  readonly #deletes = new Set<Promise<number>>();
  #closing: Promise<void> | undefined;
  // Reused by every query: better-sqlite3 runs a query synchronously, so one array is enough.
  readonly #params: unknown[] = [];
  // A query's reads, rows and the names they refer to, in one read transaction (one snapshot): a
  // delete committed by another connection in between may collect the names of the rows read.
  readonly #read: Database.Transaction<(q: ResolvedTimelineQuery) => TimelineEvent[]>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#busyTimeout = db.pragma("busy_timeout", { simple: true }) as number;
    this.#read = db.transaction((q: ResolvedTimelineQuery) => this.#readEvents(db, q));
    const names = (this.#names = new NameKeys(db));
    const staged = (this.#staged = new StagedEvents(db));
    this.#move = db.transaction(() => staged.move());
    const row = `(${new Array(WIDTH).fill("?").join(", ")})`;
    // Appends go to the staging table (staging.ts), whose move keeps the first copy of an id. It has
    // no constraint that could fail half way through a statement, so SQLite keeps no statement
    // journal for these multi-row INSERTs (one doubled the time of a batch on a file).
    const insertOne = db.prepare(`INSERT INTO timeline_staged (${COLUMNS}) VALUES ${row}`);
    // Several rows per statement: one call into SQLite per chunk instead of per event.
    const insertChunk = db.prepare(
      `INSERT INTO timeline_staged (${COLUMNS}) VALUES ${new Array(ROWS_PER_INSERT).fill(row).join(", ")}`,
    );
    const params: unknown[] = new Array(ROWS_PER_INSERT * WIDTH);
    this.#write = db.transaction((queue: readonly PendingAppend[]) => {
      names.sync();
      let filled = 0;
      for (const { rows } of queue) {
        for (let r = 0; r < rows.length; r += WIDTH) {
          const o = filled * WIDTH;
          params[o] = rows[r];
          params[o + 1] = names.keyOf(rows[r + 1] as string);
          params[o + 2] = names.keyOf(rows[r + 2] as string);
          params[o + 3] = rows[r + 3];
          params[o + 4] = rows[r + 4];
          params[o + 5] = rows[r + 5];
          if (++filled === ROWS_PER_INSERT) {
            // Spread, not the array: better-sqlite3 reads an array's elements one V8 property
            // lookup at a time, and arguments straight from the call (5% more events/s on a file,
            // 9% in memory).
            insertChunk.run(...params);
            filled = 0;
          }
        }
      }
      for (let o = 0; o < filled * WIDTH; o += WIDTH) {
        insertOne.run(params[o], params[o + 1], params[o + 2], params[o + 3], params[o + 4], params[o + 5]);
      }
    });
  }

  // Writes every queued append in one transaction and settles each once it has committed.
  readonly #flush = (): void => {
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    try {
      // better-sqlite3 is synchronous: the transaction has committed when this returns. IMMEDIATE
      // takes the write lock first, so names.sync() sees the snapshot the rows are written on.
      this.#write.immediate(queue);
    } catch (e) {
      // Rolled back: the names it added are gone again.
      this.#names.clear();
      // Another connection holding the lock is nothing about any one batch, and better-sqlite3
      // waits for it synchronously (its busy timeout, blocking the thread): each batch again alone
      // would block once more per batch. They fail together, each with the same cause.
      if (queue.length === 1 || isBusy(e)) {
        for (const pending of queue) pending.reject(storageFailed("append", e));
        return;
      }
      // One batch SQLite refuses (a string over its size limit, say) must not fail the others, nor
      // one batch be half written: each goes again alone, all or nothing as if it had been alone.
      for (const pending of queue) {
        try {
          this.#write.immediate([pending]);
          this.#stagedRows += pending.rows.length / WIDTH;
          pending.resolve();
        } catch (alone) {
          this.#names.clear();
          pending.reject(storageFailed("append", alone));
        }
      }
      this.#moveWhenFull();
      return;
    }
    for (const pending of queue) {
      this.#stagedRows += pending.rows.length / WIDTH;
      pending.resolve();
    }
    this.#moveWhenFull();
  };

  // The appends are committed (staged) either way: a move that fails here leaves the rows staged,
  // and the next query, delete or close() moves them again and reports the error.
  #moveWhenFull(): void {
    if (this.#stagedRows < STAGE_LIMIT) return;
    try {
      this.#move.immediate();
      this.#stagedRows = 0;
    } catch {
      // Reported by the next query, delete or close(), which cannot go on without the move.
    }
  }

  // Moves what any connection staged, so that a read or delete sees every committed append.
  #moveStaged(): void {
    if (!this.#staged.any()) return;
    this.#move.immediate();
    this.#stagedRows = 0;
  }

  // Before a query: moves what is staged, or says to read it in place (WITH_STAGED), which answers
  // the same: when this connection may only read the file (a reader without write access to a file
  // its writer is appending to, or that a crashed writer left rows staged in), when another
  // connection holds the write lock, and when the move cannot be written (a full disk: the move
  // writes every staged row again, and more than an append needs). A query only reads, so it does
  // not wait for that lock: waiting blocks the thread (better-sqlite3 is synchronous) for up to the
  // busy timeout, and a lock held longer (a large delete in another process) would fail the query
  // for nothing. Nor does it fail for a write it only made to save later reads some work: what is
  // wrong with the file itself fails the read that follows.
  #moveStagedForQuery(db: Database.Database): boolean {
    if (this.#readOnly) return true;
    if (!this.#staged.any()) return false;
    db.pragma("busy_timeout = 0");
    try {
      this.#move.immediate();
      this.#stagedRows = 0;
      return false;
    } catch (e) {
      if (isReadOnlyError(e)) this.#readOnly = true;
      return true;
    } finally {
      db.pragma(`busy_timeout = ${this.#busyTimeout}`);
    }
  }

  #open(operation: string): Database.Database {
    if (this.#db === undefined) {
      throw new SystemError(
        "DISPOSED",
        `SQLite timeline store: ${operation}() was called after close(); create a new store with createSqliteTimelineStore()`,
      );
    }
    return this.#db;
  }

  #statement(db: Database.Database, shape: number): Database.Statement {
    let statement = this.#queries.get(shape);
    if (statement === undefined) {
      statement = db.prepare(querySql(shape)).raw(true);
      this.#queries.set(shape, statement);
    }
    return statement;
  }

  async append(events: readonly TimelineEvent[]): Promise<void> {
    this.#open("append");
    // Each event's fields read once, checked, and written as read (snapshot.ts).
    const snapshots = snapshotEvents(events);
    if (snapshots.length === 0) return;
    const rows = encodeEvents(snapshots);
    return new Promise<void>((resolve, reject) => {
      // The first append of a tick schedules the write; the others made before it runs join it.
      if (this.#queue.push({ rows, resolve, reject }) === 1) queueMicrotask(this.#flush);
    });
  }

  async query(filter?: TimelineQuery): Promise<TimelinePage> {
    const db = this.#open("query");
    const q = resolveQuery(filter);
    // Appends called before this query take effect before it, as they did when each wrote at once.
    this.#flush();
    let events: TimelineEvent[];
    try {
      this.#inPlace = this.#moveStagedForQuery(db);
      events = this.#read.deferred(q);
    } catch (e) {
      // Anything the file holds that cannot be read back (a body that is not JSON, a key without its
      // name) is the storage's failure too, with what was found as the cause.
      throw storageFailed("query", e);
    }
    return makeTimelinePage(events, q);
  }

  // The events of the page `q` asks for (and one more); run inside #read's transaction.
  #readEvents(db: Database.Database, q: ResolvedTimelineQuery): TimelineEvent[] {
    const params = this.#params;
    params.length = 0;
    const staged = this.#inPlace && this.#staged.any() ? WITH_STAGED : 0;
    const shape = bindQuery(q, params) | staged;
    const filterParams = params.length;
    params.push(q.limit + 1);
    if (staged) bindTwice(params, true);
    const rows = this.#statement(db, shape).all(params) as Row[];
    // Rows come in (at, seq) order. When the last row read ties on (at, seq) with the last row of
    // the page, that group may go on past it, and the page needs its smallest ids: read them again,
    // in id order, as many as the page has room for (and one more, for `next`). Reading and decoding
    // the whole tie here made paging through a tie of k events cost k rows a page: a workflow whose
    // 5000 runs started in one millisecond took 9 s to page by 10, against 0.2 s in memory.
    if (rows.length > q.limit && sameSpot(rows[q.limit]!, rows[q.limit - 1]!)) {
      const spot = rows[q.limit]!;
      let start = q.limit - 1;
      while (start > 0 && sameSpot(rows[start - 1]!, spot)) start--;
      params.length = filterParams;
      params.push(spot[4], spot[3], q.limit + 1 - start);
      if (staged) bindTwice(params, true);
      rows.length = start;
      for (const tied of this.#statement(db, shape | TIE).all(params) as Row[]) rows.push(tied);
    }
    const events = new Array<TimelineEvent>(rows.length);
    for (let i = 0; i < rows.length; i++) events[i] = rowToEvent(rows[i]!, this.#names);
    orderTies(events);
    return events;
  }

  async delete(filter: TimelineDeleteFilter): Promise<number> {
    const db = this.#open("delete");
    // the checked copy, each field read once: the caller's filter is not read again
    const f = resolveDeleteFilter(filter);
    this.#flush();
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.runId !== undefined) {
      where.push(`run_key = ${KEY_OF_NAME}`);
      params.push(encodeText(f.runId));
    }
    if (f.workflowId !== undefined) {
      where.push(`workflow_key = ${KEY_OF_NAME}`);
      params.push(encodeText(f.workflowId));
    }
    if (f.before !== undefined) {
      where.push("at < ?");
      params.push(f.before);
    }
    const condition = where.join(" AND ");
    // Pinned so that every row the index range holds matches (a run has one workflow): each chunk
    // starts from the range's beginning, and rows that did not match would be read again by each.
    const index =
      f.runId !== undefined
        ? "timeline_events_by_run"
        : f.workflowId !== undefined
          ? "timeline_events_by_workflow"
          : "timeline_events_by_time";
    // One chunk: at most DELETE_CHUNK_ROWS events, with the keys of the names they used.
    const chunk = db
      .prepare(
        `DELETE FROM timeline_events WHERE rowid IN (SELECT rowid FROM timeline_events INDEXED BY ${index}` +
          ` WHERE ${condition} LIMIT ${DELETE_CHUNK_ROWS}) RETURNING run_key, workflow_key`,
      )
      .raw(true);
    const collect = db.prepare(
      "DELETE FROM timeline_names WHERE key = @key" +
        " AND NOT EXISTS (SELECT 1 FROM timeline_events INDEXED BY timeline_events_by_run WHERE run_key = @key)" +
        " AND NOT EXISTS (SELECT 1 FROM timeline_events INDEXED BY timeline_events_by_workflow WHERE workflow_key = @key)",
    );
    const step = db.transaction((): number => {
      // Staged events are deleted too: moved first, in the same transaction. In every chunk, not
      // only the first: events appended during a pause between chunks (here or by another process)
      // are staged, and a name collected below while a staged event still used it would leave that
      // event's key without a name, failing every query that reaches it.
      this.#staged.move();
      this.#stagedRows = 0;
      const used = chunk.all(params) as [number, number][];
      // The names the deleted events used, collected once no event refers to them, so that
      // retention does not leave a name behind for every run it ever removed.
      const keys = new Set<number>();
      for (const [run, workflow] of used) keys.add(run).add(workflow);
      for (const key of keys) collect.run({ key });
      return used.length;
    });
    const deleting = (async () => {
      let deleted = 0;
      for (;;) {
        let removed: number;
        try {
          removed = step.immediate();
        } catch (e) {
          throw storageFailed("delete", e);
        } finally {
          // Collected names may still be cached here; a rolled-back chunk leaves nothing stale, but
          // starting over is cheap next to a delete.
          this.#names.clear();
        }
        deleted += removed;
        if (removed < DELETE_CHUNK_ROWS) return deleted;
        // One transaction for a large delete held the write lock and this thread for seconds (other
        // processes' appends failed after their 5 s busy timeout) and grew the WAL to the size of
        // everything deleted. Between chunks, the host's own work runs, and other processes, whose
        // busy handlers poll for the lock, find it free.
        await new Promise((resolve) => setTimeout(resolve, DELETE_PAUSE_MS));
      }
    })();
    this.#deletes.add(deleting);
    try {
      return await deleting;
    } finally {
      this.#deletes.delete(deleting);
    }
  }

  close(): Promise<void> {
    // One closing for every call: a second close() while the first waits for a delete under way
    // resolves when the file is closed, not before. Only the first is told of a failure to close
    // well: later calls, as TimelineStore.close() promises, resolve (the connection is closed).
    if (this.#closing !== undefined) return this.#closing.then(ignore, ignore);
    this.#closing = this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const db = this.#db;
    if (db === undefined) return;
    // Appends accepted before close() still commit (or fail) first, as their callers were promised.
    this.#flush();
    this.#db = undefined;
    this.#queries.clear();
    // and deletes under way finish their chunks (how each ends is its caller's to see)
    await Promise.allSettled(this.#deletes);
    let failure: unknown;
    try {
      // A closed file holds every event in timeline_events, where readers by hand look. (Rows a
      // crash left staged are moved by the next query, delete or close.) A connection that may only
      // read the file leaves them to a writer: there is nothing it could do about them.
      if (!this.#readOnly) this.#moveStaged();
    } catch (e) {
      if (!isReadOnlyError(e)) failure = e;
    }
    try {
      db.close();
    } catch (e) {
      failure ??= e;
    }
    if (failure !== undefined) throw storageFailed("close", failure);
  }
}

/**
 * The column values of `events` (validated snapshots), {@link WIDTH} per event, run and workflow ids
 * as names. JSON.stringify reads `data` a second time (the validator read it first): a getter in it
 * that throws now is `INVALID_INPUT` like one that threw then, and whatever else it returns is
 * stored as its JSON text, which is always well-formed JSON.
 */
function encodeEvents(events: readonly TimelineEvent[]): unknown[] {
  const rows = new Array<unknown>(events.length * WIDTH);
  let i = 0;
  try {
    for (; i < events.length; i++) encodeEvent(events[i]!, rows, i * WIDTH);
  } catch (thrown) {
    throw unreadableTimelineEvent(events[i], i, thrown);
  }
  return rows;
}

// Writes the column values of `e` into `rows` from `at` (run and workflow ids as names).
function encodeEvent(e: TimelineEvent, rows: unknown[], at: number): void {
  rows[at] = encodeOrderedText(e.id);
  rows[at + 1] = e.runId;
  rows[at + 2] = e.workflowId;
  rows[at + 3] = e.seq;
  rows[at + 4] = e.at;
  rows[at + 5] = encodeEventBody(e);
}

function bindQuery(q: ResolvedTimelineQuery, params: unknown[]): number {
  let shape = 0;
  if (q.runId !== undefined) {
    shape |= BY_RUN;
    params.push(encodeText(q.runId));
  }
  if (q.workflowId !== undefined) {
    shape |= BY_WORKFLOW;
    params.push(encodeText(q.workflowId));
  }
  // One lower bound only: with both, SQLite seeks on `at >= from` and scans up to the cursor, which
  // makes paging quadratic. A cursor from this query is at or after `from`, so it alone suffices.
  const after = q.after !== undefined && (q.from === undefined || q.after.at >= q.from) ? q.after : undefined;
  if (after !== undefined) {
    shape |= AFTER;
    params.push(after.at, after.seq, encodeOrderedText(after.id));
  } else if (q.from !== undefined) {
    shape |= FROM;
    params.push(q.from);
  }
  if (q.to !== undefined) {
    shape |= TO;
    params.push(q.to);
  }
  return shape;
}

/**
 * Opens (creating when missing) a SQLite timeline database and resolves to a `TimelineStore` on it.
 *
 * The file uses WAL with `synchronous = NORMAL`: an `append` resolves once its transaction has
 * committed, which survives a crash of the process; a power loss or OS crash may lose the last
 * appends (never corrupt the file). Appends made in the same tick share one transaction, each still
 * all or nothing and failing alone. An append reads each event's fields once and stores what it
 * checked. Older schema versions are upgraded on open (a version 1 file is rebuilt, in one
 * transaction); several processes may open one file at once. A query is one read transaction (one
 * snapshot of the file); one that cannot take the write lock at once to move staged rows, or cannot
 * write the move (a full disk), reads them where they are. A `delete` removes 5000 events per
 * transaction, pausing between two so the thread and other connections get in (so it is not
 * atomic). A store on a file it may only read reads the rows a writer staged where they are; its
 * appends and deletes reject with `STORAGE_FAILED`. (SQLite reads a WAL file through
 * its `-shm` file: a file its writer closed cannot be opened from a directory the process may not
 * write to, or a read-only mount, see the README.)
 *
 * @example
 * ```ts
 * const store = await createSqliteTimelineStore({ filename: "timeline.db" });
 * await store.append([{ id: "e1", runId: "r1", workflowId: "orders", seq: 0, at: Date.now(),
 *   source: "runtime", type: "run.started" }]);
 * const { events } = await store.query({ runId: "r1" });
 * await store.close();
 * ```
 * @throws `SystemError` `INVALID_INPUT` for a missing `filename`, one that is a directory or a
 *   `file:` URI (pass a path), or a key the options do not have
 *   (`createSqliteTimelineStore: options.fileName is not an option (options: filename)`), `INVALID_STATE` for a file written by
 *   a newer schema or another application's database (left as it was, journal mode included), `STORAGE_FAILED` when SQLite cannot open the file (or upgrade it: a file it may
 *   only read must be at the current schema version).
 */
export async function createSqliteTimelineStore(options: SqliteTimelineStoreOptions): Promise<TimelineStore> {
  if (options !== null && typeof options === "object") {
    refuseUnknownKeys(options, OPTIONS, "options", { caller: "createSqliteTimelineStore" });
  }
  if (options === null || typeof options !== "object") {
    throw new SystemError(
      "INVALID_INPUT",
      `createSqliteTimelineStore: options must be an object { filename } (got ${describeValue(options)})`,
      { details: { path: "options" } },
    );
  }
  if (typeof options.filename !== "string" || options.filename === "") {
    throw new SystemError(
      "INVALID_INPUT",
      `createSqliteTimelineStore: options.filename must be a non-empty string (a file path, or ":memory:"), got ${describeValue(options.filename)}`,
      { details: { path: "options.filename" } },
    );
  }
  const { filename } = options;
  checkFilename(filename);
  // Processes opening one new file together race to switch it to WAL and to create its tables;
  // SQLite answers some of those races with SQLITE_BUSY at once, without waiting on its busy
  // timeout, so a busy open is tried again, for up to OPEN_BUSY_MS in all.
  const giveUpAt = Date.now() + OPEN_BUSY_MS;
  for (let wait = 5; ; wait = Math.min(2 * wait, 100)) {
    try {
      return openStore(filename);
    } catch (e) {
      if (!isBusy(e) || Date.now() + wait > giveUpAt) throw e;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** How long an open keeps trying while other processes hold the file busy (see above). */
const OPEN_BUSY_MS = 10_000;

/** Whether `error` (or a SystemError's cause) is SQLite waiting on a lock another connection holds. */
function isBusy(error: unknown): boolean {
  const cause = SystemError.is(error) ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

function openStore(filename: string): TimelineStore {
  let db: Database.Database;
  try {
    db = new Database(filename);
  } catch (e) {
    throw openFailure(filename, e);
  }
  try {
    // before anything writes to the file, the journal mode included
    checkFile(db, filename);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    migrate(db, filename);
    return new SqliteTimelineStore(db);
  } catch (e) {
    db.close();
    if (SystemError.is(e)) throw e;
    throw openFailure(filename, e);
  }
}

function ignore(): void {}
