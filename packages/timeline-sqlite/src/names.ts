import type Database from "better-sqlite3";
import { decodeText, encodeText } from "./text-codec.js";

// Run and workflow ids are stored once, in `timeline_names`, and events refer to them by integer
// key. An entry of the run index on (key, at, seq) is less than half the size of one on (run_id, at,
// seq, id), and the run index is the one every append writes all over (leaves of every active run),
// so a narrower entry means fewer leaf splits, fewer pages per commit and cheaper comparisons. Keys
// come from AUTOINCREMENT, so a key is never given to another name, even after the name was
// collected: a key -> name cache can only ever miss, never lie.

// Past this many entries a cache starts over rather than grow with every run ever seen.
const MAX_CACHED = 10_000;

/**
 * The run and workflow ids of one connection: their integer keys, cached both ways.
 *
 * Writers must call {@link NameKeys.sync} first in each write transaction: when another connection
 * has committed since (it may have collected a name this cache still holds), the cache starts over.
 */
export class NameKeys {
  readonly #keys = new Map<string, number>();
  readonly #names = new Map<number, string>();
  readonly #dataVersion: Database.Statement;
  readonly #select: Database.Statement;
  readonly #insert: Database.Statement;
  readonly #name: Database.Statement;
  #seenVersion: unknown;

  constructor(db: Database.Database) {
    this.#dataVersion = db.prepare("PRAGMA data_version").pluck();
    this.#select = db.prepare("SELECT key FROM timeline_names WHERE name = ?").pluck();
    this.#insert = db.prepare("INSERT INTO timeline_names (name) VALUES (?)");
    this.#name = db.prepare("SELECT name FROM timeline_names WHERE key = ?").pluck();
    this.#seenVersion = this.#dataVersion.get();
  }

  /** Forgets every cached key when another connection committed since the last call. */
  sync(): void {
    const version = this.#dataVersion.get();
    if (version !== this.#seenVersion) {
      this.#seenVersion = version;
      this.clear();
    }
  }

  /** The key of `name`, adding it to `timeline_names` when missing; call inside a write transaction. */
  keyOf(name: string): number {
    const cached = this.#keys.get(name);
    if (cached !== undefined) return cached;
    const stored = encodeText(name);
    let key = this.#select.get(stored) as number | undefined;
    if (key === undefined) key = Number(this.#insert.run(stored).lastInsertRowid);
    if (this.#keys.size >= MAX_CACHED) this.#keys.clear();
    this.#keys.set(name, key);
    return key;
  }

  /**
   * The name of `key`, which a stored event refers to; call in the read transaction that read the
   * event. Events and their names are written and collected in the same transactions, so that
   * snapshot holds the name (another one may not: a delete may have collected it since).
   */
  nameOf(key: number): string {
    const cached = this.#names.get(key);
    if (cached !== undefined) return cached;
    const stored = this.#name.get(key) as string | Buffer | undefined;
    // A file that breaks that rule; the caller reports it as the storage's failure.
    if (stored === undefined) throw new Error(`timeline_names has no key ${key}`);
    const name = decodeText(stored);
    if (this.#names.size >= MAX_CACHED) this.#names.clear();
    this.#names.set(key, name);
    return name;
  }

  /**
   * Forgets everything cached: after a rolled-back transaction (its new keys are gone, and
   * AUTOINCREMENT may hand them out again) and after names were collected.
   */
  clear(): void {
    this.#keys.clear();
    this.#names.clear();
  }
}
