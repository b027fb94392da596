import type Database from "better-sqlite3";

// Appends are written to `timeline_staged`, a table with no index but its rowid, and moved into
// `timeline_events` in bulk once a connection has staged STAGE_LIMIT rows, before any query or
// delete (so readers never see a difference), and by close(). Rows a crash left staged are moved by
// the next store that queries, deletes or closes. A store that may only read the file cannot move
// them: its queries read them in place (WITH_STAGED in sqlite-timeline-store.ts).
//
// Why: a commit writes every page it dirtied to the WAL, and an append of many runs dirties pages
// all over the id and run indexes (about two per run, per index). Written straight into
// timeline_events, a batch of 1000 events over 100 runs wrote 445 WAL pages; staged and moved 16000
// rows at a time, 135 (raw SQL, same rows; 4000 at a time, 231). Appending to the staging table
// writes only its own last pages, and a move inserts 80 events per run where an append inserted 10,
// into about as many pages. Durability does not change: an append resolves once its rows are
// committed, to either table.
//
// Each row is in exactly one of the two tables in any committed state (a move is one transaction),
// and a move takes rows in rowid order, which is append order: INSERT OR IGNORE then keeps the
// first copy of an id, as appending straight into timeline_events did.

/**
 * Rows staged by this connection after which its next append moves them. In raw SQL, staging
 * measured 1.26x the CPU throughput of none when moving every 4000 rows, 1.39x every 16000, no
 * better at 32000; in the store, 8000, 16000 and 32000 were within noise of each other. A query right
 * after appends pays for moving what is staged (about 40 ms for 8000 rows), hence the smaller one.
 */
export const STAGE_LIMIT = 8_000;

/** Columns of both tables, in the order rows are bound. */
export const COLUMNS = "id, run_key, workflow_key, seq, at, body";

/** Statements over `timeline_staged`; {@link StagedEvents.move} must run inside a write transaction. */
export class StagedEvents {
  readonly #any: Database.Statement;
  readonly #move: Database.Statement;
  readonly #clear: Database.Statement;

  constructor(db: Database.Database) {
    this.#any = db.prepare("SELECT EXISTS (SELECT 1 FROM timeline_staged)").pluck();
    this.#move = db.prepare(
      `INSERT OR IGNORE INTO timeline_events (${COLUMNS}) SELECT ${COLUMNS} FROM timeline_staged ORDER BY rowid`,
    );
    // No WHERE: SQLite drops the table's pages at once (to the free list, which staging reuses).
    this.#clear = db.prepare("DELETE FROM timeline_staged");
  }

  /** Whether any connection has rows staged (committed, not yet moved). */
  any(): boolean {
    return this.#any.get() === 1;
  }

  /** Moves every staged row into `timeline_events`, keeping the first copy of each id. */
  move(): void {
    this.#move.run();
    this.#clear.run();
  }
}
