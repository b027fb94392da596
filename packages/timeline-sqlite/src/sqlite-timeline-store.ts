import { SystemError } from "@sluice/errors";
import {
  makeTimelinePage,
  type ResolvedTimelineQuery,
  resolveQuery,
  type TimelineDeleteFilter,
  type TimelineEvent,
  type TimelinePage,
  type TimelineQuery,
  type TimelineStore,
  validateDeleteFilter,
  validateTimelineEvents,
} from "@sluice/timeline";
import Database from "better-sqlite3";
import { migrate } from "./schema.js";
import { decodeOrderedText, decodeText, encodeOrderedText, encodeText } from "./text-codec.js";

/** Options of {@link createSqliteTimelineStore}. */
export interface SqliteTimelineStoreOptions {
  /** Path of the database file (created when missing), or `":memory:"` for a private in-memory database. */
  filename: string;
}

// Rows bound per INSERT statement (12 parameters each; SQLite allows 32766 per statement).
// 32 measured as fast as 16, 64 or 100 (within noise).
const ROWS_PER_INSERT = 32;

// Pages of WAL (4 KiB each) after which a commit checkpoints them into the database file; SQLite's
// default is 1000. A 1000-event batch dirties a leaf page per run in the id and run indexes, a few
// hundred pages in all, so at the default nearly every other commit ran a checkpoint (copy + fsync)
// that rewrote the same hot index pages. At 4000 a checkpoint comes a quarter as often and copies
// each hot page once. A commit is still durable against a process crash the moment it returns; what
// grows is only what synchronous = NORMAL already leaves to chance on a power loss (the commits since
// the last checkpoint's fsync).
const WAL_AUTOCHECKPOINT_PAGES = 4000;
// After a checkpoint the WAL is truncated back to this size, so the file does not keep its peak size.
const WAL_SIZE_LIMIT_BYTES = WAL_AUTOCHECKPOINT_PAGES * 4096;

const COLUMNS = "id, run_id, workflow_id, seq, at, source, type, stage, step, level, message, data";

// Bits of a query's shape; each shape gets one prepared statement, made on first use.
const BY_RUN = 1;
const BY_WORKFLOW = 2;
const FROM = 4;
const TO = 8;
const AFTER = 16;

type Text = string | Buffer;
type Row = [
  id: string,
  runId: Text,
  workflowId: Text,
  seq: number,
  at: number,
  source: Text,
  type: Text,
  stage: Text | null,
  step: Text | null,
  level: Text | null,
  message: Text | null,
  data: string | null,
];

function querySql(shape: number): string {
  const where: string[] = [];
  if (shape & BY_RUN) where.push("run_id = ?");
  if (shape & BY_WORKFLOW) where.push("workflow_id = ?");
  if (shape & AFTER) where.push("(at, seq, id) > (?, ?, ?)");
  else if (shape & FROM) where.push("at >= ?");
  if (shape & TO) where.push("at < ?");
  // Pinned, so a page is one index seek whatever SQLite's statistics say; the run index also
  // serves a run + workflow query (a run has one workflow).
  const index =
    shape & BY_RUN
      ? "timeline_events_by_run"
      : shape & BY_WORKFLOW
        ? "timeline_events_by_workflow"
        : "timeline_events_by_time";
  return (
    `SELECT ${COLUMNS} FROM timeline_events INDEXED BY ${index}` +
    (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") +
    " ORDER BY at, seq, id LIMIT ?"
  );
}

function rowToEvent(row: Row): TimelineEvent {
  const event: TimelineEvent = {
    id: decodeOrderedText(row[0]),
    runId: decodeText(row[1]),
    workflowId: decodeText(row[2]),
    seq: row[3],
    at: row[4],
    source: decodeText(row[5]),
    type: decodeText(row[6]),
  };
  if (row[7] !== null) event.stage = decodeText(row[7]);
  if (row[8] !== null) event.step = decodeText(row[8]);
  if (row[9] !== null) event.level = row[9] as TimelineEvent["level"] & string;
  if (row[10] !== null) event.message = decodeText(row[10]);
  if (row[11] !== null) event.data = JSON.parse(row[11]);
  return event;
}

function storageFailed(operation: string, cause: unknown): SystemError {
  return SystemError.from(cause, "STORAGE_FAILED", `SQLite timeline store: ${operation} failed`);
}

/** The `TimelineStore` over one better-sqlite3 connection. */
class SqliteTimelineStore implements TimelineStore {
  #db: Database.Database | undefined;
  readonly #appendBatch: (events: readonly TimelineEvent[]) => void;
  readonly #queries = new Map<number, Database.Statement>();
  // Reused by every query: better-sqlite3 runs a query synchronously, so one array is enough.
  readonly #params: unknown[] = [];

  constructor(db: Database.Database) {
    this.#db = db;
    const row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    const insertOne = db.prepare(`INSERT OR IGNORE INTO timeline_events (${COLUMNS}) VALUES ${row}`);
    // Several rows per statement: one call into SQLite per chunk instead of per event. OR IGNORE
    // applies row by row, so within a chunk too the first copy of an id is the one kept.
    const insertChunk = db.prepare(
      `INSERT OR IGNORE INTO timeline_events (${COLUMNS}) VALUES ${new Array(ROWS_PER_INSERT).fill(row).join(", ")}`,
    );
    const chunkParams: unknown[] = new Array(ROWS_PER_INSERT * 12);
    const rowParams: unknown[] = new Array(12);
    this.#appendBatch = db.transaction((events: readonly TimelineEvent[]) => {
      let i = 0;
      for (; i + ROWS_PER_INSERT <= events.length; i += ROWS_PER_INSERT) {
        for (let k = 0; k < ROWS_PER_INSERT; k++) bindEvent(events[i + k]!, chunkParams, k * 12);
        insertChunk.run(chunkParams);
      }
      for (; i < events.length; i++) {
        bindEvent(events[i]!, rowParams, 0);
        insertOne.run(rowParams);
      }
    });
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

  async append(events: readonly TimelineEvent[]): Promise<void> {
    this.#open("append");
    validateTimelineEvents(events);
    if (events.length === 0) return;
    try {
      // better-sqlite3 is synchronous: the batch has committed (one transaction) when this returns.
      this.#appendBatch(events);
    } catch (e) {
      if (SystemError.is(e)) throw e;
      throw storageFailed("append", e);
    }
  }

  async query(filter?: TimelineQuery): Promise<TimelinePage> {
    const db = this.#open("query");
    const q = resolveQuery(filter);
    const params = this.#params;
    params.length = 0;
    const shape = bindQuery(q, params);
    params.push(q.limit + 1);
    let statement = this.#queries.get(shape);
    let rows: Row[];
    try {
      if (statement === undefined) {
        statement = db.prepare(querySql(shape)).raw(true);
        this.#queries.set(shape, statement);
      }
      rows = statement.all(params) as Row[];
    } catch (e) {
      throw storageFailed("query", e);
    }
    const events = new Array<TimelineEvent>(rows.length);
    for (let i = 0; i < rows.length; i++) events[i] = rowToEvent(rows[i]!);
    return makeTimelinePage(events, q);
  }

  async delete(filter: TimelineDeleteFilter): Promise<number> {
    const db = this.#open("delete");
    validateDeleteFilter(filter);
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.runId !== undefined) {
      where.push("run_id = ?");
      params.push(encodeText(filter.runId));
    }
    if (filter.workflowId !== undefined) {
      where.push("workflow_id = ?");
      params.push(encodeText(filter.workflowId));
    }
    if (filter.before !== undefined) {
      where.push("at < ?");
      params.push(filter.before);
    }
    try {
      return db.prepare(`DELETE FROM timeline_events WHERE ${where.join(" AND ")}`).run(params).changes;
    } catch (e) {
      throw storageFailed("delete", e);
    }
  }

  async close(): Promise<void> {
    const db = this.#db;
    if (db === undefined) return;
    this.#db = undefined;
    this.#queries.clear();
    try {
      db.close();
    } catch (e) {
      throw storageFailed("close", e);
    }
  }
}

// Writes the 12 column values of `e` into `params` from `at`. Validated data is plain JSON, so
// JSON.stringify cannot throw, and its output is always well-formed text.
function bindEvent(e: TimelineEvent, params: unknown[], at: number): void {
  params[at] = encodeOrderedText(e.id);
  params[at + 1] = encodeText(e.runId);
  params[at + 2] = encodeText(e.workflowId);
  params[at + 3] = e.seq;
  params[at + 4] = e.at;
  params[at + 5] = encodeText(e.source);
  params[at + 6] = encodeText(e.type);
  params[at + 7] = e.stage === undefined ? null : encodeText(e.stage);
  params[at + 8] = e.step === undefined ? null : encodeText(e.step);
  params[at + 9] = e.level ?? null;
  params[at + 10] = e.message === undefined ? null : encodeText(e.message);
  params[at + 11] = e.data === undefined ? null : JSON.stringify(e.data);
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
 * appends (never corrupt the file). Older schema versions are upgraded on open.
 *
 * @example
 * ```ts
 * const store = await createSqliteTimelineStore({ filename: "timeline.db" });
 * await store.append([{ id: "e1", runId: "r1", workflowId: "orders", seq: 0, at: Date.now(),
 *   source: "runtime", type: "run.started" }]);
 * const { events } = await store.query({ runId: "r1" });
 * await store.close();
 * ```
 * @throws `SystemError` `INVALID_INPUT` for a missing `filename`, `INVALID_STATE` for a file written by
 *   a newer schema, `STORAGE_FAILED` when SQLite cannot open the file.
 */
export async function createSqliteTimelineStore(options: SqliteTimelineStoreOptions): Promise<TimelineStore> {
  if (
    options === null ||
    typeof options !== "object" ||
    typeof options.filename !== "string" ||
    options.filename === ""
  ) {
    throw new SystemError(
      "INVALID_INPUT",
      'createSqliteTimelineStore: options.filename must be a non-empty string (a file path, or ":memory:")',
    );
  }
  const { filename } = options;
  let db: Database.Database;
  try {
    db = new Database(filename);
  } catch (e) {
    throw storageFailed(`opening "${filename}"`, e);
  }
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    migrate(db, filename);
    return new SqliteTimelineStore(db);
  } catch (e) {
    db.close();
    if (SystemError.is(e)) throw e;
    throw storageFailed(`opening "${filename}"`, e);
  }
}
