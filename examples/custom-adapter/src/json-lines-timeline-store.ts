import { type FileHandle, open, readFile, rename, truncate } from "node:fs/promises";
import { refuseUnknownKeys, SystemError } from "@sluice/errors";
import {
  compareTimelineEvents,
  makeTimelinePage,
  matchesDeleteFilter,
  matchesQuery,
  readTimelineEvents,
  resolveDeleteFilter,
  resolveQuery,
  type TimelineEvent,
  type TimelineStore,
} from "@sluice/timeline";

/** Options of {@link createJsonLinesTimelineStore}. */
export interface JsonLinesTimelineStoreOptions {
  /** The file: one JSON event per line. Created when missing; reopened with its events when present. */
  filename: string;
}

const OPTIONS: ReadonlySet<string> = new Set(["filename"]);

/** One stored event: its JSON line (the durable form) and a parsed copy to sort and filter on. */
interface Row {
  readonly line: string;
  readonly event: TimelineEvent;
}

/**
 * A `TimelineStore` kept in a JSON-lines file: appends add lines (synced before they resolve),
 * deletes rewrite the file and swap it in with a rename. The events are also held in memory, in
 * (at, seq, id) order, to answer queries: fine for a development log, not for millions of events.
 *
 * @example
 * ```ts
 * const timeline = await createJsonLinesTimelineStore({ filename: "timeline.jsonl" });
 * const runtime = new WorkflowRuntime({ bus, storeRegistry, timelineStore: timeline });
 * ```
 */
export async function createJsonLinesTimelineStore(
  options: JsonLinesTimelineStoreOptions,
): Promise<TimelineStore> {
  // Like Sluice's own adapters: a misspelt option is refused, named, rather than ignored.
  if (typeof options === "object" && options !== null) {
    refuseUnknownKeys(options, OPTIONS, "options", { caller: "createJsonLinesTimelineStore" });
  }
  const filename = options?.filename;
  if (typeof filename !== "string" || filename === "") {
    throw new SystemError(
      "INVALID_INPUT",
      "createJsonLinesTimelineStore: options.filename must be a file path",
    );
  }
  const rows: Row[] = [];
  const ids = new Set<string>();
  let file: FileHandle | undefined;
  try {
    const bytes = await readFile(filename).catch((e) =>
      e.code === "ENOENT" ? Buffer.alloc(0) : Promise.reject(e),
    );
    // A crash mid-append leaves a last line with no newline. Cut it off before appending: the
    // next line would otherwise continue it, and both would read back as one unparsable line,
    // losing an append that had resolved.
    const whole = bytes.lastIndexOf(0x0a) + 1;
    if (whole < bytes.length) await truncate(filename, whole);
    const text = bytes.subarray(0, whole).toString("utf8");
    for (const line of text.split("\n")) {
      if (line === "") continue;
      let event: TimelineEvent;
      try {
        event = JSON.parse(line);
      } catch {
        continue; // a line that is not JSON (edited by hand?): skipped, as a torn one was cut
      }
      if (!ids.has(event.id)) insert({ line, event });
    }
    file = await open(filename, "a");
  } catch (cause) {
    throw SystemError.from(cause, "STORAGE_FAILED", `timeline-jsonl: opening "${filename}" failed`);
  }
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve(); // one file operation at a time

  function insert(row: Row): void {
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareTimelineEvents(rows[mid]!.event, row.event) < 0) lo = mid + 1;
      else hi = mid;
    }
    rows.splice(lo, 0, row);
    ids.add(row.event.id);
  }

  function ensureOpen(operation: string): void {
    if (closed) throw new SystemError("DISPOSED", `timeline-jsonl: ${operation}() called after close()`);
  }

  function serially<T>(operation: string, work: () => Promise<T>): Promise<T> {
    const result = queue.then(work).catch((cause) => {
      throw SystemError.from(cause, "STORAGE_FAILED", `timeline-jsonl: ${operation} failed`);
    });
    queue = result.catch(() => undefined);
    return result;
  }

  return {
    async append(events) {
      ensureOpen("append");
      // Each event read once, into the copy that is checked and written: checking the caller's
      // objects and then reading them again to write them would let a getter hand the check one
      // value and the file another. INVALID_INPUT naming events[i].field, before anything is written.
      const copies = readTimelineEvents(events, (event) => ({ ...event }) as TimelineEvent);
      const fresh: Row[] = [];
      const batch = new Set<string>();
      for (const event of copies) {
        if (ids.has(event.id) || batch.has(event.id)) continue; // the first stored copy wins
        batch.add(event.id);
        const line = JSON.stringify(event);
        fresh.push({ line, event: JSON.parse(line) }); // a copy: later edits by the caller change nothing
      }
      if (fresh.length === 0) return;
      await serially("append", async () => {
        await file!.appendFile(`${fresh.map((r) => r.line).join("\n")}\n`);
        await file!.datasync();
        for (const row of fresh) if (!ids.has(row.event.id)) insert(row);
      });
    },

    async query(filter) {
      ensureOpen("query");
      const q = resolveQuery(filter); // defaults, bounds and the decoded cursor
      let i = 0;
      if (q.after !== undefined) {
        const after = q.after;
        let hi = rows.length;
        while (i < hi) {
          const mid = (i + hi) >> 1;
          if (compareTimelineEvents(rows[mid]!.event, after) <= 0) i = mid + 1;
          else hi = mid;
        }
      }
      const page: TimelineEvent[] = [];
      for (; i < rows.length && page.length <= q.limit; i++) {
        const row = rows[i]!;
        if (matchesQuery(row.event, q)) page.push(JSON.parse(row.line));
      }
      return makeTimelinePage(page, q); // keeps `limit` events and sets `next` when there was one more
    },

    async delete(filter) {
      ensureOpen("delete");
      // An empty filter is rejected; { before: Infinity } deletes everything. Delete by the checked
      // copy, never by the caller's object: a getter could pass the check and then name another run.
      const f = resolveDeleteFilter(filter);
      return serially("delete", async () => {
        const kept = rows.filter((row) => !matchesDeleteFilter(row.event, f));
        const removed = rows.length - kept.length;
        if (removed === 0) return 0;
        const temp = `${filename}.${process.pid}.tmp`;
        const out = await open(temp, "w");
        try {
          await out.writeFile(kept.map((row) => `${row.line}\n`).join(""));
          await out.datasync();
        } finally {
          await out.close();
        }
        await file!.close();
        await rename(temp, filename); // the old file or the new one, never half of each
        file = await open(filename, "a");
        rows.splice(0, rows.length, ...kept);
        ids.clear();
        for (const row of kept) ids.add(row.event.id);
        return removed;
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      await queue;
      await file!.close();
    },
  };
}
