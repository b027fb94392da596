import { accessSync, closeSync, constants, existsSync, openSync, readSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { describeThrown, SystemError } from "@sluice/errors";

// SQLite answers most of what can be wrong with a path with "unable to open database file"
// (SQLITE_CANTOPEN), which names neither the path nor what to change. These checks and messages say it.

/**
 * Refuses, before SQLite sees it, a `filename` that cannot name a database file: a `file:` URI
 * (better-sqlite3 does not read URIs, so SQLite would look for a directory called "file:") and an
 * existing directory.
 */
export function checkFilename(filename: string): void {
  if (filename === ":memory:") return;
  if (/^file:/i.test(filename)) {
    throw new SystemError(
      "INVALID_INPUT",
      `createSqliteTimelineStore: options.filename "${filename}" is a file: URI, which is not accepted; ` +
        "pass a file path (for a URL, fileURLToPath(url) from node:url)",
      { details: { filename } },
    );
  }
  let directory = false;
  try {
    directory = statSync(filename).isDirectory();
  } catch {
    // Missing (created on open) or not reachable: SQLite's own error says more, see openFailure.
  }
  if (directory) {
    throw new SystemError(
      "INVALID_INPUT",
      `createSqliteTimelineStore: options.filename "${filename}" is a directory; pass the path of a ` +
        'database file, for instance path.join(dir, "timeline.db")',
      { details: { filename } },
    );
  }
}

const can = (path: string, mode: number): boolean => {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
};

// What SQLite answers when a file cannot be read, or its journal files cannot be created.
const OPEN_CODES: ReadonlySet<string> = new Set([
  "SQLITE_CANTOPEN",
  "SQLITE_READONLY_DIRECTORY",
  "SQLITE_READONLY",
]);

/** The error for an open of `filename` that SQLite refused with `cause`, saying what to fix where it can tell. */
export function openFailure(filename: string, cause: unknown): SystemError {
  const code = (cause as { code?: unknown } | null)?.code;
  const failed = `SQLite timeline store: opening "${filename}" failed: ${describeThrown(cause)}`;
  const fail = (fix: string) =>
    new SystemError("STORAGE_FAILED", `${failed}. ${fix}`, { cause, details: { filename } });
  const dir = dirname(filename);
  // better-sqlite3 checks this one itself, with an error that has no SQLite code
  if (!existsSync(dir)) return fail(`Its directory "${dir}" does not exist: create it first`);
  if (typeof code !== "string" || !OPEN_CODES.has(code) || !existsSync(filename)) {
    return new SystemError("STORAGE_FAILED", failed, { cause });
  }
  if (!can(filename, constants.R_OK)) {
    return fail("This process may not read the file: give it read permission");
  }
  if (existsSync(`${filename}-shm`) || can(dir, constants.W_OK)) {
    return new SystemError("STORAGE_FAILED", failed, { cause });
  }
  const where = `this process may not write to "${dir}" (permissions, or a read-only mount)`;
  const fix = "open it from a directory it may write to (copy the file there)";
  // A file in WAL mode is read through its "-shm" file, which its last connection removed when it
  // closed; a reader must create it again, next to the file.
  if (isWalFile(filename)) {
    return fail(
      `It is a WAL-mode file with no "-shm" file beside it (its last writer closed it), and SQLite must ` +
        `create one to read it, but ${where}: ${fix}, or while a writer has it open`,
    );
  }
  return fail(`The store switches a file to WAL mode, which creates files beside it, but ${where}: ${fix}`);
}

// Bytes 18 and 19 of the database header are 2 in WAL mode (sqlite.org/fileformat.html).
function isWalFile(filename: string): boolean {
  const header = Buffer.alloc(20);
  let fd: number | undefined;
  try {
    fd = openSync(filename, "r");
    return readSync(fd, header, 0, 20, 0) === 20 && header[18] === 2 && header[19] === 2;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
